/**
 * The testbed's one outgoing HTTP client (Mastodon's app/lib/request.rb):
 * every fetch, delivery, media download and link crawl goes through it.
 *
 * Safety: load only ever goes to loopback, and no DNS query leaves the
 * machine. A host matching a `resolve` rule (SUFFIX → HOST:PORT) is reached
 * at HOST:PORT over plain http with its own Host header kept, and HOST must
 * be loopback (a name there, such as localhost, must resolve to loopback
 * only); any other URL must be https to a loopback address literal. Every
 * other name is refused before any lookup (Mastodon refuses private
 * addresses unless allowed; the testbed refuses everything but loopback).
 *
 * Limits as Mastodon's: connect and read (per operation) timeouts from the
 * config, a read deadline of three read timeouts (Mastodon: 30 s), bodies
 * capped at 1 MB unless the caller allows more (media), at most 3 redirects
 * for GET, keep-alive connections pooled up to 512 (RequestPool::SIZE).
 */
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { MAX_FETCHED_BODY_BYTES } from '../../../src/mastodon/limits.js';
import { isLoopbackAddress } from '../../../src/shared/loopback.js';
import { loopbackOnlyLookup } from '../../../src/shared/loopbackLookup.js';
import type { ResolveRule } from '../config.js';
import { signRequest } from '../../../src/mastodon/signatures.js';

export const MAX_REDIRECTS = 3;
export const POOL_SIZE = 512;

export type HttpClientErrorCode = 'host_validation' | 'length' | 'timeout' | 'connection' | 'redirect';

/**
 * A request that could not complete (Mastodon's HTTP::Error family, HostValidationError,
 * LengthValidationError).
 */
export class HttpClientError extends Error {
  constructor(
    message: string,
    readonly code: HttpClientErrorCode,
    readonly url: string,
  ) {
    super(message);
    this.name = 'HttpClientError';
  }
}

/** Who signs a request (Mastodon's on_behalf_of). */
export interface RequestSigner {
  keyId: string;
  privateKeyPem: string;
}

export interface FederationRequest {
  method?: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sign with this actor's key (draft-cavage, rsa-sha256). */
  signAs?: RequestSigner;
  /** Body cap in bytes (default 1 MB). */
  maxBytes?: number;
  /** Stop reading at maxBytes instead of failing (Mastodon's truncated_body, used for link crawling). */
  truncate?: boolean;
  /** Stream the body into this file (written to a temporary name, renamed when complete). */
  toFile?: string;
  /** Redirects to follow for GET (default 3). */
  maxRedirects?: number;
}

export interface FederationResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body (empty when streamed to a file). */
  body: Buffer;
  /** Bytes received (also when streamed to a file). */
  bytes: number;
  /** Final URL after redirects. */
  url: string;
  /** Content-Type without parameters, lower-case. */
  mimeType: string;
}

/** Where a URL is really reached. */
export interface Target {
  protocol: 'http:' | 'https:';
  /** Host to connect to. */
  connectHost: string;
  port: number;
  /** Host header (and the signed `host`): the URL's own host. */
  hostHeader: string;
  /** Whether DNS answers must be checked for loopback (false for IP literals already checked). */
  checkDns: boolean;
}

/** The rule for `hostname`, if any: the host equals the suffix or ends with `.suffix`. */
export function matchResolveRule(rules: readonly ResolveRule[], hostname: string): ResolveRule | undefined {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return rules.find((r) => {
    const suffix = r.suffix.toLowerCase().replace(/^\./, '');
    return host === suffix || host.endsWith(`.${suffix}`);
  });
}

/** Resolve a URL to where it is reached, or throw HttpClientError('host_validation'). */
export function targetFor(rules: readonly ResolveRule[], url: URL): Target {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const rule = matchResolveRule(rules, hostname);
  if (rule) {
    if (isIP(rule.host) && !isLoopbackAddress(rule.host)) {
      throw new HttpClientError(
        `resolve rule ${rule.suffix} → ${rule.host}:${rule.port} is not a loopback address; the testbed only sends load to loopback`,
        'host_validation',
        url.href,
      );
    }
    return {
      protocol: 'http:',
      connectHost: rule.host,
      port: rule.port,
      hostHeader: url.host,
      checkDns: !isIP(rule.host),
    };
  }
  if (url.protocol !== 'https:') {
    throw new HttpClientError(
      `${url.href}: plain http is only used for hosts matched by a resolve rule; other hosts must be https`,
      'host_validation',
      url.href,
    );
  }
  if (isIP(hostname) === 0) {
    // Resolving the name would send a DNS query off the machine, whatever address it answered.
    throw new HttpClientError(
      `${hostname} is not covered by a resolve rule; the testbed resolves no other names`,
      'host_validation',
      url.href,
    );
  }
  if (!isLoopbackAddress(hostname)) {
    throw new HttpClientError(
      `Requests to non-loopback address ${hostname} are refused by the testbed`,
      'host_validation',
      url.href,
    );
  }
  return {
    protocol: 'https:',
    connectHost: hostname,
    port: Number(url.port || 443),
    hostHeader: url.host,
    checkDns: false,
  };
}

