/**
 * The `k6/http` module: asyncRequest (the synchronous forms refuse with a hint), url, file, expectedStatuses.
 */
import { toBytes } from '../bytes.js';
import { ExpectedStatuses, expectedStatuses } from '../expectedStatuses.js';
import { FileData, HttpUrl, httpRequest } from '../http.js';
import type { VuApi } from '../vuApi.js';
import { synchronousHttpHint } from './supported.js';

/** http.url`...`: the `name` tag keeps the template with `${}` placeholders, as k6's does. */
function url(strings: TemplateStringsArray, ...values: unknown[]): HttpUrl {
  let text = '';
  let name = '';
  strings.forEach((s, i) => {
    text += s;
    name += s;
    if (i < values.length) {
      text += String(values[i]);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: k6's name tag is the literal placeholder `${}`
      name += '${}';
    }
  });
  return new HttpUrl(text, name);
}

/** Refused at bundle time already; kept for a member reached in a way the bundler cannot see (http[name]). */
const syncForm = (name: string) => () => {
  throw new Error(synchronousHttpHint(name));
};

export function httpMembers(vu: VuApi): Record<string, unknown> {
  const asyncRequest = (method: unknown, rawUrl: unknown, body?: unknown, params?: unknown) => {
    vu.enter('http.asyncRequest()');
    vu.pendingAdd();
    return httpRequest(vu, method, rawUrl, body, params).finally(() => vu.pendingDone());
  };
  return {
    asyncRequest,
    request: syncForm('request'),
    get: syncForm('get'),
    head: syncForm('head'),
    post: syncForm('post'),
    put: syncForm('put'),
    patch: syncForm('patch'),
    del: syncForm('del'),
    options: syncForm('options'),
    url,
    file: (data: unknown, filename?: unknown, contentType?: unknown) =>
      new FileData(
        toBytes(data, 'http.file()'),
        typeof filename === 'string' ? filename : 'file',
        typeof contentType === 'string' ? contentType : 'application/octet-stream',
      ),
    expectedStatuses,
    setResponseCallback: (cb: unknown) => {
      if (cb !== null && !(cb instanceof ExpectedStatuses))
        throw new Error('http.setResponseCallback(): pass http.expectedStatuses(...) or null');
      vu.responseCallback = cb as ExpectedStatuses | null;
    },
  };
}
