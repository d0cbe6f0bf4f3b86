/**
 * The scenarios' inputs, read in the init context (open() works only there):
 *
 *   BASE_URL  the target, e.g. https://staging.example.org        (required)
 *   TOKENS    tokens file: [{username, accountId, token}]          (client API scenarios)
 *   FLEET     fleet manifest written by `fedicap fleet`            (federation scenarios)
 *   PROFILE   instance profile JSON (the file the forecast reads)  (default: the embedded default profile,
 *             fixtures/default-profile.json)
 *   SCALE     multiplier of the profile's rates (default 1)
 *   DURATION  how long each constant-rate scenario runs (default 1m)
 *   LOAD      peak (default) or mean: peak-hour or daily-mean rates
 *   CONTENT   content corpus (content.json from `fedicap seed`); built-in fallback
 *   IMAGES    directory of images to upload, with manifest.json (media scenarios; `fedicap run` makes it)
 *
 * File paths must be absolute: k6 resolves a relative open() path against the
 * script (the module whose top-level code runs), not the working directory.
 * A missing or malformed input throws an Error naming the variable and the
 * file (the local executor reports it and exits 2; k6 aborts the init).
 * Large, shared data (tokens, actors with keys, the corpus) lives in
 * SharedArray: one copy for all VUs.
 */
import { SharedArray } from 'k6/data';
import { b64encode } from 'k6/encoding';
import type { ImageFile } from '../../src/run/imageManifest.ts';
import type { FleetActor, FleetManifest } from '../../world/fleet/manifest.ts';
import { BUILTIN_CORPUS, parseCorpus, type CorpusPost } from './content.ts';
import {
  isAbsolutePath,
  parseDuration,
  parseFleet,
  parseImageManifest,
  parseJsonText,
  parsePositive,
  parseProfileText,
  parseTokens,
  type TokenEntry,
} from './inputs.ts';
import { profileRates, type ProfileRates } from './rates.ts';

export type { TokenEntry, FleetActor, ProfileRates, CorpusPost };

function env(name: string): string | undefined {
  const v = __ENV[name];
  return v === undefined || v === '' ? undefined : v;
}

function filePath(variable: string, what: string): string {
  const path = env(variable);
  if (!path) throw new Error(`${variable} is not set: give -e ${variable}=/absolute/path (${what})`);
  if (!isAbsolutePath(path))
    throw new Error(
      `${variable}=${path}: give an absolute path (k6 resolves files relative to the script, not to the working directory)`,
    );
  return path;
}

function readText(variable: string, path: string): string {
  let text: string;
  try {
    text = open(path);
  } catch (err) {
    throw new Error(`${variable}=${path}: cannot read the file (${String((err as Error).message ?? err)})`);
  }
  return text;
}

function readBinary(variable: string, path: string): ArrayBuffer {
  try {
    return open(path, 'b');
  } catch (err) {
    throw new Error(`${variable}: cannot read ${path} (${String((err as Error).message ?? err)})`);
  }
}

/** BASE_URL without a trailing slash. */
export function baseUrl(): string {
  const v = env('BASE_URL');
  if (!v)
    throw new Error(
      'BASE_URL is not set: give -e BASE_URL=https://your-staging-instance (fedicap run sets it from --target)',
    );
  if (!/^https?:\/\/[^/]+/i.test(v))
    throw new Error(`BASE_URL=${v}: expected an http(s) URL such as https://staging.example.org`);
  return v.replace(/\/+$/, '');
}

/** SCALE (default 1). */
export function scale(): number {
  const v = env('SCALE');
  return v === undefined ? 1 : parsePositive(v, 'SCALE');
}

/** DURATION in seconds (default 60). */
export function durationSec(fallback = '1m'): number {
  return parseDuration(env('DURATION') ?? fallback, 'DURATION');
}

/** A duration from the environment ("90s", "1m30s") in seconds, with a default in seconds. */
export function durationEnv(name: string, fallbackSec: number): number {
  const v = env(name);
  return v === undefined ? fallbackSec : parseDuration(v, name);
}

/** A positive number from the environment with a default. */
export function numberEnv(name: string, fallback: number): number {
  const v = env(name);
  return v === undefined ? fallback : parsePositive(v, name);
}

export function stringEnv(name: string, fallback: string): string {
  return env(name) ?? fallback;
}

/** One image to upload: its manifest entry; its bytes are in `UploadImages.base64` at the same index. */
export type UploadImage = Pick<ImageFile, 'name' | 'bytes' | 'contentType' | 'width' | 'height' | 'share'>;

export interface UploadImages {
  files: UploadImage[];
  /** Each file's share of the uploads, in the order of `files`. */
  shares: number[];
  /** Base64 of each file, in the order of `files` (decode per upload: b64decode is native in k6). */
  base64: string[];
}

/**
 * IMAGES: the directory of images to upload (manifest.json and the files it lists, as `fedicap run` generates
 * into OUT/images), each file opened with open(path, 'b') here in the init context, once for the test: the
 * bytes are kept base64-encoded in a SharedArray, one copy for all VUs (open() alone keeps one per VU).
 */
