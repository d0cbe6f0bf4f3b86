/** What `fedicap seed` is asked for, checked against Mastodon's rules and the seed's own bounds. */
import { InputError } from '../../src/shared/errors.js';

/** Mastodon's Account::USERNAME_RE local part, and its 30-character limit. */
const USERNAME_RE = /^[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?$/i;
const MAX_USERNAME_LENGTH = 30;
export const MAX_SEED_ACCOUNTS = 200_000;
export const MAX_SEED_POSTS = 100_000;

export interface StagingSeedRequest {
  /** Local accounts PREFIX1 … PREFIXN, each with a token. */
  accounts: number;
  prefix: string;
  /** Posts in content.json. */
  posts: number;
  /** Seed of the follow graph and the corpus. */
  seed: number;
}

/** Throws InputError naming the flag at the first value out of bounds. */
export function checkStagingSeedRequest(r: StagingSeedRequest): void {
  const n = r.accounts;
  if (!Number.isInteger(n) || n < 1)
    throw new InputError(`--accounts must be a positive integer, got ${String(r.accounts)}`);
  if (n > MAX_SEED_ACCOUNTS)
    throw new InputError(
      `--accounts ${n}: at most ${MAX_SEED_ACCOUNTS} (the follow graph is data inside seed.rb)`,
    );
  if (!Number.isInteger(r.posts) || r.posts < 1 || r.posts > MAX_SEED_POSTS)
    throw new InputError(`--posts must be an integer from 1 to ${MAX_SEED_POSTS}, got ${String(r.posts)}`);
  if (!Number.isInteger(r.seed)) throw new InputError(`--seed must be an integer, got ${String(r.seed)}`);
  const longest = `${r.prefix}${n}`;
  if (!USERNAME_RE.test(longest) || longest.length > MAX_USERNAME_LENGTH) {
    throw new InputError(
      `--prefix "${r.prefix}": usernames like "${longest}" must be letters, digits and _ (at most 30 characters), as Mastodon requires`,
    );
  }
}
