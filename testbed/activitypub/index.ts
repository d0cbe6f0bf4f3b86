// SCAFFOLD: replaced by the ActivityPub implementation.
import type { FastifyInstance } from 'fastify';
import type { Testbed } from '../context.js';
import type { WorkerRegistry } from '../sidekiq/types.js';

export async function registerActivityPub(_app: FastifyInstance, _tb: Testbed): Promise<void> {}
export function federationWorkers(_tb: Testbed): WorkerRegistry {
  return {};
}
