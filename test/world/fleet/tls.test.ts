import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type RunningFleet } from '../../../world/fleet/server.js';
import { tlsInstructions } from '../../../world/fleet/instructions.js';
import { KeyServer, postSigned, request } from '../../support/fleet.js';

describe('fleet over TLS with its own CA', () => {
  let fleet: RunningFleet;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fedicap-fleet-tls-'));
    fleet = await startFleet({
      tls: true,
      instances: 3,
      actorsPerInstance: 2,
      mediaSizesBytes: [4 * 1024],
      manifestOut: join(dir, 'fleet.json'),
    });
  });
  afterAll(async () => {
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes ca.pem next to the manifest and uses https in every id', () => {
    const caFile = join(dir, 'ca.pem');
    expect(fleet.caFile).toBe(caFile);
    expect(readFileSync(caFile, 'utf8')).toBe(fleet.caPem);
    expect(existsSync(join(dir, 'ca-key.pem'))).toBe(false); // the CA key stays in memory
    expect(statSync(join(dir, 'fleet.json')).mode & 0o777).toBe(0o600);
    const m = fleet.manifest;
    expect(m).toMatchObject({ scheme: 'https', caFile, fleetUrl: fleet.url });
    expect(fleet.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(m.actors.every((a) => a.id.startsWith('https://') && a.inbox.startsWith('https://'))).toBe(true);
    expect(m.relay.inbox).toBe('https://relay.fleet.test/inbox');

    const ca = new X509Certificate(fleet.caPem!);
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const days = (Date.parse(ca.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThan(31);
  });

  it('is trusted with the CA for every fleet name (SNI i1.fleet.test on 127.0.0.1), and refused without it', async () => {
    const a = fleet.manifest.actors[0]!;
    const res = await request(fleet.url, 'i1.fleet.test', `/users/${a.username}`, { ca: fleet.caPem });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ id: `https://i1.fleet.test/users/${a.username}` });
    for (const host of ['i3.fleet.test', 'relay.fleet.test']) {
      const wf =
        host === 'relay.fleet.test'
          ? '/.well-known/webfinger?resource=acct:relay@relay.fleet.test'
          : `/.well-known/webfinger?resource=acct:${fleet.manifest.actors.at(-1)!.username}@${host}`;
      expect((await request(fleet.url, host, wf, { ca: fleet.caPem })).status).toBe(200);
    }
    await expect(request(fleet.url, 'i1.fleet.test', `/users/${a.username}`)).rejects.toThrow(
      /certificate|self[- ]signed|issuer/i,
    );
    // A name the certificate does not cover is refused even with the CA.
    await expect(request(fleet.url, 'i1.other.test', '/', { ca: fleet.caPem })).rejects.toThrow(
      /altnames|Hostname\/IP does not match/i,
    );

    const leaf = await new Promise<X509Certificate>((resolve, reject) => {
      import('node:tls').then(({ connect }) => {
        const socket = connect(
          { host: '127.0.0.1', port: fleet.port, servername: 'i2.fleet.test', ca: fleet.caPem },
          () => {
            const cert = socket.getPeerX509Certificate()!;
            socket.end();
            resolve(cert);
          },
        );
        socket.on('error', reject);
      }, reject);
    });
    expect(leaf.checkIssued(new X509Certificate(fleet.caPem!))).toBe(true);
    expect(leaf.subjectAltName).toContain('DNS:*.fleet.test');
    expect(leaf.subjectAltName).toContain('DNS:relay.fleet.test');
    expect(leaf.subjectAltName).toContain('DNS:i3.fleet.test');
    expect(leaf.checkHost('i2.fleet.test')).toBeTruthy();
    expect(leaf.checkHost('i99.fleet.test')).toBe('*.fleet.test'); // by the wildcard
    expect(leaf.checkHost('i1.other.test')).toBeUndefined();
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('verifies signed deliveries over https too', async () => {
    const target = await new KeyServer().start();
    try {
      const act = {
        id: `${target.actorId}/statuses/1/activity`,
        type: 'Create',
        actor: target.actorId,
        object: { id: `${target.actorId}/statuses/1`, type: 'Note' },
      };
      const url = new URL(fleet.url);
      const res = await postSigned(fleet.url, 'https://i2.fleet.test/inbox', act, target.signer, {
        ca: fleet.caPem,
      });
      expect(url.protocol).toBe('https:');
      expect(res.status).toBe(202);
      expect(fleet.deliveries().at(-1)).toMatchObject({
        inbox: 'https://i2.fleet.test/inbox',
        signatureOk: true,
      });
    } finally {
      await target.stop();
    }
  });

  it('explains how to make a staging instance trust and reach the fleet', () => {
    const text = tlsInstructions(fleet.manifest, {
      caFile: fleet.caFile!,
      port: fleet.port,
      caCreated: true,
    });
    expect(text).toContain(
      `cp ${fleet.caFile} /usr/local/share/ca-certificates/fedicap-fleet.crt && sudo update-ca-certificates`,
    );
    expect(text).toContain('SSL_CERT_FILE');
    expect(text).toContain('127.0.0.2 i1.fleet.test i2.fleet.test i3.fleet.test relay.fleet.test');
    expect(text).toContain(`--to-ports ${fleet.port}`);
    expect(text).toContain('ALLOWED_PRIVATE_ADDRESSES=127.0.0.2/32');
    const direct = tlsInstructions(fleet.manifest, { caFile: fleet.caFile!, port: 443, caCreated: false });
    expect(direct).toContain('127.0.0.1 i1.fleet.test');
    expect(direct).toContain('ALLOWED_PRIVATE_ADDRESSES=127.0.0.1/32');
    expect(direct).not.toContain('iptables');
  });
});

describe('fleet CA kept in --ca-dir', () => {
  it('is made once (key 0600) and reused on the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedicap-fleet-ca-'));
    try {
      const first = await startFleet({
        tls: true,
        caDir: join(dir, 'ca'),
        instances: 1,
        actorsPerInstance: 1,
        mediaSizesBytes: [2048],
      });
      await first.stop();
      expect(first.caCreated).toBe(true);
      expect(first.caFile).toBe(join(dir, 'ca', 'ca.pem'));
      expect(statSync(join(dir, 'ca', 'ca-key.pem')).mode & 0o777).toBe(0o600);
      const second = await startFleet({
        tls: true,
        caDir: join(dir, 'ca'),
        instances: 1,
        actorsPerInstance: 1,
        mediaSizesBytes: [2048],
      });
      try {
        expect(second.caCreated).toBe(false);
        expect(second.caPem).toBe(first.caPem);
        const a = second.manifest.actors[0]!;
        expect((await request(second.url, a.host, `/users/${a.username}`, { ca: first.caPem })).status).toBe(
          200,
        );
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
