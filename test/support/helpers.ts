import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { loadProfile } from '../../src/profile/load.js';
import { resolveQuantities } from '../../src/shared/quantity.js';
import type { Profile } from '../../src/profile/schema.js';
import type { ModelProfile } from '../../src/model/workload.js';

/** The embedded default profile, parsed (quantities with sources). */
export function defaultProfile(): Profile {
  return loadProfile();
}

/** The default profile resolved to plain numbers, optionally edited. */
export function modelProfile(edit?: (p: ModelProfile) => void): ModelProfile {
  const p = resolveQuantities(defaultProfile());
  edit?.(p);
  return p;
}

/** Poll `check` until it returns a truthy value; bounded in time (every wait in the tests is). */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const tempDirs: string[] = [];
// Registered while the importing test file is collected, so it runs after that file's tests.
afterAll(() => {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under the system temp dir, removed after the test file that made it. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Whether a process with this pid exists (signal 0 delivers nothing, it only checks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
