import type { Argv } from 'yargs';
import { InputError } from '../shared/errors.js';
import { metricsAt, serversForMeanWait } from '../model/queueing.js';
import { emit } from './output.js';
import { sidekiqQueueCommand } from './queueSidekiq.js';

/** The queueing calculators: M/M/c for one station (the default) and `queue sidekiq` for a Sidekiq host. */
export function queueCommand(y: Argv) {
  return y.command(
    'queue',
    'M/M/c (Erlang C) calculator for one station, e.g. a Sidekiq queue and its threads',
    (q) => sidekiqQueueCommand(q).command('$0', false, stationFlags, stationAnswer),
  );
}

/** The one-station calculator: "how many push threads do I need?". Any consistent time unit. */
function stationFlags(c: Argv) {
  return c
    .option('arrival-rate', { type: 'number', demandOption: true, describe: 'Jobs per time unit' })
    .option('service-time', {
      type: 'number',
      demandOption: true,
      describe: 'Mean time one job holds a thread, same time unit',
    })
    .option('servers', { type: 'number', demandOption: true, describe: 'Threads (servers)' })
    .option('target-wait', {
      type: 'number',
      describe: 'Mean wait to meet: also answer the fewest servers that meet it',
    })
    .option('format', { choices: ['text', 'json'] as const, default: 'text' as const });
}

function stationAnswer(args: Awaited<ReturnType<typeof stationFlags>['argv']>): void {
  const rate = args['arrival-rate'];
  const service = args['service-time'];
  const servers = args.servers;
  const target = args['target-wait'];
  if (!Number.isFinite(rate) || rate < 0)
    throw new InputError(`--arrival-rate must be a number >= 0, got ${rate}`);
  if (!Number.isFinite(service) || service <= 0)
    throw new InputError(`--service-time must be a number > 0, got ${service}`);
  if (!Number.isInteger(servers) || servers < 1)
    throw new InputError(`--servers must be an integer >= 1, got ${servers}`);
  if (target !== undefined && !(Number.isFinite(target) && target > 0)) {
    throw new InputError(`--target-wait must be a number > 0, got ${target}`);
  }
  const m = metricsAt({ arrivalRatePerSec: rate, serviceTimeSec: service, servers });
  const result: Record<string, number | boolean | null> = {
    utilization: m.utilization,
    probabilityOfWait: m.probabilityOfWait,
    meanWaitSec: Number.isFinite(m.meanWaitSec) ? m.meanWaitSec : null,
    meanResponseSec: Number.isFinite(m.meanResponseSec) ? m.meanResponseSec : null,
    stable: m.stable,
  };
  if (target !== undefined) result.serversNeeded = serversForMeanWait(rate, service, target);
  if (args.format === 'json') {
    emit(JSON.stringify(result, null, 2), undefined, 'queue.json');
    return;
  }
  const lines = [
    `utilization          ${(m.utilization * 100).toFixed(1)} %${m.stable ? '' : '  (overloaded: arrivals exceed capacity, the queue grows without bound)'}`,
    `probability of wait  ${(m.probabilityOfWait * 100).toFixed(1)} %`,
    `mean wait            ${m.stable ? m.meanWaitSec.toPrecision(4) : 'unbounded'}`,
    `mean response        ${m.stable ? m.meanResponseSec.toPrecision(4) : 'unbounded'}`,
  ];
  if (target !== undefined)
    lines.push(`servers needed       ${result.serversNeeded} for a mean wait <= ${target}`);
  emit(lines.join('\n'), undefined, 'queue.txt');
}
