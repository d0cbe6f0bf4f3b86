/**
 * The k6 API the local executor implements: module → named exports. The
 * bundler resolves only these modules and fails on any other `k6/...` import
 * or any named export missing here; every module also has a default export
 * (the module object) that throws when a missing member is read.
 */
export const SUPPORTED_MODULES: Record<string, readonly string[]> = {
  k6: ['check', 'fail', 'group', 'sleep', 'randomSeed'],
  'k6/http': ['asyncRequest', 'url', 'file', 'expectedStatuses', 'setResponseCallback'],
  'k6/metrics': ['Counter', 'Gauge', 'Rate', 'Trend'],
  'k6/data': ['SharedArray'],
  'k6/execution': ['scenario', 'instance', 'test', 'vu'],
  'k6/timers': ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
  'k6/encoding': ['b64encode', 'b64decode'],
  'k6/websockets': ['WebSocket'],
  'k6/experimental/websockets': ['WebSocket'],
};

/**
 * k6/http's synchronous forms: a VU of the local executor cannot block in one Node.js process. The
 * bundler refuses a scenario that uses one, before any load, pointing at asyncRequest.
 */
export const SYNCHRONOUS_HTTP = ['request', 'get', 'head', 'post', 'put', 'patch', 'del', 'options'];

/** Why a synchronous form is refused, and what to write instead. */
export const synchronousHttpHint = (name: string) =>
  `http.${name}() is synchronous, which the local executor cannot do in one Node.js process; use \`await http.asyncRequest(method, url, body, params)\` (k6 supports it too) in an async function, or run this scenario with k6 (--engine k6)`;

/**
 * A module object whose unknown members throw, naming the API (for `import http from 'k6/http';
 * http.batch(...)`).
 */
export function strictModule(name: string, members: Record<string, unknown>): Record<string, unknown> {
  return new Proxy(members, {
    get(target, prop, receiver) {
      if (
        typeof prop !== 'string' ||
        prop in target ||
        prop === 'then' ||
        prop === '__esModule' ||
        prop === 'toJSON'
      ) {
        return Reflect.get(target, prop, receiver);
      }
      throw new Error(
        `unsupported k6 API: ${name === 'k6' ? '' : `${name.split('/').pop()}.`}${prop} (from "${name}") is not implemented by the local executor; run this scenario with k6 (--engine k6)`,
      );
    },
  });
}

/** A module's named exports plus its strict default export (the module object). */
export function k6Module(name: string, members: Record<string, unknown>): Record<string, unknown> {
  const m = { ...members };
  return { ...members, default: strictModule(name, m) };
}
