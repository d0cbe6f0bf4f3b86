/** A comparison in Markdown: the verdict first, the regressions in plain words, then every row. */
import type { Comparison, Row } from './comparison.js';
import { formatChange, formatDifference, formatP, formatValue } from './format.js';

/** One regression in a sentence: `timelines/home p95 +38 % (CI +29 to +47 %), 120 ms → 166 ms, p < 0.001`. */
export function regressionSentence(row: Row): string {
  const { change, interval } = formatChange(row);
  const c = row.change;
  const unitChange = row.unit === 'share' ? '' : `, ${formatDifference(c.difference, row.unit)}`;
  return (
    `${row.subject} ${row.metric} ${change} (CI ${interval})${unitChange}: ` +
    `${formatValue(c.base, row.unit)} → ${formatValue(c.candidate, row.unit)}, ${formatP(row.pValue)}`
  );
}

export function comparisonMarkdown(comparison: Comparison): string {
  const { base, candidate, settings: s, regressions } = comparison;
  const lines = [
    `# fedicap compare: ${regressions.length === 0 ? 'no regression' : `${regressions.length} regression${regressions.length === 1 ? '' : 's'}`}`,
    '',
    `Base \`${base.dir}\` (${base.scenario}, started ${base.startedAt}, ${base.durationSec.toFixed(0)} s); ` +
      `candidate \`${candidate.dir}\` (${candidate.scenario}, started ${candidate.startedAt}, ${candidate.durationSec.toFixed(0)} s).`,
    '',
    `A row regresses when it got worse by more than ${(s.threshold * 100).toFixed(1).replace(/\.0$/, '')} %, ` +
      `its ${s.level * 100} % bootstrap interval excludes no change (${s.resamples} paired resamples of ${s.windowSec} s ` +
      `windows, seed ${s.seed}), and the Mann–Whitney test on the two runs gives p < ${s.alpha}.`,
    '',
  ];
  for (const w of comparison.warnings) lines.push(`**Warning:** ${w}.`, '');
  if (regressions.length > 0) {
    lines.push(
      '## Regressions, worst first',
      '',
      ...regressions.map((r) => `- ${regressionSentence(r)}`),
      '',
    );
  }
  const client = comparison.rows.filter((r) => r.section === 'endpoint class');
  const server = comparison.rows.filter((r) => r.section !== 'endpoint class');
  lines.push('## Endpoint classes (k6)', '', ...table(client, false), '');
  lines.push('## Sidekiq, processes and the host (collector)', '');
  if (comparison.serverNote) lines.push(`Not compared: ${comparison.serverNote}.`, '');
  else lines.push(...table(server, true), '');
  if (comparison.unpaired.length > 0) {
    lines.push('## Measured in one run only', '');
    for (const u of comparison.unpaired) lines.push(`- ${u.section} ${u.subject}: ${u.onlyIn} run only`);
    lines.push('');
  }
  return lines.join('\n');
}

function table(rows: readonly Row[], withSection: boolean): string[] {
  const head = [
    ...(withSection ? ['what'] : []),
    'subject',
    'metric',
    'base',
    'candidate',
    'change',
    'interval',
    'rank test',
    'verdict',
  ];
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const { change, interval } = formatChange(r);
    const cells = [
      ...(withSection ? [r.section] : []),
      r.subject,
      r.metric,
      formatValue(r.change.base, r.unit),
      formatValue(r.change.candidate, r.unit),
      change,
      interval,
      formatP(r.pValue),
      r.verdict === 'regressed' ? '**regressed**' : r.verdict,
    ];
    out.push(`| ${cells.join(' | ')} |`);
  }
  return out;
}
