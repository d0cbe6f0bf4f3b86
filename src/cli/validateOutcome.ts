/**
 * What `fedicap validate testbed` analyses and prints. The analysis itself is src/validate's; until the
 * command calls it, a placeholder keeps the pipeline (world, run, analysis, output, stop) whole.
 */
import type { StationUnderTest } from '../validate/index.js';
import type { ValidationWorldFacts } from '../validate/world.js';
import type { ValidationStepPlan } from './validateArgs.js';

/** The queues validation holds the model to, each on a pool of its own (issue 9). */
export const QUEUES_UNDER_TEST = ['ingress', 'push', 'default'] as const;

/**
 * The stations of the world's testbed as src/validate/predict.ts takes them: each queue under test served
 * by the Sidekiq processes that run it alone, and the web workers. A queue sharing its processes with
 * others (a --sidekiq layout without a pool of its own) is not a station here; it is named in `shared`.
 */
export function stationsUnderTest(world: ValidationWorldFacts): {
  stations: StationUnderTest[];
  shared: string[];
} {
  const stations: StationUnderTest[] = [];
  const shared: string[] = [];
  for (const queue of QUEUES_UNDER_TEST) {
    const own = world.processes.filter((p) => p.role === 'sidekiq' && p.queues?.join() === queue);
    if (own.length === 0) shared.push(queue);
    else stations.push(station(queue, 'sidekiq-queue', own));
  }
  const web = world.processes.filter((p) => p.role === 'web');
  if (web.length > 0) stations.push(station('web', 'web', web));
  return { stations, shared };
}

function station(
  name: string,
  kind: StationUnderTest['kind'],
  processes: ValidationWorldFacts['processes'],
): StationUnderTest {
  return {
    station: name,
    kind,
    processes: processes.length,
    // one unit per queue under test: every process has the same threads
    threads: processes[0]!.threads ?? 1,
    processNames: processes.map((p) => p.name),
  };
}

/** What the command prints. TODO(lead): src/validate/index.ts's ValidationResult and its report. */
export interface ValidationOutcome {
  runDir: string;
  stations: StationUnderTest[];
  rows: unknown[];
  notes: string[];
}

/**
 * TODO(lead): `analyseValidationRun(runDir, { schedule: plan, hostCores:
 * world.infrastructure.hosts[0].cores, stations })` (src/validate/index.ts). A placeholder meanwhile: it
 * reads nothing and compares nothing.
 */
export async function analyseValidation(
  runDir: string,
  world: ValidationWorldFacts,
  _plan: ValidationStepPlan,
): Promise<ValidationOutcome> {
  const { stations, shared } = stationsUnderTest(world);
  const notes = ['analysis not wired yet (src/cli/validateOutcome.ts)'];
  if (shared.length > 0) notes.push(`no pool of its own, not validated: ${shared.join(', ')}`);
  return { runDir, stations, rows: [], notes };
}

/** The outcome as the user reads it. TODO(lead): the report's renderer. */
export function validationText(outcome: ValidationOutcome, format: 'md' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(outcome, null, 2)}\n`;
  const stations = outcome.stations.map(
    (s) => `| ${s.station} | ${s.processes} × ${s.threads} | ${s.processNames.join(', ')} |`,
  );
  const table = ['| station | processes × threads | processes |', '|---|---|---|', ...stations];
  const notes = outcome.notes.map((n) => `- ${n}`);
  return `# Validation on the testbed\n\n${table.join('\n')}\n\n${notes.join('\n')}\n`;
}
