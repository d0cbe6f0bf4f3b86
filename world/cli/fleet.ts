import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import type { Argv } from 'yargs';
import { InputError } from '../../src/shared/errors.js';
import { writeFileAtomic } from '../../src/shared/files.js';
import { hostsLines, testbedInstructions, tlsInstructions } from '../fleet/instructions.js';
import { parseByteSize, parseTargetRule, resolveFleetOptions } from '../fleet/options.js';

const SIZE_LIST = /^[^,]+(,[^,]+)*$/;

function parseSizes(text: string): number[] {
  if (!SIZE_LIST.test(text.trim()))
    throw new InputError(`--media-sizes "${text}": expected a list such as 64KB,512KB,2MB`);
  return text.split(',').map((part) => {
    const bytes = parseByteSize(part);
    if (Number.isNaN(bytes))
      throw new InputError(
        `--media-sizes "${text}": "${part.trim()}" is not a size (use B, KB or MB, e.g. 512KB)`,
      );
    return bytes;
  });
}

export function fleetCommand(y: Argv) {
  return y.command(
    'fleet',
    'Serve simulated remote instances and a relay on loopback (WebFinger, actors, media, pages, signed inboxes) for federation load tests',
    (c) =>
      c
        .option('port', { type: 'number', default: 4100, describe: '0 picks a free port' })
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'Bind address (loopback only)' })
        .option('instances', {
          type: 'number',
          default: 10,
          describe: 'Simulated instances i1.SUFFIX … iN.SUFFIX',
        })
        .option('actors-per-instance', { type: 'number', default: 20 })
        .option('cold-fraction', {
          type: 'number',
          default: 0.5,
          describe: 'Share of actors labelled cold (their first activity makes the target fetch them)',
        })
        .option('media-sizes', {
          type: 'string',
          default: '64KB,512KB,2MB',
          describe: 'Generated JPEGs (1 KB = 1024 B)',
        })
        .option('slow-instances', {
          type: 'number',
          default: 0,
          describe:
            "Instances whose inboxes answer after --slow-delay-sec (past Mastodon's 10 s read timeout)",
        })
        .option('slow-delay-sec', { type: 'number', default: 12 })
        .option('failing-instances', {
          type: 'number',
          default: 0,
          describe: 'Instances whose inboxes answer --fail-status',
        })
        .option('fail-status', { type: 'number', default: 503 })
        .option('tls', {
          type: 'boolean',
          default: false,
          describe: 'Serve HTTPS with a local CA (ca.pem is written next to the manifest)',
        })
        .option('ca-dir', {
          type: 'string',
          describe: 'Keep the CA (ca.pem, ca-key.pem 0600) here and reuse it on later runs',
        })
        .option('host-suffix', { type: 'string', default: 'fleet.test' })
        .option('manifest-out', {
          type: 'string',
          default: 'fleet-manifest.json',
          describe: 'Manifest for the scenarios (mode 0600: holds private keys)',
        })
        .option('deliveries-out', {
          type: 'string',
          default: 'fleet-deliveries.ndjson',
          describe: 'Delivery records, one JSON line each (appended)',
        })
        .option('target-resolve', {
          type: 'string',
          array: true,
          describe: 'HOST=ADDR:PORT: reach the target HOST at loopback ADDR:PORT for key fetches and Accepts',
        })
        .option('seed', {
          type: 'number',
          default: 1,
          describe: 'Seed for names, texts and collection sizes',
        })
        .option('key-pool', {
          type: 'number',
          default: 4,
          describe: 'Distinct RSA key pairs shared by the actors',
        })
        .option('pages-per-instance', {
          type: 'number',
          default: 3,
          describe: 'Pages listed in the manifest per instance',
        })
        .option('accept-follows', {
          type: 'boolean',
          default: true,
          describe: 'Answer Follows of fleet actors and of the relay with an Accept',
        }),
    async (args) => {
      const slowDelaySec = args['slow-delay-sec'];
      if (!(slowDelaySec > 0 && slowDelaySec <= 120))
        throw new InputError(`--slow-delay-sec must be above 0 and at most 120, got ${slowDelaySec}`);
      const options = {
        host: args.host,
        port: args.port,
        instances: args.instances,
        actorsPerInstance: args['actors-per-instance'],
        coldFraction: args['cold-fraction'],
        mediaSizesBytes: parseSizes(args['media-sizes']),
        slowInstances: args['slow-instances'],
        failingInstances: args['failing-instances'],
        slowDelayMs: Math.round(slowDelaySec * 1000),
        failStatus: args['fail-status'],
        tls: args.tls,
        caDir: args['ca-dir'],
        hostSuffix: args['host-suffix'],
        manifestOut: args['manifest-out'],
        deliveriesOut: args['deliveries-out'],
        targetResolve: (args['target-resolve'] ?? []).map(parseTargetRule),
        seed: args.seed,
        keyPoolSize: args['key-pool'],
        pagesPerInstance: args['pages-per-instance'],
        autoAccept: args['accept-follows'],
        log: (line: string) => process.stderr.write(`${line}\n`),
      };
      if (args['ca-dir'] && !args.tls) throw new InputError('--ca-dir needs --tls');
      for (const flag of ['manifest-out', 'deliveries-out'] as const) {
        const dir = dirname(resolvePath(args[flag]));
        if (!existsSync(dir) || !statSync(dir).isDirectory())
          throw new InputError(`--${flag} ${args[flag]}: directory ${dir} does not exist`);
      }
      resolveFleetOptions(options); // every bad option is reported before keys, images and certificates are made
      // Loaded here, not at start-up: other commands should not pay for sharp, node-forge and faker.
      const { startFleet } = await import('../fleet/server.js');
      let fleet;
      try {
        fleet = await startFleet(options);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new InputError(`cannot listen on ${args.host}:${args.port}: ${code}`);
        }
        if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'EPERM') {
          throw new InputError(
            `cannot write ${(err as NodeJS.ErrnoException).path ?? 'an output file'}: ${code}`,
          );
        }
        throw err;
      }
      const m = fleet.manifest;
      const by = (b: string) => m.instances.filter((i) => i.behaviour === b).length;
      const cold = m.actors.filter((a) => a.population === 'cold').length;
      // One write: readers (and tests) see the address and the instructions together.
      let banner =
        `fleet listening on ${fleet.url}: ${m.instances.length} instances *.${m.hostSuffix} (${by('normal')} normal, ${by('slow')} slow, ${by('failing')} failing), ` +
        `relay ${m.relay.host}, ${m.actors.length} actors (${m.actors.length - cold} warm, ${cold} cold)\n` +
        `manifest: ${fleet.manifestPath} (mode 0600: it holds private keys; never commit it)\n` +
        `deliveries: ${resolvePath(options.deliveriesOut)} (NDJSON, appended)\n`;
      if (fleet.caFile && fleet.manifestPath) {
        const lines = hostsLines(m, fleet.port === 443 ? args.host : '127.0.0.2');
        let hostsFile: string | undefined;
        if (lines.length > 6) {
          hostsFile = join(dirname(fleet.manifestPath), 'fleet-hosts.txt');
          writeFileAtomic(hostsFile, `${lines.join('\n')}\n`, 0o644);
        }
        banner += tlsInstructions(m, {
          caFile: fleet.caFile,
          port: fleet.port,
          caCreated: fleet.caCreated ?? true,
          hostsFile,
        });
      } else banner += testbedInstructions(m, fleet.port);
      process.stderr.write(banner);

      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stderr.write('stopping: flushing deliveries\n');
      await fleet.stop();
      const s = fleet.stats();
      process.stderr.write(
        `fleet stopped: ${s.deliveries} deliveries recorded, ${s.actorsFetched} actors fetched by the target, ${s.keyFetches} key fetches, ` +
          `${s.accepts.sent} Accepts sent (${s.accepts.failed} failed)\n`,
      );
    },
  );
}
