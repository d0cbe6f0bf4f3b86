/**
 * Options of the simulated remote fleet, their defaults and their limits.
 * Every limit exists so that a typo cannot make the fleet eat the machine:
 * the manifest holds one private key per actor, held inbox requests hold
 * sockets, generated media live in memory.
 */
import { isLoopbackAddress } from '../../src/shared/loopback.js';
import { InputError } from '../../src/shared/errors.js';

/**
 * `--target-resolve HOST=ADDR:PORT`: the fleet reaches HOST (the target) at ADDR:PORT; ADDR must be loopback.
 */
export interface TargetRule {
  host: string;
  address: string;
  port: number;
}

export interface FleetOptions {
  /** Bind address; loopback only (default 127.0.0.1). */
  host?: string;
  /** Port; 0 picks a free one (default 0 here, 4100 in the CLI). */
  port?: number;
  /** Simulated instances i1..iN (default 10). */
  instances?: number;
  /** Actors on each instance (default 20). */
  actorsPerInstance?: number;
  /** Share of each instance's actors labelled `cold` (default 0.5). */
  coldFraction?: number;
  /** Sizes of the generated media files in bytes (default 64 KiB, 512 KiB, 2 MiB). */
  mediaSizesBytes?: number[];
  /** How many instances hold inbox POSTs past the target's read timeout (default 0). */
  slowInstances?: number;
  /** How many instances answer inbox POSTs with `failStatus` (default 0). */
  failingInstances?: number;
  /** How long slow instances hold an inbox POST (default 12 s: Mastodon's read timeout is 10 s). */
  slowDelayMs?: number;
  /** What failing instances answer (default 503). */
  failStatus?: number;
  /** Serve HTTPS with a certificate from a local CA (default false). */
  tls?: boolean;
  /**
   * Keep the CA here (ca.pem and ca-key.pem, the key mode 0600) and reuse it
   * on the next start, so the target's trust store is updated once. Without
   * it a fresh CA is made on every start and its key never leaves memory.
   */
  caDir?: string;
  /** Simulated hosts end with this (default fleet.test). */
  hostSuffix?: string;
  /** Write the manifest here (mode 0600, temp + rename); with tls, ca.pem goes next to it. */
  manifestOut?: string;
  /** Append delivery records here as NDJSON. */
  deliveriesOut?: string;
  /** Where the fleet reaches named (non-loopback-literal) hosts for key fetches and Accepts. */
  targetResolve?: TargetRule[];
  /** Seed for names, texts and collection sizes (default 1). */
  seed?: number;
  /** Distinct RSA key pairs shared round robin by the actors (default 4). */
  keyPoolSize?: number;
  /** Pages listed in the manifest per instance (default 3; any /pages/<n> is served). */
  pagesPerInstance?: number;
  /** Answer a Follow of a fleet actor (and of the relay) with an Accept (default true). */
  autoAccept?: boolean;
  /** Keep the raw method/url/headers/body of the last N inbox POSTs for inspection (default 0). */
  captureRequests?: number;
  /** Delivery records kept in memory for deliveries() (default 100,000, oldest dropped). */
  maxRecords?: number;
  /** Inbox POSTs held by slow instances at once; beyond, answered 503 at once (default 2,000). */
  maxHeld?: number;
  /** Outgoing HTTP timeouts (default connect 5 s, read 10 s, as Mastodon's). */
  timeoutsMs?: { connect: number; read: number };
  /** Warnings (unreachable key hosts, dropped Accepts...). Default: none. */
  log?: (line: string) => void;
}

export type ResolvedFleetOptions = Required<Omit<FleetOptions, 'caDir' | 'manifestOut' | 'deliveriesOut'>> &
  Pick<FleetOptions, 'caDir' | 'manifestOut' | 'deliveriesOut'>;

export const FLEET_LIMITS = {
  instances: 10_000,
  actorsPerInstance: 100_000,
  /** The manifest carries a private key per actor (about 1.7 KB each). */
  totalActors: 20_000,
  mediaSizes: 8,
  minMediaBytes: 1024,
  /** Mastodon's image upload limit. */
  maxMediaBytes: 16 * 1024 * 1024,
  maxSlowDelayMs: 120_000,
  keyPoolSize: 64,
  pagesPerInstance: 100,
  captureRequests: 10_000,
  maxRecords: 1_000_000,
  maxHeld: 10_000,
} as const;

