/** The ActivityPub documents the simulated remote actors serve and send. */
import { PUBLIC_COLLECTION } from '../../../src/mastodon/activitypub.js';
import { type ActorRef, actorUri } from '../protocol.js';

const AS = 'https://www.w3.org/ns/activitystreams';

export function actorDocument(a: ActorRef, publicKeyPem: string): Record<string, unknown> {
  const uri = actorUri(a);
  return {
    '@context': [AS, 'https://w3id.org/security/v1'],
    id: uri,
    type: 'Person',
    preferredUsername: a.user,
    name: `Remote ${a.user}`,
    summary: '<p>A simulated remote account.</p>',
    url: `https://${a.host}/@${a.user}`,
    inbox: `${uri}/inbox`,
    outbox: `${uri}/outbox`,
    followers: `${uri}/followers`,
    following: `${uri}/following`,
    endpoints: { sharedInbox: `https://${a.host}/inbox` },
    icon: { type: 'Image', mediaType: 'image/jpeg', url: `${uri}/avatar.jpg` },
    image: { type: 'Image', mediaType: 'image/jpeg', url: `${uri}/header.jpg` },
    publicKey: { id: `${uri}#main-key`, owner: uri, publicKeyPem },
  };
}

export function webfingerDocument(a: ActorRef): Record<string, unknown> {
  return {
    subject: `acct:${a.user}@${a.host}`,
    links: [{ rel: 'self', type: 'application/activity+json', href: actorUri(a) }],
  };
}

export function collectionDocument(a: ActorRef, name: string): Record<string, unknown> {
  return { '@context': AS, id: `${actorUri(a)}/${name}`, type: 'OrderedCollection', totalItems: 42 };
}

/** A public Create(Note) from `a`, as Mastodon would send it. */
export function createActivity(a: ActorRef, noteId: string, publishedIso: string): string {
  const uri = actorUri(a);
  const id = `${uri}/statuses/${noteId}`;
  const to = [PUBLIC_COLLECTION];
  const cc = [`${uri}/followers`];
  return JSON.stringify({
    '@context': [AS, { sensitive: 'as:sensitive' }],
    id: `${id}/activity`,
    type: 'Create',
    actor: uri,
    published: publishedIso,
    to,
    cc,
    object: {
      id,
      type: 'Note',
      summary: null,
      inReplyTo: null,
      published: publishedIso,
      url: `https://${a.host}/@${a.user}/${noteId}`,
      attributedTo: uri,
      to,
      cc,
      sensitive: false,
      content: `<p>Status ${noteId} from ${a.user}: capacity planning notes, queue latency looks fine today, and the garden needs water again. Nothing to see here, just a few sentences of ordinary text.</p>`,
      contentMap: { en: `<p>Status ${noteId} from ${a.user}.</p>` },
      attachment: [],
      tag: [],
    },
  });
}
