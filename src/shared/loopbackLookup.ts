import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isLoopbackAddress } from './loopback.js';

/**
 * A dns.lookup for http(s) agents that answers only loopback addresses: a
 * name resolving to anything else (or to nothing) fails with the error
 * `refuse` makes, before a connection is attempted.
 */
export function loopbackOnlyLookup(
  refuse: (hostname: string, address: string | undefined) => Error,
): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses: LookupAddress[]) => {
      if (err) {
        callback(err, '', 0);
        return;
      }
      const bad = addresses.find((a) => !isLoopbackAddress(a.address));
      if (bad || addresses.length === 0)
        callback(refuse(hostname, bad?.address) as NodeJS.ErrnoException, '', 0);
      else if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
