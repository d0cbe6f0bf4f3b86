/**
 * The fleet: one HTTP (or HTTPS) server on loopback answering, by Host
 * header, for N simulated remote instances `i1.SUFFIX` … `iN.SUFFIX` and a
 * relay `relay.SUFFIX`. Each instance serves WebFinger, actor documents,
 * collections with totals, avatars and headers, generated media, pages with
 * OpenGraph tags, notes for any status id, and inboxes that verify HTTP
 * signatures (fetching the signer's key from the target over loopback) and
 * record every delivery. POST /_fleet/sign (LD_SIGN_PATH, any Host) returns
 * an activity of a fleet actor with that actor's JSON-LD signature: the
 * Creates the fleet originates carry one, as Mastodon's public Creates do,
 * and its relay forwards them unchanged. Slow instances answer inbox POSTs after the
 * target's read timeout, failing ones with 5xx: the push-queue failure modes
 * of Mastodon issue #12445.
 *
 * `startFleet(options)` → { url, port, manifest, deliveries(), stop() }.
 *
 * `GET /.fedicap/observed?since=MS&prefix=P` (any Host) tells a scenario's
 * teardown what the target did: verified deliveries by activity type
 * received since MS, and how many actors whose username starts with P the
 * target fetched. It reveals counts only, never keys or bodies.
 */
import { MAX_ACTIVITY_JSON_BYTES } from '../../src/mastodon/limits.js';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve as resolvePath } from 'node:path';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { PUBLIC_COLLECTION } from '../../src/mastodon/activitypub.js';
import { parseSignatureHeader, signRequest, verifyRequest } from '../../src/mastodon/signatures.js';
import { LdSignatureError, signLd } from '../../src/mastodon/ldSignature.js';
import { LoopbackClient } from './client.js';
import { DeliveryLog } from './deliveries.js';
import {
  AP_CONTENT_TYPE,
  AS,
  JRD_CONTENT_TYPE,
  actorDocument,
  collectionDocument,
  createDocument,
  noteDocument,
  nodeinfoDocument,
  nodeinfoLinks,
  pageHtml,
  pageTitle,
  webfingerDocument,
} from './documents.js';
import { writeFileAtomic } from '../../src/shared/files.js';
import { KeyCache, type SignerKey } from './keys.js';
import type { DeliveryRecord, FleetActor, FleetManifest } from './manifest.js';
import { generateImages, type FleetImages } from './media.js';
import { resolveFleetOptions, type FleetOptions, type ResolvedFleetOptions } from './options.js';
import {
  buildPopulation,
  ON_DEMAND_PREFIX,
  ON_DEMAND_USERNAME,
  onDemandActor,
  type Population,
  type SimActor,
  type SimInstance,
} from './population.js';
import {
  MAX_EXACT_SANS,
  createFleetCa,
  issueServerCertificate,
  loadOrCreateCa,
  type FleetCa,
} from './tls.js';

/**
 * Status recorded when the client hung up before a held (slow) answer was sent (nginx's "client closed
 * request").
 */
export const CLIENT_CLOSED = 499;
/** Where activities are LD-signed, on any host of the fleet (also its bare address). */
export const LD_SIGN_PATH = '/_fleet/sign';
/** Accepts sent at once, and waiting at most. */
const OUTBOX_CONCURRENCY = 8;
const OUTBOX_MAX_QUEUED = 10_000;