/** dns.lookup that only answers loopback addresses (refuses the name otherwise). */
const loopbackOnly = loopbackOnlyLookup(
  (hostname, address) =>
    new HttpClientError(
      `${hostname} resolves to ${address ?? 'nothing'}: the testbed only contacts loopback addresses`,
      'host_validation',
      hostname,
    ),
);

export interface FederationHttpOptions {
  resolve: readonly ResolveRule[];
  timeoutsMs: { connect: number; read: number };
  /** User-Agent (a function so it can use the base URL known only after listen). */
  userAgent: () => string;
  poolSize?: number;
}

export class FederationHttp {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly opts: FederationHttpOptions) {
    const pool = opts.poolSize ?? POOL_SIZE;
    this.httpAgent = new http.Agent({ keepAlive: true, maxTotalSockets: pool, scheduling: 'lifo' });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxTotalSockets: pool, scheduling: 'lifo' });
  }

  /** Where `url` would be reached (throws for refused URLs). */
  target(url: string | URL): Target {
    return targetFor(this.opts.resolve, typeof url === 'string' ? new URL(url) : url);
  }

  async request(req: FederationRequest): Promise<FederationResponse> {
    let url = new URL(req.url);
    const method = req.method ?? 'GET';
    const redirects = method === 'GET' ? (req.maxRedirects ?? MAX_REDIRECTS) : 0;
    for (let hop = 0; ; hop++) {
      const res = await this.once(url, method, req);
      const location = res.headers.location;
      if (res.status >= 300 && res.status < 400 && location && res.status !== 304) {
        if (hop >= redirects) {
          if (redirects === 0) return res;
          throw new HttpClientError(`too many redirects from ${req.url}`, 'redirect', req.url);
        }
        url = new URL(location, url);
        continue;
      }
      return res;
    }
  }

  /** Close pooled connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private once(url: URL, method: 'GET' | 'POST', req: FederationRequest): Promise<FederationResponse> {
    const target = targetFor(this.opts.resolve, url);
    url.hash = '';
    const headers = this.headersFor(url, method, req, target);
    const maxBytes = req.maxBytes ?? MAX_FETCHED_BODY_BYTES;
    const href = url.href;

    return new Promise<FederationResponse>((resolve, reject) => {
      const mod = target.protocol === 'http:' ? http : https;
      const request = mod.request({
        host: target.connectHost,
        port: target.port,
        method,
        path: url.pathname + url.search,
        headers,
        agent: target.protocol === 'http:' ? this.httpAgent : this.httpsAgent,
        ...(target.checkDns ? { lookup: loopbackOnly } : {}),
        ...(target.protocol === 'https:'
          ? { servername: isIP(url.hostname) ? undefined : url.hostname }
          : {}),
      });
      const exchange = new Exchange(href, request, resolve, reject);
      exchange.armTimeouts(this.opts.timeoutsMs);
      request.on('error', (e) => {
        if (!exchange.finishing) exchange.fail(e);
      });
      request.on('response', (res) => exchange.read(res, req, maxBytes));
      if (req.body !== undefined) request.end(req.body);
      else request.end();
    });
  }

  /** User-Agent first, then the caller's headers, signed (Host, Date, Digest) when `signAs` is given. */
  private headersFor(
    url: URL,
    method: 'GET' | 'POST',
    req: FederationRequest,
    target: Target,
  ): Record<string, string> {
    let headers: Record<string, string> = { 'User-Agent': this.opts.userAgent(), ...(req.headers ?? {}) };
    if (req.signAs) {
      const { 'User-Agent': ua, ...toSign } = headers;
      headers = {
        'User-Agent': ua!,
        ...signRequest({
          keyId: req.signAs.keyId,
          privateKeyPem: req.signAs.privateKeyPem,
          method,
          url,
          headers: toSign,
          body: req.body,
        }),
      };
    } else {
      headers.Host = target.hostHeader;
      headers.Date ??= new Date().toUTCString();
    }
    if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
    return headers;
  }
}

