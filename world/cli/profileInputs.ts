import type { Profile } from '../../src/profile/schema.js';
import type { FollowerDistribution } from '../seed/graph.js';

/** What the simulated world takes from a profile: the follow graph's shape, as plain numbers. */
export function followerDistributionOf(profile: Profile): FollowerDistribution {
  const dist = profile.graph.activeLocalFollowersPerPost;
  return { mean: dist.mean.value, p90: dist.p90.value };
}
