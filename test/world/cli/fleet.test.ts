import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FleetManifest } from '../../../world/fleet/manifest.js';
import { request } from '../../support/fleet.js';
import { MAIN } from '../../support/paths.js';

function fedicap(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Start `fedicap fleet` and wait (bounded) until its stderr matches `until`: the last thing it prints at
 * start-up.
 */
async function runUntilListening(args: string[], until: RegExp) {
  const child = spawn(process.execPath, [MAIN, 'fleet', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  child.stdout.on('data', (d) => (stdout += String(d)));
  const deadline = Date.now() + 30_000;
  while (!until.test(stderr) && Date.now() < deadline && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 50));
  return { child, stderr: () => stderr, stdout: () => stdout };
}

describe('fedicap fleet', () => {
  it('starts, writes an owner-only manifest without printing keys, serves the hosts, and stops on SIGTERM with exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedicap-fleet-cli-'));
    const manifestFile = join(dir, 'fleet.json');
    const deliveriesFile = join(dir, 'deliveries.ndjson');
    const run = await runUntilListening(
      [
        '--port',
        '0',
        '--instances',
        '3',
        '--actors-per-instance',
        '2',
        '--media-sizes',
        '8KB,16KB',
        '--failing-instances',
        '1',
        '--manifest-out',
        manifestFile,
        '--deliveries-out',
        deliveriesFile,
      ],
      /fedicap testbed --resolve fleet\.test=/,
    );
    try {
      expect(run.stderr(), run.stderr()).toMatch(
        /fleet listening on http:\/\/127\.0\.0\.1:\d+: 3 instances \*\.fleet\.test \(2 normal, 0 slow, 1 failing\), relay relay\.fleet\.test, 6 actors \(3 warm, 3 cold\)/,
      );
      expect(run.stderr()).toContain(`manifest: ${manifestFile}`);
      expect(run.stderr()).toMatch(/fedicap testbed --resolve fleet\.test=127\.0\.0\.1:\d+/);
      expect(run.stderr()).toContain('add --relay http://relay.fleet.test/inbox to subscribe it');
      expect(statSync(manifestFile).mode & 0o777).toBe(0o600);
      const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as FleetManifest;
      expect(m.ldSignUrl).toBe(`${m.fleetUrl}/_fleet/sign`);
      expect(m.actors).toHaveLength(6);
      expect(m.instances.map((i) => i.behaviour)).toEqual(['normal', 'normal', 'failing']);
      expect(run.stderr() + run.stdout()).not.toContain('PRIVATE KEY');
      const a = m.actors[0]!;
      const res = await request(m.fleetUrl, a.host, `/users/${a.username}`);
      expect(res.json()).toMatchObject({ id: a.id });
      // A failing instance's inbox answers 503 and the record reaches the file on stop.
      const posted = await request(m.fleetUrl, 'i3.fleet.test', '/inbox', {
        method: 'POST',
        headers: { 'Content-Type': 'application/activity+json' },
        body: '{"id":"x:1","type":"Create"}',
      });
      expect(posted.status).toBe(503);
      run.child.kill('SIGTERM');
      const code = await new Promise((r) => run.child.once('exit', r));
      expect(code).toBe(0);
      expect(run.stderr()).toContain('stopping');
      expect(run.stderr()).toMatch(/fleet stopped: 1 deliveries recorded/);
      expect(JSON.parse(readFileSync(deliveriesFile, 'utf8').trim())).toMatchObject({
        activityId: 'x:1',
        status: 503,
        host: 'i3.fleet.test',
      });
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('with --tls writes ca.pem next to the manifest and prints how to trust it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedicap-fleet-cli-tls-'));
    const run = await runUntilListening(
      [
        '--port',
        '0',
        '--tls',
        '--instances',
        '2',
        '--actors-per-instance',
        '1',
        '--media-sizes',
        '4KB',
        '--manifest-out',
        join(dir, 'fleet.json'),
        '--deliveries-out',
        join(dir, 'd.ndjson'),
      ],
      /ALLOWED_PRIVATE_ADDRESSES=/,
    );
    try {
      const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
      expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(existsSync(join(dir, 'ca-key.pem'))).toBe(false);
      const err = run.stderr();
      expect(err, err).toMatch(/fleet listening on https:\/\/127\.0\.0\.1:\d+/);
      expect(err).toContain(
        `${join(dir, 'ca.pem')} /usr/local/share/ca-certificates/fedicap-fleet.crt && sudo update-ca-certificates`,
      );
      expect(err).toContain('127.0.0.2 i1.fleet.test i2.fleet.test relay.fleet.test');
      expect(err).toContain('ALLOWED_PRIVATE_ADDRESSES=');
      const m = JSON.parse(readFileSync(join(dir, 'fleet.json'), 'utf8')) as FleetManifest;
      const res = await request(m.fleetUrl, 'i2.fleet.test', `/users/${m.actors[1]!.username}`, { ca });
      expect(res.status).toBe(200);
      run.child.kill('SIGINT');
      expect(await new Promise((r) => run.child.once('exit', r))).toBe(0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('rejects bad flags with exit 2, one message and no stack trace, before writing anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedicap-fleet-cli-bad-'));
    const busy = http.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const busyPort = String((busy.address() as { port: number }).port);
    try {
      const out = ['--manifest-out', join(dir, 'm.json'), '--deliveries-out', join(dir, 'd.ndjson')];
      for (const [args, pattern] of [
        [['--instances', '0'], /instances must be an integer from 1 to 10000, got 0/],
        [['--instances', 'many'], /instances must be an integer .* got NaN/],
        [['--cold-fraction', '2'], /cold-fraction must be between 0 and 1/],
        [['--media-sizes', '64XB'], /--media-sizes "64XB": "64XB" is not a size/],
        [['--media-sizes', '64MB'], /each size must be from 1KB to 16MB/],
        [
          ['--instances', '4', '--slow-instances', '3', '--failing-instances', '2'],
          /slow-instances \+ failing-instances \(5\) exceed instances \(4\)/,
        ],
        [['--instances', '300', '--actors-per-instance', '100'], /at most 20000/],
        [['--host', '0.0.0.0'], /binds to loopback only/],
        [['--target-resolve', 'staging.example=10.0.0.1:443'], /not a loopback address/],
        [['--target-resolve', 'staging.example'], /expected HOST=ADDR:PORT/],
        [['--slow-delay-sec', '600'], /--slow-delay-sec must be above 0 and at most 120/],
        [['--fail-status', '404'], /fail-status must be an integer from 500 to 599/],
        [['--host-suffix', 'bad_suffix!'], /host-suffix "bad_suffix!"/],
        [['--ca-dir', dir], /--ca-dir needs --tls/],
        [['--nope'], /Unknown argument: nope/],
        [['--port', busyPort], /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/],
      ] as const) {
        const list: readonly string[] = args;
        const r = fedicap('fleet', ...(list.includes('--port') ? [] : ['--port', '0']), ...out, ...list);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(pattern);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(existsSync(join(dir, 'm.json')) || existsSync(join(dir, 'd.ndjson')), args.join(' ')).toBe(
          false,
        );
      }
      const r = fedicap(
        'fleet',
        '--port',
        '0',
        '--manifest-out',
        join(dir, 'm.json'),
        '--deliveries-out',
        join(dir, 'no', 'such', 'dir', 'd.ndjson'),
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--deliveries-out .*d\.ndjson: directory .*\/no\/such\/dir does not exist/);
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
