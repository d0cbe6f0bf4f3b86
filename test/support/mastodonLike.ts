/**
 * A small server that answers like a Mastodon-compatible server with other
 * URI shapes, to prove that the scenarios discover instead of guessing:
 * WebFinger advertises actors at `/@NAME` (inbox `/@NAME/inbox`, shared
 * inbox `/shared-inbox`; `/users/NAME` is 404 here), inboxes verify HTTP
 * signatures (fetching the signer from the fleet, as Mastodon does) and
 * answer a Follow with a signed Accept, Creates addressed to a local account
 * are stored and shown in the federated timeline, and the client API has
 * only what the tests use (instance, statuses, public timeline). There is no
 * streaming API: a WebSocket upgrade gets 404.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signRequest, verifyRequest } from '../../src/mastodon/signatures.js';
import { LoopbackClient } from '../../world/fleet/client.js';
import { KeyCache, type SignerKey } from '../../world/fleet/keys.js';
import { newRsaKeyPair, type KeyPair } from '../../world/keys.js';

export interface MastodonLike {
  url: string;
  /** host:port, the account domain. */
  domain: string;
  /** Verified inbox POSTs: path and activity. */
  received: { path: string; activity: Record<string, unknown> }[];
  /** Texts of statuses posted through the client API. */
  posted: string[];
  /** Paths asked for that this server does not have (e.g. guessed /users/NAME). */
  notFound: string[];
  /** Accepts sent to the fleet, and their HTTP statuses. */
  accepts: number[];
  close(): Promise<void>;
}

interface Status {
  id: string;
  uri: string;
  content: string;
  local: boolean;
}

type Json = Record<string, unknown>;
const AP = 'application/activity+json';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body?: unknown, type = 'application/json'): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'Content-Type': type }).end(JSON.stringify(body));
}

class Server {
  readonly received: MastodonLike['received'] = [];
  readonly posted: string[] = [];
  readonly notFound: string[] = [];
  readonly accepts: number[] = [];
  private readonly statuses: Status[] = [];
  private readonly users: Map<string, string>;
  private readonly keys: KeyCache;
  private nextId = 1;
  base = '';
  domain = '';

  constructor(
    accounts: { username: string; token: string }[],
    private readonly client: LoopbackClient,
    private readonly key: KeyPair,
  ) {
    this.users = new Map(accounts.map((a) => [a.token, a.username]));
    this.keys = new KeyCache(client);
  }

  private known(name: string): boolean {
    return [...this.users.values()].includes(name);
  }

  private actor(name: string): Json {
    const id = name === 'actor' ? `${this.base}/actor` : `${this.base}/@${name}`;
    return {
      '@context': ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'],
      id,
      type: name === 'actor' ? 'Application' : 'Person',
      preferredUsername: name,
      url: id,
      inbox: `${id}/inbox`,
      endpoints: { sharedInbox: `${this.base}/shared-inbox` },
      publicKey: { id: `${id}#main-key`, owner: id, publicKeyPem: this.key.publicKeyPem },
    };
  }

  private webfinger(url: URL, res: ServerResponse): void {
    const m = /^acct:([^@]+)@(.+)$/.exec(url.searchParams.get('resource') ?? '');
    const name = m && m[2] === this.domain ? (m[1] === this.domain ? 'actor' : m[1]!) : '';
    if (!name || (name !== 'actor' && !this.known(name))) {
      send(res, 404, { error: 'Not Found' });
      return;
    }
    const href = name === 'actor' ? `${this.base}/actor` : `${this.base}/@${name}`;
    send(
      res,
      200,
      { subject: `acct:${m![1]}@${this.domain}`, links: [{ rel: 'self', type: AP, href }] },
      'application/jrd+json',
    );
  }

  private timeline(url: URL, res: ServerResponse): void {
    const remote = url.searchParams.get('remote') === 'true';
    const list = this.statuses
      .filter((s) => !remote || !s.local)
      .slice(-40)
      .reverse();
    send(res, 200, list);
  }

  private postStatus(req: IncomingMessage, body: string, res: ServerResponse): void {
    const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    const user = this.users.get(token);
    if (!user) {
      send(res, 401, { error: 'The access token is invalid' });
      return;
    }
    const text = String((JSON.parse(body || '{}') as Json).status ?? '');
    this.posted.push(text);
    const id = String(this.nextId++);
    const status = { id, uri: `${this.base}/@${user}/s/${id}`, content: text, local: true };
    this.statuses.push(status);
    send(res, 200, { ...status, media_attachments: [] });
  }

