/**
 * The world `fedicap compare` is proved on: a small fleet and the testbed federating with it (one
 * Sidekiq pool per busy queue, named as calibration pools them), seeded accounts, and short runs of
 * scenarios/mixed.ts with the local executor and the collector, as a user runs before and after an
 * upgrade. Between runs the testbed can be restarted on the same database and Redis, with or without
 * injected faults: staging, upgraded. Used by the integration test (test/src/compare/testbedProof.test.ts)
 * and `npm run bench:compare`. Everything binds to loopback.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSecretFile } from '../../src/cli/output.js';
import { DEFAULT_PROFILE_PATH, loadProfile } from '../../src/profile/load.js';
import { runScenario } from '../../src/run/scenario.js';
import { followerDistributionOf } from '../../world/cli/profileInputs.js';
import { parseUnitFlag } from '../../world/cli/sidekiqUnits.js';
import { describeProcesses } from '../../world/cli/validationProcesses.js';
import { VALIDATION_SIDEKIQ_UNITS } from '../../world/cli/validationWorld.js';
import type { RunningFleet } from '../../world/fleet/server.js';
import { defaultConfig, type TestbedConfig } from '../../world/testbed/config.js';
import type { InjectedFaults } from '../../world/testbed/faults.js';
import { type RunningTestbed, startTestbed } from '../../world/testbed/server.js';

const MIXED = join(DEFAULT_PROFILE_PATH, '..', '..', 'scenarios', 'mixed.ts');
/** Small images: the runs measure the API and the queues, not resizing. */
const IMAGE_BYTES = 16 * 1024;
/** k6's exit code when thresholds failed: a short run on a busy machine may miss an SLO; it still ran. */
const THRESHOLDS_FAILED = 99;

export interface ProofWorldOptions {
  /** Run directories, tokens, the fleet's manifest and the testbed's media go here. */
  dir: string;
  /** A database of its own (created if missing; the caller drops it) and an empty Redis index. */
  databaseUrl: string;
  redisUrl: string;
  /** Node flags for the testbed's processes (a TypeScript loader when running from source). */
  childExecArgv?: string[];
  seedAccounts?: number;
  /** Multiple of the default profile's peak-hour rates (default 1). */
  scale?: number;
  log?: (line: string) => void;
}

export interface ProofRun {
  dir: string;
  exitCode: number;
}

export class ProofWorld {
  private testbed: RunningTestbed | undefined;
  private port = 0;
  private fleet: RunningFleet | undefined;
  private readonly paths;

  private constructor(private readonly o: ProofWorldOptions) {
    this.paths = {
      tokens: join(o.dir, 'tokens.json'),
      fleet: join(o.dir, 'fleet-manifest.json'),
      profile: join(o.dir, 'profile.json'),
      media: join(o.dir, 'media'),
    };
  }

  /** Start the fleet and the testbed (no faults), and seed the accounts the scenario logs in as. */
  static async start(o: ProofWorldOptions): Promise<ProofWorld> {
    const world = new ProofWorld(o);
    try {
      await world.startFleet();
      await world.restart(undefined);
      const { seedTestbed } = await import('../../world/testbed/seed.js');
      const distribution = followerDistributionOf(loadProfile());
      const seeded = await seedTestbed(world.testbed!.tb, distribution, o.seedAccounts ?? 20, 1);
      writeSecretFile(world.paths.tokens, `${JSON.stringify(seeded.tokens)}\n`);
      world.writeProfile();
      return world;
    } catch (err) {
      await world.stop();
      throw err;
    }
  }

  get url(): string {
    return this.testbed!.url;
  }

