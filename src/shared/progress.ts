/**
 * Progress of long work on stderr, never stdout (a pipe reads stdout as data). On a terminal one
 * line is redrawn in place (what runs, done of total, rate, elapsed); elsewhere (a log, CI) a
 * plain line every `everyMs`. Work that ends before `quietMs` prints nothing at all, so short
 * commands keep a clean stderr.
 */

export interface ProgressOptions {
  /** Where to write; a terminal when `isTTY` is true. Default: process.stderr. */
  stream?: { isTTY?: boolean; write(text: string): unknown };
  /** Nothing before this much time has passed (ms). Default 1 s on a terminal, `everyMs` elsewhere. */
  quietMs?: number;
  /** Plain lines at most this often when not on a terminal (ms). Default 10 s. */
  everyMs?: number;
  /** Redraws at most this often on a terminal (ms). Default 100 ms. */
  redrawMs?: number;
  /** The clock, in ms (tests pass their own). */
  now?: () => number;
}

export interface Progress {
  /** `done` units of the total are finished. */
  update(done: number): void;
  /** The work ended: the terminal's line is finished with a newline (if one was drawn). */
  end(): void;
}

/** "ingress 450/1000 (45 %), 123/s, 3.7 s elapsed". */
export function progressText(what: string, done: number, total: number, elapsedMs: number): string {
  const pct = total > 0 ? ` (${Math.floor((done / total) * 100)} %)` : '';
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const rateText = rate >= 100 ? rate.toFixed(0) : rate.toFixed(1);
  return `${what} ${done}/${total}${pct}, ${rateText}/s, ${(elapsedMs / 1000).toFixed(1)} s elapsed`;
}

export function progress(what: string, total: number, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const tty = stream.isTTY === true;
  const gapMs = tty ? (options.redrawMs ?? 100) : (options.everyMs ?? 10_000);
  // A log gets its first line only when the work is long enough for a second one to follow.
  const quietMs = options.quietMs ?? (tty ? 1000 : gapMs);
  const start = now();
  let last = Number.NEGATIVE_INFINITY;
  let drawn = false;
  let done = 0;
  const write = (final: boolean) => {
    const text = progressText(what, done, total, now() - start);
    // \r and erase-line redraw in place; a plain line otherwise.
    stream.write(tty ? `\r\x1b[2K${text}${final ? '\n' : ''}` : `${text}\n`);
    drawn = true;
  };
  return {
    update(d: number) {
      done = d;
      const t = now();
      if (t - start < quietMs || t - last < gapMs) return;
      last = t;
      write(false);
    },
    end() {
      // Only work that already showed progress says it ended.
      if (drawn) write(true);
    },
  };
}
