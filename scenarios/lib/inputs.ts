/**
 * Validation of the scenarios' inputs (environment variables and the files
 * they name). Pure functions taking the file's text: k6 reads files with
 * open() in the init context (env.ts), the tests call these directly. Every
 * message names the variable and the file and what was expected, and never
 * echoes a token or a key.
 */
import type { ImageFile } from '../../src/run/imageManifest.ts';
import type { FleetActor, FleetManifest } from '../../world/fleet/manifest.ts';

/** One line of a tokens file, as `fedicap testbed --tokens-out` and seed.rb write it. */
export interface TokenEntry {
  username: string;
  accountId: string;
  token: string;
}

/** Absolute paths only: k6 resolves open() relative to the script, not the working directory. */
export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\\\') || /^[A-Za-z]:[\\/]/.test(p);
}

/** "TOKENS=/path/file" for messages. */
export const where = (variable: string, path: string) => `${variable}=${path}`;

export function parseJsonText(text: string, variable: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${where(variable, path)}: not valid JSON (${(err as Error).message})`);
  }
}

/** Validate a tokens file: a non-empty array of {username, accountId, token}. */
export function parseTokens(text: string, path: string, variable = 'TOKENS'): TokenEntry[] {
  const doc = parseJsonText(text, variable, path);
  const expected =
    'expected a JSON array of {"username", "accountId", "token"} as `fedicap testbed --tokens-out` or seed.rb writes';
  if (!Array.isArray(doc)) throw new Error(`${where(variable, path)}: ${expected}`);
  if (doc.length === 0) throw new Error(`${where(variable, path)}: the tokens file is empty; ${expected}`);
  return doc.map((item: unknown, i) => {
    const e = item as Record<string, unknown> | null;
    const bad = (what: string) => new Error(`${where(variable, path)}: item ${i} ${what}; ${expected}`);
    if (!e || typeof e !== 'object' || Array.isArray(e)) throw bad('is not an object');
    if (typeof e.username !== 'string' || e.username === '') throw bad('has no "username" string');
    if (typeof e.accountId !== 'string' && typeof e.accountId !== 'number') throw bad('has no "accountId"');
    if (typeof e.token !== 'string' || e.token.length < 8) throw bad('has no "token" string');
    return { username: e.username, accountId: String(e.accountId), token: e.token };
  });
}

const str = (v: unknown) => typeof v === 'string' && v !== '';

function checkActor(a: unknown, label: string, fail: (m: string) => Error): FleetActor {
  const x = a as Record<string, unknown> | null;
  if (!x || typeof x !== 'object') throw fail(`${label} is not an object`);
  for (const k of ['id', 'keyId', 'privateKeyPem', 'inbox', 'host', 'username'] as const) {
    if (!str(x[k])) throw fail(`${label} has no "${k}"`);
  }
  if (!/^https?:\/\//.test(x.id as string)) throw fail(`${label} "id" is not an http(s) URL`);
  if (!String(x.privateKeyPem).includes('PRIVATE KEY'))
    throw fail(`${label} "privateKeyPem" is not a PEM private key`);
  if (x.population !== 'warm' && x.population !== 'cold')
    throw fail(`${label} "population" must be "warm" or "cold"`);
  return x as unknown as FleetActor;
}

/** Validate a fleet manifest (world/fleet/manifest.ts): version 1, actors with keys, relay, media, pages. */
export function parseFleet(text: string, path: string, variable = 'FLEET'): FleetManifest {
  const doc = parseJsonText(text, variable, path) as Record<string, unknown> | null;
  const fail = (m: string) =>
    new Error(`${where(variable, path)}: ${m} (expected the manifest \`fedicap fleet\` writes)`);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw fail('not a JSON object');
  if (doc.version !== 1)
    throw fail(`"version" is ${JSON.stringify(doc.version)}, this version of the scenarios reads version 1`);
  if (!Array.isArray(doc.actors) || doc.actors.length === 0) throw fail('"actors" is missing or empty');
  for (const [i, a] of (doc.actors as unknown[]).entries()) checkActor(a, `actors[${i}]`, fail);
  if (doc.relay !== undefined && doc.relay !== null) checkActor(doc.relay, 'relay', fail);
  if (!Array.isArray(doc.media)) throw fail('"media" is missing');
  if (!Array.isArray(doc.pages)) throw fail('"pages" is missing');
  for (const [i, m] of (doc.media as unknown[]).entries()) {
    const x = m as Record<string, unknown> | null;
    if (!x || !str(x.url) || !str(x.mediaType)) throw fail(`media[${i}] has no "url" and "mediaType"`);
  }
  return doc as unknown as FleetManifest;
}

