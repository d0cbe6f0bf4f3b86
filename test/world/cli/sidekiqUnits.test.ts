import { describe, expect, it } from 'vitest';
import { parseSidekiqCommand } from '../../../src/mastodon/sidekiqCommand.js';
import { parseUnitFlag, sidekiqCommandOf } from '../../../world/cli/sidekiqUnits.js';

describe('--sidekiq units', () => {
  it('reads "Nx ARGS" as N processes of one unit, and one process without a count', () => {
    expect(parseUnitFlag('2x -c 25 -q default,8 -q pull')).toEqual({
      processes: 2,
      threads: 25,
      queues: [
        { name: 'default', weight: 8 },
        { name: 'pull', weight: 1 },
      ],
    });
    expect(parseUnitFlag('-c 3 -q push').processes).toBe(1);
    // Only a count: Sidekiq's defaults (-c 5, Mastodon's queues and weights).
    const defaults = parseUnitFlag('3x');
    expect([defaults.processes, defaults.threads, defaults.queues.length]).toEqual([3, 5, 6]);
    expect(() => parseUnitFlag('0x -c 5')).toThrow('--sidekiq "0x -c 5": a unit runs at least 1 process');
    expect(() => parseUnitFlag('2x -c many')).toThrow(
      '--sidekiq "2x -c many": "-c" needs a positive integer',
    );
  });

  it('writes a unit back as the Sidekiq arguments it was read from, weight 1 left out', () => {
    const command = '-c 25 -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull -q scheduler';
    const unit = parseUnitFlag(`2x ${command}`);
    expect(sidekiqCommandOf(unit)).toBe(command);
    expect(parseSidekiqCommand(sidekiqCommandOf(unit))).toEqual({
      threads: unit.threads,
      queues: unit.queues,
    });
  });
});