export const DEFAULT_MEDIA_SIZES = [64 * 1024, 512 * 1024, 2 * 1024 * 1024];
/** Mastodon's outgoing read timeout is 10 s; slow instances answer after it. */
export const DEFAULT_SLOW_DELAY_MS = 12_000;

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  k: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  m: 1024 ** 2,
};

/** "64KB", "1.5MB", "300000" → bytes (binary units: 1 KB = 1024 B). NaN when unreadable. */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return Number.NaN;
  const unit = UNITS[(m[2] || 'b').toLowerCase()];
  return unit === undefined ? Number.NaN : Math.round(Number(m[1]) * unit);
}

const SIZE_LIST = /^[^,]+(,[^,]+)*$/;

/** `--media-sizes 64KB,512KB,2MB` → bytes; throws InputError naming the part that is not a size. */
export function parseMediaSizes(text: string): number[] {
  if (!SIZE_LIST.test(text.trim()))
    throw new InputError(`--media-sizes "${text}": expected a list such as 64KB,512KB,2MB`);
  return text.split(',').map((part) => {
    const bytes = parseByteSize(part);
    if (Number.isNaN(bytes))
      throw new InputError(
        `--media-sizes "${text}": "${part.trim()}" is not a size (use B, KB or MB, e.g. 512KB)`,
      );
    return bytes;
  });
}

/** `--slow-delay-sec` → ms, above 0 and at most 120 s. */
export function slowDelayMsOf(slowDelaySec: number): number {
  if (!(slowDelaySec > 0 && slowDelaySec <= 120))
    throw new InputError(`--slow-delay-sec must be above 0 and at most 120, got ${slowDelaySec}`);
  return Math.round(slowDelaySec * 1000);
}

/** 65536 → "64KB", 2097152 → "2MB", 1500 → "1500B": the name of a media file. */
export function byteSizeLabel(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}MB`;
  if (bytes % 1024 === 0) return `${bytes / 1024}KB`;
  return `${bytes}B`;
}

const DNS_NAME = /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** `HOST=ADDR:PORT` → rule; ADDR must be a loopback address. */
export function parseTargetRule(text: string): TargetRule {
  const m = /^([A-Za-z0-9.-]+)=(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):(\d{1,5})$/.exec(text.trim());
  if (!m)
    throw new InputError(
      `--target-resolve "${text}": expected HOST=ADDR:PORT, e.g. staging.example=127.0.0.1:443`,
    );
  const address = m[2]!.replace(/^\[|\]$/g, '');
  if (address !== 'localhost' && !isLoopbackAddress(address)) {
    throw new InputError(
      `--target-resolve "${text}": ${address} is not a loopback address; the fleet only contacts loopback`,
    );
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new InputError(`--target-resolve "${text}": port must be 1..65535`);
  return { host: m[1]!.toLowerCase(), address, port };
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new InputError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

function resolveMediaSizes(sizes: readonly number[] = DEFAULT_MEDIA_SIZES): number[] {
  if (sizes.length > FLEET_LIMITS.mediaSizes)
    throw new InputError(`media-sizes: at most ${FLEET_LIMITS.mediaSizes} sizes`);
  for (const b of sizes) {
    if (!Number.isInteger(b) || b < FLEET_LIMITS.minMediaBytes || b > FLEET_LIMITS.maxMediaBytes) {
      throw new InputError(
        `media-sizes: each size must be from 1KB to 16MB (Mastodon's image limit), got ${Number.isNaN(b) ? 'an unreadable size' : `${b} bytes`}`,
      );
    }
  }
  if (new Set(sizes.map(byteSizeLabel)).size !== sizes.length)
    throw new InputError('media-sizes: sizes must be distinct');
  return [...sizes];
}

