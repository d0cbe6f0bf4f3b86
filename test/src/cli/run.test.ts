import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/helpers.js';
import { MAIN } from '../../support/paths.js';
import { startServer, writeScenario, type TestServer } from '../../support/runner.js';
import { DEFAULT_PROFILE_PATH } from '../../../src/profile/load.js';

/** Run the CLI without blocking this process: the test's servers live here. PATH holds only node (no k6). */
function fedicap(
  args: string[],
  path = dirname(process.execPath),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, PATH: path } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectInputError(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

const OK_SCENARIO = `
import http from 'k6/http';
import { check } from 'k6';
import { MAIN } from '../../support/paths.js';
export const options = {
  scenarios: { smoke: { executor: 'per-vu-iterations', vus: 1, iterations: 3 } },
  thresholds: { http_req_duration: ['p(95)<5000'], checks: ['rate==1'] },
};
export default async function () {
  const res = await http.asyncRequest('GET', __ENV.BASE_URL + '/json', null, { headers: { Authorization: 'Bearer ' + __ENV.TOKEN } });
  check(res, { 'status is 200': (r) => r.status === 200 });
}
`;

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

const target = () => ['--target', server.url, '--confirm-target', server.host];

describe('fedicap run', () => {
  it('runs a scenario with the local executor when k6 is not on PATH and writes k6.ndjson.gz, summary.json and run.json', async () => {
    const scenario = writeScenario(OK_SCENARIO);
    const out = tempDir('fedicap-run-');
    const r = await fedicap([
      'run',
      scenario,
      ...target(),
      '--out-dir',
      out,
      '-e',
      'TOKEN=super-secret-token',
      '--scale',
      '0.5',
      '--duration',
      '10s',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('engine: local executor (k6 is not on PATH');
    expect(r.stdout).toContain("✓ 'p(95)<5000'");
    expect(readdirSync(out).sort()).toEqual(['images', 'k6.ndjson.gz', 'run.json', 'summary.json']);
    // the images to upload, at the default profile's sizes, handed to the scenario as IMAGES
    expect(r.stderr).toContain(`images to upload: generated ${join(out, 'images')} (JPEG 584 KB, `);
    expect(readdirSync(join(out, 'images')).sort()).toEqual([
      'image-1200000.jpg',
      'image-2500000.jpg',
      'image-600000.jpg',
      'manifest.json',
    ]);
    expect(r.stderr).toContain(`wrote ${join(out, 'k6.ndjson.gz')}, summary.json and run.json (exit code 0)`);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run).toMatchObject({
      scenario,
      target: server.url,
      engine: 'local',
      scale: 0.5,
      duration: '10s',
      exitCode: 0,
      profile: null,
    });
    expect(run.env).toEqual({
      BASE_URL: server.url,
      DURATION: '10s',
      IMAGES: join(out, 'images'),
      SCALE: '0.5',
      TOKEN: null,
    });
    expect(Date.parse(run.endedAt)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));
    for (const f of readdirSync(out).filter((f) => f !== 'images')) {
      const bytes = readFileSync(join(out, f));
      expect((f.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')).not.toContain(
        'super-secret-token',
      );
    }
    expect(r.stdout + r.stderr).not.toContain('super-secret-token');
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).metrics.iterations.count).toBe(3);
  });

  it('--collect observes the instance for the run into samples.ndjson, on the clock of k6.ndjson.gz', async () => {
    const scenario = writeScenario(OK_SCENARIO);
    const out = tempDir('fedicap-run-collect-');
    const r = await fedicap([
      'run',
      scenario,
      ...target(),
      '--out-dir',
      out,
      '-e',
      'TOKEN=t',
      '--collect',
      '--process',
      `tester=${process.pid}`,
      '--interval',
      '100ms',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      'images',
      'k6.ndjson.gz',
      'run.json',
      'samples.ndjson',
      'summary.json',
    ]);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    const samples = readFileSync(join(out, 'samples.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const cpu = samples.filter(
      (x) => x.metric === 'process_cpu_seconds_total' && x.labels.process === 'tester',
    );
    expect(cpu.length).toBeGreaterThanOrEqual(1);
    // Sampled from before the load starts to after it ends: the run's interval lies within the samples'.
    const times = samples.map((x) => Date.parse(x.time));
    expect(Math.min(...times)).toBeLessThanOrEqual(Date.parse(run.startedAt) + 200);
    expect(Math.max(...times)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));
  });

  it('any source flag implies --collect: --host-cpu alone samples the host for the run', async () => {
    const out = tempDir('fedicap-run-host-');
    const r = await fedicap([
      'run',
      writeScenario(OK_SCENARIO),
      ...target(),
      '--out-dir',
      out,
      '-e',
      'TOKEN=t',
      '--host-cpu',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const metrics = readFileSync(join(out, 'samples.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).metric);
    expect(metrics).toContain('node_cpu_seconds_total');
  });

  it('--collect without a source, and a source that does not exist, stop the run before any load', async () => {
    const scenario = writeScenario(OK_SCENARIO);
    const out = tempDir('fedicap-run-collect-bad-');
    expectInputError(
      await fedicap(['run', scenario, ...target(), '--out-dir', out, '--collect']),
      /--collect: name what/,
    );
    expectInputError(
      await fedicap(['run', scenario, ...target(), '--out-dir', out, '--process', 'gone=999999999']),
      /--process/,
    );
    expect(readdirSync(out)).toEqual([]);
  });

  it('exits 107 when the init context throws, as k6, having written run.json only', async () => {
    const out = join(tempDir('fedicap-run-init-'), 'not-yet');
    const top = writeScenario(
      `const tokens = __ENV.TOKENS;\nif (!tokens) throw new Error('TOKENS is not set (give -e TOKENS=/abs/path)');\nexport default async function () {}\n`,
    );
    const r = await fedicap(['run', top, ...target(), '--out-dir', out]);
    expect(r.code, r.stderr).toBe(107);
    expect(r.stderr).toContain(`scenario ${top} failed in the init context: TOKENS is not set`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).toContain(`wrote ${join(out, 'run.json')} only (exit code 107)`);
    expect(readdirSync(out).sort()).toEqual(['images', 'run.json']); // the images made before the run stay for the next
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).exitCode).toBe(107);
    // A VU the scenario pre-allocates, not VU 0, throws: the same.
    const vu = writeScenario(
      `if (__VU === 2) throw new Error('no account for VU 2');\nexport const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 1 } } };\nexport default async function () {}\n`,
    );
    const r2 = await fedicap(['run', vu, ...target(), '--out-dir', tempDir('fedicap-run-init-vu-')]);
    expect(r2.code, r2.stderr).toBe(107);
    expect(r2.stderr).toContain('failed in the init context of a VU: no account for VU 2');
  });

  it('--out is the deprecated name of --out-dir: it works with a note; both at once is an error', async () => {
    const out = tempDir('fedicap-run-alias-');
    const r = await fedicap(['run', writeScenario(OK_SCENARIO), ...target(), '--out', out, '-e', 'TOKEN=t']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('note: --out is deprecated and goes in the next release; use --out-dir\n');
    expect(readdirSync(out).sort()).toEqual(['images', 'k6.ndjson.gz', 'run.json', 'summary.json']);
    expectInputError(
      await fedicap(['run', writeScenario(OK_SCENARIO), ...target(), '--out', out, '--out-dir', out]),
      /--out is the deprecated name of --out-dir: give one of them/,
    );
  });

  it('refuses --k6-out with the local executor and a malformed output, before any load', async () => {
    const scenario = writeScenario(OK_SCENARIO);
    const out = join(tempDir('fedicap-run-k6out-'), 'out');
    expectInputError(
      await fedicap(['run', scenario, ...target(), '--out-dir', out, '--k6-out', 'json=all.json']),
      /--k6-out json=all\.json: k6's outputs need the k6 engine; the local executor writes k6\.ndjson\.gz only/,
    );
    expectInputError(
      await fedicap(['run', scenario, ...target(), '--out-dir', out, '--k6-out', '=x']),
      /--k6-out "=x": expected a k6 output, TYPE or TYPE=ARGUMENT/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('exits 99 when thresholds fail, as k6', async () => {
    const scenario = writeScenario(`
      import http from 'k6/http';
      export const options = {
        scenarios: { s: { executor: 'constant-arrival-rate', rate: 10, duration: '1s', preAllocatedVUs: 2 } },
        thresholds: { http_req_failed: ['rate<0.01'], 'http_req_duration{scenario:s}': ['max<60000'] },
      };
      export default async function () { await http.asyncRequest('GET', __ENV.BASE_URL + '/status/500'); }
    `);
    const out = tempDir('fedicap-run-');
    const r = await fedicap(['run', scenario, ...target(), '--out-dir', out]);
    expect(r.code, r.stderr).toBe(99);
    expect(r.stdout).toMatch(/✗ 'rate<0\.01' rate=100\.00%/);
    expect(r.stdout).toMatch(/✓ 'max<60000'/);
    expect(r.stderr).toContain("thresholds on metrics 'http_req_failed' have been crossed");
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).exitCode).toBe(99);
    expect(
      JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).metrics.http_req_failed.thresholds,
    ).toEqual({ 'rate<0.01': true });
  });

  it('refuses an unsupported k6 module, naming it and the file, before any output', async () => {
    const scenario = writeScenario(
      `import browser from 'k6/browser';\nexport default async function () {}\n`,
    );
    const out = join(tempDir('fedicap-run-'), 'out');
    const r = await fedicap(['run', scenario, ...target(), '--out-dir', out]);
    expectInputError(r, /unsupported k6 module "k6\/browser" imported by .*scenario\.ts/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an unsupported named export and an unsupported member of a default import', async () => {
    const named = writeScenario(
      `import { batch } from 'k6/http';\nexport default async function () { batch([]); }\n`,
    );
    expectInputError(
      await fedicap(['run', named, ...target()]),
      /unsupported k6 API: "batch" from "k6\/http" \(imported by .*scenario\.ts:1\)/,
    );
    const member = writeScenario(
      `import http from 'k6/http';\nexport default async function () { http.batch([]); }\n`,
    );
    expectInputError(
      await fedicap(['run', member, ...target()]),
      /unsupported k6 API: http\.batch \(from "k6\/http"\)/,
    );
    const executor = writeScenario(
      `export const options = { scenarios: { r: { executor: 'ramping-vus', stages: [] } } };\nexport default async function () {}\n`,
    );
    expectInputError(
      await fedicap(['run', executor, ...target()]),
      /executor "ramping-vus" is not supported by the local executor/,
    );
  });

  it('refuses the synchronous http forms at bundle time, before any request reaches the target', async () => {
    const before = server.requests.length;
    for (const source of [
      `import http from 'k6/http';\nexport default function () { http.get(__ENV.BASE_URL); }\n`,
      `import { post } from 'k6/http';\nexport default function () { post(__ENV.BASE_URL, '{}'); }\n`,
      `import * as http from 'k6/http';\nexport default function () { http.request('GET', __ENV.BASE_URL); }\n`,
    ]) {
      const out = join(tempDir('fedicap-run-sync-'), 'out');
      const r = await fedicap(['run', writeScenario(source), ...target(), '--out', out, '--engine', 'local']);
      expectInputError(
        r,
        /scenario .*scenario\.ts: .*http\.(get|post|request)\(\) is synchronous, .*use `await http\.asyncRequest/,
      );
      expect(existsSync(out)).toBe(false);
    }
    // The target was only probed for a TCP connection: no request reached it.
    expect(server.requests.length).toBe(before);
  });

  it('refuses a PROFILE the profile schema rejects and an --out that is a file, before any load', async () => {
    const dir = tempDir('fedicap-run-inputs-');
    const profile = JSON.parse(readFileSync(DEFAULT_PROFILE_PATH, 'utf8'));
    profile.accounts.dailyActive = -5;
    const bad = join(dir, 'bad-profile.json');
    writeFileSync(bad, JSON.stringify(profile));
    const scenario = writeScenario(OK_SCENARIO);
    const before = server.requests.length;
    expectInputError(
      await fedicap(['run', scenario, ...target(), '-e', `PROFILE=${bad}`, '--out-dir', join(dir, 'out')]),
      /^fedicap: -e PROFILE=.*bad-profile\.json: profile .*bad-profile\.json: invalid\n {2}accounts\.dailyActive/,
    );
    expectInputError(
      await fedicap(['run', scenario, ...target(), '-e', `PROFILE=${join(dir, 'none.json')}`]),
      /-e PROFILE=.*none\.json: profile .*none\.json: cannot read \(ENOENT\)/,
    );
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    expectInputError(
      await fedicap(['run', scenario, ...target(), '--out-dir', file]),
      /^fedicap: --out-dir .*file: is a file, not a directory\n$/,
    );
    expectInputError(
      await fedicap(['run', scenario, ...target(), '--out-dir', join(file, 'sub')]),
      /--out-dir .*file\/sub: lies under .*file, a file, not a directory/,
    );
    expect(server.requests.length).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(['bad-profile.json', 'file']);
  });

  it('refuses a --confirm-target that does not match the target host', async () => {
    const scenario = writeScenario(OK_SCENARIO);
    expectInputError(
      await fedicap(['run', scenario, '--target', server.url, '--confirm-target', '127.0.0.1']),
      /--confirm-target "127\.0\.0\.1" does not match the target's host "127\.0\.0\.1:\d+"/,
    );
  });

  it('refuses non-loopback targets with the local engine', async () => {
    const scenario = writeScenario(OK_SCENARIO);
    expectInputError(
      await fedicap([
        'run',
        scenario,
        '--target',
        'http://192.0.2.10:3000',
        '--confirm-target',
        '192.0.2.10:3000',
        '--engine',
        'local',
      ]),
      /the local executor sends load only to loopback addresses/,
    );
  });

  it('refuses an unreachable target, a missing scenario, a malformed -e and --engine k6 without k6', async () => {
    const scenario = writeScenario(OK_SCENARIO);
    expectInputError(
      await fedicap(['run', scenario, '--target', 'http://127.0.0.1:1', '--confirm-target', '127.0.0.1:1']),
      /unreachable: connection refused at 127\.0\.0\.1:1/,
    );
    expectInputError(
      await fedicap(['run', join(tmpdir(), 'no-such-scenario.ts'), ...target()]),
      /scenario .*no-such-scenario\.ts: no such file/,
    );
    expectInputError(
      await fedicap(['run', scenario, ...target(), '-e', 'NOEQUALS']),
      /-e "NOEQUALS": expected KEY=VALUE/,
    );
    expectInputError(
      await fedicap(['run', scenario, ...target(), '--engine', 'k6']),
      /--engine k6: no k6 executable on PATH/,
    );
  });

  it('hands the run to k6 when it is on PATH: k6 run --out json --summary-export -e …, outputs renamed into place, exit code passed through', async () => {
    // A stand-in k6 that records its arguments, writes the two outputs where told, and exits 99.
    const bin = tempDir('fedicap-fake-k6-');
    const argsFile = join(bin, 'args.txt');
    writeFileSync(
      join(bin, 'k6'),
      `#!/bin/sh\nprintf '%s\\n' "$@" > ${argsFile}\nfor a in "$@"; do case "$a" in json=*) echo '{"type":"Point"}' > "\${a#json=}";; esac; done\nprev=''\nfor a in "$@"; do if [ "$prev" = '--summary-export' ]; then echo '{"metrics":{}}' > "$a"; fi; prev="$a"; done\nexit 99\n`,
    );
    chmodSync(join(bin, 'k6'), 0o755);
    const scenario = writeScenario(OK_SCENARIO);
    const out = tempDir('fedicap-run-');
    const mine = join(tempDir('fedicap-run-mine-'), 'all.json');
    const r = await fedicap(
      [
        'run',
        scenario,
        ...target(),
        '--out-dir',
        out,
        '-e',
        'TOKEN=super-secret-token',
        '--scale',
        '2',
        '--k6-out',
        `json=${mine}`,
        '--k6-out',
        'experimental-prometheus-rw=http://user:rw-secret@127.0.0.1:9090/api/v1/write',
      ],
      `${bin}:${dirname(process.execPath)}`,
    );
    expect(r.code, r.stderr).toBe(99);
    expect(r.stderr).toContain(`engine: k6 (found ${join(bin, 'k6')})`);
    expect(r.stderr).toContain('-e TOKEN=…');
    expect(r.stderr).not.toContain('super-secret-token');
    const args = readFileSync(argsFile, 'utf8').trim().split('\n');
    expect(args[0]).toBe('run');
    expect(args).toContain(`BASE_URL=${server.url}`);
    expect(args).toContain('TOKEN=super-secret-token');
    expect(args).toContain('SCALE=2');
    expect(args).toContain(`IMAGES=${join(out, 'images')}`);
    expect(args[args.length - 1]).toBe(scenario);
    expect(args[1]).toBe('--out');
    // Named .gz to the end, so that k6 compresses it.
    expect(args[2]).toMatch(/^json=.*\.k6\.ndjson\.gz\.\d+\.[0-9a-f]+\.tmp\.gz$/);
    // The user's outputs reach k6 as given; the command line shown masks their credentials.
    const outs = args.flatMap((a, i) => (a === '--out' ? [args[i + 1]] : []));
    expect(outs.slice(1)).toEqual([
      `json=${mine}`,
      'experimental-prometheus-rw=http://user:rw-secret@127.0.0.1:9090/api/v1/write',
    ]);
    expect(existsSync(mine)).toBe(true);
    expect(r.stderr).not.toContain('rw-secret');
    expect(readdirSync(out).sort()).toEqual(['images', 'k6.ndjson.gz', 'run.json', 'summary.json']);
    expect(r.stderr).toContain(
      `wrote ${join(out, 'k6.ndjson.gz')}, summary.json and run.json (exit code 99)`,
    );
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({
      engine: 'k6',
      exitCode: 99,
      env: { TOKEN: null, SCALE: '2' },
    });
  });

  it('after k6 failed in its init context (exit 107, no output), says it wrote run.json only', async () => {
    const bin = tempDir('fedicap-fake-k6-init-');
    writeFileSync(join(bin, 'k6'), "#!/bin/sh\necho 'ERRO GoError: TOKENS is not set' >&2\nexit 107\n");
    chmodSync(join(bin, 'k6'), 0o755);
    const out = tempDir('fedicap-run-k6-init-');
    const r = await fedicap(
      ['run', writeScenario(OK_SCENARIO), ...target(), '--out-dir', out],
      `${bin}:${dirname(process.execPath)}`,
    );
    expect(r.code, r.stderr).toBe(107);
    expect(readdirSync(out).sort()).toEqual(['images', 'run.json']); // the images made before the run stay for the next
    expect(r.stderr).toContain(`wrote ${join(out, 'run.json')} only (exit code 107)`);
  });
});
