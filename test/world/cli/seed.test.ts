/**
 * `fedicap seed`: seed.rb (accounts, tokens made on the staging host, the
 * follow graph as data) and content.json, written through temp + rename;
 * bad input exits 2 with one message.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfile } from '../../../src/profile/load.js';
import { followerDistributionOf } from '../../../world/cli/profileInputs.js';
import { edgeCount, followGraph } from '../../../world/seed/graph.js';
import { generateCorpus } from '../../../world/seed/corpus.js';
import { parseCorpus } from '../../../scenarios/lib/content.ts';
import { MAIN } from '../../support/paths.js';

function fedicap(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const made: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'fedicap-seed-'));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** FOLLOWERS of a seed.rb, parsed back from its heredoc. */
function graphOf(script: string): number[][] {
  const m = /FOLLOWERS = JSON\.parse\(<<~'GRAPH'\)\n([\s\S]*?)\nGRAPH\n/.exec(script);
  if (!m) throw new Error('no FOLLOWERS heredoc in seed.rb');
  return JSON.parse(m[1]!) as number[][];
}

describe('fedicap seed', () => {
  it("writes seed.rb with N accounts and the profile's follow graph, and content.json", () => {
    const out = join(tmp(), 'seed');
    const r = fedicap('seed', '--accounts', '40', '--out', out, '--posts', '120', '--seed', '7');
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['content.json', 'seed.rb']); // no temporary files left
    const script = readFileSync(join(out, 'seed.rb'), 'utf8');
    expect(script).toContain('ACCOUNTS = 40');
    expect(script).toContain("PREFIX = 'fedicap'");
    expect(script).toContain("SCOPES = 'read write follow push'");
    expect(script).toMatch(/Doorkeeper::AccessToken\.create!/);
    expect(script).toMatch(/follow!\(accounts\[target\], bypass_limit: true\)/);
    expect(script).toMatch(/FEDICAP_CONFIRM_DOMAIN/);
    expect(script).toMatch(/0o600/);
    // the edges are data in the script, exactly the seeded graph of the profile
    const graph = graphOf(script);
    expect(graph).toEqual(followGraph(followerDistributionOf(loadProfile()), 40, 7));
    expect(graph).toHaveLength(40);
    graph.forEach((followers, i) => {
      expect(followers).not.toContain(i);
      for (const f of followers) expect(f >= 0 && f < 40).toBe(true);
    });
    expect(script).toContain(`${edgeCount(graph)} follows`);
    // the default profile: mean 25 active local followers per post, capped by the 39 other accounts
    expect(edgeCount(graph) / 40).toBeGreaterThan(10);

    const corpus = parseCorpus(JSON.parse(readFileSync(join(out, 'content.json'), 'utf8')), 'content.json');
    expect(corpus).toHaveLength(120);
    expect(corpus).toEqual(generateCorpus(120, 7, 0.15));
    const lengths = corpus.map((p) => p.text.length);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(500);
    expect(lengths.filter((l) => l <= 80).length).toBeGreaterThan(10);
    expect(lengths.filter((l) => l > 250).length).toBeGreaterThan(3);
    expect(corpus.filter((p) => /#\w/.test(p.text)).length).toBeGreaterThan(20);
    expect(corpus.filter((p) => p.text.includes('{mention}')).length).toBeGreaterThan(10);

    expect(r.stdout).toContain('bin/rails runner');
    expect(r.stdout).toContain('FEDICAP_CONFIRM_DOMAIN');
  });

  it('never puts a token in its output: tokens are made on the staging host', () => {
    const out = join(tmp(), 'seed');
    const r = fedicap('seed', '--accounts', '3', '--out', out, '--posts', '5');
    expect(r.code, r.stderr).toBe(0);
    const everything = [
      r.stdout,
      r.stderr,
      readFileSync(join(out, 'seed.rb'), 'utf8'),
      readFileSync(join(out, 'content.json'), 'utf8'),
    ].join('\n');
    // Doorkeeper tokens are 43-character url-safe base64 strings; none is written or printed
    expect(everything).not.toMatch(/[A-Za-z0-9_-]{43}/);
    expect(everything).not.toMatch(/"token"\s*:\s*"/);
  });

  it('the same seed gives the same graph; another seed another graph', () => {
    const p = loadProfile();
    expect(followGraph(followerDistributionOf(p), 30, 1)).toEqual(
      followGraph(followerDistributionOf(p), 30, 1),
    );
    expect(followGraph(followerDistributionOf(p), 30, 1)).not.toEqual(
      followGraph(followerDistributionOf(p), 30, 2),
    );
    expect(followGraph(followerDistributionOf(p), 1, 1)).toEqual([[]]);
  });

  it.each([
    [['--accounts', '0'], /--accounts must be a positive integer, got 0/],
    [['--accounts', '2.5'], /--accounts must be a positive integer, got 2\.5/],
    [['--accounts', '-3'], /--accounts must be a positive integer/],
    [['--accounts', 'many'], /--accounts must be a positive integer, got NaN/],
    [
      ['--accounts', '5', '--profile', '/nonexistent/profile.json'],
      /profile \/nonexistent\/profile\.json: cannot read \(ENOENT\)/,
    ],
    [['--accounts', '5', '--prefix', 'bad prefix!'], /--prefix "bad prefix!"/],
    [[], /Missing required argument: accounts/],
  ])('bad input %j → exit 2 and nothing written', (args, pattern) => {
    const out = join(tmp(), 'seed');
    const r = fedicap('seed', '--out', out, ...args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });
});
