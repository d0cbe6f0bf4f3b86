import { expect } from 'vitest';
import type { TestbedConfig } from '../../world/testbed/config.js';
import { MastodonApiSchema, defaultOpenApiPath } from '../../world/testbed/api/openapi.js';
import type { SidekiqJob, WorkerRegistry } from '../../world/testbed/sidekiq/types.js';
import { startTestTestbed, type TestbedFixture } from './testbed.js';

/** The job classes the client API implements (testbed/api/workers.ts). */
export const LOCAL_JOB_CLASSES = [
  'DistributionWorker',
  'FeedInsertWorker',
  'PushUpdateWorker',
  'LocalNotificationWorker',
  'MergeWorker',
  'UnmergeWorker',
  'RegenerationWorker',
  'BlockWorker',
  'MuteWorker',
  'RemovalWorker',
  'UnfavouriteWorker',
  'PostProcessMediaWorker',
];

/**
 * A testbed whose Sidekiq runs no processes (`sidekiq: []`) unless
 * `engine` is set: the tests run the client API's jobs themselves with
 * runLocalJobs, so job counts and orderings are deterministic.
 */
export function startApiTestbed(
  overrides: Partial<TestbedConfig> = {},
  opts: { engine?: boolean } = {},
): Promise<TestbedFixture> {
  return startTestTestbed(opts.engine ? overrides : { sidekiq: [], ...overrides });
}

/** Jobs waiting in `queue:NAME` (oldest first). */
export async function queuedJobs(fx: TestbedFixture, queue = 'default'): Promise<SidekiqJob[]> {
  const raw = await fx.tb.redis.lrange(`queue:${queue}`, 0, -1);
  return raw.map((j) => JSON.parse(j) as SidekiqJob).reverse();
}

/**
 * Run queued jobs of `classes` (default: the client API's) until none are
 * left, oldest first, each claimed with LREM so that a running Sidekiq
 * engine and this helper never run the same job twice. Bounded by maxJobs.
 * Returns how many jobs of each class ran.
 */
export async function runLocalJobs(
  fx: TestbedFixture,
  opts: { classes?: string[]; maxJobs?: number; queue?: string } = {},
): Promise<Record<string, number>> {
  const classes = new Set(opts.classes ?? LOCAL_JOB_CLASSES);
  const maxJobs = opts.maxJobs ?? 20_000;
  const queue = opts.queue ?? 'default';
  const ran: Record<string, number> = {};
  let total = 0;
  for (;;) {
    const raw = await fx.tb.redis.lrange(`queue:${queue}`, 0, -1);
    const mine = raw.reverse().filter((j) => classes.has((JSON.parse(j) as SidekiqJob).class));
    if (mine.length === 0) return ran;
    for (const json of mine) {
      if (total >= maxJobs) throw new Error(`runLocalJobs: more than ${maxJobs} jobs; a job loop?`);
      if (Number(await fx.tb.redis.lrem(`queue:${queue}`, 1, json)) !== 1) continue;
      const job = JSON.parse(json) as SidekiqJob;
      const registry: WorkerRegistry = fx.tb.workers;
      await registry[job.class]!.perform(job.args, { jid: job.jid, queue: job.queue, retryCount: 0 });
      ran[job.class] = (ran[job.class] ?? 0) + 1;
      total++;
    }
  }
}

/**
 * Poll `check` (running the client API's jobs in between) until it returns a value, or fail after timeoutMs.
 */
export async function eventually<T>(
  fx: TestbedFixture,
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await runLocalJobs(fx);
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// ------------------------------------------------------------------ HTTP

let schemaPromise: Promise<MastodonApiSchema | undefined> | undefined;
/** The OpenAPI validator, or undefined (with the reason printed once) when openapi.json is absent. */
export function openApi(): Promise<MastodonApiSchema | undefined> {
  schemaPromise ??= MastodonApiSchema.load().then((s) => {
    if (!s) console.warn(`openapi.json not found at ${defaultOpenApiPath()}: schema validation is skipped`);
    return s;
  });
  return schemaPromise;
}

// Tests read bodies loosely (body.id, body[0].account); each asserts the shape it needs and the OpenAPI
// schema checks the rest.
// biome-ignore lint/suspicious/noExplicitAny: see above
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface ApiCall {
  token?: string;
  json?: unknown;
  form?: FormData;
  rawBody?: string;
  headers?: Record<string, string>;
  /** Multipart fields as the validator should see them (files as "<binary>"). */
  formFields?: Record<string, string>;
  /** Skip the openapi checks (e.g. deliberately malformed requests). */
  noValidate?: boolean;
  /** Check the request but not the response (documented deviations). */
  noValidateResponse?: boolean;
}

/**
 * One client API call. Unless told otherwise, the REQUEST is checked
 * against openapi.json (a test that sends what Mastodon would not accept is
 * a broken test) and the RESPONSE body against the operation's schema for
 * its status.
 */
// biome-ignore lint/suspicious/noExplicitAny: as ApiResponse's default above
export async function api<T = any>(
  fx: TestbedFixture,
  method: string,
  path: string,
  call: ApiCall = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...(call.headers ?? {}) };
  if (call.token) headers.Authorization = `Bearer ${call.token}`;
  let body: BodyInit | undefined;
  if (call.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(call.json);
  } else if (call.form) body = call.form;
  else if (call.rawBody !== undefined) body = call.rawBody;
  const schema = call.noValidate ? undefined : await openApi();
  if (schema) {
    const r = schema.validateRequest(method, path, {
      headers,
      body: call.json ?? call.formFields,
      contentType: call.form ? 'multipart/form-data' : undefined,
    });
    expect(r.problems, `request ${method} ${path}`).toEqual([]);
  }
  const res = await fetch(`${fx.url}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
  if (schema && !call.noValidateResponse && (res.headers.get('content-type') ?? '').includes('json')) {
    const r = schema.validateResponse(method, path, res.status, parsed);
    expect(r.problems, `response ${method} ${path} → ${res.status}`).toEqual([]);
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Parse a Link header into { next, prev } URLs. */
export function links(header: string | null): { next?: string; prev?: string } {
  const out: { next?: string; prev?: string } = {};
  for (const part of (header ?? '').split(/,\s*(?=<)/)) {
    const m = /^<([^>]+)>;\s*rel="(next|prev)"$/.exec(part.trim());
    if (m) out[m[2] as 'next' | 'prev'] = m[1];
  }
  return out;
}

/** The path and query of an absolute URL (to call it through api()). */
export const pathOf = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};
