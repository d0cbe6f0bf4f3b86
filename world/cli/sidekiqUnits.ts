import { parseSidekiqCommand } from '../../src/mastodon/sidekiqCommand.js';
import { InputError } from '../../src/shared/errors.js';
import type { SidekiqUnitConfig } from '../testbed/sidekiq/types.js';

/**
 * A `--sidekiq` flag: `[Nx] ARGS`, N identical processes (default 1) started with Sidekiq's arguments,
 * as N instances of one systemd unit: `2x -c 25 -q default,8 -q push,6`.
 */
export function parseUnitFlag(text: string): SidekiqUnitConfig {
  const count = /^\s*(\d+)x(?:\s+|$)(.*)$/.exec(text);
  const processes = count ? Number(count[1]) : 1;
  if (processes < 1) throw new InputError(`--sidekiq "${text}": a unit runs at least 1 process`);
  const args = parseSidekiqCommand(count ? count[2]! : text);
  if ('error' in args) throw new InputError(`--sidekiq "${text}": ${args.error}`);
  return { processes, threads: args.threads, queues: args.queues };
}

/** A unit's Sidekiq arguments, as a profile's `command` holds them (weight 1 left out, as in sidekiq.yml). */
export function sidekiqCommandOf(unit: SidekiqUnitConfig): string {
  const queues = unit.queues.map((q) => `-q ${q.name}${q.weight === 1 ? '' : `,${q.weight}`}`);
  return [`-c ${unit.threads}`, ...queues].join(' ');
}
