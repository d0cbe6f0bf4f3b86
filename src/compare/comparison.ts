/** What `fedicap compare` finds, as plain data the renderers (Markdown, JSON; HTML later) turn into text. */
import type { Change } from './bootstrapChange.js';
import type { Verdict, Worse } from './verdict.js';

/** Units of the rows' values; shares are fractions (0.02 = 2 %). */
export type Unit = 'ms' | 'req/s' | 'share' | 'jobs/s' | 'threads' | 'cores';

export type Section = 'endpoint class' | 'Sidekiq queue' | 'Sidekiq job class' | 'process' | 'instance';

/** One metric of one subject (an endpoint class, a queue, a job class, a process) in both runs. */
export interface Row {
  section: Section;
  /** `timelines/home`, `ingress`, `FeedInsertWorker`, `sidekiq-push-1`, `Sidekiq`… */
  subject: string;
  /** Plain words: `p95`, `throughput`, `error share`, `queue latency`, `CPU`… */
  metric: string;
  unit: Unit;
  worse: Worse;
  change: Change;
  /** Two-sided p of the Mann–Whitney test on the two runs' distributions; null when it does not apply. */
  pValue: number | null;
  /** What the rank test compared: `requests` (each one's latency or outcome) or `windows` (per 10 s). */
  rankedOver: 'requests' | 'windows' | null;
  verdict: Verdict;
}

/** A subject measured in one run only: no comparison, but worth saying. */
export interface Unpaired {
  section: Section;
  subject: string;
  onlyIn: 'base' | 'candidate';
}

export interface RunSummary {
  dir: string;
  scenario: string;
  startedAt: string;
  durationSec: number;
  hasSamples: boolean;
}

export interface Comparison {
  base: RunSummary;
  candidate: RunSummary;
  settings: {
    threshold: number;
    alpha: number;
    level: number;
    windowSec: number;
    resamples: number;
    seed: number;
  };
  /** Client side first, then the server side where both runs have samples. */
  rows: Row[];
  unpaired: Unpaired[];
  /** What limits the verdict (a run too short for honest intervals). */
  warnings: string[];
  /** Why the server side is missing, when it is. */
  serverNote: string | null;
  /** The regressed rows, worst (largest relative change toward worse) first. */
  regressions: Row[];
}
