/**
 * The entry of every process the testbed forks (fork.ts): a web worker, a Sidekiq process or streaming,
 * as its start message says. It stops gracefully on the primary's `stop`, on SIGTERM or SIGINT (a
 * terminal's Ctrl-C reaches the whole process group), and when the primary is gone (the IPC channel
 * closes), so that no process outlives the testbed.
 */
import type { Server } from 'node:net';
import type { Role, StartMessage } from './messages.js';
import { PrimaryLink } from './primaryLink.js';
import type { RoleRunner, RunningRole } from './role.js';

/** Each role's module, loaded on demand: a Sidekiq process has no use for the web stack. */
const RUNNERS: { [R in Role]: () => Promise<RoleRunner<R>> } = {
  web: async () => (await import('./web.js')).runWebWorker,
  sidekiq: async () => (await import('./sidekiq.js')).runSidekiqProcess,
  streaming: async () => (await import('./streaming.js')).runStreaming,
};

let started: Promise<RunningRole | undefined> | undefined;
let stopping = false;

async function run(start: StartMessage, listening: Server | undefined): Promise<RunningRole | undefined> {
  process.title = `fedicap-testbed ${start.role}`;
  try {
    const runner = (await RUNNERS[start.role]()) as RoleRunner<Role>;
    const running = await runner(start, listening, link);
    link.serveMetrics(running.metrics);
    await link.send(running.identity ? { kind: 'ready', identity: running.identity } : { kind: 'ready' });
    return running;
  } catch (err) {
    await link.send({ kind: 'failed', message: (err as Error).message });
    process.exit(1);
  }
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  let code = 0;
  try {
    await (await started)?.stop();
  } catch (err) {
    console.error(`${process.title}: stopping failed: ${(err as Error).message}`);
    code = 1;
  }
  await link.send({ kind: 'stopped' });
  process.exit(code);
}

const link = new PrimaryLink({
  start(start, listening) {
    started ??= run(start, listening);
  },
  stop: () => void stop(),
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop());
process.on('disconnect', () => void stop());
void link.send({ kind: 'hello' });
