import { DEFAULT_QUEUE_WEIGHTS, QUEUES, type QueueName } from './classes.js';

export interface SidekiqArgs {
  threads: number;
  queues: { name: QueueName; weight: number }[];
}

/** Sidekiq's default concurrency when `-c` is absent (SIDEKIQ_CONCURRENCY unset). */
const DEFAULT_CONCURRENCY = 5;

/**
 * Parse the arguments of a Sidekiq unit: `-c N` and `-q NAME[,WEIGHT]`
 * (long forms `--concurrency`, `--queue` too). Without `-q`, Mastodon's
 * config/sidekiq.yml applies: every queue with its shipped weight.
 */
export function parseSidekiqCommand(command: string): SidekiqArgs | { error: string } {
  const words = command.trim().split(/\s+/).filter(Boolean);
  let threads = DEFAULT_CONCURRENCY;
  const queues: SidekiqArgs['queues'] = [];
  for (let i = 0; i < words.length; i++) {
    const flag = words[i];
    const arg = words[i + 1];
    if (flag === '-c' || flag === '--concurrency') {
      const n = Number(arg);
      if (!Number.isInteger(n) || n < 1)
        return { error: `"${flag}" needs a positive integer, got "${arg ?? ''}"` };
      threads = n;
      i++;
    } else if (flag === '-q' || flag === '--queue') {
      const [name, weightText] = (arg ?? '').split(',');
      if (!QUEUES.includes(name as QueueName)) {
        return { error: `unknown queue "${name ?? ''}" (known: ${QUEUES.join(', ')})` };
      }
      const weight = weightText === undefined ? 1 : Number(weightText);
      if (!Number.isInteger(weight) || weight < 1)
        return { error: `queue weight must be a positive integer, got "${weightText}"` };
      queues.push({ name: name as QueueName, weight });
      i++;
    } else {
      return { error: `unsupported argument "${flag}" (expected -c N and -q NAME[,WEIGHT])` };
    }
  }
  if (queues.length === 0) {
    for (const name of QUEUES) queues.push({ name, weight: DEFAULT_QUEUE_WEIGHTS[name] });
  }
  return { threads, queues };
}
