/**
 * Effects, not status codes. A 202 says an inbox queued an activity, not
 * that anything came of it; so each scenario states what must have happened
 * (statuses stored and visible in a timeline, follows established,
 * deliveries the fleet verified, media processed, streaming events
 * received) and observes it, during the run or in teardown(), into the
 * Counter `effects` tagged `effect`. Its thresholds (`effects{effect:NAME}`:
 * count>0) fail a run that sent load and achieved nothing: exit code 99 under
 * k6 and the local executor, the crossed threshold naming the missing effect
 * (teardown also prints `effect missing: NAME …`). A Counter with no sample
 * counts 0, so an effect nobody observed fails too.
 *
 * Verdict thresholds every scenario adds: `checks` (rate > MIN_CHECKS,
 * default 0.99), `unexpected_4xx` (rate < MAX_4XX, default 0.01) and
 * `dropped_iterations` (at most MAX_DROPPED, default 1 %, of the planned
 * iterations). setup() warns when a scenario plans fewer than 30 iterations:
 * a verdict on so few samples is weak.
 */
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import type { Scenario } from 'k6/options';
import { numberEnv } from './env.ts';
import { EFFECTS, fewSampleWarnings, verdictThresholdsFor, type EffectName } from './verdict.ts';

export { EFFECTS, effectThresholds, type EffectName } from './verdict.ts';

/** Observed effects, tagged effect. */
export const effects = new Counter('effects');

/** Record `count` observations of an effect; say so when there are none. */
export function observeEffect(name: EffectName, count: number, detail = ''): void {
  effects.add(Math.max(0, count), { effect: name });
  const what = `${name} (${EFFECTS[name]})`;
  if (count > 0) console.log(`effect observed: ${what}: ${count}${detail ? `; ${detail}` : ''}`);
  else console.error(`effect missing: ${what}${detail ? `: ${detail}` : ''}`);
}

const pause = (sec: number) => new Promise<void>((resolve) => setTimeout(() => resolve(), sec * 1000));

/** EFFECT_WAIT: how long teardown waits for queued work to show its effect (default 30 s). */
export function effectWaitSec(): number {
  return numberEnv('EFFECT_WAIT', 30);
}

/** Probe until `enough` holds or `timeoutSec` passes (once a second); the last value. */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  enough: (value: T) => boolean,
  timeoutSec: number,
): Promise<T> {
  const deadline = Date.now() + timeoutSec * 1000;
  let value = await probe();
  while (!enough(value) && Date.now() < deadline) {
    await pause(1);
    value = await probe();
  }
  return value;
}

export interface FleetObservation {
  /** Deliveries the fleet verified since the given time, by activity type. */
  deliveries: Record<string, number>;
  /** On-demand actors with the given prefix the target fetched. */
  actorsFetched: number;
}

/** Ask the fleet what the target did since `sinceMs` (null when the fleet cannot be asked). */
export async function fleetObserved(
  observedUrl: string | null,
  sinceMs: number,
  prefix = '',
): Promise<FleetObservation | null> {
  if (!observedUrl) return null;
  const q = `since=${Math.floor(sinceMs)}${prefix ? `&prefix=${encodeURIComponent(prefix)}` : ''}`;
  const res = await http.asyncRequest('GET', `${observedUrl}?${q}`, null, {
    tags: { station: 'effects', endpoint: 'fleet#observed', name: '/.fedicap/observed' },
    timeout: '10s',
    responseType: 'text',
  });
  if (res.status !== 200 || typeof res.body !== 'string') return null;
  try {
    const doc = JSON.parse(res.body) as Partial<FleetObservation>;
    return { deliveries: doc.deliveries ?? {}, actorsFetched: Number(doc.actorsFetched ?? 0) };
  } catch {
    return null;
  }
}

/** The verdict thresholds with MIN_CHECKS (default 0.99), MAX_4XX (0.01) and MAX_DROPPED (0.01). */
export function verdictThresholds(scenarios: Record<string, Scenario>): Record<string, string[]> {
  return verdictThresholdsFor(scenarios, {
    minChecks: Math.min(1, numberEnv('MIN_CHECKS', 0.99)),
    max4xx: Math.min(1, numberEnv('MAX_4XX', 0.01)),
    maxDropped: Math.min(1, numberEnv('MAX_DROPPED', 0.01)),
  });
}

/** Warn (from setup(), which runs once) about scenarios planning fewer than 30 iterations. */
export function warnFewSamples(scenarios: Record<string, Scenario>): void {
  for (const line of fewSampleWarnings(scenarios)) console.warn(line);
}
