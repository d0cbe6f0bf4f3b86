import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { HostCpuSampler } from '../../../src/collect/hostCpu.js';

describe('HostCpuSampler', () => {
  it("reads this host's CPU seconds by mode as node_exporter names them, rising with work and with time", async () => {
    const sampler = new HostCpuSampler();
    const before = await sampler.sample('2026-12-03T00:00:00.000Z');
    expect(before.map((s) => s.labels.mode)).toEqual([
      'user',
      'nice',
      'system',
      'idle',
      'iowait',
      'irq',
      'softirq',
      'steal',
    ]);
    for (const s of before) {
      expect(s).toMatchObject({ source: 'host', metric: 'node_cpu_seconds_total', labels: { cpu: 'all' } });
      expect(s.value).toBeGreaterThanOrEqual(0);
    }
    const wallStart = Date.now();
    const busyUntil = wallStart + 300;
    let x = 0;
    while (Date.now() < busyUntil) x += Math.sqrt(x + 1); // this process keeps one core busy
    await new Promise((r) => setTimeout(r, 50));
    const after = await sampler.sample('2026-12-03T00:00:01.000Z');
    const total = (xs: typeof before) => xs.reduce((a, s) => a + s.value, 0);
    const busy = (xs: typeof before) =>
      xs
        .filter((s) => !['idle', 'iowait', 'steal'].includes(s.labels.mode!))
        .reduce((a, s) => a + s.value, 0);
    const wallSec = (Date.now() - wallStart) / 1000;
    // Every CPU's time advances with the clock; the busy loop shows as at least a quarter of one core.
    expect(total(after) - total(before)).toBeGreaterThan(0.5 * wallSec * availableParallelism());
    expect(busy(after) - busy(before)).toBeGreaterThan(0.25 * 0.3);
    expect(x).toBeGreaterThan(0);
    await sampler.close();
  });
});
