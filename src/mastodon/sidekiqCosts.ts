/**
 * Sidekiq's own costs per job, measured on real Sidekiq (Debian's ruby-sidekiq 6.4.1, Ruby 3.1,
 * Redis 7.0 on the same 2-core host) by `npm run bench:sidekiq`: a drain of no-op jobs through
 * one process `-c 5`, the process's and Redis's CPU time before and after (2026-12-03: Sidekiq
 * 0.19–0.27 ms, Redis 0.020–0.032 ms per job over two runs). Machine-dependent: re-measure on yours.
 */

/** Sidekiq's own Ruby CPU per job (fetch, JSON, middleware, acknowledgement): under the interpreter lock. */
export const SIDEKIQ_FRAMEWORK_CPU_SEC = 0.00023;

/** Redis CPU per job (BRPOP fetch, stats, acknowledgement): single-threaded, on whichever host runs Redis. */
export const SIDEKIQ_REDIS_CPU_SEC_PER_JOB = 0.000026;