export interface CapturedRequest {
  record: DeliveryRecord;
  method: string;
  /** Path and query as received. */
  url: string;
  httpVersion: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface FleetStats {
  /**
   * GET/HEAD/POST counts by what was asked for (webfinger, actor, collection, note, avatar, header, media,
   * page, nodeinfo, inbox, not_found...).
   */
  requests: Record<string, number>;
  /** Distinct fleet actors whose document the target fetched (cold actors become warm this way). */
  actorsFetched: number;
  /** Key documents the fleet fetched from the target. */
  keyFetches: number;
  deliveries: number;
  /** Slow-instance inbox POSTs being held now. */
  held: number;
  accepts: { sent: number; failed: number; dropped: number };
}

export interface RunningFleet {
  /** Where every host is served, e.g. http://127.0.0.1:4100. */
  url: string;
  port: number;
  manifest: FleetManifest;
  /** Absolute path of the written manifest, when manifestOut was given. */
  manifestPath?: string;
  /**
   * With tls: the CA certificate (PEM) to trust, and where ca.pem was written (next to the manifest / in
   * caDir).
   */
  caPem?: string;
  caFile?: string;
  /** With tls and caDir: whether a new CA was made (the target's trust store must be updated). */
  caCreated?: boolean;
  /** In-memory copy of the delivery records (newest last, at most maxRecords). */
  deliveries(): DeliveryRecord[];
  /** Raw inbox requests kept with captureRequests (newest last). */
  requests(): CapturedRequest[];
  stats(): FleetStats;
  /** Stop listening, end held requests, abort Accepts in flight, flush the deliveries file. Idempotent. */
  stop(): Promise<void>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
const firstString = (v: unknown): string | null => {
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : null;
};
const idOf = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : isObject(v) && typeof v.id === 'string' ? v.id : undefined;

function timeOf(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : null;
}

/** `published` of the activity, else of its object (ms), else null. */
export function originTimeOf(activity: unknown): number | null {
  if (!isObject(activity)) return null;
  return timeOf(activity.published) ?? (isObject(activity.object) ? timeOf(activity.object.published) : null);
}

class Outbox {
  private queue: (() => Promise<void>)[] = [];
  private running = 0;
  private idle: (() => void)[] = [];
  stopped = false;
  dropped = 0;

  push(task: () => Promise<void>): boolean {
    if (this.stopped || this.queue.length >= OUTBOX_MAX_QUEUED) {
      this.dropped++;
      return false;
    }
    this.queue.push(task);
    this.pump();
    return true;
  }

  private pump(): void {
    while (!this.stopped && this.running < OUTBOX_CONCURRENCY && this.queue.length > 0) {
      const task = this.queue.shift()!;
      this.running++;
      task()
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          if (this.running === 0 && (this.queue.length === 0 || this.stopped))
            for (const r of this.idle.splice(0)) r();
          this.pump();
        });
    }
  }

  /** Drop what waits; resolve when running tasks end (or after `ms`). */
  async stop(ms: number): Promise<void> {
    this.stopped = true;
    this.dropped += this.queue.length;
    this.queue = [];
    if (this.running === 0) return;
    await Promise.race([
      new Promise<void>((r) => this.idle.push(r)),
      new Promise<void>((r) => setTimeout(r, ms).unref()),
    ]);
  }
}

function send(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(buf.length), ...extra });
  res.end(req.method === 'HEAD' ? undefined : buf);
}

/** A GET's answer, sent once its route is known. */
interface Reply {
  status: number;
  type: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

const reply = (
  status: number,
  type: string,
  body: string | Buffer,
  headers?: Record<string, string>,
): Reply => ({
  status,
  type,
  body,
  headers,
});

/** JSON documents may be cached by the target for 3 minutes, as Mastodon lets them. */
const jsonReply = (doc: unknown, type = AP_CONTENT_TYPE): Reply =>
  reply(200, type, JSON.stringify(doc), { 'Cache-Control': 'max-age=180, public', Vary: 'Accept' });

const notFound = (): Reply => reply(404, 'application/json', JSON.stringify({ error: 'Not Found' }));

const sendReply = (res: ServerResponse, req: IncomingMessage, r: Reply): void =>
  send(res, req, r.status, r.type, r.body, r.headers);

const LONG_CACHE = { 'Cache-Control': 'public, max-age=31536000' };
const NODEINFO_2_0_TYPE = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.0#"';

type ActorLookup = (name: string) => SimActor | undefined;

/** The path of the observation endpoint (scenarios/lib/effects.ts reads it). */
export const OBSERVED_PATH = '/.fedicap/observed';

/** Read a request body up to `limit` bytes; null when it is larger. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume(); // discarded (bounded by the server's requestTimeout)
      return resolve(null);
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      bytes += c.length;
      if (bytes > limit) {
        over = true;
        resolve(null);
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

export async function startFleet(options: FleetOptions = {}): Promise<RunningFleet> {
  const o = resolveFleetOptions(options);
  const log = new DeliveryLog(o.deliveriesOut, o.maxRecords, o.log);
  let pop: Population;
  let images: FleetImages;
  let ca: FleetCa | undefined;
  let caCreated: boolean | undefined;
  try {
    const caPromise = !o.tls
      ? undefined
      : o.caDir
        ? loadOrCreateCa(o.caDir)
        : createFleetCa().then((c) => ({ ca: c, created: true }));
    const [p, i, c] = await Promise.all([
      buildPopulation(o),
      generateImages(o.mediaSizesBytes, o.seed),
      caPromise,
    ]);
    pop = p;
    images = i;
    ca = c?.ca;
    if (o.caDir) caCreated = c?.created;
  } catch (e) {
    await log.close();
    throw e;
  }
  let tlsOptions: { key: string; cert: string } | undefined;
  if (ca) {
    const hosts = [
      `*.${o.hostSuffix}`,
      o.hostSuffix,
      pop.relayHost,
      ...pop.instances.slice(0, MAX_EXACT_SANS).map((i) => i.host),
    ];
    const server = await issueServerCertificate(ca, hosts);
    tlsOptions = { key: server.keyPem, cert: server.certPem };
  }
  return new Fleet(o, pop, images, log, ca, caCreated, tlsOptions).listen();
}

class Fleet {
  private readonly client: LoopbackClient;
  private readonly keys: KeyCache;
  private readonly outbox = new Outbox();
  private readonly server: http.Server;
  private readonly counts: Record<string, number> = {};
  private readonly fetchedActors = new Set<string>();
  /** Usernames of fetched on-demand actors (their prefix names the run). */
  private readonly fetchedOnDemand = new Set<string>();
  private readonly captured: CapturedRequest[] = [];
  private readonly heldTimers = new Set<NodeJS.Timeout>();
  private readonly mediaByName: Map<string, FleetImages['media'][number]>;
  /** og:image of pages: the smallest generated image. */
  private readonly pageImage: string | undefined;
  private held = 0;
  private accepts = { sent: 0, failed: 0 };
  private stopping?: Promise<void>;
  private port = 0;

