import type { Sample } from './sample.js';

/** Where the live status goes (stderr): a terminal gets one line rewritten in place. */
export interface StatusSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface StatusView {
  elapsedMs: number;
  /** Lines written so far, gap records included. */
  samples: number;
  /** Each source by its label; `up` is undefined until its first answer or failure. */
  sources: { label: string; up: boolean | undefined }[];
  /** The latest answer of every source, for the headline numbers. */
  latest: Sample[];
}

/** Plain lines on a pipe or a log: one every this many milliseconds. */
export const PLAIN_STATUS_PERIOD_MS = 10_000;
/** ANSI: carriage return, then erase the whole line. */
const REWRITE = '\r\x1b[2K';

/** The numbers an admin watches during a run: the worst queue latency, busy threads. */
export function headlines(latest: Sample[]): string[] {
  const out: string[] = [];
  let worst: Sample | undefined;
  let busy = 0;
  let concurrency = 0;
  for (const s of latest) {
    if (s.metric === 'sidekiq_queue_latency_seconds' && (!worst || s.value > worst.value)) worst = s;
    if (s.metric === 'sidekiq_process_busy') busy += s.value;
    if (s.metric === 'sidekiq_process_concurrency') concurrency += s.value;
  }
  if (worst) out.push(`max queue latency ${worst.value.toFixed(1)}s (${worst.labels.queue})`);
  if (concurrency > 0) out.push(`busy ${busy}/${concurrency} threads`);
  return out;
}

export function statusLine(view: StatusView): string {
  const sources = view.sources
    .map((s) => `${s.label} ${s.up === undefined ? '…' : s.up ? 'up' : 'DOWN'}`)
    .join(', ');
  const parts = [
    `collect ${Math.round(view.elapsedMs / 1000)}s`,
    `${view.samples} samples`,
    sources,
    ...headlines(view.latest),
  ];
  return parts.join(' | ');
}

/** The live status: every update on a terminal, every PLAIN_STATUS_PERIOD_MS otherwise, and a last line. */
export class StatusReporter {
  private lastPlainMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly sink: StatusSink,
    private readonly periodMs = PLAIN_STATUS_PERIOD_MS,
  ) {}

  update(view: StatusView): void {
    if (this.sink.isTTY) {
      this.sink.write(`${REWRITE}${statusLine(view)}`);
    } else if (view.elapsedMs - this.lastPlainMs >= this.periodMs) {
      this.lastPlainMs = view.elapsedMs;
      this.sink.write(`${statusLine(view)}\n`);
    }
  }

  finish(view: StatusView): void {
    this.sink.write(this.sink.isTTY ? `${REWRITE}${statusLine(view)}\n` : `${statusLine(view)}\n`);
  }
}