  /** A verified activity: Follow → Accept (signed by the followed account), Create → stored. */
  private async inbox(req: IncomingMessage, body: string, path: string, res: ServerResponse) {
    const outcome = await verifyRequest<SignerKey>(
      { method: 'POST', path, headers: req.headers, body: Buffer.from(body) },
      this.keys.resolver(),
    );
    if (!outcome.ok) return send(res, 401, outcome.body);
    const activity = JSON.parse(body) as Json;
    this.received.push({ path, activity });
    send(res, 202);
    if (activity.type === 'Follow' && typeof activity.object === 'string')
      await this.accept(activity, activity.object);
    const note = activity.object as Json | undefined;
    if (activity.type === 'Create' && note && typeof note.id === 'string') {
      const addressed = [note.to, note.cc].flat().some((a) => String(a).startsWith(this.base));
      if (addressed) {
        const id = String(this.nextId++);
        this.statuses.push({ id, uri: note.id, content: String(note.content ?? ''), local: false });
      }
    }
  }

  private async accept(follow: Json, object: string): Promise<void> {
    const name = /\/@([^/]+)$/.exec(object)?.[1];
    if (!name || !this.known(name) || typeof follow.actor !== 'string') return;
    const { inbox } = await this.keys.endpoints(follow.actor);
    const { '@context': _c, ...inner } = follow;
    const accept = JSON.stringify({
      '@context': 'https://www.w3.org/ns/activitystreams',
      id: `${object}#accepts/${this.nextId++}`,
      type: 'Accept',
      actor: object,
      object: inner,
    });
    const headers = signRequest({
      keyId: `${object}#main-key`,
      privateKeyPem: this.key.privateKeyPem,
      method: 'POST',
      url: inbox,
      body: accept,
      headers: { 'Content-Type': AP },
    });
    const r = await this.client.request(inbox, { method: 'POST', headers, body: accept });
    this.accepts.push(r.status);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const path = url.pathname;
    const body = await readBody(req);
    if (req.method === 'POST' && (path === '/shared-inbox' || /^\/@[^/]+\/inbox$/.test(path)))
      return this.inbox(req, body, path, res);
    if (req.method === 'POST' && path === '/api/v1/statuses') return this.postStatus(req, body, res);
    if (req.method === 'GET') {
      if (path === '/api/v2/instance') return send(res, 200, { domain: this.domain, title: 'not Mastodon' });
      if (path === '/.well-known/webfinger') return this.webfinger(url, res);
      if (path === '/api/v1/timelines/public') return this.timeline(url, res);
      if (path === '/actor') return send(res, 200, this.actor('actor'), AP);
      const name = /^\/@([^/]+)$/.exec(path)?.[1];
      if (name && this.known(name)) return send(res, 200, this.actor(name), AP);
    }
    this.notFound.push(path);
    send(res, 404, { error: 'Not Found' });
  }
}

/** Start it on 127.0.0.1; `fleet` maps the fleet's host names to its loopback port. */
export async function startMastodonLike(
  accounts: { username: string; token: string }[],
  fleet: { hosts: string[]; port: number },
): Promise<MastodonLike> {
  const client = new LoopbackClient(
    fleet.hosts.map((host) => ({ host, address: '127.0.0.1', port: fleet.port })),
    { connect: 5_000, read: 10_000 },
  );
  const server = new Server(accounts, client, await newRsaKeyPair());
  const http1 = http.createServer((req, res) => {
    server.handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });
  });
  // no streaming API: refuse every WebSocket upgrade as a server without the route does
  http1.on('upgrade', (_req, socket) => {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => http1.listen(0, '127.0.0.1', resolve));
  const { port } = http1.address() as AddressInfo;
  server.base = `http://127.0.0.1:${port}`;
  server.domain = `127.0.0.1:${port}`;
  return {
    url: server.base,
    domain: server.domain,
    received: server.received,
    posted: server.posted,
    notFound: server.notFound,
    accepts: server.accepts,
    close: () =>
      new Promise<void>((resolve) => {
        client.close();
        http1.closeAllConnections();
        http1.close(() => resolve());
      }),
  };
}
