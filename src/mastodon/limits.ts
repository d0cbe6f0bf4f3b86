/** Mastodon's size limits, shared by the model, the testbed and the fleet. */

/** ActivityPub::Activity::MAX_JSON_SIZE: inbox bodies above 1 MB are refused (413). */
export const MAX_ACTIVITY_JSON_BYTES = 1024 * 1024;

/** Request's cap on a fetched body (actors, collections, pages): 1 MB. */
export const MAX_FETCHED_BODY_BYTES = 1024 * 1024;

/** FeedManager::MAX_ITEMS: home feeds are Redis sorted sets capped at 800 entries. */
export const HOME_FEED_MAX_ITEMS = 800;
