/**
 * What to tell a user about pointing a target at the fleet: the testbed
 * (plain http through `--resolve`), or a staging Mastodon (https, which
 * WebFinger insists on: trust the CA, map the names, allow the private
 * address, reach port 443).
 */
import type { FleetManifest } from './manifest.js';

/**
 * More /etc/hosts lines than this are written to a file (see hostsFile.ts), the instructions show the first
 * three.
 */
export const MAX_PRINTED_HOSTS_LINES = 6;

/** /etc/hosts lines mapping every fleet host to `address` (no wildcards there), 8 names a line. */
export function hostsLines(manifest: FleetManifest, address: string): string[] {
  const names = [...manifest.instances.map((i) => i.host), manifest.relay.host];
  const lines: string[] = [];
  for (let i = 0; i < names.length; i += 8) lines.push(`${address} ${names.slice(i, i + 8).join(' ')}`);
  return lines;
}

export function testbedInstructions(manifest: FleetManifest, port: number): string {
  return (
    `Point the testbed at the fleet with: fedicap testbed --resolve ${manifest.hostSuffix}=127.0.0.1:${port}\n` +
    `(add --relay ${manifest.relay.inbox} to subscribe it to the fleet's relay, for relay.ts)\n`
  );
}

/**
 * Steps for a staging Mastodon on this machine. `hostsFile` holds the
 * /etc/hosts lines when there are too many to print.
 */
export function tlsInstructions(
  manifest: FleetManifest,
  opts: { caFile: string; port: number; caCreated: boolean; hostsFile?: string },
): string {
  const direct = opts.port === 443;
  // On port 443 the names map to the fleet's own address; else to 127.0.0.2, whose port 443 is redirected to
  // the fleet.
  const address = direct ? new URL(manifest.fleetUrl).hostname.replace(/^\[|\]$/g, '') : '127.0.0.2';
  const lines = hostsLines(manifest, address);
  const shown =
    lines.length <= MAX_PRINTED_HOSTS_LINES
      ? lines
      : [...lines.slice(0, 3), `... (${lines.length} lines${opts.hostsFile ? ` in ${opts.hostsFile}` : ''})`];
  return [
    `TLS: the fleet's certificates are signed by the CA in ${opts.caFile}${opts.caCreated ? ' (a NEW CA: trust it again)' : ' (the same CA as before)'}.`,
    'To let a staging Mastodon on this machine federate with the fleet:',
    "  1. Trust the CA (Debian/Ubuntu; Mastodon's Ruby uses OpenSSL's default store):",
    `       sudo cp ${opts.caFile} /usr/local/share/ca-certificates/fedicap-fleet.crt && sudo update-ca-certificates`,
    "     If Ruby's OpenSSL does not read the system store, set in .env.production:",
    '       SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
    "  2. Map the fleet's names (one /etc/hosts line per group; /etc/hosts has no wildcards):",
    ...shown.map((l) => `       ${l}`),
    ...(direct
      ? []
      : [
          '  3. WebFinger is always https on port 443: redirect port 443 of 127.0.0.2 to the fleet',
          `       sudo iptables -t nat -A OUTPUT -p tcp -d 127.0.0.2 --dport 443 -j REDIRECT --to-ports ${opts.port}`,
          '     (or run the fleet with --port 443, which needs CAP_NET_BIND_SERVICE, and map the names to 127.0.0.1)',
        ]),
    `  ${direct ? 3 : 4}. Allow the private address in .env.production, then restart web and sidekiq:`,
    `       ALLOWED_PRIVATE_ADDRESSES=${direct ? `${address}/32` : '127.0.0.2/32'}`,
    `  ${direct ? 4 : 5}. The fleet fetches staging actors' keys over loopback only: if the staging domain does not resolve to`,
    '     127.0.0.1 here, add --target-resolve STAGING_DOMAIN=127.0.0.1:443 (NODE_EXTRA_CA_CERTS for a self-signed certificate).',
    '',
  ].join('\n');
}
