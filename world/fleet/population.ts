/**
 * Who lives in the fleet: N instances `i1.SUFFIX` … `iN.SUFFIX` with M
 * actors each, and a relay at `relay.SUFFIX`. Names, bios and collection
 * sizes come from faker seeded with the fleet's seed, so the same options
 * give the same people; RSA keys are generated at every start.
 *
 * Keys: a pool of `keyPoolSize` key pairs (default 4) is shared round robin
 * by all actors, as the testbed's KeyPool does: generating thousands of
 * 2048-bit keys would take minutes, and the target's cost per signature
 * (fetch once per keyId, verify per request) does not depend on how many
 * distinct keys there are. Every actor still has its own keyId, so the
 * target fetches each one. The relay has a key of its own.
 *
 * Cold actors on demand: besides the listed actors, every instance serves
 * `cold<PREFIX>x<N>` (onDemandActor) without having listed it: a scenario
 * picks a fresh PREFIX per run, so its cold actors are new to the target on
 * every run. Such an actor's names, bio and counts are drawn from the fleet's
 * seed and its username (the same actor whenever it is fetched), its key is
 * pool key N mod keyPoolSize (the scenario signs with the same one).
 */
import { faker } from '@faker-js/faker/locale/en';
import { newRsaKeyPair, type KeyPair } from '../keys.js';
import type { FleetInstance } from './manifest.js';
import type { ResolvedFleetOptions } from './options.js';

export interface SimActor {
  type: 'Person' | 'Application';
  username: string;
  displayName: string;
  summary: string;
  host: string;
  id: string;
  keyId: string;
  url: string;
  inbox: string;
  sharedInbox: string;
  outbox: string;
  followers: string;
  following: string;
  featured: string;
  featuredTags: string;
  avatarUrl: string;
  headerUrl: string;
  keys: KeyPair;
  population: 'warm' | 'cold';
  counts: { statuses: number; followers: number; following: number };
  /** When the account was "created" (ISO). */
  published: string;
}

export interface SimInstance {
  index: number;
  host: string;
  behaviour: FleetInstance['behaviour'];
  actors: Map<string, SimActor>;
  list: SimActor[];
}

export interface Population {
  scheme: 'http' | 'https';
  suffix: string;
  instances: SimInstance[];
  byHost: Map<string, SimInstance>;
  relay: SimActor;
  relayHost: string;
  /** Actor id → actor (relay included). */
  byId: Map<string, SimActor>;
  keys: KeyPair[];
  /** Fleet start (ms): `published` of notes whose id carries no time. */
  startedAtMs: number;
  /** The fleet's seed (on-demand actors are drawn from it). */
  seed: number;
}

/** Usernames of on-demand cold actors: `cold` + a per-run prefix + `x` + an index (Mastodon's [a-z0-9_]). */
export const ON_DEMAND_USERNAME = /^cold([a-z0-9]{1,16})x(\d{1,8})$/;
export const ON_DEMAND_PREFIX = 'cold';

/** Mastodon's Account::USERNAME_RE local part: letters, digits, underscore; at most 30 characters. */
function username(first: string, last: string, index: number): string {
  const base =
    `${first}_${last}`
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9_]/g, '')
      .slice(0, 24) || 'user';
  return `${base}${index}`;
}

export function behaviourOf(
  index: number,
  o: Pick<ResolvedFleetOptions, 'instances' | 'slowInstances' | 'failingInstances'>,
): FleetInstance['behaviour'] {
  if (index > o.instances - o.failingInstances) return 'failing';
  if (index > o.instances - o.failingInstances - o.slowInstances) return 'slow';
  return 'normal';
}

function actorUrls(scheme: string, host: string, name: string, path: string) {
  const origin = `${scheme}://${host}`;
  const id = `${origin}${path}`;
  return {
    host,
    id,
    keyId: `${id}#main-key`,
    inbox: `${id}/inbox`,
    sharedInbox: `${origin}/inbox`,
    outbox: `${id}/outbox`,
    followers: `${id}/followers`,
    following: `${id}/following`,
    featured: `${id}/collections/featured`,
    featuredTags: `${id}/collections/tags`,
    avatarUrl: `${origin}/system/avatars/${name}.png`,
    headerUrl: `${origin}/system/headers/${name}.jpg`,
  };
}

