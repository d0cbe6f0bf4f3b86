/**
 * The testbed's primary: it prepares PostgreSQL and Redis, binds the web port, and forks the processes
 * a Mastodon deployment runs: WEB_CONCURRENCY web workers sharing the port, each Sidekiq process of each
 * unit, and streaming (processes/). It serves no request and runs no job itself; it keeps a Testbed of
 * its own for seeding and for the tests (a Rails console), and is the metrics exporter.
 */
import net from 'node:net';
import type { TestbedConfig } from './config.js';
import type { Testbed } from './context.js';
import { closeContext, type InstanceAddress, openContext } from './openContext.js';
import { prepareStores } from './prepare.js';
import { exporterText } from './processes/exporter.js';
import { ForkedProcess, type TestbedProcess } from './processes/fork.js';
import type { StartMessage, ToPrimary } from './processes/messages.js';
import { formatLogLine, writeToStderr } from './log.js';
import { recordJob } from './sidekiq/instruments.js';
import { recordRequest } from './web/instruments.js';
import { registerSidekiqMetrics } from './sidekiq/metrics.js';
import { ENGINE_DEFAULTS } from './sidekiq/processor.js';

export { TestbedStartupError } from './prepare.js';
export type { TestbedProcess } from './processes/fork.js';

export interface RunningTestbed {
  /** The primary's own Testbed: same database and Redis, no requests served and no jobs run. */
  tb: Testbed;
  /** http://host:port */
  url: string;
  /** The processes serving the instance: web workers, Sidekiq processes, streaming. */
  processes: readonly TestbedProcess[];
  /** Stop every process gracefully (see processes/main.ts), then close the primary's connections. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Node flags for the forked processes: a TypeScript loader when the testbed runs from source (tests). */
  childExecArgv?: string[];
  /** Where the error log's lines go (log.ts); stderr by default. */
  log?: (line: string) => void;
}

/**
 * Until every child serves, the primary shares the listening socket with them and may accept a
 * connection itself: it answers 503 and closes rather than holding it open with nobody to serve it.
 */
const NOT_YET =
  'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nretry-after: 1\r\nconnection: close\r\n\r\n';

function listen(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.end(NOT_YET);
    });
    server.once('error', reject);
    server.listen({ host, port }, () => resolve(server));
  });
}

function addressOf(config: TestbedConfig, port: number): InstanceAddress {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { baseUrl: `http://${host}:${port}`, domain: config.localDomain || `${config.host}:${port}` };
}

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;

/** What each process is started with: streaming, the web workers, then every Sidekiq process. */
function startMessages(
  config: TestbedConfig,
  address: InstanceAddress,
  streamingPort: number,
): StartMessage[] {
  const common = { kind: 'start', config, address } as const;
  const sidekiqProcesses = config.sidekiq.reduce((n, unit) => n + unit.processes, 0);
  // Sidekiq scales each process's poll interval by the process count: together they poll as often as one.
  const pollIntervalMs = ENGINE_DEFAULTS.pollIntervalMs * sidekiqProcesses;
  return [
    { ...common, role: 'streaming' },
    ...Array.from({ length: config.webConcurrency }, () => ({
      ...common,
      role: 'web' as const,
      streaming: { host: config.host, port: streamingPort },
    })),
    ...config.sidekiq.flatMap((unit) =>
      Array.from({ length: unit.processes }, () => ({
        ...common,
        role: 'sidekiq' as const,
        unit,
        pollIntervalMs,
      })),
    ),
  ];
}

/** Prepare, bind, fork every process and wait until each serves. */
export async function startTestbed(
  config: TestbedConfig,
  launch: LaunchOptions = {},
): Promise<RunningTestbed> {
  await prepareStores(config);
  const web = await listen(config.host, config.port);
  try {
    const streaming = await listen(config.host, 0);
    try {
      return await startProcesses(config, launch, web, streaming);
    } finally {
      // The children hold the sockets now (or are gone): the primary accepts nothing.
      streaming.close();
    }
  } finally {
    web.close();
  }
}

async function startProcesses(
  config: TestbedConfig,
  launch: LaunchOptions,
  web: net.Server,
  streaming: net.Server,
): Promise<RunningTestbed> {
  const address = addressOf(config, portOf(web));
  const tb = await openContext(config, address);
  registerSidekiqMetrics(tb.metrics, tb.redis, tb.workers);

  const forked: ForkedProcess[] = [];
  const writeLog = launch.log ?? writeToStderr;
  const onMessage = (from: ForkedProcess, message: ToPrimary) => {
    if (message.kind === 'job') recordJob(tb.metrics, message.job);
    else if (message.kind === 'request') recordRequest(tb.metrics, message.request);
    else if (message.kind === 'log') writeLog(formatLogLine(message.entry));
    else if (message.kind === 'scrape')
      void exporterText(tb.metrics, forked)
        .catch(() => undefined)
        .then((text) => from.send({ kind: 'scraped', id: message.id, text }));
  };
  for (const start of startMessages(config, address, portOf(streaming))) {
    const listening = start.role === 'web' ? web : start.role === 'streaming' ? streaming : undefined;
    forked.push(new ForkedProcess(start, { execArgv: launch.childExecArgv ?? [], listening, onMessage }));
  }
  const stopAll = async () => {
    await Promise.all(forked.map((p) => p.stop()));
    await closeContext(tb);
  };
  try {
    await Promise.all(forked.map((p) => p.ready));
  } catch (err) {
    await stopAll();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    tb,
    url: address.baseUrl,
    processes: forked.map(({ role, pid, identity }) => ({ role, pid, identity })),
    close: () => (closing ??= stopAll()),
  };
}
