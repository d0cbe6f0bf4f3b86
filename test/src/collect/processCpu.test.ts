import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessCpuSampler, parseProcStat } from '../../../src/collect/processCpu.js';
import type { Sample } from '../../../src/collect/sample.js';

/** Burns CPU in slices and answers each line on stdin with its own process.cpuUsage() and RSS. */
const BURNER = `
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', () => {
  const u = process.cpuUsage();
  process.stdout.write(JSON.stringify({ cpuSec: (u.user + u.system) / 1e6, rssBytes: process.memoryUsage().rss }) + '\\n');
});
const burn = () => { const t = Date.now(); while (Date.now() - t < 20) {} setImmediate(burn); };
burn();
setTimeout(() => process.exit(0), 60000);
`;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function burner() {
  const child = spawn(process.execPath, ['-e', BURNER], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    /** What the process itself says about its CPU time and RSS. */
    async ownView(): Promise<{ cpuSec: number; rssBytes: number }> {
      child.stdin!.write('\n');
      const { value } = await lines.next();
      return JSON.parse(value as string);
    },
  };
}

const metric = (samples: Sample[], name: string) => samples.find((s) => s.metric === name)!.value;

describe('ProcessCpuSampler', () => {
  it('reads a process’s CPU seconds and resident bytes as the process itself counts them', async () => {
    const b = burner();
    const sampler = new ProcessCpuSampler('burner', b.child.pid!);
    expect(sampler.name).toBe(`burner (pid ${b.child.pid})`);
    await b.ownView(); // started
    await new Promise((r) => setTimeout(r, 1000));
    const before = await b.ownView();
    const samples = await sampler.sample('2026-01-01T00:00:00.000Z');
    const after = await b.ownView();
    const cpu = metric(samples, 'process_cpu_seconds_total');
    // /proc counts in clock ticks (10 ms): the sampled value lies between the two self-reports, ± a tick.
    expect(cpu).toBeGreaterThanOrEqual(before.cpuSec - 0.02);
    expect(cpu).toBeLessThanOrEqual(after.cpuSec + 0.02);
    expect(cpu).toBeGreaterThan(0.3); // it burned for a second
    expect(metric(samples, 'process_children_cpu_seconds_total')).toBe(0);
    const rss = metric(samples, 'process_resident_bytes');
    expect(rss / before.rssBytes).toBeGreaterThan(0.9);
    expect(rss / before.rssBytes).toBeLessThan(1.1);
    expect(samples.map((s) => [s.source, s.labels])).toEqual(
      Array(3).fill(['process', { process: 'burner' }]),
    );

    // CPU seconds grow with the burning.
    await new Promise((r) => setTimeout(r, 300));
    const later = await sampler.sample('2026-01-01T00:00:01.000Z');
    expect(metric(later, 'process_cpu_seconds_total')).toBeGreaterThan(cpu + 0.1);

    // A process that exits is a gap.
    b.child.kill('SIGKILL');
    await once(b.child, 'exit');
    await expect(sampler.sample('2026-01-01T00:00:02.000Z')).rejects.toThrow(
      /process burner \(pid \d+\) (is gone|has exited)/,
    );
  });

  it('counts the CPU of children the process has waited for apart from its own', async () => {
    const child = spawn(
      'sh',
      // The shell waits for a child that burns 0.4 s of CPU time, then waits on its stdin.
      ['-c', `"${process.execPath}" -e "while (process.cpuUsage().user < 400000) {}"; echo done; read x`],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    children.push(child);
    await once(child.stdout!, 'data');
    const samples = await new ProcessCpuSampler('sh', child.pid!).sample('2026-01-01T00:00:00.000Z');
    expect(metric(samples, 'process_children_cpu_seconds_total')).toBeGreaterThanOrEqual(0.4);
    expect(metric(samples, 'process_cpu_seconds_total')).toBeLessThan(0.1);
  });

  it('parses /proc/PID/stat with spaces and parentheses in the command name', () => {
    const line =
      '4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 12 3 20 0 1 0 987654 3133440 411 18446744073709551615';
    expect(parseProcStat(line)).toEqual({
      state: 'S',
      utimeTicks: 250,
      stimeTicks: 75,
      cutimeTicks: 12,
      cstimeTicks: 3,
      startTimeTicks: 987654,
    });
    expect(() => parseProcStat('garbage')).toThrow(/unreadable/);
  });

  it('tells a reused PID from the process it first saw', async () => {
    const a = burner();
    const sampler = new ProcessCpuSampler('a', a.child.pid!);
    await sampler.sample('2026-01-01T00:00:00.000Z');
    // Fake the start time of the first observation to stand for "another process had this PID".
    (sampler as unknown as { startTimeTicks: number }).startTimeTicks = 1;
    await expect(sampler.sample('2026-01-01T00:00:01.000Z')).rejects.toThrow(
      /now belongs to another process/,
    );
  });
});
