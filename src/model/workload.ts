import type { Profile } from '../profile/schema.js';
import type { Resolved } from '../shared/quantity.js';
import {
  ENDPOINT_CLASSES,
  JOB_CLASSES,
  type EndpointClass,
  type JobClass,
  type QueueName,
} from '../mastodon/classes.js';

/** A profile with every quantity resolved to a number: what the pure model consumes. */
export type ModelProfile = Resolved<Profile>;

export interface Demand {
  cpuSec: number;
  waitSec: number;
  dbSec: number;
}

export interface JobLoad extends Demand {
  jobClass: JobClass;
  queue: QueueName;
  /** CPU seconds in child processes (ffmpeg): on the host's cores, outside the interpreter lock. */
  childCpuSec: number;
  /** Mean over the day; stations multiply by the peak-to-mean ratio. */
  ratePerSec: number;
}

export interface WebLoad extends Demand {
  endpoint: EndpointClass;
  ratePerSec: number;
  /** Served from the read replica when one is configured. */
  readsReplica: boolean;
}

export interface Workload {
  month: number;
  dailyActive: number;
  monthlyActive: number;
  /** Local users active within USER_ACTIVE_DAYS: they get feed inserts and keep a Redis home feed. */
  feedHolders: number;
  jobs: JobLoad[];
  web: WebLoad[];
  streaming: { meanConnections: number; eventsPerSec: number };
  perDay: {
    localStatuses: number;
    remoteStatuses: number;
    interactionRows: number;
    localMediaBytes: number;
    remoteMediaBytes: number;
    previewCardBytes: number;
    egressBytes: number;
  };
  activeRelays: string[];
}

const SECONDS_PER_DAY = 86_400;
/**
 * Mastodon's scheduler queue runs about 25 periodic jobs (config/sidekiq.yml,
 * intervals from one minute to one day): about one job a minute overall.
 */
const SCHEDULER_JOBS_PER_SEC = 1 / 60;

/** Compounded growth of active users after `month` months. */
export function growthFactorAt(profile: ModelProfile, month: number): number {
  return (1 + profile.growth.monthlyActiveUserGrowth) ** month;
}

/**
 * Users active within `days` days, interpolated log-linearly between daily
 * (1 day) and monthly (30 days) active users: activity counts grow roughly
 * with the log of the window.
 */
export function activeWithinDays(dailyActive: number, monthlyActive: number, days: number): number {
  if (days <= 1) return dailyActive;
  if (days >= 30 || dailyActive <= 0) return Math.max(dailyActive, monthlyActive);
  const t = Math.log(days) / Math.log(30);
  return dailyActive * (monthlyActive / dailyActive) ** t;
}

/** Local activity per day: posts (with replies), statuses (with boosts) and interactions. */
function localPerDay(profile: ModelProfile, dailyActive: number) {
  const act = profile.activity;
  const localPosts = dailyActive * (act.postsPerDay + act.repliesPerDay);
  return {
    localPosts,
    localStatuses: localPosts + dailyActive * act.boostsPerDay,
    localInteractions:
      dailyActive * (act.repliesPerDay + act.boostsPerDay + act.favouritesPerDay + act.followsPerDay),
  };
}

type Relay = ModelProfile['relays'][number];

/** Inbound federation per day: followed remote accounts grow with our users; relays add their own posts. */
function inboundPerDay(profile: ModelProfile, growth: number, relays: readonly Relay[]) {
  const inbound = profile.graph.inbound;
  const inboundCreates = inbound.remoteAccountsFollowed * growth * inbound.postsPerRemoteAccountPerDay;
  const inboundOther = inboundCreates * inbound.interactionsPerRemotePost;
  const relayActivities = sum(relays, (r) => r.postsPerHour * 24);
  return {
    inboundCreates,
    inboundOther,
    relayActivities,
    relayAnnounces: sum(relays, (r) => r.postsPerHour * 24 * r.announceFraction),
    inboundActivities: inboundCreates + inboundOther + relayActivities,
    remoteAttachments:
      inboundCreates * inbound.mediaFraction * inbound.attachmentsPerMediaPost +
      sum(relays, (r) => r.postsPerHour * 24 * r.mediaFraction * inbound.attachmentsPerMediaPost),
    coldActivities:
      (inboundCreates + inboundOther) * inbound.coldActorFraction +
      sum(relays, (r) => r.postsPerHour * 24 * r.coldActorFraction),
    remoteStatuses: inboundCreates + relayActivities,
  };
}

