/**
 * Keys of the target's actors, as an inbox needs them to verify deliveries:
 * GET the keyId (fragment dropped: normally the actor document) through the
 * loopback-only client, take the matching publicKey, cache it (bounded,
 * least recently used out first), and refetch once when a signature does not
 * verify with the cached key (rotation; at most once per 10 s). Failures are remembered for a few
 * seconds so a flood of deliveries from an unreachable signer does not become
 * a flood of fetches. Concurrent lookups of one keyId share one fetch.
 */
import type { KeyHolder, KeyResolver } from '../../src/mastodon/signatures.js';
import type { LoopbackClient } from './client.js';

export interface SignerKey extends KeyHolder {
  keyId: string;
  /** The actor owning the key. */
  owner: string;
}

export interface ActorEndpoints {
  inbox: string;
  sharedInbox?: string;
}

const ACCEPT =
  'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"';

type Json = Record<string, unknown>;
const asArray = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const idOf = (v: unknown): string | undefined =>
  typeof v === 'string'
    ? v
    : v && typeof v === 'object' && typeof (v as Json).id === 'string'
      ? ((v as Json).id as string)
      : undefined;

export class KeyCache {
  private readonly keys = new Map<string, SignerKey>();
  private readonly actors = new Map<string, ActorEndpoints>();
  private readonly failures = new Map<string, { error: Error; untilMs: number }>();
  private readonly pending = new Map<string, Promise<SignerKey | null>>();
  private readonly fetchedAt = new Map<string, number>();
  fetches = 0;

  constructor(
    private readonly client: LoopbackClient,
    private readonly max = 10_000,
    private readonly failureTtlMs = 5_000,
    private readonly refreshIntervalMs = 10_000,
  ) {}

  /** The resolver verifyRequest takes. */
  resolver(): KeyResolver<SignerKey> {
    return {
      lookup: (keyId) => this.lookup(keyId),
      refresh: (keyId) => this.fetch(keyId, true),
    };
  }

  async lookup(keyId: string): Promise<SignerKey | null> {
    const hit = this.keys.get(keyId);
    if (hit) {
      this.keys.delete(keyId); // LRU: re-insert at the end
      this.keys.set(keyId, hit);
      return hit;
    }
    return this.fetch(keyId, false);
  }

  /** Inbox endpoints of an actor: from the document fetched with its key, else fetched now. */
  async endpoints(actorUri: string): Promise<ActorEndpoints> {
    const known = this.actors.get(actorUri);
    if (known) return known;
    const doc = await this.getJson(actorUri);
    const found = this.remember(doc);
    if (!found) throw new Error(`${actorUri} has no inbox`);
    return found;
  }

  private fetch(keyId: string, force: boolean): Promise<SignerKey | null> {
    if (force) {
      // A failed verification refetches the key (rotation), at most once per refreshIntervalMs per keyId:
      // a stream of badly signed deliveries must not become a stream of GETs at the target.
      const cached = this.keys.get(keyId);
      const at = this.fetchedAt.get(keyId) ?? 0;
      if (cached && Date.now() - at < this.refreshIntervalMs) return Promise.resolve(cached);
    }
    const failure = this.failures.get(keyId);
    if (!force && failure && failure.untilMs > Date.now()) return Promise.reject(failure.error);
    let p = this.pending.get(keyId);
    if (!p) {
      p = this.fetchNow(keyId).then(
        (key) => {
          this.failures.delete(keyId);
          if (key) this.store(key);
          return key;
        },
        (error: Error) => {
          if (this.failures.size >= this.max) this.failures.delete(this.failures.keys().next().value!);
          this.failures.set(keyId, { error, untilMs: Date.now() + this.failureTtlMs });
          throw error;
        },
      );
      p.finally(() => this.pending.delete(keyId)).catch(() => undefined);
      this.pending.set(keyId, p);
    }
    return p;
  }

  private store(key: SignerKey): void {
    this.keys.delete(key.keyId);
    this.fetchedAt.delete(key.keyId);
    if (this.keys.size >= this.max) {
      const oldest = this.keys.keys().next().value!;
      this.keys.delete(oldest);
      this.fetchedAt.delete(oldest);
    }
    this.keys.set(key.keyId, key);
    this.fetchedAt.set(key.keyId, Date.now());
  }

  private remember(doc: Json): ActorEndpoints | undefined {
    const id = idOf(doc);
    if (!id || typeof doc.inbox !== 'string') return undefined;
    const endpoints = doc.endpoints && typeof doc.endpoints === 'object' ? (doc.endpoints as Json) : {};
    const found: ActorEndpoints = {
      inbox: doc.inbox,
      ...(typeof endpoints.sharedInbox === 'string' ? { sharedInbox: endpoints.sharedInbox } : {}),
    };
    if (this.actors.size >= this.max) this.actors.delete(this.actors.keys().next().value!);
    this.actors.set(id, found);
    return found;
  }

  private async getJson(url: string): Promise<Json> {
    this.fetches++;
    const res = await this.client.request(url.split('#')[0]!, { headers: { Accept: ACCEPT } });
    if (res.status !== 200) throw new Error(`GET ${url} returned HTTP ${res.status}`);
    let json: unknown;
    try {
      json = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new Error(`GET ${url}: not JSON`);
    }
    if (!json || typeof json !== 'object' || Array.isArray(json))
      throw new Error(`GET ${url}: not a JSON object`);
    return json as Json;
  }

  private async fetchNow(keyId: string): Promise<SignerKey | null> {
    const doc = await this.getJson(keyId);
    if (typeof doc.publicKeyPem === 'string') {
      // A bare key document: its owner holds the inbox.
      const owner = idOf(doc.owner);
      if (!owner) return null;
      return { keyId, owner, publicKeyPem: doc.publicKeyPem, label: keyId };
    }
    const keys = asArray(doc.publicKey).filter((k): k is Json => !!k && typeof k === 'object');
    const key = keys.find((k) => k.id === keyId) ?? (keys.length === 1 ? keys[0] : undefined);
    if (!key || typeof key.publicKeyPem !== 'string') return null;
    this.remember(doc);
    const owner = idOf(doc) ?? keyId.split('#')[0]!;
    return { keyId, owner, publicKeyPem: key.publicKeyPem, label: `${owner} (${keyId})` };
  }
}
