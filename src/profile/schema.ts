import { z } from 'zod';
import { quantity } from './quantitySchema.js';
import { exact } from '../shared/quantity.js';
import { ENDPOINT_CLASSES, JOB_CLASS_NAMES, QUEUES } from '../mastodon/classes.js';
import { parseSidekiqCommand } from '../mastodon/sidekiqCommand.js';

/**
 * The instance profile: one JSON document that drives both the load test and
 * the model. Every field carries a description; docs/profile.md is generated
 * from them (`npm run docs`), and a test keeps the two in step.
 */

const fraction = (description: string) => quantity(description, { min: 0, max: 1 });
/** No rate, size or count of one instance comes near this: a larger value is a typo (1e300 was seen). */
const SANE_MAX = 1e12;
const count = (description: string) =>
  quantity(description, { min: 0, max: SANE_MAX, maxReason: 'sane bound for any count, rate or size' });
/** The sane bound for one instance's accounts: far above the largest Mastodon instance. */
const MAX_ACCOUNTS = 1e8;
const accountCount = (description: string) =>
  quantity(description, { min: 0, max: MAX_ACCOUNTS, maxReason: "sane bound for one instance's accounts" });
/** `--months` allows at most this horizon; a relay cannot start beyond it. */
export const MAX_HORIZON_MONTHS = 120;
const text = (description: string) => z.string().min(1).describe(description);

const accounts = z
  .strictObject({
    totalLocal: accountCount('Local accounts, active or not (drives database rows).'),
    monthlyActive: accountCount(
      'Local users who signed in within the last 30 days (MAU); at most totalLocal.',
    ),
    dailyActive: accountCount(
      'Local users who sign in on a given day (DAU), at most monthlyActive. Activity rates below are per daily active user.',
    ),
    userActiveDays: z
      .number()
      .int()
      .min(1)
      .describe(
        'USER_ACTIVE_DAYS (Mastodon default 7): only followers who signed in within this many days get home-feed inserts, and only they keep a Redis home feed.',
      ),
  })
  .describe('Local accounts.');

const activity = z
  .strictObject({
    postsPerDay: count('Original posts per daily active user per day.'),
    repliesPerDay: count('Replies per daily active user per day.'),
    boostsPerDay: count('Boosts (reblogs) per daily active user per day; boosts fan out like posts.'),
    favouritesPerDay: count('Favourites per daily active user per day.'),
    followsPerDay: count('New follows per daily active user per day.'),
    publicFraction: fraction(
      'Share of posts that are public (public posts also go to every accepted relay).',
    ),
    linkFraction: fraction('Share of local posts with a link (LinkCrawlWorker, preview card).'),
    mediaPerPost: z
      .strictObject({
        image: count('Image attachments per post (processed inside POST /api/v2/media).'),
        video: count(
          'Video, gifv and audio attachments per post (PostProcessMediaWorker on the default queue).',
        ),
      })
      .describe('Media attachments per local post, by kind.'),
    timelineReadsPerDay: z
      .strictObject({
        home: count(
          'GET /api/v1/timelines/home per daily active user per day (pages, including streaming-less refreshes).',
        ),
        notifications: count('GET /api/v1/notifications per daily active user per day.'),
        public: count('GET /api/v1/timelines/public (local or federated) per daily active user per day.'),
      })
      .describe('Client reads per daily active user per day.'),
    streamingHoursPerDay: count('Hours per day a daily active user holds a streaming connection open.'),
    localTargetFraction: fraction(
      'Share of local replies, boosts, favourites and follows aimed at local accounts (each makes a notification); the rest are delivered to one remote inbox each.',
    ),
    webPushFraction: fraction(
      'Share of notifications also sent by Web Push (Web::PushNotificationWorker on push).',
    ),
    mailsPerActiveUserPerDay: count('Emails per daily active user per day (ActionMailer jobs on mailers).'),
    peakToMeanRatio: quantity(
      'Busiest hour rate divided by the daily mean rate; capacity is judged at the peak hour.',
      { min: 1 },
    ),
  })
  .describe('What a daily active local user does per day.');

const spread = (what: string) =>
  z
    .strictObject({
      mean: count(`Mean ${what}.`),
      p90: count(`90th percentile of ${what} (a heavy tail means bursts of jobs).`),
    })
    .describe(`Distribution of ${what}.`);

