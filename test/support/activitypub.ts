/**
 * Test support for the ActivityPub side of the testbed: a fake "remote
 * instance" (one HTTP server on 127.0.0.1 answering for any *.remote.test
 * host through the testbed's resolve rule), local accounts and statuses
 * written straight to the database, and a bounded drain of Sidekiq queues
 * that performs jobs in-process (tests run the testbed without Sidekiq
 * processes so every job is run deliberately).
 */
import http from 'node:http';
import httpSignature from 'http-signature';
import sharp from 'sharp';
import { expect } from 'vitest';
import { createLocalAccount as seedLocalAccount } from '../../world/testbed/accounts.js';
import type { AccountRow } from '../../world/testbed/activitypub/accounts.js';
import { signRequest, verifyRequest, type KeyHolder } from '../../src/mastodon/signatures.js';
import { accountUri, statusUriFor } from '../../world/testbed/activitypub/uris.js';
import type { Testbed } from '../../world/testbed/context.js';
import { VISIBILITY, type Visibility } from '../../world/testbed/db/pool.js';
import { newRsaKeyPair, type KeyPair } from '../../world/keys.js';
import type { TestbedJobClass } from '../../world/testbed/jobClasses.js';
import type { SidekiqJob, WorkerRegistry } from '../../world/testbed/sidekiq/types.js';
import { startTestTestbed, type TestbedFixture } from './testbed.js';
import { PUBLIC_COLLECTION as PUBLIC } from '../../src/mastodon/activitypub.js';
import { AS_CONTEXT as AS } from '../../world/testbed/activitypub/uris.js';

/** The ActivityStreams context and Public collection, as the testbed and Mastodon name them. */
export { AS, PUBLIC };

export interface LoggedRequest {
  method: string;
  host: string;
  /** Path without query. */
  path: string;
  /** Path with query, as received. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface InboxDelivery extends LoggedRequest {
  activity: Record<string, unknown>;
  keyId: string;
  /** Verified by testbed/activitypub/signatures.ts verifyRequest. */
  verifiedMine: boolean;
  mineError?: string;
  /** Verified by joyent's http-signature (parseRequest + verifySignature). */
  verifiedJoyent: boolean;
  joyentError?: string;
}

export interface RemoteActor {
  host: string;
  username: string;
  uri: string;
  keyId: string;
  inbox: string;
  sharedInbox?: string;
  keys: KeyPair;
  document: Record<string, unknown>;
}

interface Resource {
  status: number;
  type: string;
  body: Buffer | string;
}

/** One HTTP server standing in for every *.remote.test host (routing on the Host header). */
export class FakeRemote {
  port = 0;
  readonly requests: LoggedRequest[] = [];
  readonly deliveries: InboxDelivery[] = [];
  /** HTTP status answered at an inbox (https URL); 202 when absent. */
  readonly inboxStatus = new Map<string, number>();
  private readonly actors = new Map<string, RemoteActor>();
  private readonly resources = new Map<string, Resource>();
  private readonly collections = new Map<string, number>();
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Requests seen (optionally filtered). */
  seen(filter: (r: LoggedRequest) => boolean = () => true): LoggedRequest[] {
    return this.requests.filter(filter);
  }

  clearLog(): void {
    this.requests.length = 0;
    this.deliveries.length = 0;
  }

  /** Serve `body` at https://host/path. */
  serve(host: string, path: string, body: Buffer | string, type: string, status = 200): string {
    this.resources.set(`${host}${path}`, { status, type, body });
    return `https://${host}${path}`;
  }

  /** A remote actor with its own RSA key, served with WebFinger and collection totals. */
  async addActor(
    host: string,
    username: string,
    opts: { sharedInbox?: boolean; type?: string; keys?: KeyPair; icon?: string } = {},
  ): Promise<RemoteActor> {
    const keys = opts.keys ?? (await newRsaKeyPair());
    const uri = `https://${host}/users/${username}`;
    const sharedInbox = opts.sharedInbox === false ? undefined : `https://${host}/inbox`;
    const document: Record<string, unknown> = {
      '@context': [AS, 'https://w3id.org/security/v1'],
      id: uri,
      type: opts.type ?? 'Person',
      preferredUsername: username,
      name: username.toUpperCase(),
      inbox: `${uri}/inbox`,
      outbox: `${uri}/outbox`,
      followers: `${uri}/followers`,
      following: `${uri}/following`,
      ...(sharedInbox ? { endpoints: { sharedInbox } } : {}),
      ...(opts.icon ? { icon: { type: 'Image', mediaType: 'image/png', url: opts.icon } } : {}),
      publicKey: { id: `${uri}#main-key`, owner: uri, publicKeyPem: keys.publicKeyPem },
    };
    const actor: RemoteActor = {
      host,
      username,
      uri,
      keyId: `${uri}#main-key`,
      inbox: `${uri}/inbox`,
      sharedInbox,
      keys,
      document,
    };
    this.actors.set(`${host}/users/${username}`, actor);
    this.collections.set(`${host}/users/${username}/outbox`, 12);
    this.collections.set(`${host}/users/${username}/followers`, 34);
    this.collections.set(`${host}/users/${username}/following`, 56);
    return actor;
  }

