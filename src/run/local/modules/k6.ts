/** The `k6` module: check, group, sleep, fail, randomSeed. */
import { performance } from 'node:perf_hooks';
import vm from 'node:vm';
import { seededRng } from '../../../shared/random.js';
import type { Tags } from '../metrics.js';
import type { GroupNode, VuApi } from '../vuApi.js';

function ensureGroup(root: GroupNode, path: string): GroupNode {
  if (path === '') return root;
  let node = root;
  let cur = '';
  for (const name of path.split('::').slice(1)) {
    cur = `${cur}::${name}`;
    let child = node.groups.get(name);
    if (!child) {
      child = { name, path: cur, groups: new Map(), checks: new Map() };
      node.groups.set(name, child);
    }
    node = child;
  }
  return node;
}

function makeCheck(vu: VuApi) {
  return (val: unknown, sets: unknown, tags?: unknown): boolean => {
    vu.enter('check()');
    if (!sets || typeof sets !== 'object')
      throw new Error('check(val, sets): sets must be an object of name → function');
    const extra: Tags = {};
    for (const [k, v] of Object.entries((tags ?? {}) as Record<string, unknown>)) extra[k] = String(v);
    let all = true;
    for (const [name, test] of Object.entries(sets as Record<string, unknown>)) {
      let result = typeof test === 'function' ? (test as (v: unknown) => unknown)(val) : test;
      if (result && typeof (result as { then?: unknown }).then === 'function') {
        throw new Error(
          `check "${name}" returned a Promise: k6's check() is synchronous; await the value first, then check it`,
        );
      }
      result = Boolean(result);
      all &&= result as boolean;
      vu.emit('checks', result ? 1 : 0, vu.sampleTags({ ...extra, check: name }));
      const node = ensureGroup(vu.engine.rootGroup, vu.group);
      const c = node.checks.get(name) ?? { passes: 0, fails: 0 };
      if (result) c.passes++;
      else c.fails++;
      node.checks.set(name, c);
    }
    return all;
  };
}

function makeGroup(vu: VuApi) {
  return (name: unknown, fn: unknown): unknown => {
    vu.enter('group()');
    if (typeof name !== 'string' || name === '' || name.includes('::'))
      throw new Error('group(name, fn): name must be a non-empty string without "::"');
    if (typeof fn !== 'function') throw new Error('group(name, fn): fn must be a function');
    if ((fn as { constructor?: { name?: string } }).constructor?.name === 'AsyncFunction') {
      throw new Error(
        `group("${name}") was given an async function: k6 rejects async group callbacks (unless run with --features async-metric-context); keep the group body synchronous`,
      );
    }
    const parent = vu.group;
    const path = `${parent}::${name}`;
    ensureGroup(vu.engine.rootGroup, path);
    vu.group = path;
    const t0 = performance.now();
    try {
      const result = (fn as () => unknown)();
      if (result && typeof (result as { then?: unknown }).then === 'function') {
        throw new Error(
          `group("${name}") callback returned a Promise: k6 rejects async group callbacks; keep the group body synchronous`,
        );
      }
      return result;
    } finally {
      vu.emit('group_duration', performance.now() - t0, vu.sampleTags());
      vu.group = parent;
    }
  };
}

export function k6Members(vu: VuApi): Record<string, unknown> {
  const sleep = (seconds: unknown): Promise<void> => {
    vu.enter('sleep()');
    const ms = Math.max(0, Number(seconds) * 1000 || 0);
    vu.sleepPending++;
    vu.pendingAdd();
    return new Promise((resolve) => {
      setTimeout(() => {
        vu.sleepPending--;
        vu.pendingDone();
        resolve();
      }, ms);
    });
  };
  const fail = (message?: unknown): never => {
    throw new Error(message === undefined ? 'fail() called' : String(message));
  };
  const randomSeed = (seed: unknown) => {
    const rng = seededRng(Number(seed) || 0);
    (vm.runInContext('Math', vu.ctx) as { random: () => number }).random = () => rng.next();
  };
  return { check: makeCheck(vu), fail, group: makeGroup(vu), sleep, randomSeed };
}
