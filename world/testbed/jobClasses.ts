import { JOB_CLASSES, type QueueName } from '../../src/mastodon/classes.js';
import type { WorkerClass } from './sidekiq/types.js';

/**
 * Mastodon job classes the testbed runs beyond src/mastodon's JOB_CLASSES
 * (which lists the classes calibration is keyed by), on Mastodon's queues.
 */
export const TESTBED_ONLY_JOB_CLASSES = {
  MergeWorker: 'default',
  UnmergeWorker: 'default',
  RegenerationWorker: 'default',
  BlockWorker: 'default',
  MuteWorker: 'default',
  RemovalWorker: 'default',
  UnfavouriteWorker: 'default',
  'Scheduler::VacuumScheduler': 'scheduler',
} as const satisfies Record<string, QueueName>;

/** The queue of every job class the testbed knows, by Mastodon's class name. */
export const TESTBED_JOB_CLASSES = { ...JOB_CLASSES, ...TESTBED_ONLY_JOB_CLASSES };
export type TestbedJobClass = keyof typeof TESTBED_JOB_CLASSES;

/**
 * A job class on the queue Mastodon puts it on: `{ queue: 'push' }` for DistributionWorker fails to compile.
 */
export type TestbedWorker<C extends TestbedJobClass> = WorkerClass & {
  queue: (typeof TESTBED_JOB_CLASSES)[C];
};

/** The job classes a testbed registers; a class left out is one this testbed does not run. */
export type TestbedWorkers = { [C in TestbedJobClass]?: TestbedWorker<C> };
