import type { Argv } from 'yargs';
import type { Profile } from '../../src/profile/schema.js';
import type { RunningTestbed } from '../testbed/server.js';
import { InputError } from '../../src/shared/errors.js';
import { isLoopbackHost } from '../../src/shared/loopback.js';
import { loadProfile } from '../../src/profile/load.js';
import { matchResolveRule } from '../testbed/activitypub/http.js';
import { TESTBED_DEFAULTS, defaultConfig, type ResolveRule, type TestbedConfig } from '../testbed/config.js';
import { faultsText, parseFaults } from '../testbed/faults.js';
import { writeSecretFile } from '../../src/cli/output.js';
import { checkWritableFile } from '../../src/shared/files.js';
import { checkedFlagUrl } from '../../src/shared/flagUrl.js';
import { maskPassword } from '../../src/shared/urlSecrets.js';
import { followerDistributionOf } from './profileInputs.js';
import { parseUnitFlag, sidekiqCommandOf } from './sidekiqUnits.js';
import { untilStopSignal } from '../../src/shared/signals.js';

function parseResolve(text: string): ResolveRule {
  const m = /^([A-Za-z0-9.-]+)=([A-Za-z0-9.:[\]-]+):(\d+)$/.exec(text);
  if (!m)
    throw new InputError(`--resolve "${text}": expected SUFFIX=HOST:PORT, e.g. remote.test=127.0.0.1:4000`);
  const host = m[2]!.replace(/^\[|\]$/g, '');
  if (!isLoopbackHost(host))
    throw new InputError(
      `--resolve "${text}": ${host} is not a loopback address; the testbed only federates with loopback`,
    );
  return { suffix: m[1]!, host, port: Number(m[3]) };
}

/** Where it listens and what it runs: Puma, Sidekiq, the stores. */
function processOptions<T>(c: Argv<T>) {
  return c
    .option('port', { type: 'number', default: TESTBED_DEFAULTS.port })
    .option('host', {
      type: 'string',
      default: TESTBED_DEFAULTS.host,
      describe: 'Bind address (loopback only)',
    })
    .option('database-url', {
      type: 'string',
      default: TESTBED_DEFAULTS.databaseUrl,
      describe: 'Created if missing; a PgBouncer URL works (transaction mode)',
    })
    .option('redis-url', {
      type: 'string',
      default: TESTBED_DEFAULTS.redisUrl,
      describe: 'Redis with the database index of its own',
    })
    .option('media-dir', { type: 'string', default: TESTBED_DEFAULTS.mediaDir })
    .option('sidekiq', {
      type: 'string',
      array: true,
      describe:
        'A Sidekiq unit per flag, "[Nx] -c 10 -q default,8 -q push,6 ...": N processes (default 1) with these arguments (default: one process, Mastodon\'s queues, -c 10)',
    })
    .option('web-concurrency', {
      type: 'number',
      default: TESTBED_DEFAULTS.webConcurrency,
      describe: "Puma's WEB_CONCURRENCY: web worker processes sharing the port",
    })
    .option('max-threads', {
      type: 'number',
      default: TESTBED_DEFAULTS.maxThreads,
      describe: "Puma's MAX_THREADS: requests each web worker serves at once; the rest wait",
    })
    .option('db-pool', {
      type: 'number',
      default: TESTBED_DEFAULTS.dbPool,
      describe: 'DB_POOL of every process (web workers, Sidekiq processes, streaming)',
    })
    .option('print-profile', {
      type: 'boolean',
      default: false,
      describe:
        'Print the infrastructure section of an instance profile describing this testbed (this machine, its processes, PostgreSQL, PgBouncer and Redis as configured) and exit',
    });
}

