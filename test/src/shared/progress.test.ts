import { describe, expect, it } from 'vitest';
import { progress, progressText } from '../../../src/shared/progress.js';

/** A stream that keeps what is written, and a clock the test moves. */
function harness(isTTY: boolean) {
  const written: string[] = [];
  let ms = 0;
  return {
    written,
    advance: (by: number) => {
      ms += by;
    },
    options: { stream: { isTTY, write: (t: string) => written.push(t) }, now: () => ms },
  };
}

describe('progress lines', () => {
  it('says what runs, done of total, the rate and the time elapsed', () => {
    expect(progressText('Monte Carlo draws', 450, 1000, 3_000)).toBe(
      'Monte Carlo draws 450/1000 (45 %), 150/s, 3.0 s elapsed',
    );
    expect(progressText('steps', 3, 40, 2_000)).toBe('steps 3/40 (7 %), 1.5/s, 2.0 s elapsed');
  });

  it('work that ends within the quiet time prints nothing at all', () => {
    for (const tty of [true, false]) {
      const h = harness(tty);
      const p = progress('draws', 100, h.options);
      for (let i = 1; i <= 100; i++) {
        h.advance(5);
        p.update(i);
      }
      p.end();
      expect(h.written).toEqual([]);
    }
  });

  it('on a terminal: one line redrawn in place at most every 100 ms after 1 s, ended with a newline', () => {
    const h = harness(true);
    const p = progress('draws', 1000, h.options);
    for (let i = 1; i <= 1000; i++) {
      h.advance(2);
      p.update(i);
    }
    p.end();
    // 2 s of work: from 1 s, every 100 ms (11 redraws), then the final line.
    expect(h.written).toHaveLength(12);
    expect(h.written.every((t) => t.startsWith('\r\x1b[2K'))).toBe(true);
    expect(h.written[0]).toBe('\r\x1b[2Kdraws 500/1000 (50 %), 500/s, 1.0 s elapsed');
    expect(h.written.at(-1)).toBe('\r\x1b[2Kdraws 1000/1000 (100 %), 500/s, 2.0 s elapsed\n');
  });

  it('not on a terminal: plain lines every 10 s, none before, and the end', () => {
    const h = harness(false);
    const p = progress('requests', 300, h.options);
    for (let i = 1; i <= 300; i++) {
      h.advance(100);
      p.update(i);
    }
    p.end();
    expect(h.written).toEqual([
      'requests 100/300 (33 %), 10.0/s, 10.0 s elapsed\n',
      'requests 200/300 (66 %), 10.0/s, 20.0 s elapsed\n',
      'requests 300/300 (100 %), 10.0/s, 30.0 s elapsed\n',
      'requests 300/300 (100 %), 10.0/s, 30.0 s elapsed\n',
    ]);
  });
});
