import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { InputError } from '../../src/shared/errors.js';

/** Mastodon's Account::USERNAME_RE local part, and its 30-character limit. */
const USERNAME_RE = /^[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?$/i;
export const MAX_SEED_ACCOUNTS = 200_000;
export const MAX_SEED_POSTS = 100_000;

/**
 * `fedicap seed --profile FILE --accounts N [--out DIR]`: write seed.rb
 * (accounts, tokens and the follow graph, made on the staging host by
 * `bin/rails runner`) and content.json (the scenarios' corpus) into DIR.
 * No token is ever made or printed here.
 */
export function seedCommand(y: Argv) {
  return y.command(
    'seed',
    'Write seed.rb (local accounts, tokens and a follow graph for a staging Mastodon, run with bin/rails runner) and content.json (posts for the scenarios)',
    (c) =>
      c
        .option('profile', {
          type: 'string',
          describe:
            'Instance profile whose follower distribution shapes the follow graph (default: the embedded one)',
        })
        .option('accounts', {
          type: 'number',
          demandOption: true,
          describe: 'Local accounts to create (each gets a token)',
        })
        .option('out', {
          type: 'string',
          default: 'staging-seed',
          describe: 'Directory for seed.rb and content.json',
        })
        .option('prefix', { type: 'string', default: 'fedicap', describe: 'Usernames are PREFIX1 … PREFIXN' })
        .option('posts', { type: 'number', default: 300, describe: 'Posts in content.json' })
        .option('seed', { type: 'number', default: 1, describe: 'Seed of the follow graph and the corpus' }),
    async (args) => {
      const n = args.accounts;
      if (!Number.isInteger(n) || n < 1)
        throw new InputError(`--accounts must be a positive integer, got ${String(args.accounts)}`);
      if (n > MAX_SEED_ACCOUNTS)
        throw new InputError(
          `--accounts ${n}: at most ${MAX_SEED_ACCOUNTS} (the follow graph is data inside seed.rb)`,
        );
      if (!Number.isInteger(args.posts) || args.posts < 1 || args.posts > MAX_SEED_POSTS)
        throw new InputError(
          `--posts must be an integer from 1 to ${MAX_SEED_POSTS}, got ${String(args.posts)}`,
        );
      if (!Number.isInteger(args.seed))
        throw new InputError(`--seed must be an integer, got ${String(args.seed)}`);
      const longest = `${args.prefix}${n}`;
      if (!USERNAME_RE.test(longest) || longest.length > 30) {
        throw new InputError(
          `--prefix "${args.prefix}": usernames like "${longest}" must be letters, digits and _ (at most 30 characters), as Mastodon requires`,
        );
      }
      // Loaded here: other commands should not pay for faker.
      const { loadProfile } = await import('../../src/profile/load.js');
      const { followGraph, edgeCount } = await import('../seed/graph.js');
      const { generateCorpus } = await import('../seed/corpus.js');
      const { seedScript } = await import('../seed/rails.js');
      const { emit } = await import('../../src/cli/output.js');
      const { followerDistributionOf } = await import('./profileInputs.js');

      const profile = loadProfile(args.profile);
      const followers = followGraph(followerDistributionOf(profile), n, args.seed);
      const script = seedScript({
        accounts: n,
        prefix: args.prefix,
        followers,
        profileName: profile.name,
        generatedAt: new Date().toISOString(),
        seed: args.seed,
      });
      const corpus = generateCorpus(args.posts, args.seed, profile.activity.linkFraction.value);
      emit(script, args.out, 'seed.rb');
      emit(`${JSON.stringify(corpus, null, 2)}\n`, args.out, 'content.json');
      const dir = resolve(args.out);
      process.stdout.write(instructions(dir, n, edgeCount(followers), args.prefix, corpus.length));
    },
  );
}

/** README-ready next steps. */
export function instructions(
  dir: string,
  accounts: number,
  follows: number,
  prefix: string,
  posts: number,
): string {
  return `Wrote ${dir}/seed.rb (${accounts} accounts ${prefix}1…${prefix}${accounts}, ${follows} follows) and ${dir}/content.json (${posts} posts).

On the STAGING host (never production), in Mastodon's directory, as the mastodon user:

  scp ${dir}/seed.rb staging:/tmp/fedicap-seed.rb
  FEDICAP_CONFIRM_DOMAIN=<LOCAL_DOMAIN of staging> FEDICAP_TOKENS_OUT=/home/mastodon/fedicap-tokens.json \\
    RAILS_ENV=production bin/rails runner /tmp/fedicap-seed.rb

Then copy the tokens file (mode 0600) to the load generator, keep it out of version control, and run:

  fedicap run scenarios/mixed.ts --target https://<staging> --confirm-target <staging> \\
    -e TOKENS=/abs/path/fedicap-tokens.json -e CONTENT=${dir}/content.json \\
    -e FLEET=/abs/path/fleet.json -e PROFILE=/abs/path/profile.json

Rate limits: 300 requests / 5 min per token. Use many accounts, or the staging-only initializer
described in the README ("Preparing a real staging instance").
`;
}