const inbound = z
  .strictObject({
    remoteAccountsFollowed: count(
      'Distinct remote accounts followed by at least one local user, today. Scales with monthly active users.',
    ),
    postsPerRemoteAccountPerDay: count('Posts (including boosts) per followed remote account per day.'),
    activeLocalFollowersPerRemotePost: count(
      'Active local followers per inbound post (FeedInsertWorker jobs per inbound post).',
    ),
    interactionsPerRemotePost: count(
      'Other inbound activities (Like, Announce of local posts, Update, Delete, Undo, Follow) per inbound Create.',
    ),
    mediaFraction: fraction('Share of inbound posts with media.'),
    attachmentsPerMediaPost: count('Attachments per inbound post that has media.'),
    linkFraction: fraction('Share of inbound posts with a link (LinkCrawlWorker on pull).'),
    replyFetchFraction: fraction(
      'Share of inbound posts that make Mastodon resolve a thread or missing parent (ThreadResolveWorker on pull).',
    ),
    coldActorFraction: fraction(
      'Share of inbound activities signed by an actor never seen before (synchronous key fetch inside the inbox request).',
    ),
    mediaDownloadFailureFraction: fraction(
      'Share of remote media downloads that fail inside ingress and are retried by RedownloadMediaWorker (pull).',
    ),
  })
  .describe('Inbound federation from remote accounts that locals follow.');

const graph = z
  .strictObject({
    activeLocalFollowersPerPost: spread(
      'active local followers per local post (FeedInsertWorker jobs per post)',
    ),
    remoteInboxesPerPost: spread(
      'distinct remote inboxes per local post (ActivityPub::DeliveryWorker jobs per post, shared inboxes counted once)',
    ),
    inbound,
  })
  .describe('The social graph as the queues see it.');

const relay = z
  .strictObject({
    name: text('Relay name or inbox URL, for the report.'),
    postsPerHour: count('Public posts per hour the relay pushes to subscribers.'),
    mediaFraction: fraction('Share of relayed posts with media.'),
    linkFraction: fraction('Share of relayed posts with a link.'),
    announceFraction: fraction(
      'Share of relayed activities that are Announces: Mastodon fetches the original inside the ingress job.',
    ),
    coldActorFraction: fraction(
      'Share of relayed activities from actors never seen before (key fetch on the web tier).',
    ),
    startMonth: z
      .number()
      .int()
      .min(0)
      .max(MAX_HORIZON_MONTHS, `must be at most ${MAX_HORIZON_MONTHS} (the longest forecast horizon)`)
      .describe(
        'Month of the horizon (0 = now) when the subscription starts; forecast refuses one at or beyond its --months.',
      ),
  })
  .describe('One relay subscription.');

const media = z
  .strictObject({
    localImageBytes: count(
      'Bytes stored per local image upload, original plus derivatives (small, thumbnail).',
    ),
    localVideoBytes: count('Bytes stored per local video upload, original plus transcode and thumbnail.'),
    remoteAttachmentBytes: count('Bytes stored per cached remote attachment (with its thumbnail).'),
    previewCardBytes: count('Bytes per preview card image.'),
    egressBytesPerActiveUserPerDay: count(
      'Media bytes served to clients per daily active user per day (object storage or CDN egress).',
    ),
    currentLocalMediaGB: count('Local media already stored today, GB.'),
  })
  .describe('Media sizes and what is stored today.');

const database = z
  .strictObject({
    currentSizeGB: count('PostgreSQL database size today, GB.'),
    bytesPerLocalStatus: count(
      'Bytes per local status row including indexes, mentions, conversation and fan-out rows.',
    ),
    bytesPerRemoteStatus: count('Bytes per remote status row including indexes.'),
    bytesPerInteraction: count('Bytes per favourite, follow, notification row including indexes.'),
  })
  .describe('Database growth.');

const nullableDays = (description: string) =>
  z.number().int().min(1).nullable().describe(`${description} null means never.`);

const retention = z
  .strictObject({
    remoteMediaCacheDays: nullableDays(
      'Cached remote media older than this is removed (`tootctl media remove --days N` on a schedule, or media_cache_retention_period).',
    ),
    contentCacheDays: nullableDays(
      'content_cache_retention_period: remote statuses older than this are deleted.',
    ),
    previewCardDays: nullableDays('`tootctl preview_cards remove --days N`.'),
    objectStorageLifecycleDays: nullableDays(
      'Bucket lifecycle rule expiring objects (applies to cached remote media only; local uploads are never expired).',
    ),
  })
  .describe('Retention of cached remote content.');

