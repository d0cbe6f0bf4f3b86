// SCAFFOLD: replaced by the Sidekiq engine's metrics.
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { WorkerRegistry } from './types.js';

export function registerSidekiqMetrics(_metrics: Registry, _redis: Redis, _workers: WorkerRegistry): void {}
