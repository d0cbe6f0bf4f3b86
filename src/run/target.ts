/**
 * The target a run sends load to: the user names it (--target) and confirms
 * its host (--confirm-target); the local executor only ever sends load to
 * loopback addresses; and the target must answer a TCP connect before any
 * load starts.
 */
import { connect } from 'node:net';
import { isLoopbackHost } from '../shared/loopback.js';

export { isLoopbackHost };

/** Parse --target: an http(s) URL without credentials. Returns the URL or an error message. */
export function parseTarget(text: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `--target "${text}" is not a URL; expected e.g. http://127.0.0.1:3000`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `--target "${text}": expected an http:// or https:// URL`;
  if (url.username || url.password)
    return '--target must not carry credentials (user:password@); pass tokens to the scenario with -e';
  return url;
}

/** Can we open a TCP connection to the target? Resolves to null, or a message saying why not. */
export function probeTarget(url: URL, timeoutMs = 3000): Promise<string | null> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (message: string | null) => {
      socket.destroy();
      resolve(message);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer from ${url.host} within ${timeoutMs / 1000} s`));
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done(`connection refused at ${url.host} (is the instance running?)`);
      else if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') done(`cannot resolve ${url.hostname}`);
      else done(`cannot connect to ${url.host}: ${err.code ?? err.message}`);
    });
  });
}
