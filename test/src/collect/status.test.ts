import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../src/collect/sample.js';
import { StatusReporter, headlines, statusLine, type StatusView } from '../../../src/collect/status.js';

const s = (metric: string, value: number, labels: Record<string, string> = {}): Sample => ({
  time: '2026-01-01T00:00:00.000Z',
  source: 'sidekiq',
  metric,
  value,
  labels,
});

const view = (elapsedMs: number, up = true): StatusView => ({
  elapsedMs,
  samples: 42,
  sources: [
    { label: 'sidekiq 127.0.0.1:6379/0', up },
    { label: 'process web', up: false },
  ],
  latest: [
    s('sidekiq_queue_latency_seconds', 0.25, { queue: 'default' }),
    s('sidekiq_queue_latency_seconds', 3.46, { queue: 'push' }),
    s('sidekiq_process_busy', 3, { identity: 'a' }),
    s('sidekiq_process_busy', 2, { identity: 'b' }),
    s('sidekiq_process_concurrency', 25, { identity: 'a' }),
    s('sidekiq_process_concurrency', 5, { identity: 'b' }),
  ],
});

describe('live status', () => {
  it('says elapsed time, lines, each source up or down, the worst queue latency and busy threads', () => {
    expect(statusLine(view(12_400))).toBe(
      'collect 12s | 42 samples | sidekiq 127.0.0.1:6379/0 up, process web DOWN | max queue latency 3.5s (push) | busy 5/30 threads',
    );
    expect(
      statusLine({
        ...view(0),
        sources: [
          { label: 'sidekiq 127.0.0.1:6379/0', up: undefined },
          { label: 'process web', up: false },
        ],
        latest: [],
      }),
    ).toBe('collect 0s | 42 samples | sidekiq 127.0.0.1:6379/0 …, process web DOWN');
    expect(headlines([])).toEqual([]);
  });

  it('rewrites one line in place on a terminal, and writes a plain line every 10 s otherwise', () => {
    const tty: string[] = [];
    const term = new StatusReporter({ write: (t) => tty.push(t), isTTY: true });
    term.update(view(1000));
    term.update(view(2000));
    term.finish(view(2500));
    expect(tty.map((t) => t.slice(0, 6))).toEqual(['\r\x1b[2Kc', '\r\x1b[2Kc', '\r\x1b[2Kc']);
    expect(tty.slice(0, 2).every((t) => !t.includes('\n'))).toBe(true);
    expect(tty[2]!.endsWith('\n')).toBe(true);

    const plain: string[] = [];
    const pipe = new StatusReporter({ write: (t) => plain.push(t), isTTY: false });
    for (let ms = 0; ms <= 25_000; ms += 1000) pipe.update(view(ms));
    pipe.finish(view(25_500));
    expect(plain.map((t) => t.match(/^collect (\d+)s/)![1])).toEqual(['0', '10', '20', '26']);
    expect(plain.every((t) => t.endsWith('\n') && !t.includes('\r'))).toBe(true);
  });
});
