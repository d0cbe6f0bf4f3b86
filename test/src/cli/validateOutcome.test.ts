import { describe, expect, it } from 'vitest';
import { stationsUnderTest, validationText } from '../../../src/cli/validateOutcome.js';
import type { ValidationWorldFacts } from '../../../src/validate/world.js';

type Process = ValidationWorldFacts['processes'][number];

const world = (processes: Process[]) => ({ processes }) as ValidationWorldFacts;
const sidekiq = (pid: number, name: string, queues: string[], threads: number): Process => ({
  role: 'sidekiq',
  pid,
  name,
  queues,
  threads,
});

describe('stationsUnderTest', () => {
  it('a station per queue with a pool of its own, its processes and threads, and the web workers', () => {
    const { stations, shared } = stationsUnderTest(
      world([
        { role: 'primary', pid: 1, name: 'primary' },
        { role: 'web', pid: 2, name: 'web-1', threads: 5 },
        { role: 'web', pid: 3, name: 'web-2', threads: 5 },
        sidekiq(4, 'sidekiq-ingress-1', ['ingress'], 5),
        sidekiq(5, 'sidekiq-ingress-2', ['ingress'], 5),
        sidekiq(6, 'sidekiq-push-1', ['push'], 10),
        sidekiq(7, 'sidekiq-default_mailers-1', ['default', 'mailers'], 5),
        { role: 'streaming', pid: 8, name: 'streaming' },
      ]),
    );
    expect(stations).toEqual([
      {
        station: 'ingress',
        kind: 'sidekiq-queue',
        processes: 2,
        threads: 5,
        processNames: ['sidekiq-ingress-1', 'sidekiq-ingress-2'],
      },
      { station: 'push', kind: 'sidekiq-queue', processes: 1, threads: 10, processNames: ['sidekiq-push-1'] },
      { station: 'web', kind: 'web', processes: 2, threads: 5, processNames: ['web-1', 'web-2'] },
    ]);
    // default shares its process with mailers: no pool of its own to hold the model to
    expect(shared).toEqual(['default']);
  });
});

describe('validationText', () => {
  it('Markdown: predicted, measured and error per station, then the notes; JSON: the outcome as it is', () => {
    const outcome = {
      runDir: '/r',
      stations: [
        { station: 'push', kind: 'sidekiq-queue' as const, processes: 1, threads: 5, processNames: ['p'] },
      ],
      lightSteps: [0, 1],
      steps: [],
      rows: [
        {
          station: 'push',
          predictedSaturationPerSec: 110,
          bottleneck: 'threads',
          measuredSaturationPerSec: 100,
          measuredMaxPerSec: 100,
          saturationError: 0.1,
          p95: { step: 2, utilization: 0.71, predictedSec: 0.012, measuredSec: 0.01, error: 0.2 },
          usl: {
            sigma: { value: 0.1, low: 0.05, high: 0.2, resamples: 200 },
            kappa: { value: 0.01, low: 0, high: 0.02, resamples: 200 },
            lambda: { value: 30, low: 28, high: 33, resamples: 200 },
            maxConcurrency: { value: 9.5, low: 6, high: 20, resamples: 200 },
            maxThroughputPerSec: { value: 104, low: 96, high: 121, resamples: 200 },
            points: 5,
          },
        },
        {
          station: 'web',
          predictedSaturationPerSec: 300,
          bottleneck: 'interpreter-lock',
          measuredSaturationPerSec: null,
          measuredMaxPerSec: 250,
          saturationError: null,
          p95: null,
          usl: null,
        },
      ],
      notes: ['a note'],
    };
    const md = validationText(outcome, 'md');
    expect(md).toContain(
      '| push | 110.0/s (threads) | 100.0/s | +10.0 % | 104.0/s (96–121) | 2 (71 %) | 12.0 ms | 10.0 ms | +20.0 % |',
    );
    expect(md).toContain('| web | 300.0/s (interpreter-lock) | not reached (≥ 250.0/s) | — | — |');
    expect(md).toContain('calibrated from steps 0, 1');
    expect(md).toMatch(/\n- a note\n$/);
    expect(JSON.parse(validationText(outcome, 'json'))).toEqual(outcome);
  });
});
