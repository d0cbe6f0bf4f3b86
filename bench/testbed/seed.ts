/** Part 2's data: local accounts with tokens, follows among them, statuses, and filled home feeds. */
import { seededRng } from '../../src/shared/random.js';
import { createLocalAccounts, followMany, type LocalAccount } from '../../world/testbed/accounts.js';
import { feedKey } from '../../world/testbed/api/feeds.js';
import type { Testbed } from '../../world/testbed/context.js';
import { FOLLOWS_PER_ACCOUNT, LOCAL_ACCOUNTS, STATUSES_PER_ACCOUNT } from './parameters.js';

export interface Seeded {
  locals: LocalAccount[];
  statuses: number;
  feedEntries: number;
}

/** FOLLOWS_PER_ACCOUNT random others for each account (seeded): who follows whom, as account ids. */
function chooseFollows(locals: LocalAccount[]): Map<string, Set<string>> {
  const rng = seededRng(20261127);
  const following = new Map<string, Set<string>>();
  for (let i = 0; i < locals.length; i++) {
    const chosen = new Set<number>();
    for (let tries = 0; chosen.size < FOLLOWS_PER_ACCOUNT && tries < 10 * FOLLOWS_PER_ACCOUNT; tries++) {
      const j = Math.floor(rng.next() * locals.length);
      if (j !== i) chosen.add(j);
    }
    following.set(locals[i]!.accountId, new Set([...chosen].map((j) => locals[j]!.accountId)));
  }
  return following;
}

/** STATUSES_PER_ACCOUNT public statuses per account in one INSERT: their ids by author. */
async function insertStatuses(tb: Testbed, ids: string[]): Promise<Map<string, string[]>> {
  const { rows } = await tb.db.query<{ id: string; account_id: string }>(
    `WITH src AS (
       SELECT timestamp_id() AS id, a.id AS account_id, a.username, g.n
       FROM accounts a CROSS JOIN generate_series(1, $2::int) AS g(n) WHERE a.id = ANY($1::bigint[])
     )
     INSERT INTO statuses (id, uri, url, text, visibility, account_id, local)
     SELECT id, $3 || '/users/' || username || '/statuses/' || id, $3 || '/@' || username || '/' || id,
            '<p>Post ' || n || ' by ' || username || ': a few words about the weather, the garden and the queue latency of the day.</p>',
            0, account_id, true
     FROM src
     RETURNING id, account_id`,
    [ids, STATUSES_PER_ACCOUNT, tb.baseUrl],
  );
  await tb.db.query('UPDATE accounts SET statuses_count = $2 WHERE id = ANY($1::bigint[])', [
    ids,
    STATUSES_PER_ACCOUNT,
  ]);
  const byAuthor = new Map<string, string[]>();
  for (const r of rows) byAuthor.set(r.account_id, [...(byAuthor.get(r.account_id) ?? []), r.id]);
  return byAuthor;
}

/** Each home feed gets its own and its followees' statuses (ZADD of real ids): the entries written. */
async function fillHomeFeeds(
  tb: Testbed,
  following: Map<string, Set<string>>,
  byAuthor: Map<string, string[]>,
): Promise<number> {
  let feedEntries = 0;
  const pipe = tb.redis.pipeline();
  for (const [me, followees] of following) {
    const args: string[] = [];
    for (const a of [me, ...followees]) for (const id of byAuthor.get(a) ?? []) args.push(id, id);
    if (args.length === 0) continue;
    feedEntries += args.length / 2;
    pipe.zadd(feedKey(me), ...args);
  }
  await pipe.exec();
  return feedEntries;
}

export async function seedLocal(tb: Testbed): Promise<Seeded> {
  const locals = await createLocalAccounts(tb, LOCAL_ACCOUNTS, 'reader');
  const following = chooseFollows(locals);
  await followMany(
    tb,
    [...following].flatMap(([me, followees]) => [...followees].map((f): [string, string] => [me, f])),
  );
  const byAuthor = await insertStatuses(
    tb,
    locals.map((l) => l.accountId),
  );
  const statuses = [...byAuthor.values()].reduce((n, ids) => n + ids.length, 0);
  return { locals, statuses, feedEntries: await fillHomeFeeds(tb, following, byAuthor) };
}
