/**
 * The `k6/timers` module (also installed as globals): a pending timer keeps
 * its VU's iteration running, and the VU clears them all when it is stopped.
 */
import type { VuApi } from '../vuApi.js';

export function timersMembers(vu: VuApi) {
  const schedule =
    (repeat: boolean) =>
    (fn: unknown, delay?: unknown, ...args: unknown[]): number => {
      vu.enter(repeat ? 'setInterval()' : 'setTimeout()');
      if (typeof fn !== 'function')
        throw new Error(`${repeat ? 'setInterval' : 'setTimeout'}: the callback must be a function`);
      const id = vu.nextTimerId++;
      const ms = Math.max(0, Number(delay) || 0);
      const run = () => {
        if (!repeat) {
          vu.timers.delete(id);
        }
        try {
          if (!vu.dead) (fn as (...a: unknown[]) => unknown)(...args);
        } catch (err) {
          vu.recordError(err);
        } finally {
          if (!repeat) vu.pendingDone();
        }
      };
      vu.timers.set(id, repeat ? setInterval(run, ms) : setTimeout(run, ms));
      vu.pendingAdd();
      return id;
    };
  const clear = (id: unknown) => {
    const handle = vu.timers.get(Number(id));
    if (!handle) return;
    clearTimeout(handle);
    vu.timers.delete(Number(id));
    vu.pendingDone();
  };
  return {
    setTimeout: schedule(false),
    setInterval: schedule(true),
    clearTimeout: clear,
    clearInterval: clear,
  };
}
