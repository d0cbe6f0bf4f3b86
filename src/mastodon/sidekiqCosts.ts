/**
 * Sidekiq's own costs per job, measured on real Sidekiq (Debian's ruby-sidekiq 6.4.1, Ruby 3.1,
 * Redis 7.0 on the same 2-core host) by `npm run bench:sidekiq`: a drain of no-op jobs through
 * one process `-c 5`, the process's and Redis's CPU time before and after (2026-12-03, recorded in
 * fixtures/runs/sidekiq-grid-2026-12-03.json: Sidekiq 0.244 ms, Redis 0.027 ms per job; 0.19–0.33 ms
 * and 0.020–0.05 ms over other runs). Jobs that burn and sleep cost the pool 0.5–2 ms more per job
 * than their burn (waking threads, handing the lock over): the no-op figure is a lower bound.
 * Machine-dependent: re-measure on yours.
 */

/** Sidekiq's own Ruby CPU per job (fetch, JSON, middleware, acknowledgement): under the interpreter lock. */
export const SIDEKIQ_FRAMEWORK_CPU_SEC = 0.000244;

/** Redis CPU per job (BRPOP fetch, stats, acknowledgement): single-threaded, on whichever host runs Redis. */
export const SIDEKIQ_REDIS_CPU_SEC_PER_JOB = 0.000027;
