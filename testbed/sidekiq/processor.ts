// SCAFFOLD: replaced by the Sidekiq engine.
import type { Registry } from 'prom-client';
import type { RedisFactory, SidekiqUnitConfig, WorkerRegistry } from './types.js';

export async function startSidekiq(_opts: {
  newRedis: RedisFactory;
  units: SidekiqUnitConfig[];
  workers: WorkerRegistry;
  metrics: Registry;
}): Promise<{ stop(): Promise<void> }> {
  return { stop: async () => undefined };
}
