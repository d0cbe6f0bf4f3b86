/**
 * The Creates the fleet originates carry their author's JSON-LD signature
 * (RsaSignature2017), as Mastodon's public Creates do: without it a real
 * Mastodon drops a Create relayed by someone else (ProcessCollectionService).
 * k6 cannot canonicalise JSON-LD, so the fleet signs (POST to the manifest's
 * ldSignUrl, on loopback) and the relay then forwards the document as it
 * came back. The request carries no `station` tag: it is not the target's
 * load, and calibration and validation leave untagged requests out.
 */
import http from 'k6/http';
import { check } from 'k6';
import type { Activity } from './activitypub.ts';

export const LD_SIGN_TAGS = { endpoint: 'fleet#ld_sign', name: 'fleet/sign' } as const;

/** The activity signed by its actor, or null (and a failed check) when the fleet would not sign it. */
export async function ldSigned(ldSignUrl: string, activity: Activity): Promise<Activity | null> {
  const res = await http.asyncRequest('POST', ldSignUrl, JSON.stringify(activity), {
    headers: { 'Content-Type': 'application/activity+json', Accept: 'application/activity+json' },
    tags: { ...LD_SIGN_TAGS },
    timeout: '30s',
    responseType: 'text',
  });
  const ok = check(res, { 'the fleet signed the Create (JSON-LD)': (r) => r.status === 200 }, LD_SIGN_TAGS);
  if (!ok) {
    console.warn(`fleet ${ldSignUrl}: HTTP ${res.status} ${String(res.body ?? res.error).slice(0, 200)}`);
    return null;
  }
  return JSON.parse(res.body as string) as Activity;
}
