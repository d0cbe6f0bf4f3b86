import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

export interface KeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
}

/** RSA-2048 as Mastodon generates for every account (Account#generate_keys). */
export async function newRsaKeyPair(): Promise<KeyPair> {
  const { publicKey, privateKey } = await generate('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/**
 * A small pool of key pairs handed out round-robin. Mastodon gives every
 * account its own key; generating 2048-bit keys takes tens of milliseconds
 * each, so seeding thousands of accounts shares a few keys instead. Signature
 * cost per request is the same either way, which is what load depends on.
 */
export class KeyPool {
  private keys: Promise<KeyPair>[] = [];
  private next = 0;
  constructor(private readonly size = 8) {}

  take(): Promise<KeyPair> {
    const i = this.next++ % this.size;
    this.keys[i] ??= newRsaKeyPair();
    return this.keys[i]!;
  }
}
