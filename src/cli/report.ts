import type { Argv } from 'yargs';
import { errnoText, InputError } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/files.js';

/** `fedicap report RUN_DIR [--out FILE]`: a run's HTML report, to stdout or written whole to FILE. */
export function reportCommand(y: Argv) {
  return y.command(
    'report <run>',
    "A load-test run as one HTML page: k6's request rate, latencies, errors, 429s and dropped iterations on the same time axis as the instance's queues, threads, CPU, connections, memory and storage",
    (c) =>
      c
        .positional('run', {
          type: 'string',
          demandOption: true,
          describe: 'The run directory (fedicap run --out-dir)',
        })
        .option('out', {
          type: 'string',
          describe: 'Write the HTML to this file (through a temporary name) instead of stdout',
        }),
    async (args) => {
      // Loaded here: vega is for HTML only, and other commands need not pay for it.
      const { readRunTimeline } = await import('../report/html/runTimeline.js');
      const { runHtml } = await import('../report/html/runHtml.js');
      const html = await runHtml(await readRunTimeline(args.run));
      if (args.out === undefined) {
        process.stdout.write(html);
        return;
      }
      try {
        writeFileAtomic(args.out, html);
      } catch (err) {
        throw new InputError(`--out ${args.out}: cannot write (${errnoText(err)})`);
      }
      process.stderr.write(`wrote ${args.out}\n`);
    },
  );
}