  /** Replace an actor's key (key rotation). */
  async rotateKey(actor: RemoteActor): Promise<void> {
    actor.keys = await newRsaKeyPair();
    actor.document.publicKey = { id: actor.keyId, owner: actor.uri, publicKeyPem: actor.keys.publicKeyPem };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const host = String(req.headers.host ?? '').toLowerCase();
      const u = new URL(req.url ?? '/', 'http://x');
      const logged: LoggedRequest = {
        method: req.method ?? 'GET',
        host,
        path: u.pathname,
        url: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      this.requests.push(logged);
      this.respond(req, res, logged, u).catch((e: Error) => {
        res.writeHead(500).end(String(e.message));
      });
    });
  }

  private async respond(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    r: LoggedRequest,
    u: URL,
  ): Promise<void> {
    const key = `${r.host}${r.path}`;
    const json = (status: number, body: unknown, type = 'application/activity+json') => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(JSON.stringify(body));
    };
    if (r.method === 'POST') {
      await this.receive(req, r);
      res.writeHead(this.inboxStatus.get(`https://${key}`) ?? 202).end();
      return;
    }
    if (r.path === '/.well-known/webfinger') {
      const acct = (u.searchParams.get('resource') ?? '').replace(/^acct:/, '');
      const [username, domain] = acct.split('@');
      const actor = this.actors.get(`${domain}/users/${username}`);
      if (!actor) return void res.writeHead(404).end();
      return json(
        200,
        {
          subject: `acct:${acct}`,
          links: [{ rel: 'self', type: 'application/activity+json', href: actor.uri }],
        },
        'application/jrd+json',
      );
    }
    const actor = this.actors.get(key);
    if (actor) return json(200, actor.document);
    const total = this.collections.get(key);
    if (total !== undefined)
      return json(200, {
        '@context': AS,
        id: `https://${key}`,
        type: 'OrderedCollection',
        totalItems: total,
      });
    const resource = this.resources.get(key);
    if (resource) {
      res.writeHead(resource.status, {
        'Content-Type': resource.type,
        'Content-Length': Buffer.byteLength(resource.body),
      });
      res.end(resource.body);
      return;
    }
    res.writeHead(404).end();
  }

  /** An inbox POST: verified with our verifier (key fetched from the testbed over HTTP) and with joyent's. */
  private async receive(req: http.IncomingMessage, r: LoggedRequest): Promise<void> {
    let activity: Record<string, unknown> = {};
    try {
      activity = JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      /* recorded as {} */
    }
    const keys = new Map<string, string>();
    const fetchKey = async (keyId: string): Promise<string | null> => {
      if (!keys.has(keyId)) {
        const res = await fetch(keyId.split('#')[0]!, { headers: { Accept: 'application/activity+json' } });
        if (!res.ok) return null;
        const doc = (await res.json()) as { publicKey?: { publicKeyPem?: string } };
        keys.set(keyId, doc.publicKey?.publicKeyPem ?? '');
      }
      return keys.get(keyId) ?? null;
    };
    const mine = await verifyRequest<KeyHolder>(
      { method: r.method, path: r.url, headers: r.headers, body: r.body },
      {
        lookup: async (keyId) =>
          (await fetchKey(keyId)) ? { publicKeyPem: (await fetchKey(keyId))! } : null,
      },
    );
    let verifiedJoyent = false;
    let joyentError: string | undefined;
    let keyId = '';
    try {
      const parsed = httpSignature.parseRequest(
        {
          headers: { ...r.headers, authorization: undefined },
          method: r.method,
          url: r.url,
          httpVersion: req.httpVersion,
        },
        { clockSkew: 300, headers: ['(request-target)', 'host', 'date', 'digest'] },
      );
      keyId = parsed.keyId;
      verifiedJoyent = httpSignature.verifySignature(parsed, (await fetchKey(parsed.keyId)) ?? '');
    } catch (e) {
      joyentError = (e as Error).message;
    }
    this.deliveries.push({
      ...r,
      activity,
      keyId,
      verifiedMine: mine.ok,
      ...(mine.ok ? {} : { mineError: mine.error }),
      verifiedJoyent,
      ...(joyentError ? { joyentError } : {}),
    });
  }
}

