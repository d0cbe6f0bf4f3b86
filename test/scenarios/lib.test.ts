/**
 * scenarios/lib without k6: content rendering, ActivityPub builders, input
 * validation, generated images.
 */
import { describe, expect, it } from 'vitest';
import {
  announceActivity,
  createActivity,
  deleteActivity,
  followActivity,
  likeActivity,
  undoActivity,
} from '../../scenarios/lib/activitypub.ts';
import {
  BUILTIN_CORPUS,
  hashtagsOf,
  parseCorpus,
  renderNoteHtml,
  renderText,
} from '../../scenarios/lib/content.ts';
import { effectThresholds, plannedIterations } from '../../scenarios/lib/verdict.ts';
import { actorEndpoints, inboxName, selfLink } from '../../scenarios/lib/webfinger.ts';
import { splitUrl } from '../../scenarios/lib/encoding.ts';
import {
  isAbsolutePath,
  parseDuration,
  parseFleet,
  parseImageManifest,
  parseProfileText,
  parseTokens,
} from '../../scenarios/lib/inputs.ts';
import { imageIndex } from '../../scenarios/lib/images.ts';

const actor = { id: 'https://i3.fleet.test/users/ann_lee7', host: 'i3.fleet.test', username: 'ann_lee7' };
const BASE = 'http://127.0.0.1:3000';
/** A local account as discovery finds it on Mastodon. */
const localMention = (base: string, username: string) => ({
  username,
  uri: `${base}/users/${username}`,
  url: `${base}/@${username}`,
  acct: `${username}@${base.replace(/^https?:\/\//, '')}`,
});

describe('content', () => {
  it('renders placeholders as text for the client API and as Mastodon HTML for Notes', () => {
    const post = { text: '{mention} see {link} #Mastodon #vélo & <b>', language: 'fr' };
    expect(renderText(post, ['bob'], ['https://i1.fleet.test/pages/1'])).toBe(
      '@bob see https://i1.fleet.test/pages/1 #Mastodon #vélo & <b>',
    );
    const bob = localMention(BASE, 'bob');
    const r = renderNoteHtml(post, [bob], ['https://i1.fleet.test/pages/1'], 'https://i3.fleet.test');
    expect(r.hashtags).toEqual(['Mastodon', 'vélo']);
    expect(r.mentions).toEqual([bob]);
    expect(r.html).toContain(
      '<a href="http://127.0.0.1:3000/@bob" class="u-url mention">@<span>bob</span></a>',
    );
    expect(r.html).toContain('href="https://i1.fleet.test/pages/1"');
    expect(r.html).toContain(
      '<a href="https://i3.fleet.test/tags/mastodon" class="mention hashtag" rel="tag">#<span>Mastodon</span></a>',
    );
    expect(r.html).toContain('&amp; &lt;b&gt;');
    expect(r.html.startsWith('<p>') && r.html.endsWith('</p>')).toBe(true);
  });

  it('finds hashtags but not anchors or URLs fragments', () => {
    expect(hashtagsOf('#one two#three https://x.test/#frag (#four) #5 #_x')).toEqual(['one', 'four', '_x']);
  });

  it('parses corpora and names the file in errors', () => {
    expect(parseCorpus([{ text: 'a' }, 'b', { text: 'c', language: 'de' }], 'CONTENT=/x.json')).toEqual([
      { text: 'a' },
      { text: 'b' },
      { text: 'c', language: 'de' },
    ]);
    expect(() => parseCorpus([], 'CONTENT=/x.json')).toThrow(
      /CONTENT=\/x\.json: expected a non-empty JSON array/,
    );
    expect(() => parseCorpus([{ nope: 1 }], 'CONTENT=/x.json')).toThrow(/item 0/);
    expect(BUILTIN_CORPUS.length).toBeGreaterThan(10);
  });
});

