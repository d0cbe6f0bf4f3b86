import type { Argv } from 'yargs';
import { launchFleet, stoppedSummary } from '../fleet/launch.js';
import { parseMediaSizes, parseTargetRule, slowDelayMsOf } from '../fleet/options.js';
import { untilStopSignal } from '../../src/shared/signals.js';

/** What the fleet serves: instances, actors, media and the misbehaving instances. */
function populationFlags<T>(c: Argv<T>) {
  return c
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
      describe: "Instances whose inboxes answer after --slow-delay-sec (past Mastodon's 10 s read timeout)",
    })
    .option('slow-delay-sec', { type: 'number', default: 12 })
    .option('failing-instances', {
      type: 'number',
      default: 0,
      describe: 'Instances whose inboxes answer --fail-status',
    })
    .option('fail-status', { type: 'number', default: 503 });
}

/** How it is served (TLS), where its files go, and how it answers the target. */
function servingFlags<T>(c: Argv<T>) {
  return c
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
    });
}

export function fleetCommand(y: Argv) {
  return y.command(
    'fleet',
    'Serve simulated remote instances and a relay on loopback (WebFinger, actors, media, pages, signed inboxes) for federation load tests',
    (c) => servingFlags(populationFlags(c)),
    async (args) => {
      const slowDelayMs = slowDelayMsOf(args['slow-delay-sec']);
      const { fleet, banner } = await launchFleet({
        host: args.host,
        port: args.port,
        instances: args.instances,
        actorsPerInstance: args['actors-per-instance'],
        coldFraction: args['cold-fraction'],
        mediaSizesBytes: parseMediaSizes(args['media-sizes']),
        slowInstances: args['slow-instances'],
        failingInstances: args['failing-instances'],
        slowDelayMs,
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
      });
      process.stderr.write(banner);
      await untilStopSignal();
      process.stderr.write('stopping: flushing deliveries\n');
      await fleet.stop();
      process.stderr.write(stoppedSummary(fleet.stats()));
    },
  );
}
