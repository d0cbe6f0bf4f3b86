/**
 * What every part of the benchmark works with: the surroundings, the testbed under test, the summary rows.
 */
import type pg from 'pg';
import type { RunningTestbed } from '../../world/testbed/server.js';
import { SidekiqStats } from '../../world/testbed/sidekiq/stats.js';
import type { SidekiqUnitConfig } from '../../world/testbed/sidekiq/types.js';
import type { SummaryRow } from './report.js';
import { type BaseConfig, type Cleanups, startBenchTestbed, type Surroundings } from './setup.js';

/**
 * The testbed under test: one at a time, replaced on the same port when a part needs another Sidekiq pool.
 */
export class BenchTestbed {
  private running: { testbed: RunningTestbed; stats: SidekiqStats } | undefined;

  constructor(private readonly base: BaseConfig) {}

  async start(sidekiq: SidekiqUnitConfig[], port: number): Promise<RunningTestbed> {
    const testbed = await startBenchTestbed(this.base, sidekiq, port);
    this.running = { testbed, stats: new SidekiqStats(testbed.tb.redis) };
    return testbed;
  }

  async replace(sidekiq: SidekiqUnitConfig[]): Promise<RunningTestbed> {
    const port = Number(new URL(this.current.url).port);
    await this.close();
    return this.start(sidekiq, port);
  }

  get current(): RunningTestbed {
    if (!this.running) throw new Error('no testbed running');
    return this.running.testbed;
  }

  /** Sidekiq's API on the current testbed's Redis. */
  get stats(): SidekiqStats {
    if (!this.running) throw new Error('no testbed running');
    return this.running.stats;
  }

  async close(): Promise<void> {
    const r = this.running;
    this.running = undefined;
    await r?.testbed.close();
  }
}

export interface Bench extends Surroundings {
  testbed: BenchTestbed;
  /** Measurement connections, apart from the testbed's DB_POOL. */
  measureDb: pg.Pool;
  cleanups: Cleanups;
  summary: SummaryRow[];
}
