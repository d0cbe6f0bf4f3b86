/**
 * The k6 engine: `k6 run --out json=….gz --summary-export=… [--out SPEC]… -e … SCENARIO`,
 * with fedicap's two outputs written under temporary names and renamed into
 * place when k6 exits, the user's k6 outputs passed through, and k6's exit code
 * passed through.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, renameSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { tempPathFor } from '../shared/files.js';
import { maskSecretsInText } from '../shared/urlSecrets.js';

/**
 * fedicap's k6 metric stream in a run directory: k6's `--out json` lines, gzip-compressed (k6 compresses
 * a json output whose file name ends in .gz; the local executor does the same).
 */
export const K6_OUTPUT = 'k6.ndjson.gz';

/** Path of an executable `k6` on PATH, or null. */
export function findK6(path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, process.platform === 'win32' ? 'k6.exe' : 'k6');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface K6RunOptions {
  k6: string;
  scenarioPath: string;
  /** -e pairs for k6 (BASE_URL and the user's). */
  env: Record<string, string>;
  /** Keys whose values may be shown when the command line is printed. */
  showValues: ReadonlySet<string>;
  outDir: string;
  /** k6 outputs of the user's (`--k6-out`), each passed as `--out SPEC`. */
  outputs: readonly string[];
  stderr: (text: string) => void;
  signal?: AbortSignal;
}

/** Run k6; resolves with its exit code. */
export function runK6(opts: K6RunOptions): Promise<number> {
  const ndjson = join(opts.outDir, K6_OUTPUT);
  const summary = join(opts.outDir, 'summary.json');
  // Ending in .gz, so that k6 compresses it.
  const tmpNdjson = `${tempPathFor(ndjson)}.gz`;
  const tmpSummary = tempPathFor(summary);
  const args = ['run', '--out', `json=${tmpNdjson}`, '--summary-export', tmpSummary];
  const shown = ['k6', ...args];
  for (const spec of opts.outputs) {
    args.push('--out', spec);
    shown.push('--out', maskSecretsInText(spec));
  }
  for (const [k, v] of Object.entries(opts.env)) {
    args.push('-e', `${k}=${v}`);
    shown.push('-e', opts.showValues.has(k) ? `${k}=${v}` : `${k}=…`);
  }
  args.push(opts.scenarioPath);
  shown.push(opts.scenarioPath);
  opts.stderr(`${shown.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(opts.k6, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    const onAbort = () => child.kill('SIGINT');
    opts.signal?.addEventListener('abort', onAbort);
    child.once('error', (err) => {
      opts.signal?.removeEventListener('abort', onAbort);
      rmSync(tmpNdjson, { force: true });
      rmSync(tmpSummary, { force: true });
      reject(err);
    });
    child.once('exit', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (existsSync(tmpNdjson)) renameSync(tmpNdjson, ndjson);
      if (existsSync(tmpSummary)) renameSync(tmpSummary, summary);
      resolve(code ?? (signal ? 128 + 2 : 1));
    });
  });
}
