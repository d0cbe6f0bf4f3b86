/** The `k6/data` module: SharedArray, built once per name and shared read-only by every VU. */
import type { VuApi } from '../vuApi.js';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * k6's SharedArray offers only length, [index] and for…of: anything else (slice, map…) would pass here and
 * fail under k6, so refuse it.
 */
function k6ArrayView(name: string, frozen: readonly unknown[]): readonly unknown[] {
  return new Proxy(frozen, {
    get(target, prop, receiver) {
      if (prop === 'length' || prop === Symbol.iterator || (typeof prop === 'string' && /^\d+$/.test(prop))) {
        return Reflect.get(target, prop, receiver);
      }
      if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
      throw new Error(
        `SharedArray "${name}": .${prop} is not available in k6 (a SharedArray supports length, [index] and for…of)`,
      );
    },
  });
}

export function dataMembers(vu: VuApi): Record<string, unknown> {
  const engine = vu.engine;
  function SharedArray(name: unknown, fn: unknown): readonly unknown[] {
    vu.initOnly('new SharedArray()');
    if (typeof name !== 'string' || name === '')
      throw new Error('new SharedArray(name, fn): name must be a non-empty string');
    const cached = engine.sharedArrays.get(name);
    if (cached) return cached;
    if (typeof fn !== 'function')
      throw new Error('new SharedArray(name, fn): fn must be a function returning an array');
    const data = (fn as () => unknown)();
    if (!Array.isArray(data)) throw new Error(`SharedArray "${name}": the function must return an array`);
    const view = k6ArrayView(name, deepFreeze(JSON.parse(JSON.stringify(data)) as unknown[]));
    engine.sharedArrays.set(name, view);
    return view;
  }
  return { SharedArray };
}