type LocalPerDay = ReturnType<typeof localPerDay>;
type InboundPerDay = ReturnType<typeof inboundPerDay>;

/** Mastodon's fan-out per day: notifications, feed inserts, deliveries, and who is connected to streaming. */
function fanOutPerDay(
  profile: ModelProfile,
  people: { dailyActive: number; feedHolders: number },
  local: LocalPerDay,
  inbound: InboundPerDay,
  relayCount: number,
) {
  const { activity: act, graph } = profile;
  const notifications = local.localInteractions * act.localTargetFraction + inbound.inboundOther;
  const meanConnections = (people.dailyActive * act.streamingHoursPerDay) / 24;
  return {
    notifications,
    feedInserts:
      local.localStatuses * graph.activeLocalFollowersPerPost.mean +
      inbound.inboundCreates * graph.inbound.activeLocalFollowersPerRemotePost,
    meanConnections,
    connectedShare: people.feedHolders > 0 ? Math.min(1, meanConnections / people.feedHolders) : 0,
    deliveries:
      local.localStatuses * graph.remoteInboxesPerPost.mean +
      local.localStatuses * act.publicFraction * relayCount +
      local.localInteractions * (1 - act.localTargetFraction),
  };
}

/** Jobs per day of every Sidekiq job class. */
function jobsPerDayOf(
  profile: ModelProfile,
  dailyActive: number,
  local: LocalPerDay,
  inbound: InboundPerDay,
  fanOut: ReturnType<typeof fanOutPerDay>,
  relays: readonly Relay[],
): Record<JobClass, number> {
  const { activity: act, graph } = profile;
  return {
    DistributionWorker: local.localStatuses + inbound.remoteStatuses,
    FeedInsertWorker: fanOut.feedInserts,
    PushUpdateWorker: fanOut.feedInserts * fanOut.connectedShare,
    LocalNotificationWorker: fanOut.notifications,
    PostProcessMediaWorker: local.localPosts * act.mediaPerPost.video,
    'ActivityPub::DistributionWorker': local.localStatuses,
    'ActivityPub::DeliveryWorker': fanOut.deliveries,
    'Web::PushNotificationWorker': fanOut.notifications * act.webPushFraction,
    'ActivityPub::ProcessingWorker': inbound.inboundActivities,
    'ActionMailer::MailDeliveryJob': dailyActive * act.mailsPerActiveUserPerDay,
    LinkCrawlWorker:
      local.localPosts * act.linkFraction +
      inbound.inboundCreates * graph.inbound.linkFraction +
      sum(relays, (r) => r.postsPerHour * 24 * r.linkFraction),
    ThreadResolveWorker: inbound.inboundCreates * graph.inbound.replyFetchFraction,
    RedownloadMediaWorker: inbound.remoteAttachments * graph.inbound.mediaDownloadFailureFraction,
    'Scheduler::*': SCHEDULER_JOBS_PER_SEC * SECONDS_PER_DAY,
  };
}

/**
 * Job rates and demands. ActivityPub::ProcessingWorker also waits for the
 * remote media it downloads and the announced statuses it fetches, averaged
 * over every inbound activity.
 */
function jobLoads(profile: ModelProfile, jobsPerDay: Record<JobClass, number>, inbound: InboundPerDay) {
  const demands = profile.serviceDemands;
  const processing = demands.jobs['ActivityPub::ProcessingWorker'];
  const processingExtraWaitSec =
    inbound.inboundActivities > 0
      ? (inbound.remoteAttachments * demands.remoteMediaDownloadWaitSec +
          inbound.relayAnnounces * demands.remoteFetchWaitSec) /
        inbound.inboundActivities
      : 0;
  return (Object.keys(jobsPerDay) as JobClass[]).map((jobClass): JobLoad => {
    const d = demands.jobs[jobClass];
    return {
      jobClass,
      queue: JOB_CLASSES[jobClass],
      ratePerSec: jobsPerDay[jobClass] / SECONDS_PER_DAY,
      cpuSec: d.cpuSec,
      waitSec:
        jobClass === 'ActivityPub::ProcessingWorker'
          ? processing.waitSec + processingExtraWaitSec
          : d.waitSec,
      dbSec: d.dbSec,
      childCpuSec: jobClass === 'PostProcessMediaWorker' ? demands.videoTranscodeCpuSec : 0,
    };
  });
}

