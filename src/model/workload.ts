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

/**
 * Profile → arrival rates per Sidekiq job class, web endpoint class, and bytes
 * per day, for one month of the horizon. Mastodon's structure:
 * DistributionWorker (1 per status) → FeedInsertWorker per active local follower;
 * ActivityPub::DistributionWorker → ActivityPub::DeliveryWorker per distinct inbox
 * (relays included for public posts); ActivityPub::ProcessingWorker per inbound
 * activity, downloading remote media synchronously; pull jobs for links,
 * threads and failed downloads. See ../shared/mastodon-facts.md.
 */
export function workloadAt(profile: ModelProfile, month: number): Workload {
  const { activity: act, graph, serviceDemands: demands } = profile;
  const inbound = graph.inbound;
  const growth = growthFactorAt(profile, month);
  const dailyActive = profile.accounts.dailyActive * growth;
  const monthlyActive = profile.accounts.monthlyActive * growth;
  const feedHolders = activeWithinDays(dailyActive, monthlyActive, profile.accounts.userActiveDays);
  const relays = profile.relays.filter((r) => r.startMonth <= month);

  // Local activity per day.
  const localPosts = dailyActive * (act.postsPerDay + act.repliesPerDay);
  const localStatuses = localPosts + dailyActive * act.boostsPerDay;
  const localInteractions =
    dailyActive * (act.repliesPerDay + act.boostsPerDay + act.favouritesPerDay + act.followsPerDay);

  // Inbound federation per day: followed remote accounts grow with our users.
  const inboundCreates = inbound.remoteAccountsFollowed * growth * inbound.postsPerRemoteAccountPerDay;
  const inboundOther = inboundCreates * inbound.interactionsPerRemotePost;
  const relayActivities = sum(relays, (r) => r.postsPerHour * 24);
  const relayAnnounces = sum(relays, (r) => r.postsPerHour * 24 * r.announceFraction);
  const inboundActivities = inboundCreates + inboundOther + relayActivities;
  const remoteAttachments =
    inboundCreates * inbound.mediaFraction * inbound.attachmentsPerMediaPost +
    sum(relays, (r) => r.postsPerHour * 24 * r.mediaFraction * inbound.attachmentsPerMediaPost);
  const coldActivities =
    (inboundCreates + inboundOther) * inbound.coldActorFraction +
    sum(relays, (r) => r.postsPerHour * 24 * r.coldActorFraction);
  const remoteStatuses = inboundCreates + relayActivities;

  const notifications = localInteractions * act.localTargetFraction + inboundOther;
  const feedInserts =
    localStatuses * graph.activeLocalFollowersPerPost.mean +
    inboundCreates * inbound.activeLocalFollowersPerRemotePost;
  const meanConnections = (dailyActive * act.streamingHoursPerDay) / 24;
  const connectedShare = feedHolders > 0 ? Math.min(1, meanConnections / feedHolders) : 0;
  const publicLocal = localStatuses * act.publicFraction;
  const deliveries =
    localStatuses * graph.remoteInboxesPerPost.mean +
    publicLocal * relays.length +
    localInteractions * (1 - act.localTargetFraction);

  const processing = demands.jobs['ActivityPub::ProcessingWorker'];
  const processingExtraWaitSec =
    inboundActivities > 0
      ? (remoteAttachments * demands.remoteMediaDownloadWaitSec +
          relayAnnounces * demands.remoteFetchWaitSec) /
        inboundActivities
      : 0;

  const jobsPerDay: Record<JobClass, number> = {
    DistributionWorker: localStatuses + remoteStatuses,
    FeedInsertWorker: feedInserts,
    PushUpdateWorker: feedInserts * connectedShare,
    LocalNotificationWorker: notifications,
    PostProcessMediaWorker: localPosts * act.mediaPerPost.video,
    'ActivityPub::DistributionWorker': localStatuses,
    'ActivityPub::DeliveryWorker': deliveries,
    'Web::PushNotificationWorker': notifications * act.webPushFraction,
    'ActivityPub::ProcessingWorker': inboundActivities,
    'ActionMailer::MailDeliveryJob': dailyActive * act.mailsPerActiveUserPerDay,
    LinkCrawlWorker:
      localPosts * act.linkFraction +
      inboundCreates * inbound.linkFraction +
      sum(relays, (r) => r.postsPerHour * 24 * r.linkFraction),
    ThreadResolveWorker: inboundCreates * inbound.replyFetchFraction,
    RedownloadMediaWorker: remoteAttachments * inbound.mediaDownloadFailureFraction,
    'Scheduler::*': SCHEDULER_JOBS_PER_SEC * SECONDS_PER_DAY,
  };

  const jobs: JobLoad[] = (Object.keys(jobsPerDay) as JobClass[]).map((jobClass) => {
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

  const reads = act.timelineReadsPerDay;
  const webPerDay: Record<EndpointClass, number> = {
    'timelines/home': dailyActive * reads.home,
    'timelines/public': dailyActive * reads.public,
    notifications: dailyActive * reads.notifications,
    'statuses/create': localPosts,
    'statuses/interact': dailyActive * (act.boostsPerDay + act.favouritesPerDay + act.followsPerDay),
    'media/create': localPosts * (act.mediaPerPost.image + act.mediaPerPost.video),
    inbox: inboundActivities,
    'inbox-cold-actor': coldActivities,
  };
  const web: WebLoad[] = ENDPOINT_CLASSES.map((endpoint) => ({
    endpoint,
    ratePerSec: webPerDay[endpoint] / SECONDS_PER_DAY,
    ...demands.web[endpoint],
    readsReplica: endpoint === 'timelines/home' || endpoint === 'timelines/public',
  }));

  const media = profile.media;
  return {
    month,
    dailyActive,
    monthlyActive,
    feedHolders,
    jobs,
    web,
    streaming: {
      meanConnections,
      eventsPerSec: (jobsPerDay.PushUpdateWorker + notifications * connectedShare) / SECONDS_PER_DAY,
    },
    perDay: {
      localStatuses,
      remoteStatuses,
      interactionRows: localInteractions + notifications + inboundOther,
      localMediaBytes:
        localPosts *
        (act.mediaPerPost.image * media.localImageBytes + act.mediaPerPost.video * media.localVideoBytes),
      remoteMediaBytes: remoteAttachments * media.remoteAttachmentBytes,
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
