/** Mastodon's size limits for ActivityPub traffic, shared by the testbed and the fleet. */

/** ActivityPub::Activity::MAX_JSON_SIZE: inbox bodies above 1 MB are refused (413). */
export const MAX_ACTIVITY_JSON_BYTES = 1024 * 1024;

/** Request's cap on a fetched body (actors, collections, pages): 1 MB. */
export const MAX_FETCHED_BODY_BYTES = 1024 * 1024;
