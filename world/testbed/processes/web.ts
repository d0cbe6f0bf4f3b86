import { closeContext, openContext } from '../openContext.js';
import { buildWebApp } from '../web/app.js';
import type { RoleRunner } from './role.js';

/** How long a stopping worker lets requests in flight finish before it cuts their connections. */
const WEB_SHUTDOWN_TIMEOUT_MS = 8_000;

/** Wait until `done()` or `ms` have passed, whichever comes first (polled: requests end on their own). */
async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/**
 * A Puma worker: accepts on the port the primary bound (its socket is shared by every worker, as
 * Puma's workers share the master's), serves at most MAX_THREADS requests at once.
 */
export const runWebWorker: RoleRunner<'web'> = async (start, listening, link) => {
  if (!listening) throw new Error('a web worker needs the listening socket');
  const tb = await openContext(start.config, start.address);
  const web = await buildWebApp(tb, {
    maxThreads: start.config.maxThreads,
    streaming: start.streaming,
    metricsText: () => link.scrape(),
    onRequestEnd: (request) => void link.send({ kind: 'request', request }),
    log: (entry) => void link.send({ kind: 'log', entry }),
  });
  await new Promise<void>((resolve) => web.server.listen(listening, resolve));
  return {
    metrics: tb.metrics,
    async stop() {
      // Stop accepting and drop idle keep-alive connections; let requests in flight finish (bounded).
      web.server.close();
      await waitUntil(() => web.inFlight() === 0, WEB_SHUTDOWN_TIMEOUT_MS);
      web.server.closeAllConnections();
      for (const socket of web.streams) socket.destroy();
      await web.app.close();
      await closeContext(tb);
    },
  };
};
