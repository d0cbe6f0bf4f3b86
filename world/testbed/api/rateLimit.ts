import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Testbed } from '../context.js';
import type { AuthContext } from './auth.js';
import { tooManyRequests } from './http.js';

/**
 * Mastodon's Rack::Attack throttles (config/initializers/rack_attack.rb) for
 * the client API, as fixed windows in Redis: one counter per throttle,
 * discriminator and period, keyed `rack::attack:<epoch / period>:<name>:<discriminator>`
 * and expiring with its window, as Rack::Attack's cache counter does.
 *
 * One deliberate difference: Mastodon safelists 127.0.0.1 and ::1 (a load
 * generator on the Mastodon host itself is never throttled). The testbed
 * binds to loopback, so it does not safelist it; otherwise the limits
 * would never apply.
 */
export interface Throttle {
  name: string;
  limit: number;
  periodSec: number;
  discriminator(req: ThrottleRequest): string | undefined;
}

export interface ThrottleRequest {
  method: string;
  path: string;
  auth?: AuthContext;
  ip: string;
  paging: boolean;
}

const API_MEDIA = /^\/api\/v\d+\/media$/i;
const API_DELETE_REBLOG = /^\/api\/v1\/statuses\/\d+\/unreblog$/;
const API_DELETE_STATUS = /^\/api\/v1\/statuses\/\d+$/;
const api = (r: ThrottleRequest) => r.path.startsWith('/api');

/** In Rack::Attack's order: the first throttle over its limit answers the 429. */
export const THROTTLES: Throttle[] = [
  {
    name: 'throttle_authenticated_api',
    limit: 1500,
    periodSec: 300,
    discriminator: (r) => (api(r) ? r.auth?.userId : undefined),
  },
  {
    name: 'throttle_per_token_api',
    limit: 300,
    periodSec: 300,
    discriminator: (r) => (api(r) ? r.auth?.tokenId : undefined),
  },
  {
    name: 'throttle_unauthenticated_api',
    limit: 300,
    periodSec: 300,
    discriminator: (r) => (api(r) && !r.auth ? r.ip : undefined),
  },
  {
    name: 'throttle_api_media',
    limit: 30,
    periodSec: 1800,
    discriminator: (r) => (r.method === 'POST' && API_MEDIA.test(r.path) ? r.auth?.userId : undefined),
  },
  {
    name: 'throttle_authenticated_paging',
    limit: 300,
    periodSec: 900,
    discriminator: (r) => (r.paging ? r.auth?.userId : undefined),
  },
  {
    name: 'throttle_unauthenticated_paging',
    limit: 300,
    periodSec: 900,
    discriminator: (r) => (r.paging && !r.auth ? r.ip : undefined),
  },
  {
    name: 'throttle_api_delete',
    limit: 30,
    periodSec: 1800,
    discriminator: (r) =>
      (r.method === 'POST' && API_DELETE_REBLOG.test(r.path)) ||
      (r.method === 'DELETE' && API_DELETE_STATUS.test(r.path))
        ? r.auth?.userId
        : undefined,
  },
];

