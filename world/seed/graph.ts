/**
 * The local follow graph a staging instance (fedicap seed) and the testbed
 * (fedicap testbed --seed-accounts) are seeded with: each account's number of
 * local followers is lognormal with the given mean and P90 (capped at the
 * other accounts), followers chosen uniformly. Seeded: same seed, same graph.
 */
import { seededRng, standardNormal } from '../../src/shared/random.js';

/** Local followers per account: the profile's graph.activeLocalFollowersPerPost. */
export interface FollowerDistribution {
  mean: number;
  p90: number;
}

/**
 * Lognormal parameters from a mean and a 90th percentile:
 * ln p90 − ln mean = 1.2816σ − σ²/2 (the smaller root), μ = ln mean − σ²/2.
 */
export function lognormalFromMeanP90(mean: number, p90: number): { mu: number; sigma: number } {
  if (mean <= 0) return { mu: -Infinity, sigma: 0 };
  const z90 = 1.2815515655446004;
  const gap = Math.log(Math.max(p90, mean)) - Math.log(mean);
  const disc = z90 * z90 - 2 * gap;
  const sigma = disc > 0 ? z90 - Math.sqrt(disc) : z90;
  return { mu: Math.log(mean) - (sigma * sigma) / 2, sigma };
}

/**
 * FOLLOWERS[i]: the indexes (0-based, ascending) of the accounts that follow
 * account i, for `accounts` accounts.
 */
export function followGraph(dist: FollowerDistribution, accounts: number, seed: number): number[][] {
  const rng = seededRng(seed);
  const { mu, sigma } = lognormalFromMeanP90(dist.mean, dist.p90);
  const followers: number[][] = [];
  for (let i = 0; i < accounts; i++) {
    const want = Math.min(accounts - 1, Math.max(0, Math.round(Math.exp(mu + sigma * standardNormal(rng)))));
    const chosen = new Set<number>();
    // Bounded: at most 4 × want + 10 draws to find distinct followers.
    for (let tries = 0; chosen.size < want && tries < 4 * want + 10; tries++) {
      const j = Math.floor(rng.next() * accounts);
      if (j !== i) chosen.add(j);
    }
    followers.push([...chosen].sort((a, b) => a - b));
  }
  return followers;
}

export function edgeCount(followers: readonly (readonly number[])[]): number {
  return followers.reduce((n, f) => n + f.length, 0);
}