/**
 * One request and its response: settles once, with the response or an
 * HttpClientError, and removes a partly written file when it fails.
 */
class Exchange {
  settled = false;
  /** The body is complete; late socket errors no longer matter. */
  finishing = false;
  private tmpFile: string | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly href: string,
    private readonly request: http.ClientRequest,
    private readonly resolve: (res: FederationResponse) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  done(err: Error | null, res?: FederationResponse): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.deadline);
    if (err) {
      if (this.tmpFile) rmSync(this.tmpFile, { force: true });
      this.reject(err);
    } else this.resolve(res!);
  }

  readonly fail = (err: Error): void => {
    const wrapped =
      err instanceof HttpClientError
        ? err
        : new HttpClientError(`${err.message} on ${this.href}`, 'connection', this.href);
    this.request.destroy();
    this.done(wrapped);
  };

  /**
   * A connect timeout, a read (idle) timeout, and a deadline of connect + 3 × read for the whole exchange.
   */
  armTimeouts({ connect, read }: { connect: number; read: number }): void {
    const href = this.href;
    this.deadline = setTimeout(
      () =>
        this.fail(
          new HttpClientError(`read deadline of ${(3 * read) / 1000} s exceeded on ${href}`, 'timeout', href),
        ),
      connect + 3 * read,
    );
    this.request.on('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(
        () => this.fail(new HttpClientError(`connect timeout (${connect} ms) on ${href}`, 'timeout', href)),
        connect,
      );
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    this.request.setTimeout(read, () =>
      this.fail(new HttpClientError(`read timeout (${read} ms) on ${href}`, 'timeout', href)),
    );
  }

  /**
   * The body, in memory or (a 2xx with `toFile`) streamed to a temporary name then renamed; at most maxBytes.
   */
  read(res: http.IncomingMessage, req: FederationRequest, maxBytes: number): void {
    const { href, fail } = this;
    const status = res.statusCode ?? 0;
    const mimeType = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    const declared = Number(res.headers['content-length']);
    const tooLarge = () =>
      new HttpClientError(`response from ${href} exceeds ${maxBytes} bytes`, 'length', href);
    if (!req.truncate && Number.isFinite(declared) && declared > maxBytes) {
      fail(tooLarge());
      return;
    }
    const streamToFile = req.toFile !== undefined && status >= 200 && status < 300;
    const chunks: Buffer[] = [];
    let bytes = 0;
    let sink: ReturnType<typeof createWriteStream> | undefined;
    if (streamToFile) {
      this.tmpFile = `${req.toFile}.part-${process.pid}-${Math.random().toString(36).slice(2)}`;
      sink = createWriteStream(this.tmpFile);
      sink.on('error', fail);
    }
    const finish = () => {
      if (this.finishing) return;
      this.finishing = true;
      const response = {
        status,
        headers: res.headers,
        body: Buffer.concat(chunks),
        bytes,
        url: href,
        mimeType,
      };
      if (!sink) return this.done(null, response);
      sink.end(() => {
        if (this.settled) return;
        try {
          renameSync(this.tmpFile!, req.toFile!);
          this.tmpFile = undefined;
          this.done(null, response);
        } catch (e) {
          fail(e as Error);
        }
      });
    };
    res.on('data', (chunk: Buffer) => {
      if (this.settled) return;
      if (bytes + chunk.length > maxBytes) {
        if (req.truncate) {
          const rest = chunk.subarray(0, maxBytes - bytes);
          bytes += rest.length;
          if (sink) sink.write(rest);
          else chunks.push(rest);
          finish();
          res.destroy();
          this.request.destroy();
          return;
        }
        return fail(tooLarge());
      }
      bytes += chunk.length;
      if (sink) sink.write(chunk);
      else chunks.push(chunk);
    });
    res.on('end', finish);
    res.on('error', (e) => {
      if (!this.finishing) fail(e);
    });
    res.on('aborted', () => {
      if (!this.finishing) fail(new HttpClientError(`response aborted on ${href}`, 'connection', href));
    });
  }
}
