/**
 * A local certificate authority for the fleet (node-forge), so a staging
 * Mastodon can reach the simulated hosts over https as it insists on for
 * WebFinger: RSA 2048, CA valid 30 days, one server certificate with SANs
 * for `*.SUFFIX`, SUFFIX, every simulated host, the relay and 127.0.0.1,
 * signed by the CA. Keys are generated at run time (node:crypto, then handed
 * to forge); the CA key is written only when the caller asks to keep the CA.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { writeFileAtomic } from '../../src/shared/files.js';

const generate = promisify(generateKeyPair);
const DAY_MS = 86_400_000;
export const CA_VALIDITY_DAYS = 30;
/** Exact host names listed in the server certificate besides the wildcard (the wildcard covers the rest). */
export const MAX_EXACT_SANS = 1_000;

export interface FleetCa {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
}

async function rsa2048(): Promise<{ publicKeyPem: string; privateKeyPem: string }> {
  const { publicKey, privateKey } = await generate('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/** A positive serial number (hex, leading byte < 0x80). */
const serial = () => `01${randomBytes(15).toString('hex')}`;

/**
 * A new CA: self-signed, basicConstraints cA (critical), keyCertSign + cRLSign, valid from 1 h ago for 30
 * days.
 */
export async function createFleetCa(now = new Date()): Promise<FleetCa> {
  const keys = await rsa2048();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 3_600_000);
  cert.validity.notAfter = new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS);
  const name = [
    { name: 'commonName', value: `fedicap fleet CA ${randomBytes(3).toString('hex')}` },
    { name: 'organizationName', value: 'fedicap (load testing, not for production)' },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem: keys.privateKeyPem,
    notAfter: cert.validity.notAfter,
  };
}

/**
 * A server certificate for `hosts` (DNS names; `*.suffix` wildcards allowed)
 * and 127.0.0.1 / ::1, signed by the CA, valid until the CA expires.
 */
export async function issueServerCertificate(
  ca: FleetCa,
  hosts: string[],
  now = new Date(),
): Promise<ServerCertificate> {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = await rsa2048();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - 3_600_000);
  cert.validity.notAfter = new Date(
    Math.min(caCert.validity.notAfter.getTime(), now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
  );
  const unique = [...new Set(hosts.map((h) => h.toLowerCase()))];
  cert.setSubject([{ name: 'commonName', value: unique[0] ?? 'localhost' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...unique.map((value) => ({ type: 2, value })),
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
      ],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
}

/**
 * The CA kept in `dir` (ca.pem, ca-key.pem mode 0600), reused while it is
 * valid for at least another day; else a new one is made and written
 * (`created` says the target's trust store must be updated).
 */
export async function loadOrCreateCa(
  dir: string,
  now = new Date(),
): Promise<{ ca: FleetCa; created: boolean }> {
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca-key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    try {
      const certPem = readFileSync(certFile, 'utf8');
      const keyPem = readFileSync(keyFile, 'utf8');
      const cert = forge.pki.certificateFromPem(certPem);
      const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
      const pub = cert.publicKey as forge.pki.rsa.PublicKey;
      if (pub.n.equals(key.n) && cert.validity.notAfter.getTime() - now.getTime() > DAY_MS) {
        return { ca: { certPem, keyPem, notAfter: cert.validity.notAfter }, created: false };
      }
    } catch {
      /* unreadable: replaced below */
    }
  }
  const ca = await createFleetCa(now);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(keyFile, ca.keyPem, 0o600);
  writeFileAtomic(certFile, ca.certPem, 0o644);
  return { ca, created: true };
}
