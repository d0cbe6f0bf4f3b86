/**
 * Test support for the fleet: raw HTTP(S) requests with a Host header (fetch
 * cannot set one), signed inbox POSTs, and a tiny loopback "target" serving
 * an actor with its key and logging what is delivered to its inbox.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { signRequest } from '../../src/mastodon/signatures.js';
import { newRsaKeyPair, type KeyPair } from '../../world/keys.js';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = Record<string, unknown>>(): T;
  elapsedMs: number;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** https: trust this CA (PEM) and send this SNI name. */
  ca?: string;
  servername?: string;
  /** Abort after this many ms (resolves with status 0). */
  abortAfterMs?: number;
}

/** A request to `baseUrl` (http or https://127.0.0.1:PORT) for `host` + `path`. */
export function request(
  baseUrl: string,
  host: string,
  path: string,
  opts: RawRequest = {},
): Promise<RawResponse> {
  const base = new URL(baseUrl);
  const t0 = Date.now();
  const secure = base.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const options = {
      host: base.hostname,
      port: Number(base.port),
      method: opts.method ?? 'GET',
      path,
      headers: { Host: host, ...(opts.headers ?? {}) },
      agent: false as const,
      ...(secure ? { ca: opts.ca, servername: opts.servername ?? host } : {}),
    };
    const req = (secure ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: body.toString('utf8'),
          json: <T>() => JSON.parse(body.toString('utf8')) as T,
          elapsedMs: Date.now() - t0,
        });
      });
      res.on('error', reject);
    });
    req.on('error', (e) =>
      opts.abortAfterMs
        ? resolve({
            status: 0,
            headers: {},
            body: Buffer.alloc(0),
            text: '',
            json: () => ({}) as never,
            elapsedMs: Date.now() - t0,
          })
        : reject(e),
    );
    if (opts.abortAfterMs) setTimeout(() => req.destroy(new Error('aborted by test')), opts.abortAfterMs);
    req.end(opts.body);
  });
}

/**
 * POST `activity` to an inbox of the fleet, signed as `signer` (Mastodon's headers). `tamper` edits the
 * headers or body after signing.
 */
export function postSigned(
  baseUrl: string,
  inboxUrl: string,
  activity: unknown,
  signer: { keyId: string; privateKeyPem: string },
  opts: {
    tamperBody?: (body: string) => string;
    headers?: Record<string, string>;
    abortAfterMs?: number;
    ca?: string;
  } = {},
): Promise<RawResponse> {
  const body = JSON.stringify(activity);
  const url = new URL(inboxUrl);
  const headers = signRequest({
    keyId: signer.keyId,
    privateKeyPem: signer.privateKeyPem,
    method: 'POST',
    url,
    body,
    headers: { 'Content-Type': 'application/activity+json' },
  });
  const { Host: _host, ...rest } = headers;
  return request(baseUrl, url.host, url.pathname, {
    method: 'POST',
    headers: { ...rest, ...(opts.headers ?? {}) },
    body: opts.tamperBody ? opts.tamperBody(body) : body,
    ...(opts.abortAfterMs ? { abortAfterMs: opts.abortAfterMs } : {}),
    ...(opts.ca ? { ca: opts.ca } : {}),
  });
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

/**
 * A loopback stand-in for the target: one actor with a key at http://127.0.0.1:PORT/users/tester, and its
 * inbox.
 */
export class KeyServer {
  port = 0;
  keys!: KeyPair;
  readonly received: Received[] = [];
  gets = 0;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method === 'POST') {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(body) as Record<string, unknown>;
        } catch {
          /* kept as {} */
        }
        this.received.push({ path: req.url ?? '/', headers: req.headers, body, json });
        res.writeHead(202).end();
        return;
      }
      this.gets++;
      if (req.url === '/users/tester') {
        res.writeHead(200, { 'Content-Type': 'application/activity+json' });
        res.end(JSON.stringify(this.actor()));
        return;
      }
      res.writeHead(404).end();
    });
  });

  get actorId(): string {
    return `http://127.0.0.1:${this.port}/users/tester`;
  }
  get keyId(): string {
    return `${this.actorId}#main-key`;
  }
  get signer() {
    return { keyId: this.keyId, privateKeyPem: this.keys.privateKeyPem };
  }

  actor(): Record<string, unknown> {
    return {
      '@context': ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'],
      id: this.actorId,
      type: 'Person',
      preferredUsername: 'tester',
      inbox: `${this.actorId}/inbox`,
      endpoints: { sharedInbox: `http://127.0.0.1:${this.port}/inbox` },
      publicKey: { id: this.keyId, owner: this.actorId, publicKeyPem: this.keys.publicKeyPem },
    };
  }

  async start(): Promise<this> {
    this.keys = await newRsaKeyPair();
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export { waitFor } from './helpers.js';
