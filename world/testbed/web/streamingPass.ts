import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * nginx's `location ^~ /api/v1/streaming` in Mastodon's configuration: the
 * streaming API's requests and WebSocket upgrades go to the streaming
 * process on loopback, never to a web thread.
 */
/** Where the streaming process listens. */
export interface StreamingAddress {
  host: string;
  port: number;
}

export const isStreamingPath = (url = '/') => /^\/api\/v1\/streaming(?:[/?]|$)/.test(url);

/** Pass one HTTP request (the health check) on to the streaming process and its answer back. */
export function passRequest(req: IncomingMessage, res: ServerResponse, to: StreamingAddress): void {
  const upstream = http.request(
    { host: to.host, port: to.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (res.headersSent) res.destroy();
    else res.writeHead(502, { 'Content-Type': 'text/plain' }).end('streaming is not available');
  });
  req.pipe(upstream);
}

/** The request line and headers as received, to replay them upstream. */
function requestHead(req: IncomingMessage): string {
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Splice an upgrade request's socket to the streaming process: the WebSocket
 * handshake and frames pass through untouched; either side's end ends the
 * other (pipe), and so does the client's going away.
 */
export function passUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, to: StreamingAddress): void {
  const upstream = net.connect(to.port, to.host, () => {
    upstream.write(requestHead(req));
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', () => {
    if (upstream.bytesWritten === 0 && socket.writable)
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  socket.on('error', () => upstream.destroy());
  socket.on('close', () => upstream.destroy());
}