const SERVICES = ['web', 'sidekiq', 'postgres', 'redis', 'streaming'] as const;

const host = z
  .strictObject({
    name: text('Host name, referenced by the services below.'),
    cores: z.number().positive().describe('vCPUs.'),
    memoryGiB: z.number().positive().describe('Memory, GiB.'),
    services: z
      .array(z.enum(SERVICES))
      .describe('Services running on this host; co-located services share its cores.'),
  })
  .describe('One machine.');

const sidekiqUnit = z
  .strictObject({
    host: text('Host this unit runs on.'),
    processes: z
      .number()
      .int()
      .min(1)
      .describe('Identical processes started from this unit (systemd instances).'),
    command: z
      .string()
      .superRefine((cmd, ctx) => {
        const parsed = parseSidekiqCommand(cmd);
        if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
      })
      .describe(
        'Sidekiq arguments as in the unit file, e.g. "-c 25 -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull -q scheduler".',
      ),
    dbPool: z
      .number()
      .int()
      .min(1)
      .describe('DB_POOL for these processes (should be at least the thread count).'),
  })
  .describe('A Sidekiq systemd unit.');

const infrastructure = z
  .strictObject({
    hosts: z.array(host).min(1).describe('Machines and the services on each.'),
    sidekiq: z.array(sidekiqUnit).min(1).describe('Sidekiq units; together they must cover every queue.'),
    puma: z
      .strictObject({
        host: text('Host running Puma.'),
        webConcurrency: z.number().int().min(1).describe('WEB_CONCURRENCY: Puma worker processes.'),
        maxThreads: z
          .number()
          .int()
          .min(1)
          .describe('MAX_THREADS: threads per Puma worker (DB_POOL defaults to it).'),
      })
      .describe('Puma (the web tier).'),
    streaming: z
      .strictObject({
        host: text('Host running streaming.'),
        processes: z.number().int().min(1).describe('Streaming processes (one per PORT).'),
        maxConnectionsPerProcess: count('Concurrent connections one streaming process serves comfortably.'),
        dbPoolPerProcess: z
          .number()
          .int()
          .min(0)
          .describe('PostgreSQL connections per streaming process (DB_POOL of streaming).'),
      })
      .describe('The Node.js streaming server.'),
    postgres: z
      .strictObject({
        host: text('Host running the PostgreSQL primary.'),
        cores: z
          .number()
          .positive()
          .describe("Cores PostgreSQL can use (the host's cores if it is alone there)."),
        maxConnections: z.number().int().min(1).describe('max_connections.'),
        readReplica: z
          .strictObject({ cores: z.number().positive().describe('Cores of the replica.') })
          .nullable()
          .describe('REPLICA_DATABASE_URL: timelines read from a replica; null when there is none.'),
        pgbouncer: z
          .strictObject({
            poolSize: z
              .number()
              .int()
              .min(1)
              .describe('default_pool_size: server connections per database/user.'),
            maxClientConn: z.number().int().min(1).describe('max_client_conn.'),
          })
          .nullable()
          .describe(
            'PgBouncer in transaction mode (PREPARED_STATEMENTS=false); null when clients connect directly.',
          ),
      })
      .describe('PostgreSQL.'),
    redis: z
      .strictObject({
        maxmemoryMB: z
          .number()
          .positive()
          .describe(
            'maxmemory of the Redis at REDIS_URL (home feeds, and Sidekiq unless SIDEKIQ_REDIS_URL splits it).',
          ),
        cacheMaxmemoryMB: z
          .number()
          .positive()
          .nullable()
          .describe(
            'maxmemory of CACHE_REDIS_URL when the cache is split out; null when it shares REDIS_URL.',
          ),
        baseUsageMB: count(
          'Memory used by everything but home feeds and queue backlogs (cache, locks, streaming channels), MB.',
        ),
      })
      .describe('Redis.'),
    storage: z
      .strictObject({
        kind: z.enum(['object', 'disk']).describe('S3-compatible object storage or a local disk.'),
        provider: z
          .enum(['s3', 'b2', 'wasabi', 'r2', 'minio'])
          .describe('Provider whose prices the budget uses first.'),
        capacityGB: z
          .number()
          .positive()
          .nullable()
          .describe('Disk or bucket quota in GB; null for an unbounded bucket.'),
        databaseOnSameDisk: z.boolean().describe('True when PostgreSQL data shares the media disk.'),
      })
      .describe('Media storage.'),
  })
  .describe('What the instance runs on.');