// ---------------------------------------------------------------- testbed

export interface FederationFixture {
  fx: TestbedFixture;
  tb: Testbed;
  remote: FakeRemote;
  stop(): Promise<void>;
}

/** Stand-ins for the client API's job classes, registered only if the real ones are absent. */
export const LOCAL_JOB_STUBS = ['DistributionWorker', 'LocalNotificationWorker', 'FeedInsertWorker'] as const;

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A testbed whose *.remote.test hosts resolve to a fresh FakeRemote (and
 * *.dead.test to a closed port). Without `withSidekiq` it runs no Sidekiq
 * processes: jobs are run deliberately with `drain`/`perform`.
 */
export async function startFederation(opts: { withSidekiq?: boolean } = {}): Promise<FederationFixture> {
  const remote = new FakeRemote();
  await remote.start();
  const fx = await startTestTestbed({
    resolve: [
      { suffix: 'remote.test', host: '127.0.0.1', port: remote.port },
      { suffix: 'dead.test', host: '127.0.0.1', port: await closedPort() },
    ],
    ...(opts.withSidekiq ? {} : { sidekiq: [] }),
  });
  for (const name of LOCAL_JOB_STUBS)
    fx.tb.workers[name] ??= { queue: 'default', retry: true, perform: async () => undefined };
  return {
    fx,
    tb: fx.tb,
    remote,
    async stop() {
      await fx.stop();
      await remote.stop();
    },
  };
}

/** A local account (account, user, token) made by testbed/accounts.ts, as its accounts row. */
export async function createLocalAccount(tb: Testbed, username: string): Promise<AccountRow> {
  const { accountId } = await seedLocalAccount(tb, { username });
  const { rows } = await tb.db.query<AccountRow>('SELECT * FROM accounts WHERE id = $1', [accountId]);
  expect(rows[0]!.uri).toBe(accountUri(tb, username));
  return rows[0]!;
}

/** A local status (what POST /api/v1/statuses would store), with optional mentions. */
export async function createLocalStatus(
  tb: Testbed,
  author: AccountRow,
  text: string,
  opts: { visibility?: Visibility; mentions?: { id: string }[]; reblogOf?: string } = {},
): Promise<{ id: string; uri: string }> {
  const id = (await tb.db.query<{ id: string }>('SELECT timestamp_id() AS id')).rows[0]!.id;
  const uri = statusUriFor(tb, author.username, id);
  await tb.db.query(
    'INSERT INTO statuses (id, uri, url, text, visibility, account_id, local, reblog_of_id) VALUES ($1, $2, $3, $4, $5, $6, true, $7)',
    [
      id,
      uri,
      `${tb.baseUrl}/@${author.username}/${id}`,
      text,
      VISIBILITY[opts.visibility ?? 'public'],
      author.id,
      opts.reblogOf ?? null,
    ],
  );
  for (const m of opts.mentions ?? [])
    await tb.db.query('INSERT INTO mentions (status_id, account_id) VALUES ($1, $2)', [id, m.id]);
  return { id, uri };
}

/** A remote account row as if fetched earlier. */
export async function storeRemoteAccount(tb: Testbed, actor: RemoteActor): Promise<AccountRow> {
  const { rows } = await tb.db.query<AccountRow>(
    `INSERT INTO accounts (username, domain, uri, inbox_url, shared_inbox_url, followers_url, key_id, public_key, last_webfingered_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) RETURNING *`,
    [
      actor.username,
      actor.host,
      actor.uri,
      actor.inbox,
      actor.sharedInbox ?? null,
      `${actor.uri}/followers`,
      actor.keyId,
      actor.keys.publicKeyPem,
    ],
  );
  return rows[0]!;
}

// ---------------------------------------------------------------- jobs

export interface Performed {
  job: SidekiqJob;
  error?: Error;
}

/** Jobs waiting in queue:NAME, oldest first. */
export async function queued(tb: Testbed, queue: string): Promise<SidekiqJob[]> {
  const raw = await tb.redis.lrange(`queue:${queue}`, 0, -1);
  return raw.map((j) => JSON.parse(j) as SidekiqJob).reverse();
}