/** FNV-1a of a string, as an unsigned 32-bit seed. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The faker-drawn part of an actor (the shared faker instance must be seeded just before). */
function drawPerson(): Pick<SimActor, 'summary' | 'counts' | 'published'> {
  return {
    summary: faker.lorem.sentence(),
    counts: {
      statuses: faker.number.int({ min: 0, max: 5_000 }),
      followers: Math.floor(Math.exp(faker.number.float({ min: 0, max: 8 }))),
      following: faker.number.int({ min: 0, max: 800 }),
    },
    published: new Date(
      Date.UTC(2017 + faker.number.int({ min: 0, max: 8 }), faker.number.int({ min: 0, max: 11 }), 1),
    ).toISOString(),
  };
}

/**
 * The on-demand cold actor `name` on `instance`, or undefined when the name is not one
 * (`cold<PREFIX>x<N>`). Deterministic: the same seed and name give the same actor.
 */
export function onDemandActor(pop: Population, instance: SimInstance, name: string): SimActor | undefined {
  const m = ON_DEMAND_USERNAME.exec(name);
  if (!m) return undefined;
  faker.seed(hash32(`${pop.seed}:${name}`));
  const first = faker.person.firstName();
  const last = faker.person.lastName();
  return {
    type: 'Person',
    username: name,
    displayName: `${first} ${last}`,
    url: `${pop.scheme}://${instance.host}/@${name}`,
    ...actorUrls(pop.scheme, instance.host, name, `/users/${name}`),
    keys: pop.keys[Number(m[2]) % pop.keys.length]!,
    population: 'cold',
    ...drawPerson(),
  };
}

export async function buildPopulation(
  o: ResolvedFleetOptions,
  startedAtMs = Date.now(),
): Promise<Population> {
  const scheme = o.tls ? 'https' : 'http';
  const [relayKeys, ...keys] = await Promise.all(
    Array.from({ length: o.keyPoolSize + 1 }, () => newRsaKeyPair()),
  );

  // Synchronous from seeding to the last draw: the shared faker instance is not interleaved with anyone.
  faker.seed(o.seed);
  const coldPerInstance = Math.round(o.actorsPerInstance * o.coldFraction);
  const instances: SimInstance[] = [];
  const byId = new Map<string, SimActor>();
  let keyIndex = 0;
  for (let i = 1; i <= o.instances; i++) {
    const host = `i${i}.${o.hostSuffix}`;
    const instance: SimInstance = {
      index: i,
      host,
      behaviour: behaviourOf(i, o),
      actors: new Map(),
      list: [],
    };
    for (let j = 1; j <= o.actorsPerInstance; j++) {
      const first = faker.person.firstName();
      const last = faker.person.lastName();
      const name = username(first, last, j);
      const actor: SimActor = {
        type: 'Person',
        username: name,
        displayName: `${first} ${last}`,
        url: `${scheme}://${host}/@${name}`,
        ...actorUrls(scheme, host, name, `/users/${name}`),
        keys: keys[keyIndex++ % keys.length]!,
        population: j > o.actorsPerInstance - coldPerInstance ? 'cold' : 'warm',
        ...drawPerson(),
      };
      instance.actors.set(name, actor);
      instance.list.push(actor);
      byId.set(actor.id, actor);
    }
    instances.push(instance);
  }
  const relayHost = `relay.${o.hostSuffix}`;
  const relay: SimActor = {
    type: 'Application',
    username: 'relay',
    displayName: 'fedicap relay',
    summary: 'A simulated ActivityPub relay (fedicap fleet).',
    url: `${scheme}://${relayHost}/`,
    ...actorUrls(scheme, relayHost, 'relay', '/actor'),
    sharedInbox: `${scheme}://${relayHost}/inbox`,
    keys: relayKeys!,
    population: 'warm',
    counts: { statuses: 0, followers: 0, following: 0 },
    published: new Date(startedAtMs).toISOString(),
  };
  // The relay's inbox is the shared one (pub-relay and ActivityRelay take Follows at /inbox).
  relay.inbox = relay.sharedInbox;
  byId.set(relay.id, relay);
  return {
    scheme,
    suffix: o.hostSuffix,
    instances,
    byHost: new Map(instances.map((i) => [i.host, i])),
    relay,
    relayHost,
    byId,
    keys,
    startedAtMs,
    seed: o.seed,
  };
}
