import type { ModelProfile, Workload } from './workload.js';

/** Mean days per month (365.25 / 12). */
export const DAYS_PER_MONTH = 30.4375;
const GB = 1e9;

export interface StorageState {
  localMediaGB: number;
  remoteMediaCacheGB: number;
  previewCardsGB: number;
  databaseGB: number;
  /** What counts against the media disk or bucket quota. */
  mediaGB: number;
  /** Media GB plus the database when it shares the disk. */
  usedGB: number;
  egressGBPerMonth: number;
}

/**
 * Bytes held by a cache whose entries expire after `retentionDays`, given the
 * daily inflow of each month so far (index = month). Months before month 0 are
 * taken at month 0's inflow (the instance has been running), so a constant
 * inflow gives exactly inflow × retention (Little's law: L = λW). With no
 * retention the cache only grows, from zero at month 0.
 */
export function retainedBytes(dailyInflowByMonth: readonly number[], retentionDays: number | null): number {
  const last = dailyInflowByMonth.length - 1;
  if (last < 0) return 0;
  if (retentionDays === null) {
    let total = 0;
    for (const inflow of dailyInflowByMonth) total += inflow * DAYS_PER_MONTH;
    return total;
  }
  let remaining = retentionDays;
  let total = 0;
  for (let m = last; remaining > 0; m--) {
    const days = Math.min(remaining, DAYS_PER_MONTH);
    total += (dailyInflowByMonth[Math.max(m, 0)] ?? 0) * days;
    remaining -= days;
  }
  return total;
}

/** The shorter of two optional retention periods (null = keep forever). */
export function effectiveRetentionDays(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/**
 * Storage at the end of the last month in `workloads` (one workload per month
 * from month 0). Local uploads accumulate forever (Mastodon never removes
 * them); cached remote media and preview cards reach inflow × retention; the
 * database grows by its rows, remote statuses bounded by content retention.
 */
export function storageAfter(profile: ModelProfile, workloads: readonly Workload[]): StorageState {
  const { retention, media, database, infrastructure } = profile;
  const remoteRetention = effectiveRetentionDays(
    retention.remoteMediaCacheDays,
    retention.objectStorageLifecycleDays,
  );
  const first = workloads[0];
  let localBytes = media.currentLocalMediaGB * GB;
  let dbBytes = database.currentSizeGB * GB;
  // Months elapsed beyond month 0's start: month 0 is "now", so it adds nothing yet.
  for (const w of workloads.slice(1)) {
    localBytes += w.perDay.localMediaBytes * DAYS_PER_MONTH;
    dbBytes +=
      (w.perDay.localStatuses * database.bytesPerLocalStatus +
        w.perDay.interactionRows * database.bytesPerInteraction) *
      DAYS_PER_MONTH;
    if (retention.contentCacheDays === null) {
      dbBytes += w.perDay.remoteStatuses * database.bytesPerRemoteStatus * DAYS_PER_MONTH;
    }
  }
  const current = workloads[workloads.length - 1];
  if (retention.contentCacheDays !== null && first && current) {
    // Remote statuses are already at their steady state today; only its change adds up.
    dbBytes +=
      (current.perDay.remoteStatuses - first.perDay.remoteStatuses) *
      database.bytesPerRemoteStatus *
      retention.contentCacheDays;
  }
  const remoteBytes = retainedBytes(
    workloads.map((w) => w.perDay.remoteMediaBytes),
    remoteRetention,
  );
  const cardBytes = retainedBytes(
    workloads.map((w) => w.perDay.previewCardBytes),
    retention.previewCardDays,
  );
  const mediaGB = (localBytes + remoteBytes + cardBytes) / GB;
  const databaseGB = dbBytes / GB;
  return {
    localMediaGB: localBytes / GB,
    remoteMediaCacheGB: remoteBytes / GB,
    previewCardsGB: cardBytes / GB,
    databaseGB,
    mediaGB,
    usedGB: mediaGB + (infrastructure.storage.databaseOnSameDisk ? databaseGB : 0),
    egressGBPerMonth: ((current?.perDay.egressBytes ?? 0) * DAYS_PER_MONTH) / GB,
  };
}

export const PROVIDERS = ['s3', 'b2', 'wasabi', 'r2', 'minio'] as const;
export type Provider = (typeof PROVIDERS)[number];

export interface MonthlyCost {
  provider: Provider;
  storageUSD: number;
  egressUSD: number;
  computeUSD: number;
  totalUSD: number;
}

/** Monthly bill per storage provider: media GB-months, egress and the hosts' vCPUs. */
export function monthlyCosts(profile: ModelProfile, storage: StorageState): MonthlyCost[] {
  const vcpus = profile.infrastructure.hosts.reduce((n, h) => n + h.cores, 0);
  const computeUSD = vcpus * profile.prices.computePerVcpuMonth;
  return PROVIDERS.map((provider) => {
    const price = profile.prices.storage[provider];
    const storageUSD = storage.mediaGB * price.storagePerGBMonth;
    const egressUSD = storage.egressGBPerMonth * price.egressPerGB;
    return { provider, storageUSD, egressUSD, computeUSD, totalUSD: storageUSD + egressUSD + computeUSD };
  });
}