/** The world it lives in: seeded accounts, resolve rules, Mastodon's limits. */
function testbedOptions<T>(c: Argv<T>) {
  return processOptions(c)
    .option('seed-accounts', {
      type: 'number',
      default: 0,
      describe: 'Create this many local accounts with tokens and a follow graph',
    })
    .option('seed-profile', {
      type: 'string',
      describe: 'Profile whose follower distribution shapes the follow graph (default: embedded)',
    })
    .option('tokens-out', {
      type: 'string',
      describe: "Write the seeded accounts' tokens here (mode 0600; never logged)",
    })
    .option('resolve', {
      type: 'string',
      array: true,
      describe:
        'SUFFIX=HOST:PORT: remote hosts ending in SUFFIX are served by HOST:PORT over http (the fleet)',
    })
    .option('relay', {
      type: 'string',
      array: true,
      describe:
        "A relay's inbox URL to subscribe to at start, as Administration → Relays does (e.g. the fleet's http://relay.fleet.test/inbox, with --resolve fleet.test=127.0.0.1:PORT)",
    })
    .option('rate-limits', {
      type: 'boolean',
      default: TESTBED_DEFAULTS.rateLimits,
      describe: "Mastodon's Rack::Attack limits (--no-rate-limits for load tests)",
    })
    .option('media-cache-days', {
      type: 'number',
      default: TESTBED_DEFAULTS.mediaCacheRetentionDays,
      describe: 'Remote media cache retention',
    })
    .option('inject-delay', {
      type: 'string',
      array: true,
      describe:
        'ENDPOINT_CLASS=MS: requests of that class (timelines/home, statuses/create…) hold their web thread MS longer (a known regression for `fedicap compare`)',
    })
    .option('inject-cpu', {
      type: 'string',
      array: true,
      describe: "JOB_CLASS=MS: each job of that class (FeedInsertWorker…) burns MS more of its process's CPU",
    });
}

type TestbedArgs = Awaited<ReturnType<typeof testbedOptions>['argv']>;

/**
 * A --relay inbox URL the testbed can reach: http(s), and plain http only for hosts a --resolve rule
 * covers (the testbed's client reaches any other host over https, at loopback addresses only).
 */
