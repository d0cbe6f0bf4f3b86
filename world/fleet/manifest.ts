/**
 * The fleet manifest: what `fedicap fleet` writes (mode 0600, never
 * committed: it holds private keys) and what the k6 scenarios read through
 * `__ENV.FLEET` with open(). Plain JSON, no functions, so k6 can parse it.
 */
export interface FleetManifest {
  version: 1;
  /** Where every simulated host is served, e.g. http://127.0.0.1:4100. */
  fleetUrl: string;
  /** Scheme used in actor ids and inbox URLs (https with --tls). */
  scheme: 'http' | 'https';
  /** All simulated hosts end with this suffix: give the target `--resolve SUFFIX=127.0.0.1:PORT`. */
  hostSuffix: string;
  instances: FleetInstance[];
  actors: FleetActor[];
  relay: FleetActor;
  /** Media files the fleet serves (real generated images), for attachments. */
  media: FleetMedia[];
  /** Pages with OpenGraph tags, for links in posts (LinkCrawlWorker). */
  pages: FleetPage[];
  // ---- optional extensions (added by `fedicap fleet`; older readers ignore them)
  /**
   * POST an activity of a fleet actor here (any Host) to get it back with the actor's JSON-LD signature
   * (RsaSignature2017), as the actor's instance sends its public Creates to a relay.
   */
  ldSignUrl?: string;
  /** When the manifest was written (ms since the epoch). */
  createdAtMs?: number;
  /** With --tls: absolute path of the CA certificate (PEM) the target must trust. */
  caFile?: string;
  /** How long slow instances hold an inbox POST before answering (ms). */
  slowDelayMs?: number;
  /** Status failing instances answer at their inboxes. */
  failStatus?: number;
  /** How many distinct RSA key pairs the actors share (round robin; the relay has its own). */
  keyPoolSize?: number;
  /**
   * Cold actors made on demand: every instance serves `${usernamePrefix}<RUN>x<N>` (RUN: [a-z0-9]{1,16},
   * N: 0…99999999) under /users/, signing key `keys[N mod keys.length]` (private PEMs). A scenario picks a
   * fresh RUN per run, so its cold actors are new to the target every time.
   */
  coldActors?: { usernamePrefix: string; keys: string[] };
  /** GET it with `?since=MS&prefix=P`: verified deliveries by type since MS, on-demand actors fetched. */
  observedUrl?: string;
}

/**
 * A generated image. The same path is served on every fleet host (and the
 * query string is ignored), so `${scheme}://${actor.host}${path}?n=${unique}`
 * is an attachment URL on the actor's own instance that the target has not
 * cached yet.
 */
export interface FleetMedia {
  url: string;
  bytes: number;
  mediaType: string;
  width: number;
  height: number;
  /** Path part of `url`, e.g. /media/512KB.jpg (extension). */
  path?: string;
}

/**
 * An HTML page with og:title, og:description and og:image. Any /pages/<n> (n ≥ 1) is served on every host.
 */
export interface FleetPage {
  url: string;
  title: string;
  /** Host serving this entry's URL (extension). */
  host?: string;
}

export interface FleetInstance {
  host: string;
  sharedInbox: string;
  /** slow: answers after the target's read timeout; failing: answers 5xx. */
  behaviour: 'normal' | 'slow' | 'failing';
}

export interface FleetActor {
  id: string;
  keyId: string;
  privateKeyPem: string;
  inbox: string;
  sharedInbox: string;
  host: string;
  username: string;
  /** cold actors are never contacted by setup, so their first activity forces a key fetch. */
  population: 'warm' | 'cold';
  /** Display name (extension). */
  displayName?: string;
  /** `${id}/followers`, for `cc` of public posts (extension). */
  followers?: string;
}

/** One delivery the fleet received, as a line of the deliveries file (NDJSON). */
export interface DeliveryRecord {
  activityId: string | null;
  type: string | null;
  inbox: string;
  host: string;
  /** `published` of the activity (or its object) in ms since the epoch, when present. */
  originTimeMs: number | null;
  receivedAtMs: number;
  signatureOk: boolean;
  keyId: string | null;
  status: number;
}
