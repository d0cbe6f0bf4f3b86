/**
 * Mastodon's queues, job classes and web endpoint classes, as named in its
 * source (config/sidekiq.yml, app/workers). See ../shared/mastodon-facts.md.
 */

export const QUEUES = ['default', 'push', 'ingress', 'mailers', 'pull', 'scheduler'] as const;
export type QueueName = (typeof QUEUES)[number];

/** Weights from config/sidekiq.yml (pull and scheduler have no weight there: 1). */
export const DEFAULT_QUEUE_WEIGHTS: Record<QueueName, number> = {
  default: 8,
  push: 6,
  ingress: 4,
  mailers: 2,
  pull: 1,
  scheduler: 1,
};

export const JOB_CLASSES = {
  DistributionWorker: 'default',
  FeedInsertWorker: 'default',
  PushUpdateWorker: 'default',
  LocalNotificationWorker: 'default',
  PostProcessMediaWorker: 'default',
  'ActivityPub::DistributionWorker': 'push',
  'ActivityPub::DeliveryWorker': 'push',
  'Web::PushNotificationWorker': 'push',
  'ActivityPub::ProcessingWorker': 'ingress',
  'ActionMailer::MailDeliveryJob': 'mailers',
  LinkCrawlWorker: 'pull',
  ThreadResolveWorker: 'pull',
  RedownloadMediaWorker: 'pull',
  'Scheduler::*': 'scheduler',
} as const satisfies Record<string, QueueName>;
export type JobClass = keyof typeof JOB_CLASSES;
export const JOB_CLASS_NAMES = Object.keys(JOB_CLASSES) as JobClass[];

/**
 * Web (Puma) endpoint classes. `inbox` is a warm inbound activity (202 and an
 * ingress job); `inbox-cold-actor` is the extra synchronous WebFinger + actor
 * fetch done inside the request for a keyId never seen before.
 */
export const ENDPOINT_CLASSES = [
  'timelines/home',
  'timelines/public',
  'notifications',
  'statuses/create',
  'statuses/interact',
  'media/create',
  'inbox',
  'inbox-cold-actor',
] as const;
export type EndpointClass = (typeof ENDPOINT_CLASSES)[number];