/**
 * Validate the manifest of the images to upload (IMAGES=DIR, DIR/manifest.json as `fedicap run` writes it):
 * version 1, files with a plain name, a size, an image content type and shares adding up to 1.
 */
export function parseImageManifest(text: string, path: string, variable = 'IMAGES'): ImageFile[] {
  const doc = parseJsonText(text, variable, path) as Record<string, unknown> | null;
  const fail = (m: string) =>
    new Error(
      `${where(variable, path)}: ${m} (expected the manifest.json \`fedicap run\` writes into OUT/images)`,
    );
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw fail('not a JSON object');
  if (doc.version !== 1) throw fail(`"version" is ${JSON.stringify(doc.version)}, expected 1`);
  if (!Array.isArray(doc.files) || doc.files.length === 0) throw fail('"files" is missing or empty');
  let shares = 0;
  const files = (doc.files as unknown[]).map((f, i) => {
    const x = f as Record<string, unknown> | null;
    if (!x || typeof x !== 'object') throw fail(`files[${i}] is not an object`);
    if (!str(x.name) || /[/\\]/.test(x.name as string) || x.name === '..')
      throw fail(`files[${i}] has no plain "name" (a file in the same directory)`);
    if (!(typeof x.bytes === 'number' && x.bytes > 0)) throw fail(`files[${i}] has no positive "bytes"`);
    if (!str(x.contentType) || !String(x.contentType).startsWith('image/'))
      throw fail(`files[${i}] "contentType" is not an image type`);
    if (!(typeof x.share === 'number' && x.share >= 0)) throw fail(`files[${i}] has no "share"`);
    shares += x.share;
    return x as unknown as ImageFile;
  });
  if (Math.abs(shares - 1) > 1e-6) throw fail(`the files' shares add up to ${shares}, not 1`);
  return files;
}

/**
 * The profile document (quantities bare or {value, range, source}); checked enough to name what is missing.
 */
export function parseProfileText(text: string, path: string, variable = 'PROFILE'): Record<string, unknown> {
  const doc = parseJsonText(text, variable, path) as Record<string, unknown> | null;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${where(variable, path)}: expected an instance profile (a JSON object)`);
  for (const k of ['accounts', 'activity', 'graph', 'relays', 'growth', 'serviceDemands', 'slo']) {
    if (!(k in doc))
      throw new Error(
        `${where(variable, path)}: not an instance profile: "${k}" is missing (see docs/profile.md; \`fedicap profile check FILE\` explains)`,
      );
  }
  return doc;
}

/** k6 durations: "90s", "1m30s", "2h", "500ms" → seconds. */
export function parseDuration(text: string, variable = 'DURATION'): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const v = Number(m[1]);
    total += m[2] === 'ms' ? v / 1000 : m[2] === 's' ? v : m[2] === 'm' ? v * 60 : v * 3600;
    consumed += m[0].length;
  }
  if (consumed !== t.length || consumed === 0 || !(total > 0)) {
    throw new Error(`${variable}=${text}: expected a duration such as 30s, 5m or 1h30m`);
  }
  return total;
}

/** A positive number from the environment (SCALE, RATE...). */
export function parsePositive(text: string, variable: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${variable}=${text}: expected a positive number`);
  return v;
}

/** Seconds → a k6 duration string ("2.5s" → "2500ms"). */
export function formatDuration(sec: number): string {
  return Number.isInteger(sec) ? `${sec}s` : `${Math.round(sec * 1000)}ms`;
}
