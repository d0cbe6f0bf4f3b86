/**
 * Per-testbed federation state: the HTTP client and the delivery record.
 * Built lazily on first use, one per Testbed.
 */
import { Counter } from 'prom-client';
import type { Testbed } from '../context.js';
import { FederationHttp } from './http.js';

export type DeliveryOutcome = 'delivered' | 'unsalvageable' | 'failed' | 'circuit_open';

/** One ActivityPub::DeliveryWorker attempt. */
export interface DeliveryRecord {
  /** ms since the epoch when the attempt ended. */
  at: number;
  inboxUrl: string;
  sourceAccountId: string;
  outcome: DeliveryOutcome;
  /** HTTP status when a response arrived. */
  status?: number;
  durationMs: number;
  error?: string;
}

export interface Federation {
  http: FederationHttp;
  /** Most recent deliveries, oldest first (at most DELIVERY_LOG_MAX). */
  deliveries: DeliveryRecord[];
  deliveryCounter: Counter<'outcome'>;
}

export const DELIVERY_LOG_MAX = 10_000;
const states = new WeakMap<Testbed, Federation>();

export function federation(tb: Testbed): Federation {
  let state = states.get(tb);
  if (!state) {
    state = {
      http: new FederationHttp({
        resolve: tb.config.resolve,
        timeoutsMs: tb.config.httpTimeoutsMs,
        userAgent: () =>
          `http.rb/5.2.0 (Mastodon/4.5.0; +${tb.baseUrl || 'http://localhost'}/) fedicap-testbed`,
      }),
      deliveries: [],
      deliveryCounter: new Counter({
        name: 'fedicap_testbed_activitypub_deliveries_total',
        help: 'ActivityPub::DeliveryWorker attempts by outcome (delivered, unsalvageable, failed, circuit_open)',
        labelNames: ['outcome'],
        registers: [tb.metrics],
      }),
    };
    states.set(tb, state);
  }
  return state;
}

export function recordDelivery(tb: Testbed, record: DeliveryRecord): void {
  const f = federation(tb);
  f.deliveries.push(record);
  if (f.deliveries.length > DELIVERY_LOG_MAX) f.deliveries.splice(0, f.deliveries.length - DELIVERY_LOG_MAX);
  f.deliveryCounter.inc({ outcome: record.outcome });
}

/** Deliveries attempted by this testbed's DeliveryWorker (for tests and run records). */
export function deliveryLog(tb: Testbed): readonly DeliveryRecord[] {
  return federation(tb).deliveries;
}

/** Close this testbed's outgoing HTTP client, if it ever made one. */
export function closeFederation(tb: Testbed): void {
  states.get(tb)?.http.close();
}
