/**
 * Outbound federation: ActivityPub::DistributionWorker fans a local status
 * out to one ActivityPub::DeliveryWorker per distinct inbox
 * (StatusReachFinder), DeliveryWorker signs and POSTs with Mastodon's retry
 * rules and per-inbox circuit breaker (Stoplight: red after 10 failures,
 * 60 s cool-off), and relays are subscribed to by the instance actor
 * (app/models/relay.rb).
 */
import { PUBLIC_COLLECTION } from '../../../src/mastodon/activitypub.js';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Testbed } from '../context.js';
import type { TestbedJobClass, TestbedWorker } from '../jobClasses.js';
import { accountById, ensureInstanceActor, signerFor, type AccountRow } from './accounts.js';
import { HttpClientError } from './http.js';
import { announceActivity, createActivity, isPublic, loadNoteParts, type StatusRow } from './serialize.js';
import { federation, recordDelivery, type DeliveryOutcome } from './state.js';
import { AS_CONTEXT, instanceActorUri } from './uris.js';

export const DELIVERY_WORKER = 'ActivityPub::DeliveryWorker' satisfies TestbedJobClass;
export const DISTRIBUTION_WORKER = 'ActivityPub::DistributionWorker' satisfies TestbedJobClass;
/** ActivityPub::DeliveryWorker::STOPLIGHT_FAILURE_THRESHOLD / STOPLIGHT_COOL_OFF_TIME. */
export const STOPLIGHT_FAILURE_THRESHOLD = 10;
export const STOPLIGHT_COOL_OFF_SEC = 60;
/** Relay.states. */
export const RELAY_STATE = { idle: 0, pending: 1, accepted: 2, rejected: 3 } as const;
/** push_bulk batch size of RawDistributionWorker. */
export const DELIVERY_BULK = 1000;

// ---------------------------------------------------------------- circuit breaker

export type Light = 'green' | 'yellow' | 'red';
const lightKey = (inboxUrl: string) => `stoplight:${inboxUrl}`;

/**
 * Stoplight's colour for an inbox: green below the threshold; red at or
 * above it while the last failure is within the cool-off; yellow after the
 * cool-off (one attempt is let through; a failure turns it red again, a
 * success green). Kept in Redis, shared by all Sidekiq processes as
 * Mastodon's Stoplight data store is.
 */
export async function circuitLight(tb: Testbed, inboxUrl: string, nowMs = Date.now()): Promise<Light> {
  const [failures, last] = await tb.redis.hmget(lightKey(inboxUrl), 'failures', 'last_failure_at');
  if (Number(failures ?? 0) < STOPLIGHT_FAILURE_THRESHOLD) return 'green';
  return nowMs - Number(last ?? 0) < STOPLIGHT_COOL_OFF_SEC * 1000 ? 'red' : 'yellow';
}

export async function recordCircuitFailure(tb: Testbed, inboxUrl: string, nowMs = Date.now()): Promise<void> {
  await tb.redis
    .multi()
    .hincrby(lightKey(inboxUrl), 'failures', 1)
    .hset(lightKey(inboxUrl), 'last_failure_at', String(nowMs))
    .expire(lightKey(inboxUrl), 86_400)
    .exec();
}

export async function recordCircuitSuccess(tb: Testbed, inboxUrl: string): Promise<void> {
  await tb.redis.del(lightKey(inboxUrl));
}

/** Stoplight::Error::RedLight: the inbox failed too often; no request was made. */
export class CircuitOpenError extends Error {
  override name = 'Stoplight::Error::RedLight';
}

/** Mastodon::UnexpectedResponseError. */
export class UnexpectedResponseError extends Error {
  override name = 'Mastodon::UnexpectedResponseError';
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`${url} returned HTTP ${status}`);
  }
}

/** JsonLdHelper#response_error_unsalvageable?: 501, or 4xx except 401, 408 and 429. */
export const isUnsalvageable = (status: number) =>
  status === 501 || (status >= 400 && status < 500 && ![401, 408, 429].includes(status));

/** ActivityPub::DeliveryWorker's sidekiq_retry_in: count⁴ + 15 + rand(0.5 × count⁴) seconds. */
export const deliveryRetryInSec = (count: number) =>
  count ** 4 + 15 + Math.floor(Math.random() * 0.5 * count ** 4);

