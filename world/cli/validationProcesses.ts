import type { TestbedProcess } from '../testbed/server.js';
import type { SidekiqUnitConfig } from '../testbed/sidekiq/types.js';

/** One OS process of the validation testbed, named for the collector's per-process samples. */
export interface WorldProcess {
  role: 'primary' | 'web' | 'sidekiq' | 'streaming';
  pid: number;
  /** primary, web-1…, sidekiq-ingress-1, sidekiq-mailers_pull_scheduler-1… (the collector's NAME=PID: [A-Za-z0-9_.-]), streaming. */
  name: string;
  /** A Sidekiq process's queues, in its unit's order, and threads (`-c`); a web worker's threads (MAX_THREADS). */
  queues?: string[];
  threads?: number;
}

/**
 * The testbed's processes with names: the primary (this process: the exporter, the seeding), each web
 * worker, each Sidekiq process named by its queues and numbered within them (two units on the same
 * queues count on), and streaming. RunningTestbed lists the Sidekiq processes unit by unit, in the
 * order of the units (world/testbed/server.ts startMessages).
 */
export function describeProcesses(
  processes: readonly TestbedProcess[],
  units: readonly SidekiqUnitConfig[],
  webThreads: number,
): WorldProcess[] {
  const ofRole = (role: TestbedProcess['role']) => processes.filter((p) => p.role === role);
  const sidekiq = ofRole('sidekiq');
  const counts = new Map<string, number>();
  const named: WorldProcess[] = [{ role: 'primary', pid: process.pid, name: 'primary' }];
  for (const [i, p] of ofRole('web').entries())
    named.push({ role: 'web', pid: p.pid, name: `web-${i + 1}`, threads: webThreads });
  for (const unit of units) {
    const queues = unit.queues.map((q) => q.name);
    const key = queues.join('_');
    for (const p of sidekiq.splice(0, unit.processes)) {
      const i = (counts.get(key) ?? 0) + 1;
      counts.set(key, i);
      named.push({ role: 'sidekiq', pid: p.pid, name: `sidekiq-${key}-${i}`, queues, threads: unit.threads });
    }
  }
  const streaming = ofRole('streaming');
  for (const [i, p] of streaming.entries()) {
    const name = streaming.length === 1 ? 'streaming' : `streaming-${i + 1}`;
    named.push({ role: 'streaming', pid: p.pid, name });
  }
  return named;
}
