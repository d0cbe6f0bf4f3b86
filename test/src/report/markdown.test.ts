import { describe, expect, it } from 'vitest';
import {
  cell,
  codeSettings,
  forecastMarkdown,
  formatGB,
  formatNumber,
  formatPercent,
  formatSeconds,
  formatUSD,
  whatifMarkdown,
} from '../../../src/report/markdown.js';
import { POOL, sampleReport } from '../../support/sampleReport.js';

/** The lines of the section that starts with `## title`, up to the next `## `. */
function section(md: string, title: string): string[] {
  const lines = md.split('\n');
  const start = lines.indexOf(`## ${title}`);
  expect(start, `section "${title}"`).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/** Cells of a GFM table row, split on unescaped pipes. */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** Body rows (after header and rule) of the first table in some lines. */
function tableRows(lines: string[]): string[][] {
  const rows = lines.filter((l) => l.startsWith('|'));
  return rows.slice(2).map(cells);
}

/** Every table in the document: header, a rule, rows with the header's cell count. */
function expectValidTables(md: string): void {
  const lines = md.split('\n');
  let i = 0;
  let tables = 0;
  while (i < lines.length) {
    if (!lines[i]!.startsWith('|')) {
      i++;
      continue;
    }
    const block: string[] = [];
    while (i < lines.length && lines[i]!.startsWith('|')) block.push(lines[i++]!);
    tables++;
    const width = cells(block[0]!).length;
    expect(block[1], 'delimiter row').toMatch(/^\|(?:-{3,}:?\|)+$/);
    expect(cells(block[1]!)).toHaveLength(width);
    for (const row of block.slice(2)) expect(cells(row), row).toHaveLength(width);
    expect(lines[i - block.length - 1] ?? '', 'a blank line before a table').toBe('');
  }
  expect(tables).toBeGreaterThan(0);
}

const componentOf = (row: string[]) => row[0]!.replace(/`/g, '');

describe('number formatting', () => {
  it('formats percentages, latencies, sizes and money the way an admin reads them', () => {
    expect(formatPercent(0.85)).toBe('85%');
    expect(formatPercent(0.034)).toBe('3.4%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatSeconds(0.25)).toBe('250 ms');
    expect(formatSeconds(12.34)).toBe('12.3 s');
    expect(formatSeconds(600)).toBe('10 min');
    expect(formatSeconds(5400)).toBe('1.5 h');
    expect(formatSeconds(Infinity)).toBe('unbounded');
    expect(formatSeconds(null)).toBe('—');
    expect(formatGB(0.42)).toBe('0.42 GB');
    expect(formatGB(35.51)).toBe('35.5 GB');
    expect(formatGB(1560.4)).toBe('1,560 GB');
    expect(formatUSD(74.444)).toBe('$74.44');
    expect(formatUSD(1234.5)).toBe('$1,235');
  });

  it('keeps assumption values compact and readable', () => {
    expect(formatNumber(1200000)).toBe('1.2e6');
    expect(formatNumber(30000000)).toBe('3e7');
    expect(formatNumber(30000)).toBe('30,000');
    expect(formatNumber(0.0005)).toBe('0.0005');
    expect(formatNumber(1.5)).toBe('1.5');
    expect(formatNumber(0.00002)).toBe('2e-5');
    expect(formatNumber(0)).toBe('0');
  });

  it('escapes pipes in table cells and flattens line breaks', () => {
    expect(cell('a | b')).toBe('a \\| b');
    expect(cell('already \\| escaped')).toBe('already \\| escaped');
    expect(cell('two\nlines')).toBe('two lines');
  });

  it('puts setting names in backticks but leaves existing code spans alone', () => {
    expect(codeSettings('raise MAX_THREADS to 8 (and DB_POOL with it)')).toBe(
      'raise `MAX_THREADS` to 8 (and `DB_POOL` with it)',
    );
    expect(codeSettings('pool (PREPARED_STATEMENTS=false)')).toBe('pool (`PREPARED_STATEMENTS=false`)');
    expect(codeSettings('run `sidekiq -c 25 -q push` with DB_POOL=25')).toBe(
      'run `sidekiq -c 25 -q push` with `DB_POOL=25`',
    );
    expect(codeSettings('give host app 16 vCPUs instead of 8')).toBe('give host app 16 vCPUs instead of 8');
  });
});

describe('forecastMarkdown', () => {
  const report = sampleReport();
  const md = forecastMarkdown(report);

  it('has a title with profile, start, horizon, method and Monte Carlo settings', () => {
    const head = md.split('\n').slice(0, 4).join('\n');
    expect(head).toMatch(/^# .*mid-size default/);
    expect(head).toContain('2026-09');
    expect(head).toContain('24 months');
    expect(head).toContain('analytic');
    expect(head).toContain('200 draws');
    expect(head).toContain('seed 42');
    expect(forecastMarkdown(sampleReport({ monteCarlo: null }))).toContain('No Monte Carlo');
  });

  it('warns near the top iff some components are uncalibrated, naming them and how to calibrate', () => {
    const warning = md.indexOf('not calibrated');
    expect(warning).toBeGreaterThan(0);
    expect(warning).toBeLessThan(md.indexOf('## Summary'));
    const quote = md
      .split('\n')
      .filter((l) => l.startsWith('>'))
      .join('\n');
    for (const id of report.uncalibrated) expect(quote).toContain(`\`${id}\``);
    expect(quote).toContain('--calibration FILE');

    const some = forecastMarkdown(sampleReport({ uncalibrated: ['web'] }));
    expect(some).toContain('This component runs on assumed service demands');
    expect(
      some
        .split('\n')
        .filter((l) => l.startsWith('>'))
        .join('\n'),
    ).not.toContain('postgres');

    const none = forecastMarkdown(sampleReport({ uncalibrated: [] }));
    expect(none).not.toContain('not calibrated');
    expect(none).not.toContain('--calibration');
    expect(none.split('\n').some((l) => l.startsWith('>'))).toBe(false);
  });

  it('produces valid tables throughout', () => {
    expectValidTables(md);
    expectValidTables(forecastMarkdown(sampleReport({ horizonMonths: 1, monteCarlo: null })));
  });

  it('sorts the summary by saturation date, then by utilization', () => {
    const rows = tableRows(section(md, 'Summary'));
    const ids = rows.map(componentOf);
    expect(ids).toHaveLength(report.components.length);
    // Storage (30% now) saturates before the busier push queue (42%): dates first.
    expect(ids.slice(0, 5)).toEqual(['postgres', POOL, 'storage', 'sidekiq-queue:push', 'web']);
    const byId = new Map(report.components.map((c) => [c.id, c]));
    expect(byId.get('storage')!.utilization).toBeLessThan(byId.get('sidekiq-queue:push')!.utilization);
    const rest = ids.slice(5).map((id) => byId.get(id)!);
    expect(rest.every((c) => c.saturation === null)).toBe(true);
    for (let i = 1; i < rest.length; i++)
      expect(rest[i - 1]!.utilization).toBeGreaterThanOrEqual(rest[i]!.utilization);
  });

  it('shows the central date with its P10–P90 range, and "not within N months" for null', () => {
    const rows = new Map(tableRows(section(md, 'Summary')).map((r) => [componentOf(r), r]));
    expect(rows.get('sidekiq-queue:push')![3]).toContain('2028-02 (P10 2027-11, P90 2028-07)');
    expect(rows.get('web')![3]).toContain('2028-07 (P10 2028-04, P90 after horizon)');
    expect(rows.get('streaming')![3]).toBe('not within 24 months');
    // The central forecast holds but some draws saturate: say so.
    expect(rows.get('redis')![3]).toBe('not within 24 months (P10 2028-06; 15% of draws saturate)');
    // ... and when most draws saturate, their median date too (the central values are the modes).
    const leaning = sampleReport();
    const redis = leaning.components.find((c) => c.id === 'redis')!;
    Object.assign(redis, { p10Date: '2027-07', p50Date: '2028-08', saturationProbability: 0.58 });
    const leaningRows = new Map(
      tableRows(section(forecastMarkdown(leaning), 'Summary')).map((r) => [componentOf(r), r]),
    );
    expect(leaningRows.get('redis')![3]).toBe(
      'not within 24 months (P10 2027-07, P50 2028-08; 58% of draws saturate)',
    );
    expect(rows.get('storage')![3]).toBe('**2027-12 (P10 2027-09, P90 2028-05)**');
    expect(rows.get('postgres')![1]).toBe('62%');
    expect(rows.get('web')![2]).toBe('246 ms (limit 1 s)');
    expect(rows.get('postgres')![2]).toBe('—');
    expect(rows.get('web')![4]).toContain('no');

    const short = forecastMarkdown(sampleReport({ horizonMonths: 12, monteCarlo: null, uncalibrated: [] }));
    const shortRows = new Map(tableRows(section(short, 'Summary')).map((r) => [componentOf(r), r]));
    // push does not saturate on its own; its pool does, and the row points there instead of a date of its own.
    expect(shortRows.get('sidekiq-queue:push')![3]).toBe('with its pool from 2027-07');
    expect(shortRows.get('sidekiq-process:default+push+ingress+mailers+pull+scheduler')![3]).toBe(
      '**2027-07**',
    );
    expect(shortRows.get('postgres')![3]).toBe('**2027-04**');
    expect(shortRows.get('web')![4]).toBe('yes');
  });

  it('reports an unbounded latency (null with a limit) as unbounded and over-limit latencies loudly', () => {
    const hot = sampleReport({ utilization: { 'sidekiq-queue:ingress': 1.05, 'sidekiq-queue:pull': 0.998 } });
    const rows = new Map(
      tableRows(section(forecastMarkdown(hot), 'Summary')).map((r) => [componentOf(r), r]),
    );
    expect(rows.get('sidekiq-queue:ingress')![2]).toBe('**unbounded** (limit 30 s)');
    expect(rows.get('sidekiq-queue:pull')![2]).toBe('**12.5 min, over** the limit of 10 min');
    expect(rows.get('sidekiq-queue:ingress')![1]).toBe('105%');
  });

  it('names the binding constraint of saturating components and of busy ones', () => {
    const lines = section(md, 'Binding constraints').filter((l) => l.startsWith('- '));
    const saturating = report.components.filter((c) => c.saturation);
    expect(lines).toHaveLength(saturating.length);
    for (const c of saturating) expect(lines.some((l) => l.includes(c.saturation!.reason))).toBe(true);

    // Within 6 months nothing saturates; PostgreSQL (62%) and the pool (55%) are busy, storage (30%) is not.
    const short = sampleReport({ horizonMonths: 6 });
    const shortLines = section(forecastMarkdown(short), 'Binding constraints').filter((l) =>
      l.startsWith('- '),
    );
    expect(shortLines).toHaveLength(2);
    expect(shortLines[0]).toContain('`postgres` (62% now): PostgreSQL CPU 62% of 4 cores');
    expect(shortLines[1]).toContain(POOL);
    expect(shortLines.join('\n')).not.toContain('storage');
  });

  it('lists recommendations with the date, the change, the new date and any extra cost', () => {
    const lines = section(md, 'Recommendations').filter((l) => l.startsWith('- '));
    expect(lines).toHaveLength(report.recommendations.length);
    const [pg, pool, storage, web] = lines as [string, string, string, string];
    expect(pg).toMatch(/^- `postgres` saturates 2027-04 → put PgBouncer/);
    expect(pg).toContain('`PREPARED_STATEMENTS=false`');
    expect(pg).toContain('not within the horizon');
    expect(pg).not.toContain('$');
    expect(pool).toContain('`sidekiq -c 25 -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull`');
    expect(pool).not.toContain('``');
    expect(pool).toContain('New saturation date: 2028-04');
    expect(storage).toContain('`tootctl media remove --days 7` daily, or `media_cache_retention_period`');
    expect(web).toBe(
      '- `web` saturates 2028-07 → give host app 16 vCPUs instead of 8. New saturation date: not within the horizon. ' +
        'Extra cost: +$48.00/month (8 vCPUs × $6.00 per vCPU-month, `prices.computePerVcpuMonth`).',
    );
    expect(pg).toContain('Extra cost: none (configuration only).');
    expect(pool).toContain(
      'Extra cost: +$6.00/month (1 vCPU × $6.00 per vCPU-month, `prices.computePerVcpuMonth`).',
    );

    const calm = forecastMarkdown(sampleReport({ horizonMonths: 6, recommendations: [] }));
    expect(section(calm, 'Recommendations').join('\n')).toContain('no component saturates within 6 months');
  });

  it('shows the load of month 0 and the last month', () => {
    const lines = section(md, 'Load');
    const header = cells(lines.find((l) => l.startsWith('|'))!);
    expect(header).toEqual(['', '2026-09 (now)', '2028-08 (month 23)']);
    const rows = new Map(tableRows(lines).map((r) => [r[0]!, r]));
    expect(rows.get('Sidekiq `push` jobs/s')![1]).toBe('14.2 (peak 28.4)');
    expect(rows.get('Sidekiq `mailers` jobs/s')![1]).toBe('0.0009 (peak 0.0018)');
    expect(rows.get('Web requests/s (mean)')![1]).toBe('46.3');
    expect(rows.get('Inbound activities/s (mean)')![1]).toBe('9.1');
    expect(rows.get('Daily active users')![1]).toBe('1,200');
    expect(rows.get('Monthly active users')![2]).toBe('9,859');
    for (const q of ['default', 'push', 'ingress', 'mailers', 'pull', 'scheduler'])
      expect(rows.has(`Sidekiq \`${q}\` jobs/s`)).toBe(true);
  });

  it('shows storage and cost for month 0, month 12 and the last month, marking the cheapest provider', () => {
    const lines = section(md, 'Storage and budget');
    const header = cells(lines.find((l) => l.startsWith('|'))!);
    expect(header).toEqual(['', '2026-09 (now)', '2027-09 (month 12)', '2028-08 (month 23)']);
    const storage = new Map(tableRows(lines).map((r) => [r[0]!, r]));
    expect(storage.get('Local media')![1]).toBe('150 GB');
    expect(storage.get('Remote media cache')![1]).toBe('180 GB');
    expect(storage.get('Preview cards')![1]).toBe('24 GB');
    expect(storage.get('Database')![1]).toBe('25 GB');
    expect(storage.get('Egress per month')![1]).toBe('1,100 GB');

    const costTable = lines.slice(lines.findIndex((l) => l.startsWith('| Month')));
    const costs = tableRows(costTable);
    expect(costs).toHaveLength(3 * 5);
    const cheapest = costs.filter((r) => r[5]!.includes('cheapest'));
    expect(cheapest.map((r) => r[1])).toEqual(['Wasabi', 'Wasabi', 'Wasabi']);
    expect(costs[0]).toEqual(['2026-09 (now)', 'AWS S3', '$8.14', '$99.00', '$72.00', '$179']);

    // Month 12 is beyond a 6-month horizon: only month 0 and the last month.
    const short = section(forecastMarkdown(sampleReport({ horizonMonths: 6 })), 'Storage and budget');
    expect(cells(short.find((l) => l.startsWith('|'))!)).toEqual(['', '2026-09 (now)', '2027-02 (month 5)']);
  });

  it('lists every assumption, the ones sourced "assumption" first, with compact numbers', () => {
    const rows = tableRows(section(md, 'Assumptions'));
    expect(rows).toHaveLength(report.assumptions.length);
    const paths = rows.map((r) => r[0]!.replace(/`/g, ''));
    expect(new Set(paths)).toEqual(new Set(report.assumptions.map((a) => a.path)));
    const isAssumed = rows.map((r) => r[3]!.startsWith('**assumption'));
    expect(isAssumed.indexOf(false)).toBe(isAssumed.lastIndexOf(true) + 1);
    expect(isAssumed.filter(Boolean)).toHaveLength(7);

    const byPath = new Map(rows.map((r) => [r[0]!.replace(/`/g, ''), r]));
    expect(byPath.get('media.localImageBytes')!.slice(1, 3)).toEqual(['1.2e6', '600,000 – 2.5e6']);
    expect(byPath.get('serviceDemands.jobs.FeedInsertWorker.cpuSec')![1]).toBe('0.0005');
    expect(byPath.get('accounts.totalLocal')![2]).toBe('—');
    expect(byPath.get('growth.monthlyActiveUserGrowth')![3]).toBe('profile \\| admin estimate');
  });
});