/** Rack::Attack's throttleable_remote_ip: IPv4 as is, IPv6 masked to its /64. */
export function throttleableIp(ip: string): string {
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4mapped) return v4mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::`;
}

/** Ruby's Time#iso8601(6) in UTC. */
export function iso8601Micro(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

interface Match {
  throttle: Throttle;
  count: number;
}

/**
 * Count this request against every matching throttle (one Redis round trip),
 * then either throw a 429 with Mastodon's headers or set the
 * X-RateLimit-* headers of the most limited throttle (RateLimitHeaders).
 */
export async function applyThrottles(
  tb: Testbed,
  request: FastifyRequest,
  reply: FastifyReply,
  auth: AuthContext | undefined,
): Promise<void> {
  const q = (request.query ?? {}) as Record<string, unknown>;
  const present = (k: string) => q[k] !== undefined && q[k] !== '';
  const req: ThrottleRequest = {
    method: request.method,
    path: request.url.split('?')[0]!,
    auth,
    ip: throttleableIp(request.ip),
    paging: present('page') || present('min_id') || present('max_id') || present('since_id'),
  };
  const nowMs = Date.now();
  const nowSec = Math.floor(nowMs / 1000);
  const matched: { throttle: Throttle; key: string }[] = [];
  for (const throttle of THROTTLES) {
    const d = throttle.discriminator(req);
    if (d === undefined || d === '') continue;
    matched.push({
      throttle,
      key: `rack::attack:${Math.floor(nowSec / throttle.periodSec)}:${throttle.name}:${d}`,
    });
  }
  if (matched.length === 0) return;
  const multi = tb.redis.multi();
  for (const m of matched) {
    multi.incr(m.key);
    multi.expire(m.key, m.throttle.periodSec - (nowSec % m.throttle.periodSec) + 1);
  }
  const results = (await multi.exec()) ?? [];
  const counts: Match[] = matched.map((m, i) => ({
    throttle: m.throttle,
    count: Number(results[i * 2]?.[1] ?? 0),
  }));
  const reset = (t: Throttle) => iso8601Micro(nowMs + (t.periodSec - (nowSec % t.periodSec)) * 1000);

  const over = counts.find((c) => c.count > c.throttle.limit);
  if (over) {
    reply.header('X-RateLimit-Limit', String(over.throttle.limit));
    reply.header('X-RateLimit-Remaining', '0');
    reply.header('X-RateLimit-Reset', reset(over.throttle));
    throw tooManyRequests();
  }
  const most = counts.reduce((a, b) => (b.throttle.limit - b.count < a.throttle.limit - a.count ? b : a));
  reply.header('X-RateLimit-Limit', String(most.throttle.limit));
  reply.header('X-RateLimit-Remaining', String(most.throttle.limit - most.count));
  reply.header('X-RateLimit-Reset', reset(most.throttle));
}

/**
 * Mastodon's model-level RateLimiter (app/lib/rate_limiter.rb): per account
 * and family, fixed windows keyed `rate_limit:<account_id>:<family>:<epoch / period>`.
 * These are not Rack::Attack: Mastodon applies them even with
 * Rack::Attack disabled, and so does the testbed (config.rateLimits does
 * not switch them off).
 */
export const RATE_LIMIT_FAMILIES = {
  statuses: { limit: 300, periodSec: 3 * 3600 },
  follows: { limit: 400, periodSec: 24 * 3600 },
} as const;
export type RateLimitFamily = keyof typeof RATE_LIMIT_FAMILIES;

export class RateLimiter {
  private readonly key: string;
  private readonly nowMs = Date.now();
  private readonly limit: number;
  private readonly periodSec: number;
  constructor(
    private readonly tb: Testbed,
    accountId: string,
    family: RateLimitFamily,
  ) {
    ({ limit: this.limit, periodSec: this.periodSec } = RATE_LIMIT_FAMILIES[family]);
    this.key = `rate_limit:${accountId}:${family}:${Math.floor(this.nowMs / 1000 / this.periodSec)}`;
  }

  /** RateLimiter#record!: 429 once the window holds `limit` actions. */
  async record(): Promise<void> {
    const nowSec = Math.floor(this.nowMs / 1000);
    const [[, count]] = (await this.tb.redis
      .multi()
      .incr(this.key)
      .expire(this.key, this.periodSec - (nowSec % this.periodSec) + 1)
      .exec()) as [[unknown, number]];
    if (count > this.limit) {
      await this.tb.redis.decr(this.key);
      // override_rate_limit_headers runs in an `ensure`: the 429 carries the family's headers
      throw tooManyRequests({
        'X-RateLimit-Limit': String(this.limit),
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': iso8601Micro(this.nowMs + (this.periodSec - (nowSec % this.periodSec)) * 1000),
      });
    }
  }

  /** RateLimiter#rollback! when the action failed after record. */
  async rollback(): Promise<void> {
    await this.tb.redis.decr(this.key);
  }

  /** override_rate_limit_headers: replace the Rack::Attack headers unless they are already more limiting. */
  async applyHeaders(reply: FastifyReply): Promise<void> {
    const used = Number((await this.tb.redis.get(this.key)) ?? 0);
    const remaining = this.limit - used;
    const current = reply.getHeader('X-RateLimit-Remaining');
    if (current !== undefined && remaining > Number(current)) return;
    const nowSec = Math.floor(this.nowMs / 1000);
    reply.header('X-RateLimit-Limit', String(this.limit));
    reply.header('X-RateLimit-Remaining', String(remaining));
    reply.header(
      'X-RateLimit-Reset',
      iso8601Micro(this.nowMs + (this.periodSec - (nowSec % this.periodSec)) * 1000),
    );
  }
}
