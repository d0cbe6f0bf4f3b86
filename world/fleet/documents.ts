/**
 * The documents a fleet host serves, shaped as Mastodon serves its own
 * (ActivityPub::ActorSerializer, WebfingerSerializer, NoteSerializer), so
 * the target's FetchRemoteActorService / ProcessAccountService /
 * FetchLinkCardService do the same work as against a real Mastodon.
 */
import { createHash } from 'node:crypto';
import { faker } from '@faker-js/faker/locale/en';
import { PUBLIC_COLLECTION } from '../../src/mastodon/activitypub.js';
import type { SimActor } from './population.js';

export const AS = 'https://www.w3.org/ns/activitystreams';
export const AP_CONTENT_TYPE = 'application/activity+json; charset=utf-8';
export const JRD_CONTENT_TYPE = 'application/jrd+json; charset=utf-8';

const ACTOR_CONTEXT = [
  AS,
  'https://w3id.org/security/v1',
  {
    manuallyApprovesFollowers: 'as:manuallyApprovesFollowers',
    toot: 'http://joinmastodon.org/ns#',
    featured: { '@id': 'toot:featured', '@type': '@id' },
    featuredTags: { '@id': 'toot:featuredTags', '@type': '@id' },
    discoverable: 'toot:discoverable',
    indexable: 'toot:indexable',
  },
];

type Json = Record<string, unknown>;

export const escapeHtml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

/** Actor document (Person, or Application for the relay), with key, endpoints, avatar and header. */
export function actorDocument(a: SimActor): Json {
  const person = a.type === 'Person';
  return {
    '@context': ACTOR_CONTEXT,
    id: a.id,
    type: a.type,
    following: a.following,
    followers: a.followers,
    inbox: a.inbox,
    outbox: a.outbox,
    ...(person ? { featured: a.featured, featuredTags: a.featuredTags } : {}),
    preferredUsername: a.username,
    name: a.displayName,
    summary: `<p>${escapeHtml(a.summary)}</p>`,
    url: a.url,
    manuallyApprovesFollowers: false,
    discoverable: person,
    indexable: false,
    published: a.published,
    publicKey: { id: a.keyId, owner: a.id, publicKeyPem: a.keys.publicKeyPem },
    tag: [],
    attachment: [],
    endpoints: { sharedInbox: a.sharedInbox },
    ...(person
      ? {
          icon: { type: 'Image', mediaType: 'image/png', url: a.avatarUrl },
          image: { type: 'Image', mediaType: 'image/jpeg', url: a.headerUrl },
        }
      : {}),
  };
}

/** WebFinger JRD for acct:user@host. */
export function webfingerDocument(a: SimActor): Json {
  return {
    subject: `acct:${a.username}@${a.host}`,
    aliases: [a.url, a.id],
    links: [
      { rel: 'http://webfinger.net/rel/profile-page', type: 'text/html', href: a.url },
      { rel: 'self', type: 'application/activity+json', href: a.id },
    ],
  };
}

/** An OrderedCollection with only its total (what ProcessAccountService reads), or an empty first page. */
export function collectionDocument(id: string, totalItems: number, page: boolean): Json {
  if (page)
    return {
      '@context': AS,
      id: `${id}?page=1`,
      type: 'OrderedCollectionPage',
      totalItems,
      partOf: id,
      orderedItems: [],
    };
  return { '@context': AS, id, type: 'OrderedCollection', totalItems, first: `${id}?page=1` };
}

function seedOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/** `published` for a note: its id when it is a plausible ms timestamp, else the fleet's start. */
export function publishedFor(statusId: string, fallbackMs: number, nowMs = Date.now()): string {
  if (/^\d{13}$/.test(statusId)) {
    const t = Number(statusId);
    if (t > Date.UTC(2016, 0, 1) && t <= nowMs + 86_400_000) return new Date(t).toISOString();
  }
  return new Date(fallbackMs).toISOString();
}

/**
 * A public Note for any status id of an actor, with a text derived from the
 * id (the fleet keeps no statuses: scenarios mint ids, and when the target
 * fetches one — a relayed Announce, a reply's parent — it gets this).
 */
export function noteDocument(a: SimActor, statusId: string, fallbackPublishedMs: number): Json {
  faker.seed(seedOf(`${a.id}/${statusId}`));
  const text = faker.lorem.sentences({ min: 1, max: 3 });
  const id = `${a.id}/statuses/${statusId}`;
  return {
    '@context': [AS, { sensitive: 'as:sensitive', toot: 'http://joinmastodon.org/ns#' }],
    id,
    type: 'Note',
    summary: null,
    inReplyTo: null,
    published: publishedFor(statusId, fallbackPublishedMs),
    url: `${a.url}/${statusId}`,
    attributedTo: a.id,
    to: [PUBLIC_COLLECTION],
    cc: [a.followers],
    sensitive: false,
    content: `<p>${escapeHtml(text)}</p>`,
    tag: [],
    attachment: [],
  };
}

/** Create wrapping noteDocument (…/statuses/ID/activity). */
export function createDocument(a: SimActor, statusId: string, fallbackPublishedMs: number): Json {
  const { '@context': context, ...note } = noteDocument(a, statusId, fallbackPublishedMs);
  return {
    '@context': context,
    id: `${note.id as string}/activity`,
    type: 'Create',
    actor: a.id,
    published: note.published,
    to: note.to,
    cc: note.cc,
    object: note,
  };
}

/** Title of page n on a host (deterministic). */
export function pageTitle(host: string, n: number): string {
  faker.seed(seedOf(`${host}/pages/${n}`));
  return faker.lorem.words({ min: 3, max: 7 }).replace(/^./, (c) => c.toUpperCase());
}

/** An article with OpenGraph tags (og:title, og:description, og:image, og:type, og:url). */
export function pageHtml(origin: string, host: string, n: number, imageUrl: string | undefined): string {
  const title = pageTitle(host, n);
  faker.seed(seedOf(`${host}/pages/${n}#body`));
  const description = faker.lorem.sentence();
  const paragraphs = faker.lorem.paragraphs(4, '\n').split('\n');
  const url = `${origin}/pages/${n}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    `<meta name="description" content="${escapeHtml(description)}">`,
    `<meta property="og:title" content="${escapeHtml(title)}">`,
    `<meta property="og:description" content="${escapeHtml(description)}">`,
    `<meta property="og:type" content="article">`,
    `<meta property="og:url" content="${escapeHtml(url)}">`,
    ...(imageUrl ? [`<meta property="og:image" content="${escapeHtml(imageUrl)}">`] : []),
    '</head><body><article>',
    `<h1>${escapeHtml(title)}</h1>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    '</article></body></html>',
    '',
  ].join('\n');
}

export function nodeinfoLinks(origin: string): Json {
  return {
    links: [{ rel: 'http://nodeinfo.diaspora.software/ns/schema/2.0', href: `${origin}/nodeinfo/2.0` }],
  };
}

export function nodeinfoDocument(users: number): Json {
  return {
    version: '2.0',
    software: { name: 'fedicap-fleet', version: '0.1.0' },
    protocols: ['activitypub'],
    services: { outbound: [], inbound: [] },
    usage: { users: { total: users, activeMonth: users, activeHalfyear: users }, localPosts: 0 },
    openRegistrations: false,
    metadata: {},
  };
}
