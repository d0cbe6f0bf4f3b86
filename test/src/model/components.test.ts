import { describe, expect, it } from 'vitest';
import { componentId, dependsOnSidekiqWaits, type ComponentRef } from '../../../src/model/components.js';

describe('componentId', () => {
  it('renders the ids of the JSON, Markdown and CSV contract, one per ref', () => {
    const cases: [ComponentRef, string][] = [
      [{ kind: 'sidekiq-queue', queue: 'push' }, 'sidekiq-queue:push'],
      [{ kind: 'sidekiq-process', queues: ['default', 'push', 'pull'] }, 'sidekiq-process:default+push+pull'],
      [{ kind: 'postgres', role: 'primary' }, 'postgres'],
      [{ kind: 'postgres', role: 'replica' }, 'postgres:replica'],
      [{ kind: 'web' }, 'web'],
      [{ kind: 'streaming' }, 'streaming'],
      [{ kind: 'redis', role: 'main' }, 'redis'],
      [{ kind: 'redis', role: 'cache' }, 'redis:cache'],
      [{ kind: 'storage' }, 'storage'],
    ];
    for (const [ref, id] of cases) expect(componentId(ref)).toBe(id);
  });

  it('knows which components need the Sidekiq waits: the Sidekiq ones and the Redis holding the queues', () => {
    expect(dependsOnSidekiqWaits({ kind: 'sidekiq-queue', queue: 'ingress' })).toBe(true);
    expect(dependsOnSidekiqWaits({ kind: 'sidekiq-process', queues: ['ingress'] })).toBe(true);
    expect(dependsOnSidekiqWaits({ kind: 'redis', role: 'main' })).toBe(true);
    expect(dependsOnSidekiqWaits({ kind: 'redis', role: 'cache' })).toBe(false);
    expect(dependsOnSidekiqWaits({ kind: 'web' })).toBe(false);
    expect(dependsOnSidekiqWaits({ kind: 'postgres', role: 'primary' })).toBe(false);
  });
});
