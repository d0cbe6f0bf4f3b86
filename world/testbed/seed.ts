import { type FollowerDistribution, followGraph } from '../seed/graph.js';
import { createNamedAccounts, followMany, reissueTokens } from './accounts.js';
import type { Testbed } from './context.js';

export interface SeededToken {
  username: string;
  accountId: string;
  token: string;
}

export interface Seeded {
  /** user1..userN in order, each with a token issued by this seeding. */
  tokens: SeededToken[];
  /** Accounts this seeding created (the others existed from an earlier start and were reused). */
  created: number;
  /** Follows of the graph (all exist now; those of an earlier start are kept). */
  follows: number;
}

/**
 * Local accounts user1..userN with tokens and the follow graph of world/seed/graph.ts. On a database an
 * earlier start seeded, the existing accounts are reused (with fresh tokens: the old ones are not
 * stored anywhere to read back) and only the missing ones created, so a restart tops up instead of failing.
 */
export async function seedTestbed(
  tb: Testbed,
  dist: FollowerDistribution,
  accounts: number,
  seed: number,
): Promise<Seeded> {
  const usernames = Array.from({ length: accounts }, (_, i) => `user${i + 1}`);
  const reused = await reissueTokens(tb, usernames);
  const existing = new Set(reused.map((a) => a.username));
  const created = await createNamedAccounts(
    tb,
    usernames.filter((u) => !existing.has(u)),
  );
  const byName = new Map([...reused, ...created].map((a) => [a.username, a]));
  const all = usernames.map((u) => byName.get(u)!);
  const pairs: [string, string][] = [];
  followGraph(dist, all.length, seed).forEach((followers, i) => {
    for (const j of followers) pairs.push([String(all[j]!.accountId), String(all[i]!.accountId)]);
  });
  await followMany(tb, pairs);
  return {
    tokens: all.map((c) => ({ username: c.username, accountId: String(c.accountId), token: c.token })),
    created: created.length,
    follows: pairs.length,
  };
}
