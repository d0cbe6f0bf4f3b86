import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { type K6Line, readK6Json } from '../../src/results/k6Json.js';
import { tempDir } from './helpers.js';

export interface TestServer {
  url: string;
  host: string;
  /** Every request: path and the time it arrived (ms since epoch). */
  requests: Array<{ path: string; at: number }>;
  close(): Promise<void>;
}

/**
 * A keep-alive HTTP server on 127.0.0.1 with a few endpoints: /json, /slow
 * (300 ms), /status/NNN, anything else "ok"; and a WebSocket endpoint at
 * /ws that sends three JSON events and echoes what it receives (an upgrade
 * anywhere else is refused with 404, as by a server without that stream).
 */
export async function startServer(): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ path, at: Date.now() });
    if (path.startsWith('/slow')) {
      setTimeout(() => res.end('slow'), 300);
      return;
    }
    const status = /^\/status\/(\d{3})/.exec(path);
    if (status) {
      res.statusCode = Number(status[1]);
      res.end(`status ${status[1]}`);
      return;
    }
    if (path.startsWith('/json')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: 'fedicap', items: [{ id: 1 }, { id: 2 }] }));
      return;
    }
    res.end('ok');
  });
  server.keepAliveTimeout = 30_000;
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (!(req.url ?? '').startsWith('/ws')) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', (ws) => {
    let n = 0;
    const t = setInterval(() => {
      ws.send(JSON.stringify({ event: 'update', n: ++n }));
      if (n === 3) clearInterval(t);
    }, 10);
    ws.on('message', (m) => ws.send(`echo:${String(m)}`));
    ws.on('close', () => clearInterval(t));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Write a scenario file into a fresh temporary directory; returns its path. */
export function writeScenario(source: string, name = 'scenario.ts'): string {
  const dir = tempDir('fedicap-runner-');
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

/** Every line of a k6 JSON output file, read through src/results. */
export async function readK6Lines(path: string): Promise<K6Line[]> {
  const lines: K6Line[] = [];
  for await (const line of readK6Json(path)) lines.push(line);
  return lines;
}
