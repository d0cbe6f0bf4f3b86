/**
 * The testbed's ActivityPub side: federation routes and job classes.
 *
 * Modules:
 *  - signatures.ts  draft-cavage HTTP Signatures: signRequest / verifyRequest (no fastify, no DB)
 *  - http.ts        the one outgoing HTTP client (resolve rules, loopback only, timeouts, 1 MB cap)
 *  - uris.ts        local URIs (TagManager)
 *  - accounts.ts    local accounts, instance actor, remote actor fetching (key, WebFinger,
 * ProcessAccountService)
 *  - serialize.ts   Note/Create/Announce/Accept/actor documents
 *  - routes.ts      WebFinger, host-meta, actors, collections, statuses, inboxes
 *  - process.ts     ActivityPub::ProcessingWorker and the Activity handlers, ThreadResolveWorker
 *  - delivery.ts    ActivityPub::DistributionWorker, ActivityPub::DeliveryWorker (+ circuit breaker), relays
 *  - linkCrawl.ts   LinkCrawlWorker (OpenGraph preview cards)
 *  - media.ts       remote media cache, RedownloadMediaWorker, Scheduler::VacuumScheduler
 */
import type { FastifyInstance } from 'fastify';
import type { Testbed } from '../context.js';
import type { TestbedJobClass, TestbedWorkers } from '../jobClasses.js';
import { ResolveError, resolveAccount } from './accounts.js';
import { DELIVERY_WORKER, DISTRIBUTION_WORKER, deliveryWorker, distributionWorker } from './delivery.js';
import { HttpClientError } from './http.js';
import { LINK_CRAWL_WORKER, linkCrawlWorker } from './linkCrawl.js';
import { redownloadMediaWorker, vacuumScheduler } from './media.js';
import {
  PROCESSING_WORKER,
  REDOWNLOAD_MEDIA_WORKER,
  THREAD_RESOLVE_WORKER,
  processingWorker,
  threadResolveWorker,
} from './process.js';
import { registerRoutes } from './routes.js';

export const VACUUM_SCHEDULER = 'Scheduler::VacuumScheduler' satisfies TestbedJobClass;

/** Routes: WebFinger, host-meta, actors, collections, statuses, inboxes. */
export async function registerActivityPub(app: FastifyInstance, tb: Testbed): Promise<void> {
  await registerRoutes(app, tb);
}

/**
 * ResolveAccountService for ProcessMentionsService: an unresolvable account (no WebFinger, refused host,
 * bad actor) is no mention.
 */
export function accountResolver(tb: Testbed): NonNullable<Testbed['resolveAccount']> {
  return async (username, domain) => {
    try {
      return (await resolveAccount(tb, username, domain)).id;
    } catch (err) {
      if (err instanceof ResolveError || err instanceof HttpClientError) return null;
      throw err;
    }
  };
}

/** Job classes, by Mastodon's names, with Mastodon's queues and retry counts. */
export function federationWorkers(tb: Testbed): TestbedWorkers {
  return {
    [PROCESSING_WORKER]: processingWorker(tb),
    [DISTRIBUTION_WORKER]: distributionWorker(tb),
    [DELIVERY_WORKER]: deliveryWorker(tb),
    [LINK_CRAWL_WORKER]: linkCrawlWorker(tb),
    [REDOWNLOAD_MEDIA_WORKER]: redownloadMediaWorker(tb),
    [THREAD_RESOLVE_WORKER]: threadResolveWorker(tb),
    [VACUUM_SCHEDULER]: vacuumScheduler(tb),
  };
}
