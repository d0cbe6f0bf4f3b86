/**
 * The world a validation run (`fedicap validate testbed`) loads, all on loopback: a small fleet of
 * simulated remote instances, the testbed resolving the fleet's hosts to it (rate limits off, one Sidekiq
 * pool per queue under test), seeded local accounts with tokens and follows. It lives in world/cli
 * because the infrastructure it reports is the `fedicap testbed --print-profile` section, which reads the
 * embedded profile; bin/fedicap.ts hands it to the product's command.
 */
import { rmSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { writeSecretFile } from '../../src/cli/output.js';
import { loadProfile } from '../../src/profile/load.js';
import { InputError } from '../../src/shared/errors.js';
import { isLoopbackAddress } from '../../src/shared/loopback.js';
import { defaultConfig, type TestbedConfig } from '../testbed/config.js';
import type { RunningTestbed } from '../testbed/server.js';
import { followerDistributionOf } from './profileInputs.js';
import { parseUnitFlag } from './sidekiqUnits.js';
import { describeProcesses, type WorldProcess } from './validationProcesses.js';
import { CleanupStack } from './cleanupStack.js';
import type { InfrastructureInput } from './testbedProfile.js';

const FLEET_MANIFEST = 'fleet-manifest.json';

export type { WorldProcess } from './validationProcesses.js';

/**
 * One pool per queue under test (ingress, push, default) so each is measured on its own, and one for the
 * rest of Mastodon's queues with config/sidekiq.yml's weights.
 */
export const VALIDATION_SIDEKIQ_UNITS = [
  '-c 5 -q ingress',
  '-c 5 -q push',
  '-c 5 -q default',
  '-c 5 -q mailers,2 -q pull -q scheduler',
] as const;

export interface ValidationWorldOptions {
  /** Directory for tokens.json and fleet-manifest.json (both mode 0600, removed at stop) and the testbed's media/. */
  dir: string;
  /** The fleet appends its delivery records here (default DIR/deliveries.ndjson). */
  deliveriesPath?: string;
  /** A database that does not exist yet or holds no local account; created if missing, kept at stop. */
  databaseUrl: string;
  /** Redis URL with an empty database index of its own; emptied again at stop. */
  redisUrl: string;
  /** `--sidekiq` texts, "[Nx] -c N -q QUEUE[,WEIGHT]..." (default VALIDATION_SIDEKIQ_UNITS). */
  sidekiqUnits?: readonly string[];
  /** Puma's WEB_CONCURRENCY (default 2) and MAX_THREADS (default 5). */
  webConcurrency?: number;
  maxThreads?: number;
  /** Local accounts seeded with tokens and the embedded profile's follow graph (default 20). */
  seedAccounts?: number;
  /** Node flags for the testbed's forked processes (a TypeScript loader when running from source). */
  childExecArgv?: string[];
  /** Aborting it stops what has started and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface RunningValidationWorld {
  /** The testbed's base URL (http://127.0.0.1:PORT) and its host:port (`--confirm-target`). */
  url: string;
  host: string;
  fleetManifestPath: string;
  tokensPath: string;
  deliveriesPath: string;
  /** Where the testbed stores media files (DIR/media). */
  mediaDir: string;
  /** The primary, each web worker, each Sidekiq process (sidekiq-QUEUES-I), streaming. */
  processes: WorldProcess[];
  /** What `fedicap testbed --print-profile` prints for this testbed: a profile's infrastructure section. */
  infrastructure: InfrastructureInput;
  /** Where the testbed keeps Sidekiq's queues, retries and processes (the same Redis as redisUrl). */
  sidekiqRedisUrl: string;
  databaseUrl: string;
  redisUrl: string;
  /** The testbed's Prometheus exporter (Mastodon's prometheus_exporter names). */
  metricsUrl: string;
  /** Stop the testbed (jobs in flight finish), then the fleet; empty the Redis index. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULTS = { webConcurrency: 2, maxThreads: 5, seedAccounts: 20 } as const;
/** A small fleet: a few instances, half their actors cold (fetched by the testbed on first contact). */
const FLEET = {
  instances: 3,
  actorsPerInstance: 8,
  coldFraction: 0.5,
  mediaSizesBytes: [24 * 1024],
} as const;

function positiveInteger(flag: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new InputError(`--${flag} must be a positive integer, got ${value}`);
  return value;
}

/** Every option a world cannot start with, as an InputError naming its flag; nothing is started. */
export function checkValidationWorldOptions(o: ValidationWorldOptions): TestbedConfig {
  const sidekiq = (o.sidekiqUnits ?? VALIDATION_SIDEKIQ_UNITS).map(parseUnitFlag);
  const webConcurrency = positiveInteger('web-concurrency', o.webConcurrency ?? DEFAULTS.webConcurrency);
  const maxThreads = positiveInteger('max-threads', o.maxThreads ?? DEFAULTS.maxThreads);
  positiveInteger('seed-accounts', o.seedAccounts ?? DEFAULTS.seedAccounts);
  return defaultConfig({
    port: 0,
    databaseUrl: o.databaseUrl,
    redisUrl: o.redisUrl,
    mediaDir: join(resolvePath(o.dir), 'media'),
    sidekiq,
    webConcurrency,
    maxThreads,
    // Mastodon's advice: DB_POOL as large as a process's threads, no larger.
    dbPool: Math.max(maxThreads, ...sidekiq.map((unit) => unit.threads)),
    rateLimits: false,
  });
}

async function startFleetIn(o: ValidationWorldOptions, deliveriesPath: string) {
  const { launchFleet } = await import('../fleet/launch.js');
  const { fleet } = await launchFleet({
    ...FLEET,
    mediaSizesBytes: [...FLEET.mediaSizesBytes],
    host: '127.0.0.1',
    port: 0,
    manifestOut: join(o.dir, FLEET_MANIFEST),
    deliveriesOut: deliveriesPath,
    log: o.log,
  });
  return fleet;
}

/** Start, turning a busy port or an unusable database into a message for people (as `fedicap testbed`). */
async function startTestbedWith(config: TestbedConfig, o: ValidationWorldOptions): Promise<RunningTestbed> {
  const { startTestbed, TestbedStartupError } = await import('../testbed/server.js');
  try {
    return await startTestbed(config, { childExecArgv: o.childExecArgv ?? [] });
  } catch (err) {
    if (err instanceof TestbedStartupError || (err as { code?: string }).code === 'EADDRINUSE')
      throw new InputError(`cannot start the testbed: ${(err as Error).message}`);
    throw err;
  }
}

/** `--seed-accounts N --tokens-out FILE`: accounts, tokens and follows; the tokens file mode 0600. */
async function seedAccounts(running: RunningTestbed, accounts: number, tokensPath: string) {
  const { seedTestbed } = await import('../testbed/seed.js');
  const seeded = await seedTestbed(running.tb, followerDistributionOf(loadProfile()), accounts, 1);
  writeSecretFile(tokensPath, `${JSON.stringify(seeded.tokens, null, 2)}\n`);
  return seeded;
}

/** The infrastructure section `fedicap testbed --print-profile` prints for `config`, checked. */
async function infrastructureOf(config: TestbedConfig): Promise<InfrastructureInput> {
  const { describeTestbed } = await import('./testbedProfile.js');
  return describeTestbed(config, 'of the validation testbed (--sidekiq)');
}

/**
 * Start the fleet, then the testbed federating with it, seed accounts, and describe the result. A failure
 * or an abort half-way stops whatever had started before the error is passed on.
 */
export async function startValidationWorld(o: ValidationWorldOptions): Promise<RunningValidationWorld> {
  const config = checkValidationWorldOptions(o);
  const log = o.log ?? (() => undefined);
  const deliveriesPath = resolvePath(o.deliveriesPath ?? join(o.dir, 'deliveries.ndjson'));
  const tokensPath = resolvePath(o.dir, 'tokens.json');
  // Loaded here, not at start-up: other commands should not pay for pg and ioredis.
  const { checkFreshStores, flushRunRedis } = await import('./validationStores.js');
  await checkFreshStores(o.databaseUrl, o.redisUrl);
  const cleanups = new CleanupStack();
  try {
    // Last to go: the tokens and the fleet's private keys are the run's alone, not an output to keep.
    cleanups.push(async () => {
      for (const secret of [tokensPath, join(o.dir, FLEET_MANIFEST)]) rmSync(secret, { force: true });
    });
    cleanups.push(() => flushRunRedis(o.redisUrl));
    o.signal?.throwIfAborted();
    const fleet = await startFleetIn(o, deliveriesPath);
    cleanups.push(() => fleet.stop());
    log(`fleet on ${fleet.url}: ${fleet.manifest.instances.length} instances *.${fleet.manifest.hostSuffix}`);
    o.signal?.throwIfAborted();
    const resolve = [{ suffix: fleet.manifest.hostSuffix, host: '127.0.0.1', port: fleet.port }];
    const running = await startTestbedWith({ ...config, resolve }, o);
    cleanups.push(() => running.close());
    log(`testbed on ${running.url}`);
    o.signal?.throwIfAborted();
    const seeded = await seedAccounts(running, o.seedAccounts ?? DEFAULTS.seedAccounts, tokensPath);
    log(`seeded ${seeded.tokens.length} accounts and ${seeded.follows} follows; tokens in ${tokensPath}`);
    const infrastructure = await infrastructureOf(config);
    o.signal?.throwIfAborted();
    const host = new URL(running.url).host;
    if (!isLoopbackAddress(new URL(running.url).hostname))
      throw new Error(`the testbed listens on ${host}, not loopback`);
    return {
      url: running.url,
      host,
      fleetManifestPath: fleet.manifestPath!,
      tokensPath,
      deliveriesPath,
      mediaDir: config.mediaDir,
      processes: describeProcesses(running.processes, config.sidekiq, config.maxThreads),
      infrastructure,
      sidekiqRedisUrl: config.redisUrl,
      databaseUrl: config.databaseUrl,
      redisUrl: config.redisUrl,
      metricsUrl: `${running.url}/metrics`,
      stop: () => cleanups.unwind(),
    };
  } catch (err) {
    await cleanups.unwind();
    throw err;
  }
}
