import type { Testbed } from '../context.js';

/** What FeedManager#filter_from_home needs to know of a status. */
export interface HomeCandidate {
  id: string;
  account_id: string;
  reblog_of_id: string | null;
  in_reply_to_id: string | null;
  in_reply_to_account_id: string | null;
}

/** FeedManager#build_crutches: the receiver's relations to everyone a batch of statuses involves. */
export interface Crutches {
  following: Set<string>;
  hidingReblogs: Set<string>;
  blocking: Set<string>;
  muting: Set<string>;
  blockedBy: Set<string>;
  domainBlocking: Set<string>;
  /** Mentioned accounts per status id. */
  activeMentions: Map<string, string[]>;
  /** Author and domain of each reblogged status. */
  reblogs: Map<string, { accountId: string; domain: string | null }>;
}

const ids = (rows: { id: string }[]) => new Set(rows.map((r) => r.id));

/**
 * build_crutches, one small query per relation as Mastodon runs them for
 * each FeedInsertWorker (and once per batch for merges and regeneration):
 * reblogged statuses' authors, active mentions, follows of reply targets,
 * follows hiding reblogs, blocks, mutes, blocked-by and domain blocks.
 */
export async function buildCrutches(
  tb: Testbed,
  receiverId: string,
  statuses: readonly HomeCandidate[],
): Promise<Crutches> {
  const q = async <T extends object>(sql: string, params: unknown[]) =>
    (await tb.db.query<T & object>(sql, params)).rows;
  const reblogIds = statuses.flatMap((s) => (s.reblog_of_id ? [s.reblog_of_id] : []));
  const reblogRows = reblogIds.length
    ? await q<{ id: string; account_id: string; domain: string | null }>(
        'SELECT s.id, s.account_id, a.domain FROM statuses s JOIN accounts a ON a.id = s.account_id WHERE s.id = ANY($1::bigint[])',
        [reblogIds],
      )
    : [];
  const reblogs = new Map(reblogRows.map((r) => [r.id, { accountId: r.account_id, domain: r.domain }]));
  const statusIds = [...statuses.map((s) => s.id), ...reblogIds];
  const mentionRows = await q<{ status_id: string; account_id: string }>(
    'SELECT status_id, account_id FROM mentions WHERE status_id = ANY($1::bigint[])',
    [statusIds],
  );
  const activeMentions = new Map<string, string[]>();
  for (const m of mentionRows)
    activeMentions.set(m.status_id, [...(activeMentions.get(m.status_id) ?? []), m.account_id]);

  const authors = statuses.map((s) => s.account_id);
  const reblogAuthors = [...reblogs.values()].map((r) => r.accountId);
  const involved = [...new Set([...authors, ...reblogAuthors, ...mentionRows.map((m) => m.account_id)])];
  const replyTargets = statuses.flatMap((s) => (s.in_reply_to_account_id ? [s.in_reply_to_account_id] : []));
  const reblogDomains = [...new Set([...reblogs.values()].flatMap((r) => (r.domain ? [r.domain] : [])))];
  return {
    following: ids(
      await q<{ id: string }>(
        'SELECT target_account_id AS id FROM follows WHERE account_id = $1 AND target_account_id = ANY($2::bigint[])',
        [receiverId, replyTargets],
      ),
    ),
    hidingReblogs: ids(
      await q<{ id: string }>(
        'SELECT target_account_id AS id FROM follows WHERE account_id = $1 AND target_account_id = ANY($2::bigint[]) AND NOT show_reblogs',
        [receiverId, authors],
      ),
    ),
    blocking: ids(
      await q<{ id: string }>(
        'SELECT target_account_id AS id FROM blocks WHERE account_id = $1 AND target_account_id = ANY($2::bigint[])',
        [receiverId, involved],
      ),
    ),
    muting: ids(
      await q<{ id: string }>(
        'SELECT target_account_id AS id FROM mutes WHERE account_id = $1 AND target_account_id = ANY($2::bigint[])',
        [receiverId, involved],
      ),
    ),
    blockedBy: ids(
      await q<{ id: string }>(
        'SELECT account_id AS id FROM blocks WHERE target_account_id = $1 AND account_id = ANY($2::bigint[])',
        [receiverId, [...authors, ...reblogAuthors]],
      ),
    ),
    domainBlocking: new Set(
      reblogDomains.length
        ? (
            await q<{ domain: string }>(
              'SELECT domain FROM account_domain_blocks WHERE account_id = $1 AND domain = ANY($2::text[])',
              [receiverId, reblogDomains],
            )
          ).map((r) => r.domain)
        : [],
    ),
    activeMentions,
    reblogs,
  };
}

/** FeedManager#filter_from_home: true when the status must stay out of the receiver's home feed. */
export function filterFromHome(s: HomeCandidate, receiverId: string, c: Crutches): boolean {
  if (receiverId === s.account_id) return false;
  if (s.in_reply_to_id !== null && s.in_reply_to_account_id === null) return true;
  const reblog = s.reblog_of_id ? c.reblogs.get(s.reblog_of_id) : undefined;
  const checkForBlocks = [...(c.activeMentions.get(s.id) ?? []), s.account_id];
  if (reblog) checkForBlocks.push(reblog.accountId, ...(c.activeMentions.get(s.reblog_of_id!) ?? []));
  if (checkForBlocks.some((id) => c.blocking.has(id) || c.muting.has(id))) return true;
  if (c.blockedBy.has(s.account_id)) return true;
  if (s.in_reply_to_id !== null && s.in_reply_to_account_id !== null) {
    // a reply stays out unless the receiver follows its target, it answers the receiver, or it is a
    // self-reply
    return (
      !c.following.has(s.in_reply_to_account_id) &&
      s.in_reply_to_account_id !== receiverId &&
      s.in_reply_to_account_id !== s.account_id
    );
  }
  if (reblog)
    return (
      c.hidingReblogs.has(s.account_id) ||
      c.blockedBy.has(reblog.accountId) ||
      (reblog.domain !== null && c.domainBlocking.has(reblog.domain))
    );
  return false;
}