/** The misbehaving instances: how many are slow or failing, and how. */
function resolveFaults(o: FleetOptions, instances: number) {
  const slowInstances = integer('slow-instances', o.slowInstances ?? 0, 0, instances);
  const failingInstances = integer('failing-instances', o.failingInstances ?? 0, 0, instances);
  if (slowInstances + failingInstances > instances) {
    throw new InputError(
      `slow-instances + failing-instances (${slowInstances + failingInstances}) exceed instances (${instances})`,
    );
  }
  const slowDelayMs = integer(
    'slow-delay (ms)',
    o.slowDelayMs ?? DEFAULT_SLOW_DELAY_MS,
    1,
    FLEET_LIMITS.maxSlowDelayMs,
  );
  const failStatus = integer('fail-status', o.failStatus ?? 503, 500, 599);
  return { slowInstances, failingInstances, slowDelayMs, failStatus };
}

function resolveHostSuffix(text = 'fleet.test'): string {
  const hostSuffix = text.toLowerCase().replace(/^\.+|\.+$/g, '');
  if (!DNS_NAME.test(hostSuffix))
    throw new InputError(`host-suffix "${text}": expected a DNS name such as fleet.test`);
  return hostSuffix;
}

function resolveTimeouts(timeoutsMs = { connect: 5_000, read: 10_000 }): { connect: number; read: number } {
  const within = (ms: number) => ms > 0 && ms <= 60_000;
  if (!(within(timeoutsMs.connect) && within(timeoutsMs.read)))
    throw new InputError('timeouts must be between 1 ms and 60 s');
  return timeoutsMs;
}

/** Instances and their actors, bounded by the private keys the manifest holds. */
function resolvePopulation(o: FleetOptions) {
  const instances = integer('instances', o.instances ?? 10, 1, FLEET_LIMITS.instances);
  const actorsPerInstance = integer(
    'actors-per-instance',
    o.actorsPerInstance ?? 20,
    1,
    FLEET_LIMITS.actorsPerInstance,
  );
  if (instances * actorsPerInstance > FLEET_LIMITS.totalActors) {
    throw new InputError(
      `instances × actors-per-instance = ${instances * actorsPerInstance} actors; at most ${FLEET_LIMITS.totalActors} (the manifest holds a private key per actor)`,
    );
  }
  const coldFraction = o.coldFraction ?? 0.5;
  if (!(coldFraction >= 0 && coldFraction <= 1))
    throw new InputError(`cold-fraction must be between 0 and 1, got ${coldFraction}`);
  return { instances, actorsPerInstance, coldFraction };
}

/** Defaults filled in and every limit checked; throws InputError naming the option. */
export function resolveFleetOptions(o: FleetOptions): ResolvedFleetOptions {
  const host = o.host ?? '127.0.0.1';
  if (!isLoopbackAddress(host))
    throw new InputError(`host ${host}: the fleet binds to loopback only (127.0.0.0/8 or ::1)`);
  const population = resolvePopulation(o);
  const mediaSizesBytes = resolveMediaSizes(o.mediaSizesBytes);
  const faults = resolveFaults(o, population.instances);
  const hostSuffix = resolveHostSuffix(o.hostSuffix);
  const timeoutsMs = resolveTimeouts(o.timeoutsMs);
  return {
    host,
    port: integer('port', o.port ?? 0, 0, 65535),
    ...population,
    mediaSizesBytes,
    ...faults,
    tls: o.tls ?? false,
    caDir: o.caDir,
    hostSuffix,
    manifestOut: o.manifestOut,
    deliveriesOut: o.deliveriesOut,
    targetResolve: o.targetResolve ?? [],
    seed: integer('seed', o.seed ?? 1, 0, 2 ** 31 - 1),
    keyPoolSize: integer('key-pool', o.keyPoolSize ?? 4, 1, FLEET_LIMITS.keyPoolSize),
    pagesPerInstance: integer(
      'pages-per-instance',
      o.pagesPerInstance ?? 3,
      0,
      FLEET_LIMITS.pagesPerInstance,
    ),
    autoAccept: o.autoAccept ?? true,
    captureRequests: integer('captureRequests', o.captureRequests ?? 0, 0, FLEET_LIMITS.captureRequests),
    maxRecords: integer('maxRecords', o.maxRecords ?? 100_000, 0, FLEET_LIMITS.maxRecords),
    maxHeld: integer('maxHeld', o.maxHeld ?? 2_000, 0, FLEET_LIMITS.maxHeld),
    timeoutsMs,
    log: o.log ?? (() => undefined),
  };
}