/** Jobs in the `schedule` set (perform_in). */
export async function scheduledJobs(tb: Testbed): Promise<SidekiqJob[]> {
  return (await tb.redis.zrange('schedule', 0, -1)).map((j) => JSON.parse(j) as SidekiqJob);
}

/**
 * Pop jobs from queue:NAME (oldest first) and perform them in-process, at
 * most `max` (bounded). Errors are returned, not thrown (as Sidekiq would
 * send them to the retry set).
 */
export async function drain(tb: Testbed, queue: string, max = 50): Promise<Performed[]> {
  const done: Performed[] = [];
  for (let i = 0; i < max; i++) {
    const raw = await tb.redis.rpop(`queue:${queue}`);
    if (!raw) break;
    const job = JSON.parse(raw) as SidekiqJob;
    const registry: WorkerRegistry = tb.workers;
    const worker = registry[job.class];
    try {
      if (!worker) throw new Error(`unknown job class ${job.class}`);
      await worker.perform(job.args, { jid: job.jid, queue, retryCount: job.retry_count ?? 0 });
      done.push({ job });
    } catch (e) {
      done.push({ job, error: e as Error });
    }
  }
  return done;
}

/**
 * Drain the given queues in turn until all are empty (jobs enqueue
 * follow-ups), at most `rounds` passes. Returns every job performed.
 */
export async function settle(
  tb: Testbed,
  queues: string[] = ['ingress', 'default'],
  rounds = 10,
): Promise<Performed[]> {
  const all: Performed[] = [];
  for (let round = 0; round < rounds; round++) {
    let ran = 0;
    for (const q of queues) {
      const done = await drain(tb, q);
      ran += done.length;
      all.push(...done);
    }
    if (ran === 0) break;
  }
  return all;
}

export { waitFor } from './helpers.js';

/** Errors of performed jobs, as "Class: message" (empty when all succeeded). */
export const errorsOf = (performed: Performed[]) =>
  performed.filter((p) => p.error).map((p) => `${p.job.class}: ${p.error!.message}`);

/** Perform one job of `className` now (as Sidekiq would), throwing its error. */
export async function perform(tb: Testbed, className: TestbedJobClass, args: unknown[]): Promise<void> {
  const worker = tb.workers[className];
  if (!worker) throw new Error(`unknown job class ${className}`);
  await worker.perform(args, { jid: 'test', queue: worker.queue, retryCount: 0 });
}

// ---------------------------------------------------------------- requests

/**
 * POST an activity to the testbed signed as `actor` (Mastodon's headers); `sendBody` sends another body than
 * the one signed.
 */
export async function postSigned(
  fx: { url: string },
  path: string,
  activity: unknown,
  actor: RemoteActor,
  opts: {
    body?: string;
    sendBody?: string;
    date?: Date;
    headers?: (h: Record<string, string>) => Record<string, string>;
    contentType?: string;
  } = {},
): Promise<{ status: number; body: string }> {
  const body = opts.body ?? JSON.stringify(activity);
  const contentType = opts.contentType ?? 'application/activity+json';
  let headers = signRequest({
    keyId: actor.keyId,
    privateKeyPem: actor.keys.privateKeyPem,
    method: 'POST',
    url: `${fx.url}${path}`,
    body,
    headers: { 'Content-Type': contentType },
    now: opts.date,
  });
  if (opts.headers) headers = opts.headers(headers);
  const { Host: _host, ...send } = headers;
  const res = await fetch(`${fx.url}${path}`, { method: 'POST', headers: send, body: opts.sendBody ?? body });
  return { status: res.status, body: await res.text() };
}

/** A small real PNG. */
export function png(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 40, g: 90, b: 200 } } })
    .png()
    .toBuffer();
}

export function noteCreate(
  actor: RemoteActor,
  id: string,
  extra: Record<string, unknown> = {},
  to: unknown[] = [PUBLIC],
): Record<string, unknown> {
  const noteId = `${actor.uri}/statuses/${id}`;
  return {
    '@context': AS,
    id: `${noteId}/activity`,
    type: 'Create',
    actor: actor.uri,
    to,
    cc: [`${actor.uri}/followers`],
    object: {
      id: noteId,
      type: 'Note',
      attributedTo: actor.uri,
      published: new Date(Date.now() - 1000).toISOString(),
      to,
      cc: [`${actor.uri}/followers`],
      content: '<p>hello</p>',
      ...extra,
    },
  };
}
