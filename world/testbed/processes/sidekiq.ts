import { withInjectedCpu } from '../faults.js';
import { closeContext, openContext } from '../openContext.js';
import { startSidekiq } from '../sidekiq/processor.js';
import type { RoleRunner } from './role.js';

/**
 * One Sidekiq process of a unit: `-c` threads fetching the unit's queues, its heartbeat in `processes`,
 * its own retry/schedule poller. Each job's end goes to the primary's exporter.
 */
export const runSidekiqProcess: RoleRunner<'sidekiq'> = async (start, _listening, link) => {
  const tb = await openContext(start.config, start.address);
  const sidekiq = await startSidekiq({
    newRedis: tb.newRedis,
    units: [{ ...start.unit, processes: 1 }],
    workers: withInjectedCpu(tb.workers, start.config.faults),
    onJobEnd: (job) => void link.send({ kind: 'job', job }),
    pollIntervalMs: start.pollIntervalMs,
  });
  return {
    metrics: tb.metrics,
    identity: sidekiq.identities[0]!,
    async stop() {
      await sidekiq.stop();
      await closeContext(tb);
    },
  };
};
