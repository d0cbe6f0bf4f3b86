/**
 * The two files `fedicap seed` writes for a staging Mastodon: seed.rb
 * (accounts, tokens and the follow graph, made on the staging host by
 * `bin/rails runner`) and content.json (the scenarios' corpus), and the
 * steps to use them. No token is ever made or printed here.
 */
import { generateCorpus } from './corpus.js';
import { edgeCount, type FollowerDistribution, followGraph } from './graph.js';
import { seedScript } from './rails.js';
import type { StagingSeedRequest } from './request.js';

/** What the seed takes from the instance profile. */
export interface StagingSeedProfile {
  name: string;
  followers: FollowerDistribution;
  /** Share of posts carrying a link. */
  linkFraction: number;
}

export interface StagingSeed {
  seedRb: string;
  contentJson: string;
  follows: number;
  posts: number;
}

export function buildStagingSeed(
  r: StagingSeedRequest,
  profile: StagingSeedProfile,
  generatedAt: string,
): StagingSeed {
  const followers = followGraph(profile.followers, r.accounts, r.seed);
  const seedRb = seedScript({
    accounts: r.accounts,
    prefix: r.prefix,
    followers,
    profileName: profile.name,
    generatedAt,
    seed: r.seed,
  });
  const corpus = generateCorpus(r.posts, r.seed, profile.linkFraction);
  return {
    seedRb,
    contentJson: `${JSON.stringify(corpus, null, 2)}\n`,
    follows: edgeCount(followers),
    posts: corpus.length,
  };
}

/** README-ready next steps. */
export function stagingSeedInstructions(
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
