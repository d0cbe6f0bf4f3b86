import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Sample } from './sample.js';
import type { Sampler } from './sampler.js';

/** A `getconf` variable, read once; the Linux value when getconf is missing. */
function getconf(name: string, linuxDefault: number): number {
  try {
    const n = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000 }).trim());
    return Number.isInteger(n) && n > 0 ? n : linuxDefault;
  } catch {
    return linuxDefault;
  }
}

let constants: { clockTicksPerSec: number; pageBytes: number } | undefined;
/** USER_HZ (the unit of /proc/PID/stat's times, 100 on Linux) and the page size (statm's unit). */
export function procConstants() {
  constants ??= { clockTicksPerSec: getconf('CLK_TCK', 100), pageBytes: getconf('PAGESIZE', 4096) };
  return constants;
}

/** The numbers of /proc/PID/stat this sampler reads (proc(5), fields 3, 14–17 and 22). */
export interface ProcStat {
  state: string;
  utimeTicks: number;
  stimeTicks: number;
  cutimeTicks: number;
  cstimeTicks: number;
  startTimeTicks: number;
}

/**
 * Parse /proc/PID/stat. The command name (field 2) is in parentheses and may
 * itself hold spaces and parentheses, so fields are counted from the LAST ')'.
 */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // f[0] is field 3 (state): field n is f[n - 3].
  const num = (field: number) => Number(f[field - 3]);
  const stat = {
    state: f[0] ?? '',
    utimeTicks: num(14),
    stimeTicks: num(15),
    cutimeTicks: num(16),
    cstimeTicks: num(17),
    startTimeTicks: num(22),
  };
  if (close < 0 || !Object.values(stat).every((v) => typeof v === 'string' || Number.isFinite(v)))
    throw new Error(`unreadable /proc stat line: ${text.slice(0, 80)}`);
  return stat;
}

/**
 * CPU and memory of one local process, from /proc (Linux):
 * `process_cpu_seconds_total{process}` = (utime + stime) / CLK_TCK,
 * `process_children_cpu_seconds_total{process}` = (cutime + cstime) / CLK_TCK (children it has waited
 * for), `process_resident_bytes{process}` = statm's resident pages × page size (proc(5)).
 * A process that exited (or became a zombie, or whose PID now belongs to another process, told by its
 * start time) is a gap.
 */
export class ProcessCpuSampler implements Sampler {
  readonly source = 'process' as const;
  readonly name: string;
  private startTimeTicks: number | undefined;

  constructor(
    private readonly processName: string,
    private readonly pid: number,
  ) {
    this.name = `${processName} (pid ${pid})`;
  }

  async sample(time: string): Promise<Sample[]> {
    const { clockTicksPerSec, pageBytes } = procConstants();
    let statText: string;
    let statmText: string;
    try {
      [statText, statmText] = await Promise.all([
        readFile(`/proc/${this.pid}/stat`, 'utf8'),
        readFile(`/proc/${this.pid}/statm`, 'utf8'),
      ]);
    } catch {
      throw new Error(`process ${this.processName} (pid ${this.pid}) is gone`);
    }
    const stat = parseProcStat(statText);
    if (stat.state === 'Z' || stat.state === 'X')
      throw new Error(`process ${this.processName} (pid ${this.pid}) has exited`);
    this.startTimeTicks ??= stat.startTimeTicks;
    if (stat.startTimeTicks !== this.startTimeTicks)
      throw new Error(`process ${this.processName}: pid ${this.pid} now belongs to another process`);
    const residentPages = Number(statmText.trim().split(/\s+/)[1]);
    const labels = { process: this.processName };
    const at = (metric: string, value: number): Sample => ({
      time,
      source: 'process',
      metric,
      value,
      labels,
    });
    return [
      at('process_cpu_seconds_total', (stat.utimeTicks + stat.stimeTicks) / clockTicksPerSec),
      at('process_children_cpu_seconds_total', (stat.cutimeTicks + stat.cstimeTicks) / clockTicksPerSec),
      at('process_resident_bytes', residentPages * pageBytes),
    ];
  }

  async close(): Promise<void> {}
}
