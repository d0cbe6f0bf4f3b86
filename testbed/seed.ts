import type { Profile } from '../src/profile/schema.js';
import { seededRng, type Rng } from '../src/model/random.js';
import { createLocalAccounts, followMany } from './accounts.js';
import type { Testbed } from './context.js';

export interface SeededToken {
  username: string;
  accountId: string;
  token: string;
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

function standardNormal(rng: Rng): number {
  // Box–Muller.
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Local accounts with tokens and a follow graph drawn from the profile: each
 * account's number of local followers is lognormal with the profile's mean
 * and P90 of active local followers per post (capped at the other accounts),
 * followers chosen uniformly. Seeded: the same seed gives the same graph.
 */
export async function seedTestbed(
  tb: Testbed,
  profile: Profile,
  accounts: number,
  seed: number,
): Promise<{ tokens: SeededToken[]; follows: number }> {
  const created = await createLocalAccounts(tb, accounts, 'user');
  const rng = seededRng(seed);
  const dist = profile.graph.activeLocalFollowersPerPost;
  const { mu, sigma } = lognormalFromMeanP90(dist.mean.value, dist.p90.value);
  const pairs: [string, string][] = [];
  for (let i = 0; i < created.length; i++) {
    const target = created[i]!;
    const want = Math.min(created.length - 1, Math.round(Math.exp(mu + sigma * standardNormal(rng))));
    const chosen = new Set<number>();
    // Bounded: at most 4 × want draws to find distinct followers.
    for (let tries = 0; chosen.size < want && tries < 4 * want + 10; tries++) {
      const j = Math.floor(rng.next() * created.length);
      if (j !== i) chosen.add(j);
    }
    for (const j of chosen) pairs.push([String(created[j]!.accountId), String(target.accountId)]);
  }
  await followMany(tb, pairs);
  return {
    tokens: created.map((c) => ({ username: c.username, accountId: String(c.accountId), token: c.token })),
    follows: pairs.length,
  };
}
