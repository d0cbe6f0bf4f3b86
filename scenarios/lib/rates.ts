/**
 * Profile → arrival rates, with the model's own code: the instance profile
 * JSON (the file the forecast reads) is resolved to plain numbers (a
 * quantity is a bare number or {value, range, source}: its value) and passed
 * to workloadAt(profile, 0) from the compiled model (model.js →
 * dist/src/model/workload.js). So the load test and the forecast talk about
 * the same instance. test/scenarios/rates.test.ts checks that this path gives
 * exactly the rates of src/profile/load + src/model/workload.
 *
 * Rates are per second at the PEAK HOUR by default (daily mean ×
 * activity.peakToMeanRatio: the model judges capacity at the peak hour);
 * `-e LOAD=mean` uses the daily mean.
 */
import { resolveQuantityDocuments, workloadAt, type ModelProfile, type Workload } from './model.js';

export interface ProfileRates {
  /** 'peak' (default) or 'mean'. */
  load: 'peak' | 'mean';
  /** Multiplier applied to the model's daily means (peakToMeanRatio, or 1). */
  factor: number;
  /** Per model endpoint class (src/mastodon/classes.ts), requests per second. */
  web: Record<string, number>;
  inbound: {
    /** Creates from followed remote accounts (not relays), per second. */
    createsPerSec: number;
    /** Like, Announce, Follow, Undo, Delete… from followed remote accounts, per second. */
    otherPerSec: number;
    /** Of creates + other, the activities whose signer is seen for the first time. */
    coldPerSec: number;
    /** Activities pushed by relays, per second (relays started by month 0). */
    relayPerSec: number;
    relayColdPerSec: number;
  };
  streaming: { connections: number; eventsPerSec: number };
  /** Shares the scenarios use to shape content, from the same profile. */
  mix: {
    inboundMediaFraction: number;
    inboundAttachmentsPerMediaPost: number;
    inboundLinkFraction: number;
    inboundReplyFraction: number;
    localImagesPerPost: number;
    localLinkFraction: number;
    localTargetFraction: number;
    relayAnnounceFraction: number;
  };
  slo: { webResponseSec: number; latencyPercentile: number };
}

/** The workload at month 0 of a profile document as read from a file. */
export function workloadOfDocument(doc: unknown): Workload {
  return workloadAt(resolveQuantityDocuments<ModelProfile>(doc), 0);
}

/** Rates per second for the scenarios from a profile document. */
export function profileRates(doc: unknown, load: 'peak' | 'mean' = 'peak'): ProfileRates {
  const profile = resolveQuantityDocuments<ModelProfile>(doc);
  const w = workloadAt(profile, 0);
  const factor = load === 'peak' ? profile.activity.peakToMeanRatio : 1;
  const day = 86_400;
  const web: Record<string, number> = {};
  for (const e of w.web) web[e.endpoint] = e.ratePerSec * factor;
  const relays = profile.relays.filter((r) => r.startMonth <= 0);
  const relayPerSec = (relays.reduce((s, r) => s + r.postsPerHour, 0) / 3600) * factor;
  const relayColdPerSec =
    (relays.reduce((s, r) => s + r.postsPerHour * r.coldActorFraction, 0) / 3600) * factor;
  const inboxPerSec = web.inbox ?? 0;
  const createsPerSec = Math.max(0, (w.perDay.remoteStatuses / day) * factor - relayPerSec);
  const directPerSec = Math.max(0, inboxPerSec - relayPerSec);
  const inbound = profile.graph.inbound;
  return {
    load,
    factor,
    web,
    inbound: {
      createsPerSec,
      otherPerSec: Math.max(0, directPerSec - createsPerSec),
      coldPerSec: Math.max(0, (web['inbox-cold-actor'] ?? 0) - relayColdPerSec),
      relayPerSec,
      relayColdPerSec,
    },
    streaming: {
      connections: w.streaming.meanConnections * factor,
      eventsPerSec: w.streaming.eventsPerSec * factor,
    },
    mix: {
      inboundMediaFraction: inbound.mediaFraction,
      inboundAttachmentsPerMediaPost: inbound.attachmentsPerMediaPost,
      inboundLinkFraction: inbound.linkFraction,
      inboundReplyFraction: inbound.replyFetchFraction,
      localImagesPerPost: profile.activity.mediaPerPost.image,
      localLinkFraction: profile.activity.linkFraction,
      localTargetFraction: profile.activity.localTargetFraction,
      relayAnnounceFraction: relays.length
        ? relays.reduce((s, r) => s + r.announceFraction * r.postsPerHour, 0) /
          Math.max(
            1e-9,
            relays.reduce((s, r) => s + r.postsPerHour, 0),
          )
        : 0.3,
    },
    slo: { webResponseSec: profile.slo.webResponseSec, latencyPercentile: profile.slo.latencyPercentile },
  };
}

/**
 * A rate per second as k6's constant-arrival-rate wants it: an integer
 * `rate` per `timeUnit`, the shortest of 1s, 1m, 1h that keeps rounding
 * within 1 % (else 1h, or one iteration every N seconds for tiny rates).
 */
export function arrivalRate(perSec: number): { rate: number; timeUnit: string } {
  if (!(perSec > 0)) return { rate: 0, timeUnit: '1s' };
  for (const [unitSec, timeUnit] of [
    [1, '1s'],
    [60, '1m'],
    [3600, '1h'],
  ] as const) {
    const rate = Math.round(perSec * unitSec);
    if (rate >= 1 && Math.abs(rate / unitSec - perSec) <= 0.01 * perSec) return { rate, timeUnit };
  }
  if (perSec * 3600 >= 1) return { rate: Math.round(perSec * 3600), timeUnit: '1h' };
  return { rate: 1, timeUnit: `${Math.max(1, Math.round(1 / perSec))}s` };
}

/**
 * The shortest of 1s, 1m, 1h in which every one of `perSec` rounds to an integer within 1 % (1h otherwise),
 * in seconds.
 */
export function commonTimeUnitSec(perSec: readonly number[]): number {
  for (const unitSec of [1, 60, 3600]) {
    if (
      perSec.every(
        (r) =>
          !(r > 0) ||
          (Math.round(r * unitSec) >= 1 && Math.abs(Math.round(r * unitSec) / unitSec - r) <= 0.01 * r),
      )
    )
      return unitSec;
  }
  return 3600;
}

/** VUs for an arrival rate: rate × expected iteration seconds, with headroom. */
export function vusFor(perSec: number, iterationSec = 2): { preAllocatedVUs: number; maxVUs: number } {
  const pre = Math.max(1, Math.ceil(perSec * iterationSec));
  return { preAllocatedVUs: pre, maxVUs: Math.max(pre * 4, 4) };
}
