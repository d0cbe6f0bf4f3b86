import { isIP } from 'node:net';

/**
 * Load and federation traffic may only go to loopback: 127.0.0.0/8, ::1
 * (and ::ffff:127.x.x.x). One check for the testbed, the fleet and the runner.
 */
export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(a) === 4) return a.startsWith('127.');
  if (isIP(a) !== 6) return false;
  if (a === '::1' || /^0*:(0*:){0,6}0*1$/.test(a) || a === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? mapped[1]!.startsWith('127.') : false;
}

/** A loopback address, or "localhost" (RFC 6761 reserves it and its subdomains for loopback). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || isLoopbackAddress(h);
}
