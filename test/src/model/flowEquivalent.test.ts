import { describe, expect, it } from 'vitest';
import { solveMva } from '../../../src/model/closedNetwork.js';
import { flowEquivalentMetrics, flowEquivalentWaitPercentileSec } from '../../../src/model/flowEquivalent.js';
import { metricsAt, waitPercentileSec } from '../../../src/model/queueing.js';

/** X(n) = n/S for n ≤ c: c independent exponential servers, i.e. M/M/c. */
const parallelServers = (servers: number, serviceTimeSec: number) =>
  Array.from({ length: servers }, (_, i) => (i + 1) / serviceTimeSec);

describe('flow-equivalent server', () => {
  it('worked by hand: one thread is M/M/1 (ρ = 0.5: P(wait) = 0.5, Wq = ρS/(1 − ρ) = S)', () => {
    const m = flowEquivalentMetrics([2], 1); // S = 0.5 s, λ = 1/s
    expect(m.utilization).toBeCloseTo(0.5, 12);
    expect(m.probabilityOfWait).toBeCloseTo(0.5, 12);
    expect(m.meanWaitSec).toBeCloseTo(0.5, 12);
    expect(m.meanBusyThreads).toBeCloseTo(0.5, 12);
  });

  it('with X(n) = n/S it is Erlang C: P(wait), mean and p95 wait as queueing.ts computes them', () => {
    for (const arrivalRatePerSec of [2, 6, 9, 9.9]) {
      const station = { arrivalRatePerSec, serviceTimeSec: 0.5, servers: 5 };
      const expected = metricsAt(station);
      const fes = flowEquivalentMetrics(parallelServers(5, 0.5), arrivalRatePerSec);
      expect(fes.probabilityOfWait).toBeCloseTo(expected.probabilityOfWait, 10);
      expect(fes.meanWaitSec).toBeCloseTo(expected.meanWaitSec, 10);
      expect(fes.meanBusyThreads).toBeCloseTo(expected.offeredLoadErlangs, 10);
      expect(flowEquivalentWaitPercentileSec(fes, 95)).toBeCloseTo(waitPercentileSec(station, 95), 10);
    }
  });

  it('on an MVA curve: a process whose lock binds waits more than threads alone would say', () => {
    // 10 threads; each job 4 ms of Ruby CPU under the lock and 16 ms of I/O. Capacity X(10) < 250/s.
    const curve = solveMva(
      [
        { name: 'lock', kind: 'queueing', demandSec: 0.004 },
        { name: 'io', kind: 'delay', demandSec: 0.016 },
      ],
      10,
    ).map((s) => s.throughputPerSec);
    const capacity = curve[9]!;
    expect(capacity).toBeLessThan(250);
    expect(capacity).toBeGreaterThan(240);
    const atSeventy = flowEquivalentMetrics(curve, 0.7 * capacity);
    const threadsOnly = metricsAt({ arrivalRatePerSec: 0.7 * capacity, serviceTimeSec: 0.02, servers: 10 });
    expect(atSeventy.stable).toBe(true);
    expect(atSeventy.meanBusyThreads).toBeGreaterThan(threadsOnly.offeredLoadErlangs);
    expect(atSeventy.probabilityOfWait).toBeGreaterThan(threadsOnly.probabilityOfWait);
  });

  it('overload and bad input', () => {
    const over = flowEquivalentMetrics([1, 2], 2);
    expect(over.stable).toBe(false);
    expect(over.meanWaitSec).toBe(Infinity);
    expect(flowEquivalentWaitPercentileSec(flowEquivalentMetrics([1, 2], 3), 95)).toBe(Infinity);
    expect(flowEquivalentMetrics([1, 2], 0).meanWaitSec).toBe(0);
    expect(() => flowEquivalentMetrics([], 1)).toThrow(/at least one thread/);
    expect(() => flowEquivalentMetrics([0], 1)).toThrow(/> 0/);
    expect(() => flowEquivalentMetrics([1], Number.NaN)).toThrow(/arrival rate/);
  });
});