/**
 * ActivityPub::DeliveryWorker (push, retry 16, never dead): args
 * [json, source_account_id, inbox_url, options?]. Signs as the source
 * account and POSTs. 2xx: done; unsalvageable 4xx: given up without retry;
 * anything else (5xx, 401, 408, 429, timeouts, refused connections) throws so
 * Sidekiq retries. While the inbox's light is red the job fails at once
 * without a request (a failed attempt, retried later).
 */
export function deliveryWorker(tb: Testbed): TestbedWorker<typeof DELIVERY_WORKER> {
  return {
    queue: 'push',
    retry: 16,
    retryIn: deliveryRetryInSec,
    perform: async ([json, sourceAccountId, inboxUrl]) => {
      if (typeof inboxUrl !== 'string' || !inboxUrl) return;
      const t0 = performance.now();
      const record = (outcome: DeliveryOutcome, status?: number, error?: string) =>
        recordDelivery(tb, {
          at: Date.now(),
          inboxUrl,
          sourceAccountId: String(sourceAccountId),
          outcome,
          status,
          durationMs: performance.now() - t0,
          error,
        });
      const source = await accountById(tb, String(sourceAccountId));
      if (!source?.private_key) return; // the sender is gone
      if ((await circuitLight(tb, inboxUrl)) === 'red') {
        record('circuit_open');
        throw new CircuitOpenError(
          `Delivery failed for ${inboxUrl}: circuit open after ${STOPLIGHT_FAILURE_THRESHOLD} failures`,
        );
      }
      let status: number;
      try {
        const res = await federation(tb).http.request({
          method: 'POST',
          url: inboxUrl,
          body: typeof json === 'string' ? json : JSON.stringify(json),
          headers: { 'Content-Type': 'application/activity+json' },
          signAs: signerFor(tb, source),
        });
        status = res.status;
      } catch (e) {
        await recordCircuitFailure(tb, inboxUrl);
        record('failed', undefined, (e as Error).message);
        const err = e instanceof HttpClientError ? e : new Error((e as Error).message);
        err.message = `Delivery failed for ${inboxUrl}: ${(e as Error).message}`;
        throw err;
      }
      if (status >= 200 && status < 300) {
        await recordCircuitSuccess(tb, inboxUrl);
        record('delivered', status);
        return;
      }
      if (isUnsalvageable(status)) {
        await recordCircuitSuccess(tb, inboxUrl); // the Stoplight block returned normally
        record('unsalvageable', status);
        return;
      }
      await recordCircuitFailure(tb, inboxUrl);
      record('failed', status);
      const err = new UnexpectedResponseError(status, inboxUrl);
      err.message = `Delivery failed for ${inboxUrl}: ${err.message}`;
      throw err;
    },
  };
}

// ---------------------------------------------------------------- distribution

/**
 * StatusReachFinder#inboxes: distinct preferred inboxes (shared inbox when
 * known) of remote followers (not for direct messages), of remote mentioned
 * accounts and of the remote author replied to or reblogged, plus every
 * accepted relay for public statuses. Sorted for determinism.
 */
export async function statusInboxes(tb: Testbed, status: StatusRow): Promise<string[]> {
  const direct = status.visibility === 3;
  const reached: string[] = [];
  if (status.in_reply_to_account_id) reached.push(String(status.in_reply_to_account_id));
  if (status.reblog_of_id) {
    const r = await tb.db.query<{ account_id: string }>('SELECT account_id FROM statuses WHERE id = $1', [
      status.reblog_of_id,
    ]);
    if (r.rows[0]) reached.push(r.rows[0].account_id);
  }
  const { rows } = await tb.db.query<{ inbox: string }>(
    `SELECT DISTINCT COALESCE(NULLIF(a.shared_inbox_url, ''), a.inbox_url) AS inbox
       FROM accounts a
      WHERE a.domain IS NOT NULL
        AND COALESCE(NULLIF(a.shared_inbox_url, ''), a.inbox_url, '') <> ''
        AND ((NOT $3 AND a.id IN (SELECT account_id FROM follows WHERE target_account_id = $1))
             OR a.id IN (SELECT account_id FROM mentions WHERE status_id = $2)
             OR a.id = ANY($4::bigint[]))
     UNION
     SELECT inbox_url FROM relays WHERE state = $5 AND $6
     ORDER BY 1`,
    [status.account_id, status.id, direct, reached, RELAY_STATE.accepted, isPublic(status)],
  );
  return rows.map((r) => r.inbox);
}

