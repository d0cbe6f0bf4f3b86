import { describe, expect, it } from 'vitest';
import { activeWithinDays, workloadAt, type Workload } from '../../../src/model/workload.js';
import { modelProfile } from '../../support/helpers.js';

const DAY = 86_400;
const rateOf = (w: Workload, jobClass: string) =>
  w.jobs.find((j) => j.jobClass === jobClass)!.ratePerSec * DAY;
const webOf = (w: Workload, endpoint: string) => w.web.find((x) => x.endpoint === endpoint)!.ratePerSec * DAY;

/** A small instance with round numbers, so every rate can be checked by hand. */
const small = () =>
  modelProfile((p) => {
    p.accounts.dailyActive = 100;
    p.accounts.monthlyActive = 300;
    Object.assign(p.activity, {
      postsPerDay: 2,
      repliesPerDay: 1,
      boostsPerDay: 1,
      favouritesPerDay: 4,
      followsPerDay: 0,
      localTargetFraction: 0.5,
      publicFraction: 0.5,
      linkFraction: 0.1,
    });
    p.activity.mediaPerPost = { image: 0.5, video: 0.1 };
    p.graph.activeLocalFollowersPerPost.mean = 10;
    p.graph.remoteInboxesPerPost.mean = 50;
    Object.assign(p.graph.inbound, {
      remoteAccountsFollowed: 1000,
      postsPerRemoteAccountPerDay: 2,
      activeLocalFollowersPerRemotePost: 3,
      interactionsPerRemotePost: 0.5,
      mediaFraction: 0.25,
      attachmentsPerMediaPost: 2,
      linkFraction: 0.2,
      replyFetchFraction: 0.1,
      coldActorFraction: 0.1,
      mediaDownloadFailureFraction: 0.05,
    });
    p.growth.monthlyActiveUserGrowth = 0.1;
    p.relays = [];
  });

describe('workload: Mastodon fan-out structure', () => {
  it('local posts: DistributionWorker per status, FeedInsertWorker per active local follower, DeliveryWorker per inbox', () => {
    const w = workloadAt(small(), 0);
    // 100 DAU × (2 posts + 1 reply + 1 boost) = 400 local statuses; 1000 × 2 = 2000 inbound creates.
    expect(rateOf(w, 'DistributionWorker')).toBeCloseTo(400 + 2000, 6);
    expect(rateOf(w, 'ActivityPub::DistributionWorker')).toBeCloseTo(400, 6);
    // 400 × 10 local followers + 2000 inbound × 3 local followers.
    expect(rateOf(w, 'FeedInsertWorker')).toBeCloseTo(4000 + 6000, 6);
    // 400 × 50 inboxes + half of 600 interactions (replies, boosts, favourites) aimed at remote accounts.
    expect(rateOf(w, 'ActivityPub::DeliveryWorker')).toBeCloseTo(20_000 + 300, 6);
  });

  it("video uploads: one PostProcessMediaWorker each, carrying ffmpeg's CPU as child-process CPU; no other job has any", () => {
    const profile = small();
    profile.serviceDemands.videoTranscodeCpuSec = 12;
    const w = workloadAt(profile, 0);
    // 100 DAU × (2 posts + 1 reply) × 0.1 videos per post
    expect(rateOf(w, 'PostProcessMediaWorker')).toBeCloseTo(30, 6);
    for (const j of w.jobs)
      expect([j.jobClass, j.childCpuSec]).toEqual([
        j.jobClass,
        j.jobClass === 'PostProcessMediaWorker' ? 12 : 0,
      ]);
  });

  it('inbound: one ProcessingWorker per activity, pull work for links, threads and failed downloads', () => {
    const w = workloadAt(small(), 0);
    expect(rateOf(w, 'ActivityPub::ProcessingWorker')).toBeCloseTo(2000 + 1000, 6);
    expect(webOf(w, 'inbox')).toBeCloseTo(3000, 6);
    expect(webOf(w, 'inbox-cold-actor')).toBeCloseTo(300, 6);
    // 300 local posts × 0.1 + 2000 × 0.2
    expect(rateOf(w, 'LinkCrawlWorker')).toBeCloseTo(30 + 400, 6);
    expect(rateOf(w, 'ThreadResolveWorker')).toBeCloseTo(200, 6);
    // 2000 × 0.25 × 2 attachments = 1000 downloads, 5 % fail
    expect(rateOf(w, 'RedownloadMediaWorker')).toBeCloseTo(50, 6);
    // Synchronous downloads lengthen the ingress job: 1000 downloads over 3000 activities.
    const p = small();
    const processing = w.jobs.find((j) => j.jobClass === 'ActivityPub::ProcessingWorker')!;
    expect(processing.waitSec).toBeCloseTo(
      p.serviceDemands.jobs['ActivityPub::ProcessingWorker'].waitSec +
        (1000 / 3000) * p.serviceDemands.remoteMediaDownloadWaitSec,
      9,
    );
  });

  it('relays add ingress, pull and media from their start month, and receive public posts', () => {
    const p = small();
    p.relays = [
      {
        name: 'r',
        postsPerHour: 100,
        mediaFraction: 0.5,
        linkFraction: 0,
        announceFraction: 0,
        coldActorFraction: 0.5,
        startMonth: 2,
      },
    ];
    const before = workloadAt(p, 1);
    const after = workloadAt(p, 2);
    const growth = 1.1 ** 2 / 1.1 ** 1;
    expect(after.activeRelays).toEqual(['r']);
    expect(
      rateOf(after, 'ActivityPub::ProcessingWorker') -
        rateOf(before, 'ActivityPub::ProcessingWorker') * growth,
    ).toBeCloseTo(2400, 3);
    // Public local statuses (half of 400 × 1.21) also go to the relay's inbox.
    const local = 400 * 1.21;
    expect(rateOf(after, 'ActivityPub::DeliveryWorker')).toBeCloseTo(
      local * 50 + local * 0.5 + 600 * 1.21 * 0.5,
      3,
    );
    expect(after.perDay.remoteMediaBytes).toBeGreaterThan(before.perDay.remoteMediaBytes * growth);
  });

  it('grows active users and followed remote accounts by the monthly rate', () => {
    const p = small();
    const w12 = workloadAt(p, 12);
    expect(w12.dailyActive).toBeCloseTo(100 * 1.1 ** 12, 6);
    expect(rateOf(w12, 'ActivityPub::ProcessingWorker')).toBeCloseTo(3000 * 1.1 ** 12, 3);
  });

  it('feed holders follow USER_ACTIVE_DAYS between daily and monthly active users', () => {
    expect(activeWithinDays(100, 300, 1)).toBe(100);
    expect(activeWithinDays(100, 300, 30)).toBe(300);
    const week = activeWithinDays(100, 300, 7);
    expect(week).toBeGreaterThan(100);
    expect(week).toBeLessThan(300);
  });
});