const demand = (what: string) =>
  z
    .strictObject({
      cpuSec: count(`Ruby CPU seconds per ${what} (serialised by the process's interpreter lock).`),
      waitSec: count(
        `Seconds per ${what} spent waiting on I/O (HTTP, Redis, PostgreSQL round trips); threads overlap this.`,
      ),
      dbSec: count(`PostgreSQL CPU seconds per ${what}.`),
    })
    .describe(`Service demand of one ${what}.`);

const jobDemands = z
  .strictObject(
    Object.fromEntries(JOB_CLASS_NAMES.map((name) => [name, demand(`${name} job`)])) as Record<
      (typeof JOB_CLASS_NAMES)[number],
      ReturnType<typeof demand>
    >,
  )
  .describe('Per Sidekiq job class.');

const webDemands = z
  .strictObject(
    Object.fromEntries(ENDPOINT_CLASSES.map((name) => [name, demand(`${name} request`)])) as Record<
      (typeof ENDPOINT_CLASSES)[number],
      ReturnType<typeof demand>
    >,
  )
  .describe('Per web endpoint class (Puma).');

const serviceDemands = z
  .strictObject({
    jobs: jobDemands,
    web: webDemands,
    remoteMediaDownloadWaitSec: count(
      'Extra wait inside ActivityPub::ProcessingWorker per remote attachment downloaded synchronously.',
    ),
    remoteFetchWaitSec: count(
      "Extra wait inside ActivityPub::ProcessingWorker to fetch an Announce's original status.",
    ),
    videoTranscodeCpuSec: count(
      "CPU seconds per video, gifv or audio upload spent by ffmpeg, which PostProcessMediaWorker runs as a child process: it uses the Sidekiq host's cores, not the Ruby process's interpreter lock (the job's thread waits for it: waitSec).",
    ),
    sidekiqFrameworkCpuSec: count(
      "Sidekiq's own Ruby CPU seconds per job (fetch, JSON, middleware, acknowledgement), on top of the job class's cpuSec: it holds the process's interpreter lock too. A drain of no-op jobs on many threads gives the low end; per-job thread wakeups on small pools cost more.",
    ),
    redisCpuSecPerJob: count(
      'Redis CPU seconds per Sidekiq job (push, fetch, acknowledgement): on the host that runs Redis, which shares its cores with whatever else runs there.',
    ),
    streamingCpuSecPerEvent: count('Streaming server CPU seconds per event written to one connection.'),
    postgresConnectionHoldFactor: quantity(
      'Server connection holding time divided by PostgreSQL CPU time (round trips, I/O).',
      { min: 1 },
    ),
    redisBytesPerFeedEntry: count('Redis bytes per home-feed sorted-set entry.'),
    redisBytesPerQueuedJob: count('Redis bytes per job waiting in a queue.'),
  })
  .describe('Service demands: assumptions until a calibration file measured them.');

const providerPrice = z
  .strictObject({
    storagePerGBMonth: count('USD per GB-month stored.'),
    egressPerGB: count('USD per GB served.'),
    readOn: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .describe('Date the price was read (YYYY-MM-DD).'),
  })
  .describe("One storage provider's list price.");

/** Block storage bills the GB provisioned, used or not; the default is a list price to verify. */
const DISK_PRICE_DEFAULT = exact(
  0.08,
  'default: AWS EBS gp3 list price, $0.08 per GB-month provisioned (aws.amazon.com/ebs/pricing, us-east-1; ' +
    'DigitalOcean Volumes $0.10); not re-read for this release: verify against your host',
);

const prices = z
  .strictObject({
    computePerVcpuMonth: count('USD per vCPU-month (with its share of memory).'),
    diskPerGBMonth: count(
      'USD per GB-month of provisioned disk (block storage), for a bigger media disk. Default 0.08 (AWS EBS gp3).',
    ).default(DISK_PRICE_DEFAULT),
    storage: z
      .strictObject({
        s3: providerPrice,
        b2: providerPrice,
        wasabi: providerPrice,
        r2: providerPrice,
        minio: providerPrice,
      })
      .describe('Object storage providers: AWS S3, Backblaze B2, Wasabi, Cloudflare R2, self-hosted MinIO.'),
  })
  .describe('Prices for the budget.');