  private async startFleet(): Promise<void> {
    mkdirSync(this.paths.media, { recursive: true });
    const { launchFleet } = await import('../../world/fleet/launch.js');
    const { fleet } = await launchFleet({
      instances: 3,
      actorsPerInstance: 8,
      coldFraction: 0.5,
      mediaSizesBytes: [24 * 1024],
      host: '127.0.0.1',
      port: 0,
      manifestOut: this.paths.fleet,
      deliveriesOut: join(this.o.dir, 'deliveries.ndjson'),
    });
    this.fleet = fleet;
  }

  /** The default profile with a web SLO a shared 2-core machine meets: thresholds are not the question. */
  private writeProfile(): void {
    const profile = JSON.parse(readFileSync(DEFAULT_PROFILE_PATH, 'utf8')) as {
      slo: { webResponseSec: number };
    };
    profile.slo.webResponseSec = 10;
    writeFileSync(this.paths.profile, JSON.stringify(profile));
  }

  private config(faults: InjectedFaults | undefined): TestbedConfig {
    const sidekiq = VALIDATION_SIDEKIQ_UNITS.map(parseUnitFlag);
    return defaultConfig({
      port: this.port,
      databaseUrl: this.o.databaseUrl,
      redisUrl: this.o.redisUrl,
      mediaDir: this.paths.media,
      sidekiq,
      webConcurrency: 2,
      maxThreads: 5,
      dbPool: 5,
      rateLimits: false,
      resolve: [{ suffix: this.fleet!.manifest.hostSuffix, host: '127.0.0.1', port: this.fleet!.port }],
      ...(faults ? { faults } : {}),
    });
  }

  /** Stop the testbed (jobs in flight finish) and start it again on the same stores and port. */
  async restart(faults: InjectedFaults | undefined): Promise<void> {
    await this.testbed?.close();
    this.testbed = undefined;
    this.testbed = await startTestbed(this.config(faults), { childExecArgv: this.o.childExecArgv ?? [] });
    this.port = Number(new URL(this.testbed.url).port);
    this.o.log?.(`testbed on ${this.testbed.url}${faults ? ` with ${JSON.stringify(faults)}` : ''}`);
  }

  /** mixed.ts for `durationSec` with the collector observing every testbed process, into DIR/name. */
  async run(name: string, durationSec: number): Promise<ProofRun> {
    const tb = this.testbed!;
    const config = this.config(undefined);
    const processes = describeProcesses(tb.processes, config.sidekiq, config.maxThreads);
    const dir = join(this.o.dir, name);
    const output: string[] = [];
    const exitCode = await runScenario({
      scenario: MIXED,
      target: tb.url,
      confirmTarget: new URL(tb.url).host,
      engine: 'local',
      out: dir,
      envPairs: [
        `TOKENS=${this.paths.tokens}`,
        `FLEET=${this.paths.fleet}`,
        `PROFILE=${this.paths.profile}`,
        'EFFECT_WAIT=5',
      ],
      imageSizesBytes: [IMAGE_BYTES],
      duration: `${durationSec}s`,
      scale: this.o.scale ?? 1,
      collect: {
        sidekiqRedis: config.redisUrl,
        redisUrl: config.redisUrl,
        prometheus: [`${tb.url}/metrics`],
        // Each testbed process, not the host's CPU: the host runs other work than the testbed (other tests).
        processes: processes.map((p) => `${p.name}=${p.pid}`),
      },
      stderr: (text) => void output.push(text),
      summaryOut: () => undefined,
      onInterrupt: () => () => undefined,
    });
    if (exitCode !== 0 && exitCode !== THRESHOLDS_FAILED)
      throw new Error(`mixed.ts into ${dir} exited ${exitCode}: ${output.join('').slice(-2000)}`);
    return { dir, exitCode };
  }

  /** Stop the testbed, then the fleet; remove the tokens and the fleet's keys. */
  async stop(): Promise<void> {
    await this.testbed?.close();
    this.testbed = undefined;
    await this.fleet?.stop();
    this.fleet = undefined;
    for (const secret of [this.paths.tokens, this.paths.fleet]) rmSync(secret, { force: true });
  }
}