/**
 * ActivityPub::DistributionWorker (push): [status_id] of a local status →
 * Create(Note) (Announce for a reblog) to every inbox it reaches, one
 * DeliveryWorker job per distinct inbox, bulk-enqueued 1,000 at a time.
 */
export function distributionWorker(tb: Testbed): TestbedWorker<typeof DISTRIBUTION_WORKER> {
  return {
    queue: 'push',
    retry: true,
    perform: async ([statusId]) => {
      const s = await tb.db.query<StatusRow>('SELECT * FROM statuses WHERE id = $1 AND deleted_at IS NULL', [
        String(statusId),
      ]);
      const status = s.rows[0];
      if (!status) return;
      const author = await accountById(tb, status.account_id);
      if (!author || author.domain !== null || !author.private_key) return;
      let payload: Record<string, unknown> | null;
      if (status.reblog_of_id) payload = await announceActivity(tb, status, author);
      else {
        const parts = await loadNoteParts(tb, status.id);
        payload = parts && createActivity(tb, parts);
      }
      if (!payload) return;
      const inboxes = await statusInboxes(tb, status);
      const json = JSON.stringify(payload);
      for (let i = 0; i < inboxes.length; i += DELIVERY_BULK) {
        await tb.sidekiq.pushBulk(
          DELIVERY_WORKER,
          inboxes.slice(i, i + DELIVERY_BULK).map((inbox) => [json, author.id, inbox]),
        );
      }
    },
  };
}

/** Deliver one activity as `sender` to `inboxUrl` through the push queue. */
export function enqueueDelivery(
  tb: Testbed,
  activity: Record<string, unknown>,
  sender: Pick<AccountRow, 'id'>,
  inboxUrl: string,
): Promise<string> {
  return tb.sidekiq.push(DELIVERY_WORKER, [JSON.stringify(activity), String(sender.id), inboxUrl]);
}

// ---------------------------------------------------------------- relays

export interface RelayRow {
  id: string;
  inbox_url: string;
  follow_activity_id: string | null;
  state: number;
}

/**
 * Relay#enable!: the instance actor sends Follow{object: Public} to the
 * relay's inbox; the relay is pending until its Accept arrives.
 */
export async function followRelay(tb: Testbed, inboxUrl: string): Promise<RelayRow> {
  new URL(inboxUrl); // validates: url: true
  const actor = await ensureInstanceActor(tb);
  const activityId = `${tb.baseUrl}/${randomUUID()}`;
  const { rows } = await tb.db.query<RelayRow>(
    `INSERT INTO relays (inbox_url, follow_activity_id, state) VALUES ($1, $2, $3)
     ON CONFLICT (inbox_url) DO UPDATE SET follow_activity_id = EXCLUDED.follow_activity_id, state = EXCLUDED.state RETURNING *`,
    [inboxUrl, activityId, RELAY_STATE.pending],
  );
  const follow = {
    '@context': AS_CONTEXT,
    id: activityId,
    type: 'Follow',
    actor: instanceActorUri(tb),
    object: PUBLIC_COLLECTION,
  };
  await enqueueDelivery(tb, follow, actor, inboxUrl);
  return rows[0]!;
}

/** Relay#disable!: Undo the Follow; the relay goes idle. */
export async function unfollowRelay(tb: Testbed, inboxUrl: string): Promise<void> {
  const { rows } = await tb.db.query<RelayRow>('SELECT * FROM relays WHERE inbox_url = $1', [inboxUrl]);
  const relay = rows[0];
  if (!relay) return;
  const actor = await ensureInstanceActor(tb);
  const actorUri = instanceActorUri(tb);
  const undo = {
    '@context': AS_CONTEXT,
    id: `${tb.baseUrl}/${randomUUID()}`,
    type: 'Undo',
    actor: actorUri,
    object: { id: relay.follow_activity_id, type: 'Follow', actor: actorUri, object: PUBLIC_COLLECTION },
  };
  await tb.db.query('UPDATE relays SET state = $2, follow_activity_id = NULL WHERE id = $1', [
    relay.id,
    RELAY_STATE.idle,
  ]);
  await enqueueDelivery(tb, undo, actor, inboxUrl);
}