describe('whatifMarkdown', () => {
  const relay = { name: 'relay.example', postsPerHour: 1800, mediaFraction: null };
  const before = sampleReport();
  // The relay brings ingress and pull work; the push queue shares the pool and gets busier too.
  const after = sampleReport({
    relay,
    utilization: { 'sidekiq-queue:ingress': 0.7, 'sidekiq-queue:pull': 0.3, 'sidekiq-queue:push': 0.5 },
  });
  const md = whatifMarkdown(before, after, relay);

  const monthOf = (r: typeof before, id: string) =>
    r.components.find((c) => c.id === id)!.saturation?.month ?? null;

  it('describes the relay and produces valid tables', () => {
    expect(md).toMatch(/^# What if we join relay\.example\?/);
    expect(md).toContain('1,800 public posts per hour');
    expect(md).toContain("the profile's inbound media share");
    expect(whatifMarkdown(before, after, { ...relay, mediaFraction: 0.25 })).toContain(
      '25% of posts with media',
    );
    expectValidTables(md);
  });

  it('highlights components whose saturation moved earlier, and only those', () => {
    const pushBefore = monthOf(before, 'sidekiq-queue:push')!;
    const pushAfter = monthOf(after, 'sidekiq-queue:push')!;
    expect(pushAfter).toBeLessThan(pushBefore);
    expect(monthOf(before, 'sidekiq-queue:ingress')).toBeNull();
    expect(monthOf(after, 'sidekiq-queue:ingress')).not.toBeNull();

    const rows = tableRows(section(md, 'Saturation dates'));
    const byId = new Map(rows.map((r) => [componentOf(r), r]));
    expect(byId.get('sidekiq-queue:push')![3]).toBe(`⚠ **earlier by ${pushBefore - pushAfter} months**`);
    expect(byId.get('sidekiq-queue:ingress')![3]).toBe('⚠ **now saturates within the horizon**');
    expect(byId.get('sidekiq-queue:push')![1]).toContain(
      before.components.find((c) => c.id === 'sidekiq-queue:push')!.saturation!.date,
    );
    expect(byId.get('postgres')![3]).toBe('unchanged');
    expect(
      rows
        .filter((r) => r[3]!.includes('⚠'))
        .map(componentOf)
        .sort(),
    ).toEqual(['sidekiq-queue:ingress', 'sidekiq-queue:push']);
    // Highlighted rows come first.
    expect(rows.slice(0, 2).every((r) => r[3]!.includes('⚠'))).toBe(true);

    const verdict = section(md, 'Verdict').join('\n');
    expect(verdict).toContain('`sidekiq-queue:push`');
    expect(verdict).toContain('`sidekiq-queue:ingress`');

    const same = whatifMarkdown(before, before, relay);
    expect(same).not.toContain('⚠');
    expect(section(same, 'Verdict').join('\n')).toContain('moves no saturation date earlier');
  });

  it('compares per-queue load and utilization side by side', () => {
    const load = new Map(tableRows(section(md, 'Load')).map((r) => [r[0]!, r]));
    expect(load.get('Sidekiq `ingress` jobs/s')!.slice(1)).toEqual([
      '9.1 (peak 18.2)',
      '9.6 (peak 19.2)',
      '+0.5 (×1.05)',
    ]);
    expect(load.get('Sidekiq `push` jobs/s')![3]).toBe('0');
    expect(load.get('Inbound activities/s (mean)')![2]).toBe('9.6');

    const util = new Map(tableRows(section(md, 'Utilization')).map((r) => [componentOf(r), r]));
    expect(util.get('sidekiq-queue:ingress')!.slice(1, 4)).toEqual(['28%', '70%', '+42 pt']);
    expect(util.get('web')![3]).toBe('0');
  });

  it("compares storage and every provider's monthly cost at month 0 and the last month", () => {
    const storageLines = section(md, 'Storage');
    expect(cells(storageLines.find((l) => l.startsWith('|'))!)).toEqual([
      '',
      '2026-09 before',
      '2026-09 after',
      '2026-09 change',
      '2028-08 before',
      '2028-08 after',
      '2028-08 change',
    ]);
    const storage = new Map(tableRows(storageLines).map((r) => [r[0]!, r]));
    expect(storage.get('Remote media cache')![3]).toMatch(/^\+/);
    expect(storage.get('Local media')![3]).toBe('0');

    const costs = tableRows(section(md, 'Monthly cost'));
    expect(costs.map((r) => r[0])).toEqual([
      'AWS S3',
      'Backblaze B2',
      'Wasabi',
      'Cloudflare R2',
      'MinIO (self-hosted) (yours)',
    ]);
    for (const r of costs) expect(r[3]).toMatch(/^\+\$/);
  });

  it('lists the recommendations of the forecast after joining', () => {
    const custom = sampleReport({
      relay,
      recommendations: [
        {
          componentId: 'sidekiq-queue:ingress',
          componentIds: ['sidekiq-queue:ingress'],
          saturationDate: '2027-01',
          knob: 'extra Sidekiq process',
          change: 'add a Sidekiq process `sidekiq -c 25 -q ingress,4` (DB_POOL=25) on host app',
          newSaturationDate: null,
          extraMonthlyUSD: 0,
          costItems: [],
        },
      ],
    });
    const lines = section(whatifMarkdown(before, custom, relay), 'Recommendations after joining').filter(
      (l) => l.startsWith('- '),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      '`sidekiq-queue:ingress` saturates 2027-01 → add a Sidekiq process `sidekiq -c 25 -q ingress,4`',
    );
  });
});
