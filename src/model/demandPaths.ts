import type { QueueName } from '../mastodon/classes.js';
import type { ComponentRef } from './components.js';
import type { Workload } from './workload.js';

/**
 * The profile paths a component's service demands come from, for the report's
 * calibration check ("is any of them still an assumption?"). They depend on
 * the workload's job and endpoint classes, not on its rates' size.
 */
export function demandPathsOf(ref: ComponentRef, workload: Workload, hasReadReplica: boolean): string[] {
  const webPaths = (readsReplica: (w: Workload['web'][number]) => boolean) =>
    workload.web.filter(readsReplica).map((w) => `serviceDemands.web.${w.endpoint}`);
  switch (ref.kind) {
    case 'sidekiq-queue':
      return [...queueDemandPaths(ref.queue, workload), ...SIDEKIQ_OVERHEAD_PATHS];
    case 'sidekiq-process':
      return [...ref.queues.flatMap((queue) => queueDemandPaths(queue, workload)), ...SIDEKIQ_OVERHEAD_PATHS];
    case 'web':
      return webPaths(() => true);
    case 'postgres':
      if (ref.role === 'replica') return webPaths((w) => w.readsReplica);
      return [
        'serviceDemands.postgresConnectionHoldFactor',
        ...workload.jobs.map((j) => `serviceDemands.jobs.${j.jobClass}`),
        ...webPaths((w) => !hasReadReplica || !w.readsReplica),
      ];
    case 'streaming':
      return ['serviceDemands.streamingCpuSecPerEvent', 'infrastructure.streaming.maxConnectionsPerProcess'];
    case 'redis':
      if (ref.role === 'cache') return ['infrastructure.redis.baseUsageMB'];
      return [
        'serviceDemands.redisBytesPerFeedEntry',
        'serviceDemands.redisBytesPerQueuedJob',
        'infrastructure.redis.baseUsageMB',
      ];
    case 'storage':
      return [];
  }
}

/** Sidekiq's own CPU and Redis's per job: every pool's capacity depends on them. */
const SIDEKIQ_OVERHEAD_PATHS = ['serviceDemands.sidekiqFrameworkCpuSec', 'serviceDemands.redisCpuSecPerJob'];

/** A queue's job classes, and ffmpeg's transcode time when its jobs run one. */
function queueDemandPaths(queue: QueueName, workload: Workload): string[] {
  const jobs = workload.jobs.filter((j) => j.queue === queue);
  const childCpu = jobs.reduce((total, j) => total + j.ratePerSec * j.childCpuSec, 0);
  return [
    ...jobs.map((j) => `serviceDemands.jobs.${j.jobClass}`),
    ...(childCpu > 0 ? ['serviceDemands.videoTranscodeCpuSec'] : []),
  ];
}
