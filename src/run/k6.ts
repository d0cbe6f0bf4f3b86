/**
 * The k6 engine: `k6 run --out json=… --summary-export=… -e … SCENARIO`, with
 * k6's own outputs written under temporary names and renamed into place when
 * k6 exits, and k6's exit code passed through.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, renameSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { tempPathFor } from '../shared/files.js';

/** Path of an executable `k6` on PATH, or null. */
export function findK6(path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, process.platform === 'win32' ? 'k6.exe' : 'k6');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface K6RunOptions {
  k6: string;
  scenarioPath: string;
  /** -e pairs for k6 (BASE_URL and the user's). */
  env: Record<string, string>;
  /** Keys whose values may be shown when the command line is printed. */
  showValues: ReadonlySet<string>;
  outDir: string;
  stderr: (text: string) => void;
  signal?: AbortSignal;
}

/** Run k6; resolves with its exit code. */
export function runK6(opts: K6RunOptions): Promise<number> {
  const ndjson = join(opts.outDir, 'k6.ndjson');
  const summary = join(opts.outDir, 'summary.json');
  const tmpNdjson = tempPathFor(ndjson);
  const tmpSummary = tempPathFor(summary);
  const args = ['run', '--out', `json=${tmpNdjson}`, '--summary-export', tmpSummary];
  const shown = ['k6', ...args];
  for (const [k, v] of Object.entries(opts.env)) {
    args.push('-e', `${k}=${v}`);
    shown.push('-e', opts.showValues.has(k) ? `${k}=${v}` : `${k}=…`);
  }
  args.push(opts.scenarioPath);
  shown.push(opts.scenarioPath);
  opts.stderr(`${shown.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(opts.k6, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    const onAbort = () => child.kill('SIGINT');
    opts.signal?.addEventListener('abort', onAbort);
    child.once('error', (err) => {
      opts.signal?.removeEventListener('abort', onAbort);
      rmSync(tmpNdjson, { force: true });
      rmSync(tmpSummary, { force: true });
      reject(err);
    });
    child.once('exit', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (existsSync(tmpNdjson)) renameSync(tmpNdjson, ndjson);
      if (existsSync(tmpSummary)) renameSync(tmpSummary, summary);
      resolve(code ?? (signal ? 128 + 2 : 1));
    });
  });
}