  constructor(
    private readonly o: ResolvedFleetOptions,
    private readonly pop: Population,
    private readonly images: FleetImages,
    private readonly log: DeliveryLog,
    private readonly ca: FleetCa | undefined,
    private readonly caCreated: boolean | undefined,
    tlsOptions: { key: string; cert: string } | undefined,
  ) {
    this.client = new LoopbackClient(o.targetResolve, o.timeoutsMs);
    this.keys = new KeyCache(this.client);
    this.mediaByName = new Map(images.media.map((m) => [m.name, m]));
    this.pageImage = [...images.media].sort((a, b) => a.body.length - b.body.length)[0]?.name;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((e: Error) => {
        o.log(`fleet: ${req.method} ${req.headers.host}${req.url}: ${e.message}`);
        if (!res.headersSent)
          send(res, req, 500, 'application/json', JSON.stringify({ error: 'internal error' }));
        else res.destroy();
      });
    };
    this.server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 20_000;
    this.server.keepAliveTimeout = 5_000;
    this.server.maxConnections = 20_000;
  }

  async listen(): Promise<RunningFleet> {
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.o.port, this.o.host, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      await this.log.close();
      throw e;
    }
    this.port = (this.server.address() as AddressInfo).port;
    const scheme = this.o.tls ? 'https' : 'http';
    const url = `${scheme}://${this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host}:${this.port}`;
    let caFile: string | undefined;
    let manifestPath: string | undefined;
    try {
      this.log.open();
      if (this.ca && this.o.caDir) caFile = resolvePath(this.o.caDir, 'ca.pem');
      if (this.o.manifestOut) {
        manifestPath = resolvePath(this.o.manifestOut);
        if (this.ca) {
          caFile = join(dirname(manifestPath), 'ca.pem');
          writeFileAtomic(caFile, this.ca.certPem, 0o644);
        }
      }
      const manifest = this.manifest(url, caFile);
      if (manifestPath) writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
      return {
        url,
        port: this.port,
        manifest,
        ...(manifestPath ? { manifestPath } : {}),
        ...(this.ca ? { caPem: this.ca.certPem } : {}),
        ...(caFile ? { caFile } : {}),
        ...(this.caCreated !== undefined ? { caCreated: this.caCreated } : {}),
        deliveries: () => this.log.records(),
        requests: () => this.captured.slice(),
        stats: () => this.stats(),
        stop: () => this.stop(),
      };
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  private manifest(url: string, caFile: string | undefined): FleetManifest {
    const { pop, o } = this;
    const actorEntry = (a: SimActor): FleetActor => ({
      id: a.id,
      keyId: a.keyId,
      privateKeyPem: a.keys.privateKeyPem,
      inbox: a.inbox,
      sharedInbox: a.sharedInbox,
      host: a.host,
      username: a.username,
      population: a.population,
      displayName: a.displayName,
      followers: a.followers,
    });
    const first = pop.instances[0]!;
    const origin = (host: string) => `${pop.scheme}://${host}`;
    return {
      version: 1,
      fleetUrl: url,
      scheme: pop.scheme,
      hostSuffix: o.hostSuffix,
      instances: pop.instances.map((i) => ({
        host: i.host,
        sharedInbox: `${origin(i.host)}/inbox`,
        behaviour: i.behaviour,
      })),
      actors: pop.instances.flatMap((i) => i.list.map(actorEntry)),
      relay: actorEntry(pop.relay),
      media: this.images.media.map((m) => ({
        url: `${origin(first.host)}/media/${m.name}`,
        bytes: m.body.length,
        mediaType: m.mediaType,
        width: m.width,
        height: m.height,
        path: `/media/${m.name}`,
      })),
      pages: pop.instances.flatMap((i) =>
        Array.from({ length: o.pagesPerInstance }, (_, k) => ({
          url: `${origin(i.host)}/pages/${k + 1}`,
          title: pageTitle(i.host, k + 1),
          host: i.host,
        })),
      ),
      ldSignUrl: `${url}${LD_SIGN_PATH}`,
      createdAtMs: pop.startedAtMs,
      ...(caFile ? { caFile } : {}),
      slowDelayMs: o.slowDelayMs,
      failStatus: o.failStatus,
      keyPoolSize: o.keyPoolSize,
      coldActors: { usernamePrefix: ON_DEMAND_PREFIX, keys: pop.keys.map((k) => k.privateKeyPem) },
      observedUrl: `${url}${OBSERVED_PATH}`,
    };
  }

  private stats(): FleetStats {
    return {
      requests: { ...this.counts },
      actorsFetched: this.fetchedActors.size,
      keyFetches: this.keys.fetches,
      deliveries: this.log.total,
      held: this.held,
      accepts: { ...this.accepts, dropped: this.outbox.dropped },
    };
  }

  private count(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  private stop(): Promise<void> {
    this.stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const t of this.heldTimers) clearTimeout(t);
      this.heldTimers.clear();
      await this.outbox.stop(2_000);
      this.client.close();
      this.server.closeAllConnections();
      await closed;
      // Sockets report 'close' after the server does: let held requests record their 499 (bounded).
      for (let waited = 0; this.held > 0 && waited < 1_000; waited += 5)
        await new Promise((r) => setTimeout(r, 5));
      await this.log.close();
    })();
    return this.stopping;
  }

  // ------------------------------------------------------------ routing

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = String(req.headers.host ?? '')
      .toLowerCase()
      .replace(/:\d+$/, '')
      .replace(/\.$/, '');
    const url = new URL(req.url ?? '/', 'http://fleet.invalid');
    const path = url.pathname;
    if (path === OBSERVED_PATH && req.method === 'GET') return sendReply(res, req, this.observed(url));
    if (req.method === 'POST' && path === LD_SIGN_PATH) return this.ldSign(req, res);
    const instance = this.pop.byHost.get(host);
    const isRelay = host === this.pop.relayHost;
    if (!instance && !isRelay) {
      this.count('unknown_host');
      req.resume();
      return send(
        res,
        req,
        404,
        'application/json',
        JSON.stringify({
          error: `unknown host ${host || '(none)'}; this fleet serves *.${this.o.hostSuffix}`,
        }),
      );
    }
    if (req.method === 'POST') {
      const name = /^\/users\/([^/]+)\/inbox$/.exec(path)?.[1];
      if (path === '/inbox' || (instance && name !== undefined))
        return this.inbox(req, res, host, instance, isRelay, path, name);
      req.resume();
      this.count('not_found');
      return send(res, req, 404, 'application/json', JSON.stringify({ error: 'Not Found' }));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      req.resume();
      return send(res, req, 405, 'text/plain', 'Method Not Allowed', { Allow: 'GET, HEAD, POST' });
    }
    const accept = String(req.headers.accept ?? '');
    sendReply(res, req, isRelay ? this.relayGet(path, url) : this.instanceGet(instance!, path, url, accept));
  }

  /** What the target did since `since`: verified deliveries by type, on-demand actors fetched by prefix. */
  private observed(url: URL): Reply {
    this.count('observed');
    const since = Number(url.searchParams.get('since') ?? 0) || 0;
    const prefix = url.searchParams.get('prefix') ?? '';
    const deliveries: Record<string, number> = {};
    for (const r of this.log.records())
      if (r.signatureOk && r.receivedAtMs >= since && r.type)
        deliveries[r.type] = (deliveries[r.type] ?? 0) + 1;
    let actorsFetched = 0;
    if (prefix) for (const name of this.fetchedOnDemand) if (name.startsWith(prefix)) actorsFetched++;
    return reply(200, 'application/json', JSON.stringify({ since, deliveries, actorsFetched }));
  }

  /** A listed actor of `instance`, or an on-demand cold one. */
  private actorOf(instance: SimInstance, rawName: string): SimActor | undefined {
    const name = decodeURIComponent(rawName).toLowerCase();
    return instance.actors.get(name) ?? onDemandActor(this.pop, instance, name);
  }

  /** Any fleet actor by id (listed, the relay, or on demand). */
  private actorById(id: string): SimActor | undefined {
    const listed = this.pop.byId.get(id);
    if (listed) return listed;
    const m = /^https?:\/\/([^/]+)\/users\/([^/]+)$/.exec(id);
    const instance = m ? this.pop.byHost.get(m[1]!) : undefined;
    const actor = instance ? this.actorOf(instance, m![2]!) : undefined;
    return actor?.id === id ? actor : undefined;
  }

  private origin(host: string): string {
    return `${this.pop.scheme}://${host}`;
  }

  private webfinger(
    url: URL,
    find: (username: string, domain: string) => SimActor | undefined,
    host: string,
  ): Reply {
    this.count('webfinger');
    const resource = (url.searchParams.get('resource') ?? '').trim();
    if (!resource) return reply(400, 'text/plain', 'resource is required');
    let actor: SimActor | undefined;
    if (/^https?:\/\//i.test(resource)) {
      const a = this.actorById(resource) ?? this.actorById(resource.replace(/\/@([^/]+)$/, '/users/$1'));
      actor = a && a.host === host ? a : undefined;
    } else {
      const acct = resource.replace(/^acct:/i, '').replace(/^@/, '');
      const at = acct.lastIndexOf('@');
      actor = at < 0 ? find(acct, host) : find(acct.slice(0, at), acct.slice(at + 1).toLowerCase());
    }
    if (!actor) return notFound();
    return jsonReply(webfingerDocument(actor), JRD_CONTENT_TYPE);
  }

  /**
   * NodeInfo discovery and document, for an instance and for the relay (which differ in the document's type).
   */
  private nodeinfo(path: string, origin: string, users: number, documentType: string): Reply | undefined {
    if (path === '/.well-known/nodeinfo') {
      this.count('nodeinfo');
      return jsonReply(nodeinfoLinks(origin), 'application/json; charset=utf-8');
    }
    if (path === '/nodeinfo/2.0') {
      this.count('nodeinfo');
      return jsonReply(nodeinfoDocument(users), documentType);
    }
    return undefined;
  }

  private root(text: string): Reply {
    this.count('root');
    return reply(200, 'text/plain; charset=utf-8', text);
  }

  private notFound(): Reply {
    this.count('not_found');
    return notFound();
  }

  /** An actor document fetched: the target now knows the actor. */
  private actorFetched(actor: SimActor): Reply {
    this.count('actor');
    this.fetchedActors.add(actor.id);
    if (ON_DEMAND_USERNAME.test(actor.username)) this.fetchedOnDemand.add(actor.username);
    return jsonReply(actorDocument(actor));
  }

  private instanceGet(instance: SimInstance, path: string, url: URL, accept: string): Reply {
    const origin = this.origin(instance.host);
    const actorNamed = (name: string) => this.actorOf(instance, name);
    if (path === '/.well-known/webfinger')
      return this.webfinger(url, (u, d) => (d === instance.host ? actorNamed(u) : undefined), instance.host);
    if (path === '/.well-known/host-meta') {
      this.count('host_meta');
      return reply(
        200,
        'application/xrd+xml; charset=utf-8',
        `<?xml version="1.0" encoding="UTF-8"?>\n<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n  <Link rel="lrdd" template="${origin}/.well-known/webfinger?resource={uri}"/>\n</XRD>\n`,
      );
    }
    const routed =
      this.nodeinfo(path, origin, instance.list.length, NODEINFO_2_0_TYPE) ??
      this.actorGet(path, url, actorNamed) ??
      this.profileGet(path, accept, actorNamed) ??
      this.fileGet(path, actorNamed) ??
      this.pageGet(path, origin, instance.host);
    if (routed) return routed;
    if (path === '/')
      return this.root(
        `${instance.host}: a simulated instance of the fedicap fleet (${instance.behaviour})\n`,
      );
    return this.notFound();
  }

  /** /users/NAME and what hangs below it: collections, statuses and their Create activities. */
  private actorGet(path: string, url: URL, actorNamed: ActorLookup): Reply | undefined {
    const m = /^\/users\/([^/]+)(?:\/(.*))?$/.exec(path);
    const actor = m ? actorNamed(m[1]!) : undefined;
    if (!actor) return undefined;
    const rest = m![2];
    if (rest === undefined) return this.actorFetched(actor);
    const page =
      url.searchParams.has('page') || url.searchParams.has('min_id') || url.searchParams.has('max_id');
    if (rest === 'outbox' || rest === 'followers' || rest === 'following') {
      this.count('collection');
      const total = rest === 'outbox' ? actor.counts.statuses : actor.counts[rest];
      return jsonReply(collectionDocument(`${actor.id}/${rest}`, total, page));
    }
    if (rest === 'collections/featured' || rest === 'collections/tags') {
      this.count('collection');
      const featured = rest.endsWith('featured');
      return jsonReply({
        '@context': AS,
        id: `${actor.id}/${rest}`,
        type: featured ? 'OrderedCollection' : 'Collection',
        totalItems: 0,
        [featured ? 'orderedItems' : 'items']: [],
      });
    }
    const s = /^statuses\/([A-Za-z0-9_-]{1,64})(\/activity)?$/.exec(rest);
    if (!s) return undefined;
    this.count('note');
    return jsonReply(
      s[2]
        ? createDocument(actor, s[1]!, this.pop.startedAtMs)
        : noteDocument(actor, s[1]!, this.pop.startedAtMs),
    );
  }

  /** /@NAME: the actor for ActivityPub clients, a profile page for browsers. */
  private profileGet(path: string, accept: string, actorNamed: ActorLookup): Reply | undefined {
    const m = /^\/@([^/]+)$/.exec(path);
    const actor = m ? actorNamed(m[1]!) : undefined;
    if (!actor) return undefined;
    if (/activity\+json|ld\+json/.test(accept)) return this.actorFetched(actor);
    this.count('profile');
    return reply(
      200,
      'text/html; charset=utf-8',
      `<!DOCTYPE html><html><head><title>${actor.displayName}</title><link rel="alternate" type="application/activity+json" href="${actor.id}"></head><body><h1>${actor.displayName}</h1></body></html>\n`,
    );
  }

  /** Avatars, headers and media attachments, cacheable for a year as Mastodon serves them. */
  private fileGet(path: string, actorNamed: ActorLookup): Reply | undefined {
    const m = /^\/system\/(avatars|headers)\/([^/]+)\.(png|jpg)$/.exec(path);
    if (m && actorNamed(m[2]!)) {
      const avatar = m[1] === 'avatars';
      this.count(avatar ? 'avatar' : 'header');
      const [type, body] = avatar ? ['image/png', this.images.avatar] : ['image/jpeg', this.images.header];
      return reply(200, type, body, LONG_CACHE);
    }
    const name = /^\/media\/([^/]+)$/.exec(path)?.[1];
    const media = name ? this.mediaByName.get(name) : undefined;
    if (!media) return undefined;
    this.count('media');
    return reply(200, media.mediaType, media.body, LONG_CACHE);
  }

  private pageGet(path: string, origin: string, host: string): Reply | undefined {
    const m = /^\/pages\/(\d{1,9})$/.exec(path);
    if (!m || Number(m[1]) < 1) return undefined;
    this.count('page');
    const image = this.pageImage && `${origin}/media/${this.pageImage}`;
    return reply(200, 'text/html; charset=utf-8', pageHtml(origin, host, Number(m[1]), image));
  }

  private relayGet(path: string, url: URL): Reply {
    const relay = this.pop.relay;
    const host = this.pop.relayHost;
    if (path === '/.well-known/webfinger')
      return this.webfinger(
        url,
        (u, d) => (d === host && u.toLowerCase() === relay.username ? relay : undefined),
        host,
      );
    if (path === '/actor') {
      this.count('actor');
      return jsonReply(actorDocument(relay));
    }
    if (path === '/actor/outbox' || path === '/actor/followers' || path === '/actor/following') {
      this.count('collection');
      const id = `${relay.id}${path.slice('/actor'.length)}`;
      return jsonReply(collectionDocument(id, 0, url.searchParams.has('page')));
    }
    const routed = this.nodeinfo(path, this.origin(host), 0, 'application/json; charset=utf-8');
    if (routed) return routed;
    if (path === '/')
      return this.root(`${host}: the simulated relay of the fedicap fleet; inbox ${relay.inbox}\n`);
    return this.notFound();
  }

  // ------------------------------------------------------------ publishing

  /**
   * The activity in the body, signed (RsaSignature2017) by its actor, a fleet actor: 200 with the
   * document, 422 when the actor is not the fleet's or the document cannot be signed whole (a term no
   * shipped context defines, an unknown context).
   */
  private async ldSign(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.count('ld_sign');
    const body = await readBody(req, MAX_ACTIVITY_JSON_BYTES);
    const fail = (status: number, error: string) =>
      send(res, req, status, 'application/json; charset=utf-8', JSON.stringify({ error }));
    if (body === null) {
      res.setHeader('Connection', 'close');
      return fail(413, `larger than ${MAX_ACTIVITY_JSON_BYTES} bytes`);
    }
    let activity: unknown;
    try {
      activity = JSON.parse(body.toString('utf8'));
    } catch {
      return fail(400, 'Error parsing JSON');
    }
    if (!isObject(activity)) return fail(400, 'expected a JSON object');
    const actorId = idOf(activity.actor);
    const actor = actorId ? this.pop.byId.get(actorId) : undefined;
    if (!actor) return fail(422, `actor ${actorId ?? '(none)'} is not an actor of this fleet`);
    try {
      const signed = await signLd(activity, { keyId: actor.keyId, privateKeyPem: actor.keys.privateKeyPem });
      send(res, req, 200, AP_CONTENT_TYPE, JSON.stringify(signed));
    } catch (e) {
      if (!(e instanceof LdSignatureError)) throw e;
      fail(422, e.message);
    }
  }

  // ------------------------------------------------------------ inboxes

  private async inbox(
    req: IncomingMessage,
    res: ServerResponse,
    host: string,
    instance: SimInstance | undefined,
    isRelay: boolean,
    path: string,
    username: string | undefined,
  ): Promise<void> {
    const receivedAtMs = Date.now();
    this.count('inbox');
    const inboxUrl = `${this.origin(host)}${path}`;
    const record: DeliveryRecord = {
      activityId: null,
      type: null,
      inbox: inboxUrl,
      host,
      originTimeMs: null,
      receivedAtMs,
      signatureOk: false,
      keyId: null,
      status: 0,
    };
    const rawSignature = req.headers.signature;
    if (typeof rawSignature === 'string') {
      try {
        record.keyId = parseSignatureHeader(rawSignature).keyId ?? null;
      } catch {
        /* malformed: keyId stays null, verification below says why */
      }
    }
    const body = await readBody(req, MAX_ACTIVITY_JSON_BYTES);
    const finish = (status: number, payload?: Json, captureBody: Buffer = body ?? Buffer.alloc(0)) => {
      record.status = status;
      if (!res.headersSent && !res.destroyed) {
        if (payload) send(res, req, status, 'application/json; charset=utf-8', JSON.stringify(payload));
        else send(res, req, status, 'text/plain', '');
      }
      this.record(record, req, captureBody);
    };
    if (body === null) {
      res.setHeader('Connection', 'close');
      return finish(413, undefined, Buffer.alloc(0));
    }
    let activity: unknown;
    try {
      activity = JSON.parse(body.toString('utf8'));
    } catch {
      return finish(400, { error: 'Error parsing JSON' });
    }
    if (isObject(activity)) {
      record.activityId = typeof activity.id === 'string' ? activity.id : null;
      record.type = firstString(activity.type);
      record.originTimeMs = originTimeOf(activity);
    }
    if (username !== undefined && !(instance && this.actorOf(instance, username)))
      return finish(404, { error: 'Record not found' });

    const outcome = await verifyRequest<SignerKey>(
      { method: 'POST', path: req.url ?? path, headers: req.headers, body },
      this.keys.resolver(),
    );
    record.signatureOk = outcome.ok;
    if (outcome.ok) record.keyId = outcome.keyId;
    else if (/Failed to fetch|private network|loopback/.test(outcome.error))
      this.o.log(`fleet: ${inboxUrl}: ${outcome.error}`);

    const behaviour = isRelay ? 'normal' : instance!.behaviour;
    if (behaviour === 'failing') return finish(this.o.failStatus, { error: 'Service Unavailable' });
    const status = outcome.ok ? 202 : outcome.status;
    const payload = outcome.ok ? undefined : outcome.body;
    if (behaviour === 'slow') {
      if (this.held >= this.o.maxHeld) return finish(503, { error: 'Too many requests held' });
      return this.hold(
        res,
        () => finish(status, payload),
        () => {
          record.status = CLIENT_CLOSED;
          this.record(record, req, body);
        },
      );
    }
    finish(status, payload);
    if (outcome.ok && this.o.autoAccept && isObject(activity))
      this.maybeAccept(activity, outcome.actor, instance, isRelay);
  }

  /**
   * Answer after slowDelayMs, unless the client hangs up first (then `closed`); the caller bounds how many
   * are held.
   */
  private hold(res: ServerResponse, answer: () => void, closed: () => void): void {
    this.held++;
    let done = false;
    const release = () => {
      if (done) return false;
      done = true;
      this.held--;
      clearTimeout(timer);
      this.heldTimers.delete(timer);
      return true;
    };
    const timer = setTimeout(() => {
      if (release()) answer();
    }, this.o.slowDelayMs);
    this.heldTimers.add(timer);
    // 'close' without the response ended: the client hung up (Mastodon's read timeout) or the fleet is
    // stopping.
    res.once('close', () => {
      if (!res.writableEnded && release()) closed();
    });
  }

  private record(record: DeliveryRecord, req: IncomingMessage, body: Buffer): void {
    this.log.add(record);
    if (this.o.captureRequests > 0) {
      this.captured.push({
        record,
        method: req.method ?? 'POST',
        url: req.url ?? '/',
        httpVersion: req.httpVersion,
        headers: req.headers,
        body,
      });
      if (this.captured.length > this.o.captureRequests) this.captured.shift();
    }
  }

  // ------------------------------------------------------------ follows

  /**
   * A verified Follow of one of this instance's actors, or of the Public
   * collection at the relay (Relay#enable!), sent by the signer itself, is
   * answered with an Accept signed by the followed actor (the relay),
   * delivered to the follower's inbox through the loopback-only client.
   */
  private maybeAccept(
    activity: Json,
    signer: SignerKey,
    instance: SimInstance | undefined,
    isRelay: boolean,
  ): void {
    if (firstString(activity.type) !== 'Follow') return;
    const follower = idOf(activity.actor);
    if (!follower || follower !== signer.owner) return;
    const object = idOf(activity.object);
    let acceptor: SimActor | undefined;
    if (isRelay) {
      if (object === PUBLIC_COLLECTION || object === 'as:Public' || object === 'Public')
        acceptor = this.pop.relay;
    } else if (object) {
      const a = this.actorById(object);
      if (a && a.host === instance?.host) acceptor = a;
    }
    if (!acceptor) return;
    const { '@context': _context, ...follow } = activity;
    const accept = {
      '@context': AS,
      id: `${acceptor.id}#accepts/follows/${randomUUID()}`,
      type: 'Accept',
      actor: acceptor.id,
      object: follow,
    };
    const from = acceptor;
    this.outbox.push(async () => {
      try {
        const { inbox } = await this.keys.endpoints(follower);
        const body = JSON.stringify(accept);
        const headers = signRequest({
          keyId: from.keyId,
          privateKeyPem: from.keys.privateKeyPem,
          method: 'POST',
          url: inbox,
          body,
          headers: { 'Content-Type': 'application/activity+json' },
        });
        const res = await this.client.request(inbox, { method: 'POST', headers, body });
        if (res.status >= 200 && res.status < 300) this.accepts.sent++;
        else {
          this.accepts.failed++;
          this.o.log(`fleet: Accept from ${from.id} to ${inbox}: HTTP ${res.status}`);
        }
      } catch (e) {
        this.accepts.failed++;
        this.o.log(`fleet: Accept from ${from.id} to ${follower}: ${(e as Error).message}`);
      }
    });
  }
}