function parseRelay(text: string, rules: readonly ResolveRule[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InputError(
      `--relay "${text}": expected the relay's inbox URL, e.g. http://relay.fleet.test/inbox`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InputError(`--relay "${text}": expected an http or https URL of the relay's inbox`);
  if (url.protocol === 'http:' && !matchResolveRule(rules, url.hostname.replace(/^\[|\]$/g, '')))
    throw new InputError(
      `--relay "${text}": plain http reaches only hosts a --resolve rule covers; add --resolve SUFFIX=HOST:PORT for ${url.hostname} or use https`,
    );
  return url.href;
}

/** Each count flag's range and what it counts, for the message when a value is outside it. */
const COUNT_FLAGS = [
  ['port', 0, 65535, 'a TCP port; 0 picks a free one'],
  ['web-concurrency', 1, Number.MAX_SAFE_INTEGER, 'web worker processes'],
  ['max-threads', 1, Number.MAX_SAFE_INTEGER, 'requests each web worker serves at once'],
  ['db-pool', 1, Number.MAX_SAFE_INTEGER, 'PostgreSQL connections per process'],
  ['seed-accounts', 0, Number.MAX_SAFE_INTEGER, 'local accounts to create; 0 for none'],
  ['media-cache-days', 1, Number.MAX_SAFE_INTEGER, 'days remote media stays cached'],
] as const;

/** --redis-url: a redis:// URL whose path, if any, is a database index. */
function checkRedisUrl(text: string): void {
  const path = checkedFlagUrl('--redis-url', text, ['redis:', 'rediss:']).pathname;
  if (path !== '' && path !== '/' && !/^\/\d+$/.test(path))
    throw new InputError(
      `--redis-url ${maskPassword(text)}: the path must be a database index (/0, /1 …), got ${path}`,
    );
}

function checkArgs(args: TestbedArgs): void {
  if (!isLoopbackHost(args.host))
    throw new InputError(`--host ${args.host}: the testbed binds to loopback only`);
  for (const [name, least, most, what] of COUNT_FLAGS) {
    const value = args[name];
    if (!Number.isInteger(value) || value < least || value > most) {
      const range = most === Number.MAX_SAFE_INTEGER ? `of at least ${least}` : `from ${least} to ${most}`;
      throw new InputError(`--${name} must be a whole number ${range} (${what}), got ${value}`);
    }
  }
  checkedFlagUrl('--database-url', args['database-url'], ['postgres:', 'postgresql:']);
  checkRedisUrl(args['redis-url']);
  if (args['seed-accounts'] > 0 && !args['tokens-out'])
    throw new InputError('--seed-accounts needs --tokens-out FILE (tokens are never printed)');
  // Before the database is touched: accounts whose tokens cannot be saved would be of no use.
  if (args['seed-accounts'] > 0) checkWritableFile(args['tokens-out']!, '--tokens-out');
}

function configOf(args: TestbedArgs): TestbedConfig {
  return defaultConfig({
    host: args.host,
    port: args.port,
    databaseUrl: args['database-url'],
    redisUrl: args['redis-url'],
    mediaDir: args['media-dir'],
    webConcurrency: args['web-concurrency'],
    maxThreads: args['max-threads'],
    dbPool: args['db-pool'],
    resolve: (args.resolve ?? []).map(parseResolve),
    rateLimits: args['rate-limits'],
    mediaCacheRetentionDays: args['media-cache-days'],
    ...(args.sidekiq?.length ? { sidekiq: args.sidekiq.map(parseUnitFlag) } : {}),
    faults: parseFaults(args['inject-delay'] ?? [], args['inject-cpu'] ?? []),
  });
}

/** How long the start-up waits to say whether each relay accepted (the testbed serves meanwhile). */
const RELAY_ANSWER_WAIT_MS = 60_000;

/**
 * Relay#enable! for each inbox (the instance actor's Follow of Public, delivered by a Sidekiq process),
 * then, in the background and bounded, one line per relay when it accepts or rejects, or does not answer.
 * Returns the way to stop watching.
 */
async function subscribeRelays(running: RunningTestbed, inboxes: readonly string[]) {
  const { followRelay, RELAY_STATE } = await import('../testbed/activitypub/delivery.js');
  for (const inbox of inboxes) {
    await followRelay(running.tb, inbox);
    process.stderr.write(`relay ${inbox}: Follow sent; pending until the relay accepts\n`);
  }
  let stopped = false;
  const pending = new Set(inboxes);
  const watch = async () => {
    for (let waited = 0; !stopped && pending.size > 0 && waited < RELAY_ANSWER_WAIT_MS; waited += 250) {
      await new Promise((r) => setTimeout(r, 250).unref());
      const { rows } = await running.tb.db.query<{ inbox_url: string; state: number }>(
        'SELECT inbox_url, state FROM relays WHERE inbox_url = ANY($1)',
        [[...pending]],
      );
      for (const row of rows) {
        if (row.state !== RELAY_STATE.accepted && row.state !== RELAY_STATE.rejected) continue;
        pending.delete(row.inbox_url);
        const answer = row.state === RELAY_STATE.accepted ? 'accepted' : 'rejected';
        process.stderr.write(`relay ${row.inbox_url}: ${answer}\n`);
      }
    }
    if (stopped) return;
    for (const inbox of pending)
      process.stderr.write(
        `relay ${inbox}: no answer after ${RELAY_ANSWER_WAIT_MS / 1000} s (is it up, and can it reach this testbed?)\n`,
      );
  };
  const done = watch().catch((err: Error) =>
    process.stderr.write(`relay subscriptions: could not follow their state: ${err.message}\n`),
  );
  return async () => {
    stopped = true;
    await done;
  };
}

/**
 * The infrastructure section of an instance profile describing `config` on this machine, checked as the
 * profile loader checks a profile. Nothing is started; PostgreSQL, PgBouncer and Redis are asked how they
 * are configured.
 */
async function printProfile(config: TestbedConfig): Promise<void> {
  const { describeTestbed } = await import('./testbedProfile.js');
  const infrastructure = await describeTestbed(
    config,
    'of this testbed (--sidekiq, --web-concurrency, --max-threads, --db-pool)',
  );
  process.stdout.write(`${JSON.stringify({ infrastructure }, null, 2)}\n`);
}

/** Start, turning a busy port or an unusable database into a message for people. */
async function start(config: TestbedConfig): Promise<RunningTestbed> {
  // Loaded here, not at start-up: forecast and friends should not pay for fastify, pg and sharp.
  const { startTestbed, TestbedStartupError } = await import('../testbed/server.js');
  try {
    return await startTestbed(config);
  } catch (err) {
    if (err instanceof TestbedStartupError)
      throw new InputError(`${err.flag ? `${err.flag}: ` : ''}cannot start the testbed: ${err.message}`);
    if ((err as { code?: string }).code === 'EADDRINUSE')
      throw new InputError(`--port: cannot start the testbed: ${(err as Error).message}`);
    throw err;
  }
}

/** The processes serving the testbed and their pids, one line per role and per Sidekiq unit. */
function processesText(running: RunningTestbed, config: TestbedConfig): string {
  const pids = (role: string) => running.processes.filter((p) => p.role === role).map((p) => p.pid);
  // Sidekiq processes are listed unit by unit, in the order of the --sidekiq flags.
  const sidekiq = pids('sidekiq');
  const units = config.sidekiq.map((unit) => {
    const unitPids = sidekiq.splice(0, unit.processes);
    return `sidekiq ${sidekiqCommandOf(unit)}: ${unitPids.join(', ')}`;
  });
  const lines = [
    `web (WEB_CONCURRENCY ${config.webConcurrency}, MAX_THREADS ${config.maxThreads}): ${pids('web').join(', ')}`,
    ...units,
    `streaming: ${pids('streaming').join(', ')}`,
  ];
  return lines.map((line) => `  ${line}\n`).join('');
}

async function seed(running: RunningTestbed, profile: Profile, accounts: number, tokensOut: string) {
  const { seedTestbed } = await import('../testbed/seed.js');
  const seeded = await seedTestbed(running.tb, followerDistributionOf(profile), accounts, 1);
  writeSecretFile(tokensOut, `${JSON.stringify(seeded.tokens, null, 2)}\n`, '--tokens-out');
  const reused = seeded.tokens.length - seeded.created;
  const how = reused ? ` (${reused} existing with new tokens, ${seeded.created} created)` : '';
  process.stderr.write(
    `seeded ${seeded.tokens.length} accounts${how} and ${seeded.follows} follows; tokens in ${tokensOut}\n`,
  );
}

export function testbedCommand(y: Argv) {
  return y.command(
    'testbed',
    'Start a Mastodon-shaped staging instance on the local PostgreSQL and Redis (Sidekiq layout, ActivityPub, client API)',
    testbedOptions,
    async (args) => {
      checkArgs(args);
      const config = configOf(args);
      const relays = (args.relay ?? []).map((r) => parseRelay(r, config.resolve));
      if (args['print-profile']) return printProfile(config);
      const profile =
        args['seed-profile'] || args['seed-accounts'] > 0 ? loadProfile(args['seed-profile']) : null;
      const running = await start(config);
      process.stderr.write(
        `testbed listening on ${running.url} (PostgreSQL ${new URL(config.databaseUrl).pathname.slice(1)}, Redis ${config.redisUrl})\n` +
          processesText(running, config) +
          (config.faults ? `${faultsText(config.faults)}\n` : ''),
      );
      if (profile && args['seed-accounts'] > 0)
        await seed(running, profile, args['seed-accounts'], args['tokens-out']!);
      const stopWatching = relays.length ? await subscribeRelays(running, relays) : async () => undefined;
      await untilStopSignal();
      process.stderr.write('stopping: finishing jobs in flight\n');
      await stopWatching();
      await running.close();
    },
  );
}
