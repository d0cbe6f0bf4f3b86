/**
 * The fleet's only outgoing HTTP client: fetching the signer's key when a
 * delivery arrives, and delivering Accepts. It contacts loopback only:
 *
 * - a URL whose host is a loopback literal (127.0.0.0/8, ::1) is reached as is
 *   (the testbed's ids are http://127.0.0.1:PORT/...);
 * - a host named by a `--target-resolve HOST=ADDR:PORT` rule is reached at
 *   ADDR:PORT (ADDR loopback) with the URL's scheme, its own Host header and,
 *   for https, its name for SNI and certificate checks (Node's trust store;
 *   add a self-signed staging certificate with NODE_EXTRA_CA_CERTS);
 * - any other name is looked up and used only if every address is loopback
 *   (e.g. `localhost`, or a staging name mapped in /etc/hosts);
 * - everything else is refused before a connection is made.
 *
 * Bounded like Mastodon's Request: connect 5 s, read 10 s (defaults), a
 * whole-request deadline, bodies capped at 1 MB, at most 64 pooled sockets.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { MAX_FETCHED_BODY_BYTES as MAX_RESPONSE_BYTES } from '../../src/mastodon/limits.js';
import { isLoopbackAddress } from '../../src/shared/loopback.js';
import { loopbackOnlyLookup } from '../../src/shared/loopbackLookup.js';
import type { TargetRule } from './options.js';

export class RefusedTargetError extends Error {
  override readonly name = 'RefusedTargetError';
}

export interface ClientResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Names resolving outside loopback are refused (the fleet never contacts anything else). */
const refuseNonLoopback = loopbackOnlyLookup(
  (hostname, address) =>
    new RefusedTargetError(
      `${hostname} resolves to ${address ?? 'nothing'}: the fleet only contacts loopback addresses (use --target-resolve)`,
    ),
);

export class LoopbackClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64, maxTotalSockets: 64 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, maxTotalSockets: 64 });
  private readonly inflight = new Set<http.ClientRequest>();

  constructor(
    private readonly rules: readonly TargetRule[],
    private readonly timeoutsMs: { connect: number; read: number },
    private readonly userAgent = 'fedicap-fleet/0.1 (+load testing; simulated remote instance)',
  ) {}

  /** Where a URL is reached, or RefusedTargetError. */
  target(url: URL): { connectHost: string; port: number; checkDns: boolean } {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new RefusedTargetError(`${url.href}: only http and https`);
    const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const rule = this.rules.find((r) => r.host === hostname);
    if (rule) return { connectHost: rule.address, port: rule.port, checkDns: rule.address === 'localhost' };
    if (isIP(hostname)) {
      if (!isLoopbackAddress(hostname))
        throw new RefusedTargetError(
          `${url.href}: ${hostname} is not a loopback address; the fleet only contacts loopback`,
        );
      return { connectHost: hostname, port, checkDns: false };
    }
    return { connectHost: hostname, port, checkDns: true };
  }

  request(
    href: string,
    opts: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {},
  ): Promise<ClientResponse> {
    let url: URL;
    let target: ReturnType<LoopbackClient['target']>;
    try {
      url = new URL(href);
      target = this.target(url);
    } catch (e) {
      return Promise.reject(
        e instanceof RefusedTargetError ? e : new RefusedTargetError(`${href}: not a URL`),
      );
    }
    const { connect, read } = this.timeoutsMs;
    const headers: Record<string, string> = {
      'User-Agent': this.userAgent,
      Host: url.host,
      ...(opts.headers ?? {}),
    };
    if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<ClientResponse>((resolve, reject) => {
      let settled = false;
      let deadline: NodeJS.Timeout | undefined;
      const done = (err: Error | null, res?: ClientResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        this.inflight.delete(req);
        if (err) reject(err);
        else resolve(res!);
      };
      const fail = (err: Error) => {
        req.destroy();
        done(err);
      };
      const req = mod.request({
        host: target.connectHost,
        port: target.port,
        method: opts.method ?? 'GET',
        path: url.pathname + url.search,
        headers,
        agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
        ...(target.checkDns ? { lookup: refuseNonLoopback } : {}),
        ...(url.protocol === 'https:' && !isIP(url.hostname.replace(/^\[|\]$/g, ''))
          ? { servername: url.hostname }
          : {}),
      });
      this.inflight.add(req);
      deadline = setTimeout(
        () => fail(new Error(`deadline of ${(connect + 2 * read) / 1000} s exceeded on ${href}`)),
        connect + 2 * read,
      );
      req.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () => fail(new Error(`connect timeout (${connect} ms) on ${href}`)),
          connect,
        );
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      req.setTimeout(read, () => fail(new Error(`read timeout (${read} ms) on ${href}`)));
      req.on('error', (e) =>
        fail(e instanceof RefusedTargetError ? e : new Error(`${e.message} on ${href}`)),
      );
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes > MAX_RESPONSE_BYTES) {
            res.destroy();
            fail(new Error(`response from ${href} exceeds ${MAX_RESPONSE_BYTES} bytes`));
          } else chunks.push(c);
        });
        res.on('end', () =>
          done(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', (e) => fail(e));
      });
      req.end(opts.body);
    });
  }

  /** Abort requests in flight and close pooled sockets. */
  close(): void {
    for (const req of this.inflight) req.destroy(new Error('fleet stopping'));
    this.inflight.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
