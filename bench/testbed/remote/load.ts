/** The load generators: closed loop, open loop in rate steps, and closed-loop readers. */
import http from 'node:http';
import { deadlineAfterMs, msBetween, nowNs, sleep } from '../clock.js';
import { CLIENT_TIMEOUT_MS, PROCESS_DEADLINE_MS } from '../parameters.js';
import type { RateStep, SendStats, StepStats } from '../protocol.js';

/** A signed request ready to send. */
export interface Prepared {
  path: string;
  headers: Record<string, string>;
  body: string;
}

interface Outcome {
  status: number;
  error?: string;
}

interface Request {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function sendOne(target: URL, agent: http.Agent, r: Request): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (v: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    const req = http.request(
      { host: target.hostname, port: target.port, method: r.method, path: r.path, headers: r.headers, agent },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => done({ status: res.statusCode ?? 0 }));
        res.on('error', (e) => done({ status: 0, error: e.message }));
      },
    );
    req.on('error', (e) => done({ status: 0, error: e.message }));
    req.setTimeout(CLIENT_TIMEOUT_MS, () =>
      req.destroy(new Error(`no answer within ${CLIENT_TIMEOUT_MS / 1000} s`)),
    );
    req.end(r.body);
  });
}

const newStats = (): SendStats => ({
  sent: 0,
  byStatus: {},
  errors: 0,
  dropped: 0,
  startNs: String(nowNs()),
  lastDoneNs: String(nowNs()),
  latenciesMs: [],
});

function record(s: SendStats, t0: bigint, r: Outcome): void {
  const t1 = nowNs();
  s.latenciesMs.push(msBetween(t0, t1));
  s.lastDoneNs = String(t1);
  if (r.error) {
    s.errors++;
    s.firstError ??= r.error;
  } else s.byStatus[r.status] = (s.byStatus[r.status] ?? 0) + 1;
}

/** Send one request, counted and timed in `s`. */
async function timedSend(target: URL, agent: http.Agent, s: SendStats, r: Request): Promise<void> {
  s.sent++;
  const t0 = nowNs();
  record(s, t0, await sendOne(target, agent, r));
}

/** Closed loop: `concurrency` lanes send the batch's requests one after another. */
export async function closed(target: URL, requests: Prepared[], concurrency: number): Promise<SendStats> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const s = newStats();
  let next = 0;
  const deadline = deadlineAfterMs(PROCESS_DEADLINE_MS);
  const lane = async () => {
    while (next < requests.length && nowNs() < deadline)
      await timedSend(target, agent, s, { method: 'POST', ...requests[next++]! });
  };
  s.startNs = String(nowNs());
  await Promise.all(Array.from({ length: concurrency }, lane));
  agent.destroy();
  return s;
}

/** When each arrival is due (and in which step), and the steps' empty stats. */
function schedule(plan: RateStep[]): { arrivals: { dueNs: bigint; step: number }[]; out: StepStats[] } {
  const arrivals: { dueNs: bigint; step: number }[] = [];
  const t0 = nowNs() + 20_000_000n;
  let offsetNs = 0n;
  const out: StepStats[] = [];
  plan.forEach((p, k) => {
    const n = Math.round(p.ratePerSec * p.durationSec);
    for (let j = 0; j < n; j++)
      arrivals.push({ dueNs: t0 + offsetNs + BigInt(Math.round((j / p.ratePerSec) * 1e9)), step: k });
    out.push({
      ...newStats(),
      startNs: String(t0 + offsetNs),
      endNs: String(t0 + offsetNs + BigInt(Math.round(p.durationSec * 1e9))),
      ratePerSec: p.ratePerSec,
    });
    offsetNs += BigInt(Math.round(p.durationSec * 1e9));
  });
  return { arrivals, out };
}

/**
 * Open loop: arrivals at a constant rate per step (k6's constant-arrival-rate),
 * steps back to back, whatever the answers take; an arrival finding
 * maxInFlight requests outstanding is dropped and counted.
 */
export async function steps(
  target: URL,
  requests: Prepared[],
  plan: RateStep[],
  maxInFlight: number,
): Promise<StepStats[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  const { arrivals, out } = schedule(plan);
  if (arrivals.length > requests.length)
    throw new Error(`steps need ${arrivals.length} requests, ${requests.length} prepared`);
  let i = 0;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  while (i < arrivals.length) {
    const now = nowNs();
    while (i < arrivals.length && arrivals[i]!.dueNs <= now) {
      const s = out[arrivals[i]!.step]!;
      const r = requests[i++]!;
      if (inFlight >= maxInFlight) {
        s.dropped++;
        continue;
      }
      inFlight++;
      const p: Promise<void> = timedSend(target, agent, s, { method: 'POST', ...r }).then(() => {
        inFlight--;
        pending.delete(p);
      });
      pending.add(p);
    }
    if (i < arrivals.length) {
      const waitMs = Number(arrivals[i]!.dueNs - nowNs()) / 1e6;
      await sleep(Math.max(0, Math.min(waitMs, 5)));
    }
  }
  await Promise.all([...pending]);
  agent.destroy();
  return out;
}

/** Closed-loop readers: one lane per token, each GETs `path` until the duration is over. */
export async function readers(
  target: URL,
  path: string,
  tokens: string[],
  durationMs: number,
): Promise<SendStats> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: tokens.length });
  const s = newStats();
  const start = nowNs();
  const end = start + BigInt(durationMs) * 1_000_000n;
  s.startNs = String(start);
  const lane = async (token: string) => {
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
    // Bounded: the duration, and at most 100,000 requests per lane.
    for (let n = 0; n < 100_000 && nowNs() < end; n++)
      await timedSend(target, agent, s, { method: 'GET', path, headers });
  };
  await Promise.all(tokens.map(lane));
  agent.destroy();
  return s;
}
