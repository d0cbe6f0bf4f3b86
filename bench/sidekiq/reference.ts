/**
 * Figures of this machine measured beside the benchmark, so tables from
 * different machines (or a busy moment of a shared one) can be compared:
 * how long `node -e 0` takes to start and exit, and how long a fixed pure
 * Ruby loop takes in CPU time.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';

/** 3 million iterations of the same kind of arithmetic job.rb burns, timed inside Ruby. */
const RUBY_LOOP = `
t = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :float_millisecond)
x = 0; i = 0
while i < 3_000_000 do x = (x + (x * 7) + 13) % 1_000_003; i += 1 end
puts Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :float_millisecond) - t
`;

export interface Reference {
  nodeStartMs: number;
  rubyLoopCpuMs: number;
  loadAverage1m: number;
}

export function measureReference(): Reference {
  const t0 = process.hrtime.bigint();
  spawnSync(process.execPath, ['-e', '0'], { timeout: 30_000 });
  const nodeStartMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const ruby = spawnSync('ruby', ['-e', RUBY_LOOP], { encoding: 'utf8', timeout: 60_000 });
  return {
    nodeStartMs,
    rubyLoopCpuMs: Number(ruby.stdout.trim()),
    loadAverage1m: loadavg()[0] ?? Number.NaN,
  };
}
