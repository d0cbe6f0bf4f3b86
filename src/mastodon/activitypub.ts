/** ActivityStreams and ActivityPub constants Mastodon uses (app/lib/activitypub/tag_manager.rb). */

/**
 * The public collection: an activity addressed to it is public
 * (ActivityPub::TagManager::COLLECTIONS[:public]).
 */
export const PUBLIC_COLLECTION = 'https://www.w3.org/ns/activitystreams#Public';
