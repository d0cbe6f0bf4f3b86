import { availableParallelism, hostname, totalmem } from 'node:os';
import type { z } from 'zod';
import { DEFAULT_PROFILE_PATH, parseProfile, readJsonFile } from '../../src/profile/load.js';
import { InputError } from '../../src/shared/errors.js';
import type { profileSchema } from '../../src/profile/schema.js';
import type { TestbedConfig } from '../testbed/config.js';
import type { StoreFacts } from '../testbed/inspectStores.js';
import { sidekiqCommandOf } from './sidekiqUnits.js';

/** The infrastructure section as a profile file holds it (quantities with their provenance). */
export type InfrastructureInput = z.input<typeof profileSchema>['infrastructure'];

/** The machine the testbed runs on. */
export interface Machine {
  name: string;
  cores: number;
  memoryBytes: number;
}

export const thisMachine = (): Machine => ({
  name: hostname(),
  cores: availableParallelism(),
  memoryBytes: totalmem(),
});

const MIB = 2 ** 20;
const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * The testbed as an instance profile's infrastructure: one host running everything, the processes as
 * configured (every process has the same DB_POOL), and the stores as they are configured. What is not
 * configuration (streaming connections a process serves comfortably, Redis memory besides feeds and
 * queues) keeps the embedded default profile's figure and its provenance.
 */
export function testbedInfrastructure(config: TestbedConfig, stores: StoreFacts, machine: Machine) {
  const template = defaultInfrastructure();
  const host = machine.name;
  return {
    hosts: [
      {
        name: host,
        cores: machine.cores,
        memoryGiB: round2(machine.memoryBytes / 2 ** 30),
        services: ['web', 'sidekiq', 'postgres', 'redis', 'streaming'],
      },
    ],
    sidekiq: config.sidekiq.map((unit) => ({
      host,
      processes: unit.processes,
      command: sidekiqCommandOf(unit),
      dbPool: config.dbPool,
    })),
    puma: { host, webConcurrency: config.webConcurrency, maxThreads: config.maxThreads },
    streaming: {
      host,
      processes: 1,
      maxConnectionsPerProcess: template.streaming.maxConnectionsPerProcess,
      dbPoolPerProcess: config.dbPool,
    },
    postgres: {
      host,
      cores: machine.cores,
      maxConnections: stores.postgresMaxConnections,
      readReplica: null,
      pgbouncer: stores.pgbouncer,
    },
    redis: {
      // maxmemory 0: no limit but the machine's memory.
      maxmemoryMB: Math.round((stores.redisMaxmemoryBytes || machine.memoryBytes) / MIB),
      cacheMaxmemoryMB: null,
      baseUsageMB: template.redis.baseUsageMB,
    },
    storage: {
      kind: 'disk',
      // A local disk has no provider; MinIO (S3 on one's own disks) is the profile's word for that.
      provider: 'minio',
      capacityGB: round2(stores.mediaDiskBytes / 1e9),
      databaseOnSameDisk: stores.databaseOnMediaDisk,
    },
  } satisfies InfrastructureInput;
}

/** The embedded default profile as written (not parsed: its quantities keep their file form). */
function defaultProfileDocument(): Record<string, unknown> & { infrastructure: InfrastructureInput } {
  return readJsonFile(DEFAULT_PROFILE_PATH, 'profile') as Record<string, unknown> & {
    infrastructure: InfrastructureInput;
  };
}

const defaultInfrastructure = () => defaultProfileDocument().infrastructure;

/** Check the section as the profile loader does, inside the embedded default profile. */
export function validateInfrastructure(infrastructure: InfrastructureInput, where: string): void {
  parseProfile({ ...defaultProfileDocument(), infrastructure }, where);
}

/**
 * The infrastructure section `fedicap testbed --print-profile` prints for `config` on this machine,
 * checked as the profile loader checks a profile (`flags` names what shaped it, for the message).
 * Nothing is started; PostgreSQL, PgBouncer and Redis are asked how they are configured.
 */
export async function describeTestbed(config: TestbedConfig, flags: string): Promise<InfrastructureInput> {
  const { inspectStores } = await import('../testbed/inspectStores.js');
  const { TestbedStartupError } = await import('../testbed/prepare.js');
  let stores: StoreFacts;
  try {
    stores = await inspectStores(config);
  } catch (err) {
    if (err instanceof TestbedStartupError)
      throw new InputError(`cannot describe the testbed: ${err.message}`);
    throw err;
  }
  const infrastructure = testbedInfrastructure(config, stores, thisMachine());
  validateInfrastructure(infrastructure, flags);
  return infrastructure;
}
