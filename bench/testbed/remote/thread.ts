/**
 * The remote world, run as a worker thread: it serves the *.remote.test
 * actors and generates the load, so signing and the HTTP client do not share
 * the testbed's event loop. Answers the main thread's commands (../protocol.ts).
 */
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { signRequest } from '../../../src/mastodon/signatures.js';
import { type KeyPair, newRsaKeyPair } from '../../../world/keys.js';
import { msBetween, nowNs } from '../clock.js';
import { type ActorRef, actorUri, type Command, type PreparedBatch, type Started } from '../protocol.js';
import { createActivity } from './documents.js';
import { closed, type Prepared, readers, steps } from './load.js';
import { remoteServer, type Served } from './server.js';

const KEYS = 8;
const keys: KeyPair[] = [];
let avatar: Buffer = Buffer.alloc(0);
let header: Buffer = Buffer.alloc(0);
let target: URL | undefined;
const batches = new Map<string, Prepared[]>();
const served: Served = { actor: 0, webfinger: 0, collection: 0, image: 0, other: 0 };

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
/** Actors share a pool of keys (as world/keys.ts KeyPool): signing cost per request is the same. */
const keyOf = (a: ActorRef) => keys[hash(`${a.host}/${a.user}`) % keys.length]!;

const server = remoteServer(() => ({ publicKeyPemOf: (a) => keyOf(a).publicKeyPem, avatar, header }), served);

const noiseJpeg = (width: number, height: number) =>
  sharp({
    create: {
      width,
      height,
      channels: 3,
      background: { r: 128, g: 128, b: 128 },
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .jpeg({ quality: 80 })
    .toBuffer();

async function start(): Promise<Started> {
  keys.push(...(await Promise.all(Array.from({ length: KEYS }, () => newRsaKeyPair()))));
  [avatar, header] = await Promise.all([noiseJpeg(400, 400), noiseJpeg(1500, 500)]);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    avatarBytes: avatar.length,
    headerBytes: header.length,
  };
}

/** Sign `count` Creates from `actors` (round robin) for the target's shared inbox. */
function prepare(actors: ActorRef[], count: number, tag: string): { requests: Prepared[]; signMs: number } {
  const url = new URL('/inbox', targetUrl());
  const t0 = nowNs();
  const publishedIso = new Date(Date.now() - 1000).toISOString();
  const requests: Prepared[] = [];
  for (let i = 0; i < count; i++) {
    const a = actors[i % actors.length]!;
    const body = createActivity(a, `${tag}${i}`, publishedIso);
    const headers = signRequest({
      keyId: `${actorUri(a)}#main-key`,
      privateKeyPem: keyOf(a).privateKeyPem,
      method: 'POST',
      url,
      body,
      headers: { 'Content-Type': 'application/activity+json' },
    });
    headers['Content-Length'] = String(Buffer.byteLength(body));
    headers['User-Agent'] = 'fedicap-bench (remote world)';
    requests.push({ path: url.pathname, headers, body });
  }
  return { requests, signMs: msBetween(t0, nowNs()) };
}

function targetUrl(): URL {
  if (!target) throw new Error('no target testbed yet');
  return target;
}

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case 'start':
      return start();
    case 'target':
      target = new URL(cmd.url);
      return null;
    case 'prepare': {
      const { requests, signMs } = prepare(cmd.actors, cmd.count, cmd.tag);
      batches.set(cmd.batch, requests);
      return { count: requests.length, signMs } satisfies PreparedBatch;
    }
    case 'closed':
      return closed(targetUrl(), batches.get(cmd.batch) ?? [], cmd.concurrency);
    case 'steps':
      return steps(targetUrl(), batches.get(cmd.batch) ?? [], cmd.steps, cmd.maxInFlight);
    case 'readers':
      return readers(targetUrl(), cmd.path, cmd.tokens, cmd.durationMs);
    case 'drop':
      batches.delete(cmd.batch);
      return null;
    case 'remoteStats':
      return { ...served };
  }
}

parentPort!.on('message', (msg: { id: number; cmd: Command }) => {
  handle(msg.cmd).then(
    (result) => parentPort!.postMessage({ id: msg.id, result }),
    (err: Error) => parentPort!.postMessage({ id: msg.id, error: err.message }),
  );
});
