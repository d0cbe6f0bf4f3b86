import type { Server } from 'node:net';
import type { Registry } from 'prom-client';
import type { MetricsJson, StartMessage, ToChild, ToPrimary } from './messages.js';

/** How long a web worker waits for the primary's exporter text before answering /metrics with 503. */
const SCRAPE_TIMEOUT_MS = 5_000;

/** A forked process's side of the IPC channel to the primary. */
export class PrimaryLink {
  private nextId = 0;
  private readonly scrapes = new Map<number, (text: string | undefined) => void>();
  private registry: Registry | undefined;

  constructor(handlers: { start(start: StartMessage, handle: Server | undefined): void; stop(): void }) {
    process.on('message', (message: ToChild, handle: unknown) => {
      if (message.kind === 'start') handlers.start(message, handle as Server | undefined);
      else if (message.kind === 'stop') handlers.stop();
      else if (message.kind === 'collect') void this.answerCollect(message.id);
      else if (message.kind === 'scraped') this.scrapes.get(message.id)?.(message.text);
    });
  }

  /** Resolves once the message is written to the channel (or the channel is gone). */
  send(message: ToPrimary): Promise<void> {
    return new Promise((resolve) => {
      if (!process.connected) return resolve();
      process.send?.(message, undefined, {}, () => resolve());
    });
  }

  /** The registry whose metrics the primary's exporter collects from this process. */
  serveMetrics(registry: Registry): void {
    this.registry = registry;
  }

  private async answerCollect(id: number): Promise<void> {
    const metrics: MetricsJson = (await this.registry?.getMetricsAsJSON()) ?? [];
    await this.send({ kind: 'metrics', id, metrics });
  }

  /** The exporter's text of every process, from the primary; undefined when it does not answer in time. */
  scrape(): Promise<string | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(undefined), SCRAPE_TIMEOUT_MS);
      const done = (text: string | undefined) => {
        clearTimeout(timer);
        this.scrapes.delete(id);
        resolve(text);
      };
      this.scrapes.set(id, done);
      void this.send({ kind: 'scrape', id });
    });
  }
}
