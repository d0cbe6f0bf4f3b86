import http from 'node:http';
import { serveStreaming } from '../api/streaming.js';
import { closeContext, openContext } from '../openContext.js';
import type { RoleRunner } from './role.js';

/** Mastodon's streaming server: its own process, on the loopback socket the primary bound for it. */
export const runStreaming: RoleRunner<'streaming'> = async (start, listening) => {
  if (!listening) throw new Error('streaming needs its listening socket');
  const tb = await openContext(start.config, start.address);
  const server = http.createServer();
  const streaming = serveStreaming(server, tb);
  await new Promise<void>((resolve) => server.listen(listening, resolve));
  return {
    metrics: tb.metrics,
    async stop() {
      streaming.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await closeContext(tb);
    },
  };
};
