import { readFile } from 'node:fs/promises';
import { procConstants } from './processCpu.js';
import type { Sample } from './sample.js';
import type { Sampler } from './sampler.js';

/** The modes of /proc/stat's `cpu` line, in its order (proc(5)). */
const MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/**
 * This host's CPU time by mode from /proc/stat, summed over its CPUs, under node_exporter's name
 * (`node_cpu_seconds_total{cpu="all", mode}`), so a host observed locally and one scraped through
 * node_exporter read alike. What the sampled processes do not account for (PostgreSQL's backends,
 * Redis, the kernel) is in it: one box running an instance and its load generator is seen whole.
 */
export class HostCpuSampler implements Sampler {
  readonly source = 'host' as const;
  readonly name = 'this host (/proc/stat)';

  async sample(time: string): Promise<Sample[]> {
    const text = await readFile('/proc/stat', 'utf8');
    const fields = /^cpu\s+([\d\s]+)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number);
    if (!fields || fields.length < MODES.length) throw new Error('/proc/stat has no cpu line');
    const { clockTicksPerSec } = procConstants();
    return MODES.map((mode, i) => ({
      time,
      source: 'host',
      metric: 'node_cpu_seconds_total',
      value: fields[i]! / clockTicksPerSec,
      labels: { cpu: 'all', mode },
    }));
  }

  async close(): Promise<void> {}
}