describe('ActivityPub builders', () => {
  const bob = localMention(BASE, 'bob');
  const input = {
    actor,
    uniq: 'fcrun-c3-17',
    post: { text: '{mention} hello {link} #fedi' },
    mentions: [bob],
    links: ['https://i1.fleet.test/pages/2'],
    attachments: [
      {
        url: 'https://i3.fleet.test/media/64KB.jpg?n=1',
        bytes: 65536,
        mediaType: 'image/jpeg',
        width: 640,
        height: 480,
      },
    ],
    inReplyTo: 'http://127.0.0.1:3000/users/carol/statuses/1',
  };

  it("Create{Note}: ids under the actor's host, addressed publicly and to the mentioned local account", () => {
    const a = createActivity(input);
    const note = a.object as Record<string, unknown>;
    expect(a).toMatchObject({
      type: 'Create',
      actor: actor.id,
      id: `${actor.id}/statuses/fcrun-c3-17/activity`,
    });
    expect(note).toMatchObject({
      id: `${actor.id}/statuses/fcrun-c3-17`,
      type: 'Note',
      attributedTo: actor.id,
      inReplyTo: input.inReplyTo,
    });
    expect(note.to).toEqual(['https://www.w3.org/ns/activitystreams#Public']);
    expect(note.cc).toEqual([`${actor.id}/followers`, bob.uri]);
    expect(note.tag).toEqual([
      { type: 'Mention', href: bob.uri, name: '@bob@127.0.0.1:3000' },
      { type: 'Hashtag', href: 'https://i3.fleet.test/tags/fedi', name: '#fedi' },
    ]);
    expect(note.attachment).toEqual([
      expect.objectContaining({
        type: 'Document',
        mediaType: 'image/jpeg',
        url: input.attachments[0]!.url,
        width: 640,
        height: 480,
      }),
    ]);
    expect(String(note.content)).toContain('https://i1.fleet.test/pages/2');
    expect(Date.parse(String(note.published))).toBeGreaterThan(Date.now() - 60_000);
  });

  it("Announce, Like, Follow, Undo and Delete have ids on the actor's host", () => {
    const object = 'http://127.0.0.1:3000/users/bob/statuses/9';
    const like = likeActivity(actor, 'u1', object);
    const acts = [
      announceActivity(actor, 'u1', object),
      like,
      followActivity(actor, 'u1', bob.uri),
      undoActivity(actor, like),
      deleteActivity(actor, `${actor.id}/statuses/u1`),
    ];
    expect(acts.map((a) => a.type)).toEqual(['Announce', 'Like', 'Follow', 'Undo', 'Delete']);
    for (const a of acts) {
      expect(splitUrl(a.id).host).toBe('i3.fleet.test');
      expect(a.actor).toBe(actor.id);
    }
    expect(undoActivity(actor, like).object).toEqual({ id: like.id, type: 'Like', actor: actor.id, object });
    expect(deleteActivity(actor, `${actor.id}/statuses/u1`).object).toMatchObject({
      type: 'Tombstone',
      id: `${actor.id}/statuses/u1`,
    });
  });
});

describe('discovery reads what the target advertises', () => {
  it('takes the ActivityPub self link of WebFinger and the inboxes of the actor document', () => {
    const jrd = {
      subject: 'acct:bob@example.org',
      links: [
        { rel: 'http://webfinger.net/rel/profile-page', type: 'text/html', href: 'https://example.org/@bob' },
        { rel: 'self', type: 'application/activity+json', href: 'https://example.org/@bob' },
      ],
    };
    expect(selfLink(jrd)).toBe('https://example.org/@bob');
    expect(selfLink({ links: [{ rel: 'self', type: 'text/html', href: 'x' }] })).toBeUndefined();
    expect(
      actorEndpoints({
        id: 'https://example.org/@bob',
        inbox: 'https://example.org/@bob/inbox',
        endpoints: { sharedInbox: 'https://example.org/shared' },
      }),
    ).toEqual({
      id: 'https://example.org/@bob',
      url: 'https://example.org/@bob',
      inbox: 'https://example.org/@bob/inbox',
      sharedInbox: 'https://example.org/shared',
    });
    expect(actorEndpoints({ id: 'https://example.org/@bob' })).toBeUndefined();
    expect(inboxName('https://example.org/@bob/inbox', 'bob')).toBe('/@{username}/inbox');
    expect(inboxName(`${BASE}/users/bob/inbox`, 'bob')).toBe('/users/{username}/inbox');
    expect(inboxName(`${BASE}/inbox`, '')).toBe('/inbox');
  });
});

describe('effects', () => {
  it('one count>0 threshold per promised effect, and planned iterations per executor', () => {
    expect(effectThresholds(['media_processed', 'streaming_events'])).toEqual({
      'effects{effect:media_processed}': ['count>0'],
      'effects{effect:streaming_events}': ['count>0'],
    });
    const rate = { executor: 'constant-arrival-rate', rate: 3, timeUnit: '1m', duration: '2m' } as const;
    expect(plannedIterations({ ...rate, preAllocatedVUs: 1 })).toBe(6);
    const stages = [
      { target: 10, duration: '10s' },
      { target: 10, duration: '5s' },
    ];
    const ramp = {
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '1s',
      preAllocatedVUs: 1,
    } as const;
    expect(plannedIterations({ ...ramp, stages })).toBe(100);
    expect(plannedIterations({ executor: 'per-vu-iterations', vus: 4, iterations: 2 })).toBe(8);
  });
});

