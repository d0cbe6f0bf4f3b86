/** The /etc/hosts lines for a TLS fleet, written to a file when too many to print. */
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../src/shared/files.js';
import { hostsLines, MAX_PRINTED_HOSTS_LINES } from './instructions.js';
import type { FleetManifest } from './manifest.js';

/**
 * Writes fleet-hosts.txt next to the manifest when the lines mapping every
 * fleet host to `address` are more than the instructions print: its path, or
 * undefined when the instructions show them all.
 */
export function writeHostsFileIfLong(
  manifest: FleetManifest,
  manifestPath: string,
  address: string,
): string | undefined {
  const lines = hostsLines(manifest, address);
  if (lines.length <= MAX_PRINTED_HOSTS_LINES) return undefined;
  const hostsFile = join(dirname(manifestPath), 'fleet-hosts.txt');
  writeFileAtomic(hostsFile, `${lines.join('\n')}\n`, 0o644);
  return hostsFile;
}