export function loadImages(): UploadImages {
  const dir = filePath(
    'IMAGES',
    'the directory of images to upload, with its manifest.json; `fedicap run` generates it into OUT/images',
  ).replace(/[/\\]+$/, '');
  const manifestPath = `${dir}/manifest.json`;
  const files = new SharedArray('fedicap:images', () =>
    parseImageManifest(readText('IMAGES', manifestPath), manifestPath).map((f) => ({
      name: f.name,
      bytes: f.bytes,
      contentType: f.contentType,
      width: f.width,
      height: f.height,
      share: f.share,
    })),
  ) as unknown as UploadImage[];
  const base64 = new SharedArray('fedicap:image-bytes', () => {
    const out: string[] = [];
    for (const f of files) out.push(b64encode(readBinary('IMAGES', `${dir}/${f.name}`)));
    return out;
  }) as unknown as string[];
  const shares: number[] = [];
  for (const f of files) shares.push(f.share);
  return { files, shares, base64 };
}

/** The tokens file (SharedArray). */
export function loadTokens(): TokenEntry[] {
  const path = filePath('TOKENS', 'the tokens file from `fedicap testbed --tokens-out` or seed.rb');
  return new SharedArray('fedicap:tokens', () =>
    parseTokens(readText('TOKENS', path), path),
  ) as unknown as TokenEntry[];
}

/** TOKENS when set, else no accounts (scenarios that can run without local accounts). */
export function loadTokensIfGiven(): TokenEntry[] {
  return env('TOKENS') ? loadTokens() : [];
}

let manifestCache: FleetManifest | undefined;
function manifest(): FleetManifest {
  if (!manifestCache) {
    const path = filePath('FLEET', 'the manifest `fedicap fleet` writes');
    manifestCache = parseFleet(readText('FLEET', path), path);
  }
  return manifestCache;
}

/** How to make this run's cold actors: the fleet serves `${prefix}<RUN>x<N>` on every instance. */
export interface ColdActorTemplate {
  scheme: 'http' | 'https';
  usernamePrefix: string;
  /** Private keys (PEM): actor N signs with keys[N mod length]. */
  keys: string[];
  /** Instance hosts: actor N lives on hosts[N mod length]. */
  hosts: string[];
}

export interface FleetInputs {
  warm: FleetActor[];
  cold: ColdActorTemplate | null;
  relay: FleetActor | null;
  /** Where the fleet LD-signs its actors' activities (null in manifests of older fleets). */
  ldSignUrl: string | null;
  media: FleetManifest['media'];
  pages: string[];
  /** The fleet's observation endpoint (what the target delivered, which actors it fetched). */
  observedUrl: string | null;
}

/** Warm fleet actors, the cold-actor template, relay, media and page URLs (SharedArray: keys load once). */
export function loadFleet(): FleetInputs {
  const warm = new SharedArray('fedicap:fleet-warm', () =>
    manifest().actors.filter((a) => a.population === 'warm'),
  ) as unknown as FleetActor[];
  const meta = new SharedArray('fedicap:fleet-meta', () => {
    const m = manifest();
    const cold: ColdActorTemplate | null = m.coldActors
      ? {
          scheme: m.scheme,
          usernamePrefix: m.coldActors.usernamePrefix,
          keys: m.coldActors.keys,
          hosts: m.instances.map((i) => i.host),
        }
      : null;
    return [
      {
        relay: m.relay ?? null,
        ldSignUrl: m.ldSignUrl ?? null,
        media: m.media,
        pages: m.pages.map((p) => p.url),
        cold,
        observedUrl: m.observedUrl ?? null,
      },
    ];
  })[0] as Omit<FleetInputs, 'warm'>;
  return { warm, ...meta };
}

/** The embedded default profile, next to the scenarios (k6 resolves open() from the entry script). */
const DEFAULT_PROFILE_PATHS = ['../fixtures/default-profile.json', '../../fixtures/default-profile.json'];

function profileText(): { text: string; path: string } {
  const given = env('PROFILE');
  if (given) {
    const path = filePath('PROFILE', 'an instance profile, e.g. fixtures/default-profile.json');
    return { text: readText('PROFILE', path), path };
  }
  for (const path of DEFAULT_PROFILE_PATHS) {
    try {
      return { text: open(path), path: `${path} (the embedded default profile)` };
    } catch {
      // next candidate: k6 has resolved open() against the entry script and against the module
    }
  }
  throw new Error(
    'PROFILE is not set and the embedded default profile (fixtures/default-profile.json) was not found next to the scenarios: give -e PROFILE=/absolute/path',
  );
}

/** Rates from PROFILE (default: the embedded default profile). */
export function loadRates(): ProfileRates {
  const { text, path } = profileText();
  const doc = parseProfileText(text, path);
  const load = stringEnv('LOAD', 'peak');
  if (load !== 'peak' && load !== 'mean') throw new Error(`LOAD=${load}: expected peak or mean`);
  try {
    return profileRates(doc, load);
  } catch (err) {
    throw new Error(
      `PROFILE=${path}: cannot derive rates (${(err as Error).message}); \`fedicap profile check ${path}\` explains what is wrong`,
    );
  }
}

/** CONTENT corpus when given, else the built-in one. */
export function loadCorpus(): CorpusPost[] {
  const path = env('CONTENT');
  if (!path) return BUILTIN_CORPUS as CorpusPost[];
  if (!isAbsolutePath(path))
    throw new Error(`CONTENT=${path}: give an absolute path (k6 resolves files relative to the script)`);
  return new SharedArray('fedicap:content', () =>
    parseCorpus(parseJsonText(readText('CONTENT', path), 'CONTENT', path), `CONTENT=${path}`),
  ) as unknown as CorpusPost[];
}
