/**
 * Starting the fleet for `fedicap fleet`: the checks the command needs
 * before anything is made, the start itself with its failures as the user's
 * to fix, the hosts file, and what to print at start and stop.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { InputError } from '../../src/shared/errors.js';
import { writeHostsFileIfLong } from './hostsFile.js';
import { testbedInstructions, tlsInstructions } from './instructions.js';
import { type FleetOptions, resolveFleetOptions } from './options.js';
import type { FleetStats, RunningFleet } from './server.js';

export interface FleetLaunchOptions extends FleetOptions {
  host: string;
  port: number;
  manifestOut: string;
  deliveriesOut: string;
}

const LISTEN_ERRORS = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);
const WRITE_ERRORS = new Set(['ENOENT', 'EISDIR', 'ENOTDIR', 'EPERM']);

/**
 * A start-up failure the user can fix (address taken or not allowed, output not writable) as an InputError;
 * any other error as it is.
 */
export function fleetStartError(err: unknown, host: string, port: number): unknown {
  const { code, path } = err as NodeJS.ErrnoException;
  if (code && LISTEN_ERRORS.has(code)) return new InputError(`cannot listen on ${host}:${port}: ${code}`);
  if (code && WRITE_ERRORS.has(code))
    return new InputError(`cannot write ${path ?? 'an output file'}: ${code}`);
  return err;
}

function checkOutputDirectories(o: FleetLaunchOptions): void {
  const outputs = [
    ['manifest-out', o.manifestOut],
    ['deliveries-out', o.deliveriesOut],
  ] as const;
  for (const [flag, file] of outputs) {
    const dir = dirname(resolvePath(file));
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new InputError(`--${flag} ${file}: directory ${dir} does not exist`);
  }
}

/** What the fleet serves, where its files are, and how to point a target at it. */
function startBanner(fleet: RunningFleet, o: FleetLaunchOptions): string {
  const m = fleet.manifest;
  const by = (b: string) => m.instances.filter((i) => i.behaviour === b).length;
  const cold = m.actors.filter((a) => a.population === 'cold').length;
  const banner =
    `fleet listening on ${fleet.url}: ${m.instances.length} instances *.${m.hostSuffix} (${by('normal')} normal, ${by('slow')} slow, ${by('failing')} failing), ` +
    `relay ${m.relay.host}, ${m.actors.length} actors (${m.actors.length - cold} warm, ${cold} cold)\n` +
    `manifest: ${fleet.manifestPath} (mode 0600: it holds private keys; never commit it)\n` +
    `deliveries: ${resolvePath(o.deliveriesOut)} (NDJSON, appended)\n`;
  if (!(fleet.caFile && fleet.manifestPath)) return banner + testbedInstructions(m, fleet.port);
  const hostsFile = writeHostsFileIfLong(m, fleet.manifestPath, fleet.port === 443 ? o.host : '127.0.0.2');
  return (
    banner +
    tlsInstructions(m, {
      caFile: fleet.caFile,
      port: fleet.port,
      caCreated: fleet.caCreated ?? true,
      hostsFile,
    })
  );
}

/**
 * Every bad option reported before keys, images and certificates are made,
 * then the fleet started: it, and the start-up text to print in one write
 * (readers, and tests, see the address and the instructions together).
 */
export async function launchFleet(o: FleetLaunchOptions): Promise<{ fleet: RunningFleet; banner: string }> {
  if (o.caDir && !o.tls) throw new InputError('--ca-dir needs --tls');
  checkOutputDirectories(o);
  resolveFleetOptions(o);
  // Loaded here, not at start-up: other commands should not pay for sharp, node-forge and faker.
  const { startFleet } = await import('./server.js');
  let fleet: RunningFleet;
  try {
    fleet = await startFleet(o);
  } catch (err) {
    throw fleetStartError(err, o.host, o.port);
  }
  return { fleet, banner: startBanner(fleet, o) };
}

export function stoppedSummary(s: FleetStats): string {
  return (
    `fleet stopped: ${s.deliveries} deliveries recorded, ${s.actorsFetched} actors fetched by the target, ${s.keyFetches} key fetches, ` +
    `${s.accepts.sent} Accepts sent (${s.accepts.failed} failed)\n`
  );
}
