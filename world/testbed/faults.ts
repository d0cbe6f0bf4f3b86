/**
 * Faults the testbed injects on purpose (`fedicap testbed --inject-delay`, `--inject-cpu`): a known
 * regression for `fedicap compare` to find. A delay holds the web thread of every request of one
 * endpoint class, as slower code in that controller would. CPU is burnt in every job of one class by a
 * busy loop on the process's CPU time, not a sleep: the process's other threads wait meanwhile, as they
 * wait for Ruby's interpreter lock, and the collector sees the Sidekiq process's CPU rise.
 */
import type { FastifyInstance } from 'fastify';
import type { ENDPOINT_CLASSES } from '../../src/mastodon/classes.js';
import { InputError } from '../../src/shared/errors.js';
import { TESTBED_JOB_CLASSES } from './jobClasses.js';
import type { WorkerClass } from './sidekiq/types.js';

export interface InjectedFaults {
  /** Extra milliseconds per request, by endpoint class (k6's `station` tag). */
  delayMs: Record<string, number>;
  /** CPU milliseconds burnt per job, by job class. */
  cpuMs: Record<string, number>;
}

/**
 * The testbed's routes (Rails' controller#action, as its metrics label them) of each endpoint class the
 * scenarios tag. `inbox-cold-actor` has none of its own: it is the inbox route meeting a new actor.
 */
export const ENDPOINT_ROUTES: Readonly<Record<string, readonly string[]>> = {
  'timelines/home': ['api/v1/timelines/home#show'],
  'timelines/public': ['api/v1/timelines/public#show'],
  notifications: ['api/v1/notifications#index'],
  'statuses/create': ['api/v1/statuses#create'],
  'statuses/interact': [
    'api/v1/statuses/favourites#create',
    'api/v1/statuses/reblogs#create',
    'api/v1/accounts#follow',
  ],
  'media/create': ['api/v2/media#create', 'api/v1/media#create'],
  inbox: ['activitypub/inboxes#create'],
  'statuses/context': ['api/v1/statuses#context'],
  'media/show': ['api/v1/media#show'],
  'accounts/show': ['api/v1/accounts/credentials#show'],
} satisfies Partial<Record<(typeof ENDPOINT_CLASSES)[number] | string, readonly string[]>>;

/** Longest fault accepted: beyond Mastodon's 10 s read timeout a fault is an outage, not a regression. */
const MAX_FAULT_MS = 10_000;

/** `CLASS=MS` (`20`, `20ms`, `0.5ms`) → [class, ms]; an InputError naming the flag otherwise. */
function parsePair(flag: string, text: string, known: readonly string[]): [string, number] {
  const m = /^(.+)=(\d+(?:\.\d+)?)\s*(ms)?$/.exec(text.trim());
  if (!m) throw new InputError(`${flag} "${text}": expected CLASS=MS, e.g. ${flag} ${known[0]}=20ms`);
  const [name, ms] = [m[1]!, Number(m[2])];
  if (!known.includes(name))
    throw new InputError(`${flag} "${text}": unknown class "${name}"; one of ${known.join(', ')}`);
  if (!(ms > 0 && ms <= MAX_FAULT_MS))
    throw new InputError(`${flag} "${text}": expected more than 0 and at most ${MAX_FAULT_MS} ms`);
  return [name, ms];
}

function parsePairs(flag: string, texts: readonly string[], known: readonly string[]) {
  const out: Record<string, number> = {};
  for (const text of texts) {
    const [name, ms] = parsePair(flag, text, known);
    if (name in out) throw new InputError(`${flag}: ${name} is given twice`);
    out[name] = ms;
  }
  return out;
}

/** Job classes a fault can slow: every class the testbed runs, by its Mastodon name. */
const FAULTABLE_JOB_CLASSES = Object.keys(TESTBED_JOB_CLASSES).filter((c) => !c.endsWith('*'));

/** The faults of `--inject-delay CLASS=MS`… and `--inject-cpu JOB_CLASS=MS`…; none when both are empty. */
export function parseFaults(delays: readonly string[], cpu: readonly string[]): InjectedFaults | undefined {
  if (delays.length === 0 && cpu.length === 0) return undefined;
  for (const text of delays)
    if (text.startsWith('inbox-cold-actor='))
      throw new InputError(
        `--inject-delay "${text}": inbox-cold-actor is the inbox route meeting a new actor; delay inbox`,
      );
  return {
    delayMs: parsePairs('--inject-delay', delays, Object.keys(ENDPOINT_ROUTES)),
    cpuMs: parsePairs('--inject-cpu', cpu, FAULTABLE_JOB_CLASSES),
  };
}

/** The faults in words, for the start-up banner: a testbed slowed on purpose says so. */
export function faultsText(faults: InjectedFaults): string {
  const parts = [
    ...Object.entries(faults.delayMs).map(([c, ms]) => `${c} requests +${ms} ms`),
    ...Object.entries(faults.cpuMs).map(([c, ms]) => `${c} jobs +${ms} ms CPU`),
  ];
  return `injected faults: ${parts.join(', ')}`;
}

/** Sleep the injected delay in each request of a delayed class, after it got its web thread. */
export function registerInjectedDelays(app: FastifyInstance, faults: InjectedFaults | undefined): void {
  const byRoute = new Map<string, number>();
  for (const [station, ms] of Object.entries(faults?.delayMs ?? {}))
    for (const route of ENDPOINT_ROUTES[station] ?? []) byRoute.set(route, ms);
  if (byRoute.size === 0) return;
  app.addHook('preHandler', async (request) => {
    const { controller, action } = request.routeOptions.config;
    const ms = byRoute.get(`${controller}#${action}`);
    if (ms !== undefined) await new Promise((resolve) => setTimeout(resolve, ms));
  });
}

/** The job classes with each faulted class burning its CPU before it performs. */
export function withInjectedCpu<W extends Readonly<Record<string, WorkerClass | undefined>>>(
  workers: W,
  faults: InjectedFaults | undefined,
): W {
  const out: Record<string, WorkerClass | undefined> = { ...workers };
  for (const [name, ms] of Object.entries(faults?.cpuMs ?? {})) {
    const worker = workers[name];
    if (!worker) continue;
    out[name] = {
      ...worker,
      perform: (args, ctx) => {
        burnCpuMs(ms);
        return worker.perform.call(worker, args, ctx);
      },
    };
  }
  return out as W;
}

/**
 * Spin until this process has used `ms` more CPU time (user + system). Bounded in wall time too: a
 * process starved of a core gives up after 20 × ms + 1 s rather than hold its threads indefinitely.
 */
export function burnCpuMs(ms: number): number {
  const start = process.cpuUsage();
  const deadline = performance.now() + 20 * ms + 1000;
  for (;;) {
    const used = process.cpuUsage(start);
    const usedMs = (used.user + used.system) / 1000;
    if (usedMs >= ms || performance.now() > deadline) return usedMs;
  }
}
