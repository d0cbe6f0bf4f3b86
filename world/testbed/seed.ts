import { type FollowerDistribution, followGraph } from '../seed/graph.js';
import { createLocalAccounts, followMany } from './accounts.js';
import type { Testbed } from './context.js';

export interface SeededToken {
  username: string;
  accountId: string;
  token: string;
}

/** Local accounts with tokens and the follow graph of world/seed/graph.ts. */
export async function seedTestbed(
  tb: Testbed,
  dist: FollowerDistribution,
  accounts: number,
  seed: number,
): Promise<{ tokens: SeededToken[]; follows: number }> {
  const created = await createLocalAccounts(tb, accounts, 'user');
  const pairs: [string, string][] = [];
  followGraph(dist, created.length, seed).forEach((followers, i) => {
    for (const j of followers) pairs.push([String(created[j]!.accountId), String(created[i]!.accountId)]);
  });
  await followMany(tb, pairs);
  return {
    tokens: created.map((c) => ({ username: c.username, accountId: String(c.accountId), token: c.token })),
    follows: pairs.length,
  };
}
