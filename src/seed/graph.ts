/**
 * The local follow graph a staging instance is seeded with, drawn from the
 * profile as the testbed's seeding draws it (testbed/seed.ts): each
 * account's number of local followers is lognormal with the profile's mean
 * and P90 of active local followers per post (capped at the other
 * accounts), followers chosen uniformly. Seeded: same seed, same graph.
 */
import { seededRng, type Rng } from '../model/random.js';
import type { Profile } from '../profile/schema.js';
import { lognormalFromMeanP90 } from '../../testbed/seed.js';

function standardNormal(rng: Rng): number {
  // Box–Muller.
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * FOLLOWERS[i]: the indexes (0-based, ascending) of the accounts that follow
 * account i, for `accounts` accounts.
 */
export function followGraph(profile: Profile, accounts: number, seed: number): number[][] {
  const rng = seededRng(seed);
  const dist = profile.graph.activeLocalFollowersPerPost;
  const { mu, sigma } = lognormalFromMeanP90(dist.mean.value, dist.p90.value);
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