/** Web requests per endpoint class; timelines read from the replica when there is one. */
function webLoads(profile: ModelProfile, dailyActive: number, local: LocalPerDay, inbound: InboundPerDay) {
  const act = profile.activity;
  const reads = act.timelineReadsPerDay;
  const webPerDay: Record<EndpointClass, number> = {
    'timelines/home': dailyActive * reads.home,
    'timelines/public': dailyActive * reads.public,
    notifications: dailyActive * reads.notifications,
    'statuses/create': local.localPosts,
    'statuses/interact': dailyActive * (act.boostsPerDay + act.favouritesPerDay + act.followsPerDay),
    'media/create': local.localPosts * (act.mediaPerPost.image + act.mediaPerPost.video),
    inbox: inbound.inboundActivities,
    'inbox-cold-actor': inbound.coldActivities,
  };
  return ENDPOINT_CLASSES.map(
    (endpoint): WebLoad => ({
      endpoint,
      ratePerSec: webPerDay[endpoint] / SECONDS_PER_DAY,
      ...profile.serviceDemands.web[endpoint],
      readsReplica: endpoint === 'timelines/home' || endpoint === 'timelines/public',
    }),
  );
}

/**
 * Profile → arrival rates per Sidekiq job class, web endpoint class, and bytes
 * per day, for one month of the horizon. Mastodon's structure:
 * DistributionWorker (1 per status) → FeedInsertWorker per active local follower;
 * ActivityPub::DistributionWorker → ActivityPub::DeliveryWorker per distinct inbox
 * (relays included for public posts); ActivityPub::ProcessingWorker per inbound
 * activity, downloading remote media synchronously; pull jobs for links,
 * threads and failed downloads. See mastodon-facts.md (the project's notes on Mastodon).
 */
export function workloadAt(profile: ModelProfile, month: number): Workload {
  const act = profile.activity;
  const growth = growthFactorAt(profile, month);
  const dailyActive = profile.accounts.dailyActive * growth;
  const monthlyActive = profile.accounts.monthlyActive * growth;
  const feedHolders = activeWithinDays(dailyActive, monthlyActive, profile.accounts.userActiveDays);
  const relays = profile.relays.filter((r) => r.startMonth <= month);
  const local = localPerDay(profile, dailyActive);
  const inbound = inboundPerDay(profile, growth, relays);
  const fanOut = fanOutPerDay(profile, { dailyActive, feedHolders }, local, inbound, relays.length);
  const jobsPerDay = jobsPerDayOf(profile, dailyActive, local, inbound, fanOut, relays);
  const media = profile.media;
  return {
    month,
    dailyActive,
    monthlyActive,
    feedHolders,
    jobs: jobLoads(profile, jobsPerDay, inbound),
    web: webLoads(profile, dailyActive, local, inbound),
    streaming: {
      meanConnections: fanOut.meanConnections,
      eventsPerSec:
        (jobsPerDay.PushUpdateWorker + fanOut.notifications * fanOut.connectedShare) / SECONDS_PER_DAY,
    },
    perDay: {
      localStatuses: local.localStatuses,
      remoteStatuses: inbound.remoteStatuses,
      interactionRows: local.localInteractions + fanOut.notifications + inbound.inboundOther,
      localMediaBytes:
        local.localPosts *
        (act.mediaPerPost.image * media.localImageBytes + act.mediaPerPost.video * media.localVideoBytes),
      remoteMediaBytes: inbound.remoteAttachments * media.remoteAttachmentBytes,
      previewCardBytes: jobsPerDay.LinkCrawlWorker * media.previewCardBytes,
      egressBytes: dailyActive * media.egressBytesPerActiveUserPerDay,
    },
    activeRelays: relays.map((r) => r.name),
  };
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += f(item);
  return total;
}
