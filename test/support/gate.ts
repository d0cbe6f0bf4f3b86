import http from 'node:http';

/**
 * A remote host on loopback that holds every request until `open()`: it shows how many requests the
 * testbed has in flight at once (a Sidekiq process's threads, a web worker's). Inbox POSTs get 202,
 * anything else 404.
 */
export class GateServer {
  port = 0;
  inFlight = 0;
  maxInFlight = 0;
  served = 0;
  private opened = false;
  private readonly held: (() => void)[] = [];
  private readonly server = http.createServer((req, res) => {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const answer = () => {
      this.inFlight--;
      this.served++;
      res.writeHead(req.method === 'POST' ? 202 : 404).end();
    };
    req.resume();
    req.once('end', () => (this.opened ? answer() : this.held.push(answer)));
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Answer every held request, and every later one at once. */
  open(): void {
    this.opened = true;
    for (const answer of this.held.splice(0)) answer();
  }

  async stop(): Promise<void> {
    this.open();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