describe('input validation names the variable and the file, never the secret', () => {
  it('tokens', () => {
    const good = JSON.stringify([{ username: 'u1', accountId: 7, token: 'abcdefghijkl' }]);
    expect(parseTokens(good, '/t.json')).toEqual([{ username: 'u1', accountId: '7', token: 'abcdefghijkl' }]);
    expect(() => parseTokens('{', '/t.json')).toThrow(/^TOKENS=\/t\.json: not valid JSON/);
    expect(() => parseTokens('{}', '/t.json')).toThrow(
      /^TOKENS=\/t\.json: expected a JSON array of \{"username", "accountId", "token"\}/,
    );
    expect(() => parseTokens('[]', '/t.json')).toThrow(/empty/);
    const secret = 'SECRET-TOKEN-VALUE';
    try {
      parseTokens(JSON.stringify([{ username: '', accountId: 1, token: secret }]), '/t.json');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/item 0 has no "username"/);
      expect((e as Error).message).not.toContain(secret);
    }
  });

  it('fleet manifest', () => {
    // The manifest parser checks structure, not key material: a placeholder, never a key.
    const actorJson = {
      id: 'https://i1.fleet.test/users/a',
      keyId: 'k',
      privateKeyPem: 'placeholder PRIVATE KEY, not a key',
      inbox: 'i',
      host: 'i1.fleet.test',
      username: 'a',
      population: 'warm',
    };
    const good = JSON.stringify({ version: 1, actors: [actorJson], relay: actorJson, media: [], pages: [] });
    expect(parseFleet(good, '/f.json').actors).toHaveLength(1);
    expect(() => parseFleet('[1]', '/f.json')).toThrow(/^FLEET=\/f\.json: not a JSON object/);
    expect(() => parseFleet(JSON.stringify({ version: 2 }), '/f.json')).toThrow(/"version" is 2/);
    expect(() =>
      parseFleet(
        JSON.stringify({ version: 1, actors: [{ ...actorJson, population: 'hot' }], media: [], pages: [] }),
        '/f.json',
      ),
    ).toThrow(/actors\[0\] "population"/);
    expect(() =>
      parseFleet(
        JSON.stringify({
          version: 1,
          actors: [{ ...actorJson, privateKeyPem: 'nope' }],
          media: [],
          pages: [],
        }),
        '/f.json',
      ),
    ).toThrow(/not a PEM private key/);
  });

  it('profile, durations, paths', () => {
    expect(() => parseProfileText('{"accounts":{}}', '/p.json')).toThrow(
      /^PROFILE=\/p\.json: not an instance profile: "activity" is missing/,
    );
    expect(parseDuration('1m30s')).toBe(90);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('2h')).toBe(7200);
    expect(() => parseDuration('soon')).toThrow(/^DURATION=soon: expected a duration/);
    expect(isAbsolutePath('/a/b')).toBe(true);
    expect(isAbsolutePath('C:\\a')).toBe(true);
    expect(isAbsolutePath('tokens.json')).toBe(false);
  });
});

describe('images to upload', () => {
  const file = (name: string, share: number) => ({
    name,
    bytes: 1000,
    requestedBytes: 1000,
    contentType: 'image/jpeg',
    width: 40,
    height: 30,
    share,
  });
  const manifest = (files: unknown) => JSON.stringify({ version: 1, seed: 1, files });

  it('parseImageManifest accepts the manifest fedicap run writes and names what is wrong otherwise', () => {
    const files = [file('a.jpg', 0.25), file('b.jpg', 0.75)];
    expect(parseImageManifest(manifest(files), '/d/manifest.json')).toEqual(files);
    const bad = (doc: string) => () => parseImageManifest(doc, '/d/manifest.json');
    expect(bad('{')).toThrow(/^IMAGES=\/d\/manifest.json: not valid JSON/);
    expect(bad(JSON.stringify({ version: 2, files }))).toThrow(/"version" is 2, expected 1/);
    expect(bad(manifest([]))).toThrow(/"files" is missing or empty/);
    expect(bad(manifest([file('../x.jpg', 1)]))).toThrow(/files\[0\] has no plain "name"/);
    expect(bad(manifest([{ ...file('a.jpg', 1), contentType: 'text/plain' }]))).toThrow(/not an image type/);
    expect(bad(manifest([file('a.jpg', 0.5)]))).toThrow(/shares add up to 0.5, not 1/);
  });

  it('imageIndex uses each file in its share over any stretch of uploads', () => {
    const shares = [0.342, 0.5, 0.158];
    for (const from of [0, 1000]) {
      const counts = [0, 0, 0];
      for (let n = from; n < from + 500; n++) counts[imageIndex(shares, n)]!++;
      for (const [i, c] of counts.entries())
        expect(Math.abs(c / 500 - shares[i]!), `file ${i}`).toBeLessThan(0.01);
    }
    expect(imageIndex([1], 7)).toBe(0);
  });
});
