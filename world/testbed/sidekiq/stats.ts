/**
 * The testbed reads its Sidekiq state with the product's reader, so the testbed, the tests and the
 * collector (src/collect/sidekiqRedis.ts) read Redis one way: src/mastodon/sidekiqState.ts.
 */
export {
  SidekiqStats,
  type SidekiqProcessInfo,
  type SidekiqSnapshot,
  type SortedEntry,
  type WorkEntry,
} from '../../../src/mastodon/sidekiqState.js';
