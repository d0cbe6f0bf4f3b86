// SCAFFOLD: replaced by the client API implementation.
import type { FastifyInstance } from 'fastify';
import type { Testbed } from '../context.js';
import type { WorkerRegistry } from '../sidekiq/types.js';

export async function registerClientApi(_app: FastifyInstance, _tb: Testbed): Promise<void> {}
export function localWorkers(_tb: Testbed): WorkerRegistry {
  return {};
}
