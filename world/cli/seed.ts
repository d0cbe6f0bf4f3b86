import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { checkStagingSeedRequest } from '../seed/request.js';

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
      const request = { accounts: args.accounts, prefix: args.prefix, posts: args.posts, seed: args.seed };
      checkStagingSeedRequest(request);
      // Loaded here: other commands should not pay for faker.
      const { loadProfile } = await import('../../src/profile/load.js');
      const { buildStagingSeed, stagingSeedInstructions } = await import('../seed/staging.js');
      const { emit } = await import('../../src/cli/output.js');
      const { followerDistributionOf } = await import('./profileInputs.js');

      const profile = loadProfile(args.profile);
      const seed = buildStagingSeed(
        request,
        {
          name: profile.name,
          followers: followerDistributionOf(profile),
          linkFraction: profile.activity.linkFraction.value,
        },
        new Date().toISOString(),
      );
      emit(seed.seedRb, args.out, 'seed.rb');
      emit(seed.contentJson, args.out, 'content.json');
      const dir = resolve(args.out);
      process.stdout.write(
        stagingSeedInstructions(dir, args.accounts, seed.follows, args.prefix, seed.posts),
      );
    },
  );
}
