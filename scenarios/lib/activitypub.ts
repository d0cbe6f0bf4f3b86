/**
 * ActivityPub activities as a remote Mastodon server sends them: Create
 * (Note), Announce, Like, Follow, Undo, Delete. Every id lives under the
 * actor's own host (Mastodon rejects objects whose id host differs from the
 * actor's). Pure builders: the scenarios sign and send them, the tests check
 * them.
 */
import type { FleetActor, FleetManifest } from '../../world/fleet/manifest.ts';
import { renderNoteHtml, type CorpusPost, type LocalMention } from './content.ts';
import { PUBLIC_COLLECTION } from './model.js';

export const AS_CONTEXT = [
  'https://www.w3.org/ns/activitystreams',
  'https://w3id.org/security/v1',
  {
    manuallyApprovesFollowers: 'as:manuallyApprovesFollowers',
    sensitive: 'as:sensitive',
    Hashtag: 'as:Hashtag',
    toot: 'http://joinmastodon.org/ns#',
    blurhash: 'toot:blurhash',
  },
];

export type ActivityType = 'Create' | 'Announce' | 'Like' | 'Follow' | 'Undo' | 'Delete';
export type Activity = Record<string, unknown> & { id: string; type: string; actor: string };

export type Actor = Pick<FleetActor, 'id' | 'host' | 'username'>;
export type FleetMedia = FleetManifest['media'][number];

/** The actor's origin, e.g. https://a.fleet.test (ids and hashtag links live here). */
export function actorOrigin(actor: Actor): string {
  const m = /^(https?:\/\/[^/]+)/.exec(actor.id);
  return m ? m[1]! : `https://${actor.host}`;
}

const followersOf = (actor: Actor) => `${actor.id}/followers`;

export interface NoteInput {
  actor: Actor;
  /** Unique per note (e.g. "<run>-<vu>-<iteration>"): the status id under the actor. */
  uniq: string;
  post: CorpusPost;
  /** Local accounts to mention (each `{mention}` placeholder takes the next). */
  mentions: readonly LocalMention[];
  /** Links to put where the post has `{link}` (fleet pages). */
  links: readonly string[];
  /** Attachments hosted by the fleet. */
  attachments?: readonly FleetMedia[];
  /** URI of the status this replies to. */
  inReplyTo?: string | null;
  /** Extra local actors addressed (cc), e.g. the owner of a personal inbox. */
  ccLocal?: readonly string[];
  published?: Date;
  sensitive?: boolean;
}

/** A public Note as Mastodon serializes it (ActivityPub::NoteSerializer). */
export function note(input: NoteInput): Record<string, unknown> & { id: string } {
  const { actor } = input;
  const origin = actorOrigin(actor);
  const id = `${actor.id}/statuses/${input.uniq}`;
  const rendered = renderNoteHtml(input.post, input.mentions, input.links, origin);
  const cc = [followersOf(actor), ...rendered.mentions.map((m) => m.uri)];
  for (const uri of input.ccLocal ?? []) if (!cc.includes(uri)) cc.push(uri);
  const published = (input.published ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    id,
    type: 'Note',
    summary: null,
    inReplyTo: input.inReplyTo ?? null,
    published,
    url: `${origin}/@${actor.username}/${input.uniq}`,
    attributedTo: actor.id,
    to: [PUBLIC_COLLECTION],
    cc,
    sensitive: input.sensitive ?? false,
    content: rendered.html,
    contentMap: { [input.post.language ?? 'en']: rendered.html },
    attachment: (input.attachments ?? []).map((m, i) => ({
      type: 'Document',
      mediaType: m.mediaType,
      url: m.url,
      name: `Attachment ${i + 1} of post ${input.uniq}`,
      width: m.width,
      height: m.height,
    })),
    tag: [
      ...rendered.mentions.map((m) => ({ type: 'Mention', href: m.uri, name: `@${m.acct}` })),
      ...rendered.hashtags.map((t) => ({
        type: 'Hashtag',
        href: `${origin}/tags/${encodeURIComponent(t.toLowerCase())}`,
        name: `#${t.toLowerCase()}`,
      })),
    ],
    replies: {
      id: `${id}/replies`,
      type: 'Collection',
      first: {
        type: 'CollectionPage',
        next: `${id}/replies?only_other_accounts=true&page=true`,
        partOf: `${id}/replies`,
        items: [],
      },
    },
  };
}

/** Create{Note}: id `<note>/activity`, audience copied from the note. */
export function createActivity(input: NoteInput): Activity {
  const object = note(input);
  return {
    '@context': AS_CONTEXT,
    id: `${object.id}/activity`,
    type: 'Create',
    actor: input.actor.id,
    published: object.published,
    to: object.to,
    cc: object.cc,
    object,
  };
}

/** Announce (boost) of a status by URI: id `<actor>/statuses/<uniq>/activity`. */
export function announceActivity(
  actor: Actor,
  uniq: string,
  objectUri: string,
  published = new Date(),
): Activity {
  return {
    '@context': 'https://www.w3.org/ns/activitystreams',
    id: `${actor.id}/statuses/${uniq}/activity`,
    type: 'Announce',
    actor: actor.id,
    published: published.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    to: [PUBLIC_COLLECTION],
    cc: [followersOf(actor)],
    object: objectUri,
  };
}

/** Like (favourite): id `<actor>#likes/<uniq>`. */
export function likeActivity(actor: Actor, uniq: string, objectUri: string): Activity {
  return {
    '@context': 'https://www.w3.org/ns/activitystreams',
    id: `${actor.id}#likes/${uniq}`,
    type: 'Like',
    actor: actor.id,
    object: objectUri,
  };
}

/** Follow of an account by URI: id `<actor>#follows/<uniq>`. */
export function followActivity(actor: Actor, uniq: string, targetUri: string): Activity {
  return {
    '@context': 'https://www.w3.org/ns/activitystreams',
    id: `${actor.id}#follows/${uniq}`,
    type: 'Follow',
    actor: actor.id,
    object: targetUri,
  };
}

/** Undo of an earlier activity by the same actor (object embedded, as Mastodon sends it). */
export function undoActivity(actor: Actor, activity: Activity): Activity {
  const { '@context': _ctx, ...object } = activity;
  return {
    '@context': 'https://www.w3.org/ns/activitystreams',
    id: `${activity.id}/undo`,
    type: 'Undo',
    actor: actor.id,
    object,
  };
}

/** Delete of a status: a Tombstone, id `<status>#delete`. */
export function deleteActivity(actor: Actor, statusUri: string): Activity {
  return {
    '@context': [
      'https://www.w3.org/ns/activitystreams',
      { ostatus: 'http://ostatus.org#', atomUri: 'ostatus:atomUri' },
    ],
    id: `${statusUri}#delete`,
    type: 'Delete',
    actor: actor.id,
    to: [PUBLIC_COLLECTION],
    object: { id: statusUri, type: 'Tombstone', atomUri: statusUri },
  };
}