const queueLatency = z
  .strictObject(
    Object.fromEntries(
      QUEUES.map((q) => [
        q,
        z.number().positive().describe(`Maximum acceptable ${q} queue latency, seconds.`),
      ]),
    ) as Record<(typeof QUEUES)[number], z.ZodNumber>,
  )
  .describe('Maximum acceptable queue latency per Sidekiq queue, seconds.');

const slo = z
  .strictObject({
    queueLatencySec: queueLatency,
    latencyPercentile: z
      .number()
      .gt(0)
      .lt(100)
      .describe('Percentile of queue latency compared with the limits above.'),
    webResponseSec: z
      .number()
      .positive()
      .describe('Maximum acceptable web response time at that percentile, seconds.'),
    maxUtilization: z
      .number()
      .gt(0)
      .max(1)
      .describe('Utilization above which a component counts as saturated.'),
    storageHeadroom: z.number().min(0).lt(1).describe('Share of disk or quota kept free.'),
  })
  .describe('Service level objectives.');

const growth = z
  .strictObject({
    monthlyActiveUserGrowth: quantity('Monthly growth of active users (0.05 = 5 % a month, compounded).', {
      min: -0.5,
      max: 5,
    }),
  })
  .describe('Growth.');

export const profileSchema = z
  .strictObject({
    name: text('Instance name for the report.'),
    accounts,
    activity,
    graph,
    relays: z.array(relay).describe('Relay subscriptions, current or planned.'),
    media,
    database,
    retention,
    infrastructure,
    growth,
    prices,
    slo,
    serviceDemands,
  })
  .superRefine((profile, ctx) => {
    checkAccountsOrder(profile.accounts, ctx);
    const hostNames = new Set(profile.infrastructure.hosts.map((h) => h.name));
    const refs: [string, (string | number)[]][] = [
      [profile.infrastructure.puma.host, ['infrastructure', 'puma', 'host']],
      [profile.infrastructure.streaming.host, ['infrastructure', 'streaming', 'host']],
      [profile.infrastructure.postgres.host, ['infrastructure', 'postgres', 'host']],
      ...profile.infrastructure.sidekiq.map((u, i): [string, (string | number)[]] => [
        u.host,
        ['infrastructure', 'sidekiq', i, 'host'],
      ]),
    ];
    for (const [name, path] of refs) {
      if (!hostNames.has(name)) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `unknown host "${name}" (hosts: ${[...hostNames].join(', ')})`,
        });
      }
    }
    const covered = new Set<string>();
    let schedulerProcesses = 0;
    for (const unit of profile.infrastructure.sidekiq) {
      const parsed = parseSidekiqCommand(unit.command);
      if ('error' in parsed) continue;
      for (const q of parsed.queues) covered.add(q.name);
      if (parsed.queues.some((q) => q.name === 'scheduler')) schedulerProcesses += unit.processes;
    }
    const missing = QUEUES.filter((q) => !covered.has(q));
    if (missing.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['infrastructure', 'sidekiq'],
        message: `no Sidekiq process serves queue(s) ${missing.join(', ')}`,
      });
    }
    if (schedulerProcesses > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['infrastructure', 'sidekiq'],
        message: `the scheduler queue must be served by exactly one process, found ${schedulerProcesses}`,
      });
    }
  });

export type Profile = z.output<typeof profileSchema>;

/** Daily active ≤ monthly active ≤ accounts: who signed in today signed in this month and has an account. */
function checkAccountsOrder(a: Profile['accounts'], ctx: z.RefinementCtx): void {
  if (a.monthlyActive.value > a.totalLocal.value)
    ctx.addIssue({
      code: 'custom',
      path: ['accounts', 'monthlyActive'],
      message: `${a.monthlyActive.value} monthly active users exceed the ${a.totalLocal.value} accounts (accounts.totalLocal)`,
    });
  if (a.dailyActive.value > a.monthlyActive.value)
    ctx.addIssue({
      code: 'custom',
      path: ['accounts', 'dailyActive'],
      message: `${a.dailyActive.value} daily active users exceed the ${a.monthlyActive.value} monthly active (accounts.monthlyActive)`,
    });
}
