/** The `k6/metrics` module: Counter, Gauge, Rate, Trend, defined in the init context and added to per VU. */
import type { Metric, MetricType, Tags } from '../metrics.js';
import type { VuApi } from '../vuApi.js';

function metricClass(vu: VuApi, type: MetricType) {
  return class {
    readonly name: string;
    #metric: Metric;
    constructor(name: unknown, isTime?: unknown) {
      vu.initOnly(`new ${type[0]!.toUpperCase()}${type.slice(1)}()`);
      if (typeof name !== 'string') throw new Error('custom metrics need a name');
      this.name = name;
      this.#metric = vu.engine.registry.define(
        name,
        type,
        type === 'trend' && isTime === true ? 'time' : 'default',
      );
    }
    add(value: unknown, tags?: unknown): void {
      vu.enter(`${this.name}.add()`);
      let v: number;
      if (typeof value === 'boolean') v = value ? 1 : 0;
      else if (typeof value === 'number' && Number.isFinite(value)) v = value;
      else throw new Error(`${this.name}.add(${String(value)}): expected a finite number or a boolean`);
      if (this.#metric.type === 'rate') v = v !== 0 ? 1 : 0;
      const extra: Tags = {};
      for (const [k, val] of Object.entries((tags ?? {}) as Record<string, unknown>)) extra[k] = String(val);
      vu.emit(this.name, v, vu.sampleTags(extra));
    }
  };
}

export function metricsMembers(vu: VuApi): Record<string, unknown> {
  return {
    Counter: metricClass(vu, 'counter'),
    Gauge: metricClass(vu, 'gauge'),
    Rate: metricClass(vu, 'rate'),
    Trend: metricClass(vu, 'trend'),
  };
}
