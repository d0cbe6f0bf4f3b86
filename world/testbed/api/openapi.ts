import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { packageRoot } from '../../../src/shared/packageRoot.js';

const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

/**
 * Validation against the Mastodon client API's OpenAPI description
 * (fixtures/mastodon-api/openapi.json, its origin beside it: OpenAPI 3.1, i.e. JSON Schema
 * 2020-12): response bodies by operation and status, entities by name
 * (Status, Account, MediaAttachment, Notification, Instance, ...), and the
 * requests a client sends (query/path/header parameters and JSON or
 * multipart bodies). Used by the testbed's tests and meant for the k6
 * scenarios' request builders.
 *
 * Two quirks of the generated document are handled explicitly:
 * - request bodies use `oneOf` for alternatives that overlap (a status with
 *   text AND media matches both TextStatus and MediaStatus), so request
 *   schemas are checked with `oneOf` read as `anyOf`;
 * - the Idempotency-Key header is typed `object`, which no header can be;
 *   header parameters whose schema is not a scalar are reported as notes,
 *   not checked.
 */

export const OPENAPI_ENV = 'FEDICAP_MASTODON_OPENAPI';

/** $FEDICAP_MASTODON_OPENAPI, else the copy the repository carries (fixtures/mastodon-api/openapi.json). */
export function defaultOpenApiPath(): string {
  return process.env[OPENAPI_ENV] ?? join(packageRoot(), 'fixtures', 'mastodon-api', 'openapi.json');
}

export interface ValidationResult {
  ok: boolean;
  /** What does not match, one line each ("response 200 body/account/avatar: must match format \"uri\""). */
  problems: string[];
  /** What could not be checked and why. */
  notes: string[];
  /** "GET /api/v1/statuses/{id}" when the operation was found. */
  operation?: string;
}

export interface RequestToValidate {
  query?: URLSearchParams | Record<string, string | string[] | number | boolean | undefined>;
  headers?: Record<string, string | undefined>;
  /** JSON value, or for multipart a record of field → string (files: any string, e.g. "<binary>"). */
  body?: unknown;
  /** Content type of the body (default application/json when a body is given). */
  contentType?: string;
}

type Json = Record<string, unknown>;

interface Operation {
  template: string;
  method: string;
  op: Json;
  pathItem: Json;
  regex: RegExp;
  paramNames: string[];
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

const pointer = (...segments: string[]) =>
  `#/${segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;

function oneOfAsAnyOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(oneOfAsAnyOf);
  if (value && typeof value === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) out[k === 'oneOf' ? 'anyOf' : k] = oneOfAsAnyOf(v);
    return out;
  }
  return value;
}

function formatErrors(where: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : e.keyword === 'required'
          ? ''
          : e.keyword === 'enum'
            ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
            : '';
    return `${where}${e.instancePath || ''}: ${e.message ?? e.keyword}${extra}`;
  });
}

function newAjv() {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat('iso-639-1', /^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$/);
  ajv.addFormat('binary', true);
  ajv.addFormat('int64', true);
  ajv.addFormat('int32', true);
  return ajv;
}

/** A request being validated: its operation, its parameters as sent, and what was found so far. */
interface RequestCheck {
  found: Operation & { params: Record<string, string> };
  operation: string;
  query: Map<string, string[]>;
  headers: Record<string, string | undefined>;
  problems: string[];
  notes: string[];
}

/** Query parameters from the path's own query string and `query`, by name (`name` or Rails' `name[]`). */
function queryOf(path: string, extra: RequestToValidate['query']): Map<string, string[]> {
  const query = new Map<string, string[]>();
  const add = (k: string, v: string) => {
    const name = k.endsWith('[]') ? k.slice(0, -2) : k;
    query.set(name, [...(query.get(name) ?? []), v]);
  };
  if (path.includes('?')) {
    for (const [k, v] of new URLSearchParams(path.slice(path.indexOf('?') + 1))) add(k, v);
  }
  if (extra instanceof URLSearchParams) {
    for (const [k, v] of extra) add(k, v);
  } else if (extra) {
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) add(k, String(item));
    }
  }
  return query;
}

export class MastodonApiSchema {
  private readonly operations: Operation[] = [];
  private readonly responseAjv = newAjv();
  private readonly requestAjv = newAjv();
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(
    readonly doc: Json,
    readonly source: string,
  ) {
    this.responseAjv.addSchema(doc, 'openapi');
    this.requestAjv.addSchema(oneOfAsAnyOf(doc) as Json, 'openapi');
    const paths = (doc.paths ?? {}) as Record<string, Json>;
    for (const [template, pathItem] of Object.entries(paths)) {
      const paramNames: string[] = [];
      const regex = new RegExp(
        `^${template
          .split(/(\{[^}]+\})/)
          .map((part) => {
            const m = /^\{([^}]+)\}$/.exec(part);
            if (m) {
              paramNames.push(m[1]!);
              return '([^/]+)';
            }
            return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          })
          .join('')}/?$`,
      );
      for (const method of METHODS) {
        const op = pathItem[method] as Json | undefined;
        if (op) this.operations.push({ template, method, op, pathItem, regex, paramNames });
      }
    }
    // Literal paths before templated ones (/api/v1/accounts/verify_credentials before /api/v1/accounts/{id}).
    this.operations.sort((a, b) => a.paramNames.length - b.paramNames.length);
  }

  /** Load the document; undefined when the file is absent (callers skip with a reason). */
  static async load(path = defaultOpenApiPath()): Promise<MastodonApiSchema | undefined> {
    if (!existsSync(path)) return undefined;
    return new MastodonApiSchema(JSON.parse(await readFile(path, 'utf8')) as Json, path);
  }

  private validator(kind: 'response' | 'request', ref: string): ValidateFunction {
    const key = `${kind}:${ref}`;
    let fn = this.compiled.get(key);
    if (!fn) {
      fn = (kind === 'response' ? this.responseAjv : this.requestAjv).compile({ $ref: `openapi${ref}` });
      this.compiled.set(key, fn);
    }
    return fn;
  }

  /** The documented operation for a concrete method and path (query string ignored). */
  findOperation(method: string, path: string): (Operation & { params: Record<string, string> }) | undefined {
    const m = method.toLowerCase();
    const bare = path.split('?')[0]!;
    for (const o of this.operations) {
      if (o.method !== m) continue;
      const match = o.regex.exec(bare);
      if (!match) continue;
      const params: Record<string, string> = {};
      o.paramNames.forEach((n, i) => {
        params[n] = decodeURIComponent(match[i + 1]!);
      });
      return { ...o, params };
    }
    return undefined;
  }

  /** Validate `value` as components/schemas/<name> (e.g. "Status"). */
  validateEntity(name: string, value: unknown): ValidationResult {
    const schemas = ((this.doc.components as Json | undefined)?.schemas ?? {}) as Json;
    if (!(name in schemas))
      return { ok: false, problems: [`no schema named ${name} in ${this.source}`], notes: [] };
    const fn = this.validator('response', pointer('components', 'schemas', name));
    const ok = fn(value) as boolean;
    return { ok, problems: ok ? [] : formatErrors(name, fn.errors), notes: [] };
  }

  /** Validate a response body against the operation's schema for that status. */
  validateResponse(method: string, path: string, status: number, body: unknown): ValidationResult {
    const found = this.findOperation(method, path);
    if (!found)
      return { ok: false, problems: [`${method.toUpperCase()} ${path} is not in ${this.source}`], notes: [] };
    const operation = `${found.method.toUpperCase()} ${found.template}`;
    const responses = (found.op.responses ?? {}) as Record<string, Json>;
    const key = String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined;
    if (!key) {
      // The document lists the usual error statuses per operation, not all (e.g. 403 on POST
      // /api/v1/statuses):
      // an undocumented error status must still carry Mastodon's Error entity.
      if (status >= 400 && 'Error' in (((this.doc.components as Json | undefined)?.schemas ?? {}) as Json)) {
        const r = this.validateEntity('Error', body);
        return {
          ...r,
          notes: [`${operation}: status ${status} is not documented; checked as Error`],
          operation,
        };
      }
      return {
        ok: false,
        problems: [`${operation}: status ${status} is not documented`],
        notes: [],
        operation,
      };
    }
    const content = (responses[key]!.content ?? {}) as Record<string, Json>;
    if (!content['application/json']?.schema) {
      return {
        ok: true,
        problems: [],
        notes: [`${operation}: no JSON schema documented for status ${status}`],
        operation,
      };
    }
    const fn = this.validator(
      'response',
      pointer(
        'paths',
        found.template,
        found.method,
        'responses',
        key,
        'content',
        'application/json',
        'schema',
      ),
    );
    const ok = fn(body) as boolean;
    return {
      ok,
      problems: ok ? [] : formatErrors(`${operation} → ${status} body`, fn.errors),
      notes: [],
      operation,
    };
  }

  /** Validate what a client sends: parameters (query, path, header) and body. */
  validateRequest(method: string, path: string, req: RequestToValidate = {}): ValidationResult {
    const found = this.findOperation(method, path);
    if (!found)
      return { ok: false, problems: [`${method.toUpperCase()} ${path} is not in ${this.source}`], notes: [] };
    const check: RequestCheck = {
      found,
      operation: `${found.method.toUpperCase()} ${found.template}`,
      query: queryOf(path, req.query),
      headers: Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      problems: [],
      notes: [],
    };
    const declared = [
      ...((found.pathItem.parameters ?? []) as Json[]),
      ...((found.op.parameters ?? []) as Json[]),
    ].map((p) => this.deref(p));
    declared.forEach((p, index) => {
      this.checkParameter(check, p, index);
    });
    const known = new Set(declared.filter((p) => p.in === 'query').map((p) => String(p.name)));
    for (const name of check.query.keys())
      if (!known.has(name)) check.problems.push(`${check.operation}: unknown query parameter ${name}`);
    this.checkBody(check, req);
    const { problems, notes, operation } = check;
    return { ok: problems.length === 0, problems, notes, operation };
  }

  /**
   * One declared parameter (the path item's first, then the operation's) against what the request carries.
   */
  private checkParameter(check: RequestCheck, p: Json, index: number): void {
    const { found, operation, problems, notes } = check;
    const name = String(p.name);
    const where = String(p.in);
    const schema = (p.schema ?? {}) as Json;
    const shared = ((found.pathItem.parameters ?? []) as unknown[]).length;
    const ref =
      index < shared
        ? pointer('paths', found.template, 'parameters', String(index), 'schema')
        : pointer('paths', found.template, found.method, 'parameters', String(index - shared), 'schema');
    let raw: string[] | undefined;
    if (where === 'query') raw = check.query.get(name);
    else if (where === 'path') raw = found.params[name] !== undefined ? [found.params[name]!] : undefined;
    else if (where === 'header') {
      const h = check.headers[name.toLowerCase()];
      raw = h !== undefined ? [h] : undefined;
      if (
        raw &&
        !['string', 'integer', 'number', 'boolean', undefined].includes(schema.type as string | undefined)
      ) {
        notes.push(
          `${operation}: header ${name} is typed ${JSON.stringify(schema.type)} in the schema; not checked`,
        );
        return;
      }
    } else return;
    if (raw === undefined) {
      if (p.required === true) problems.push(`${operation}: missing required ${where} parameter ${name}`);
      return;
    }
    const value = coerce(schema, raw);
    const fn = this.validator('request', ref);
    if (!(fn(value) as boolean))
      problems.push(...formatErrors(`${operation} ${where} parameter ${name}`, fn.errors));
  }

  private checkBody(check: RequestCheck, req: RequestToValidate): void {
    const { found, operation, problems, notes } = check;
    const requestBody = found.op.requestBody ? this.deref(found.op.requestBody as Json) : undefined;
    if (req.body === undefined) {
      if (requestBody?.required === true) problems.push(`${operation}: a request body is required`);
    } else if (!requestBody) {
      notes.push(`${operation}: no request body is documented`);
    } else {
      const type = (req.contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
      const content = (requestBody.content ?? {}) as Record<string, Json>;
      if (!content[type]?.schema) {
        problems.push(
          `${operation}: body type ${type} is not documented (documented: ${Object.keys(content).join(', ')})`,
        );
      } else {
        const fn = this.validator(
          'request',
          pointer('paths', found.template, found.method, 'requestBody', 'content', type, 'schema'),
        );
        if (!(fn(req.body) as boolean)) problems.push(...formatErrors(`${operation} body`, fn.errors));
      }
    }
  }

  private deref(obj: Json): Json {
    let cur = obj;
    for (let i = 0; i < 10 && typeof cur.$ref === 'string'; i++) {
      const parts = (cur.$ref as string)
        .replace(/^#\//, '')
        .split('/')
        .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'));
      let node: unknown = this.doc;
      for (const part of parts) node = (node as Json | undefined)?.[part];
      cur = (node ?? {}) as Json;
    }
    return cur;
  }
}

/** Query/path/header strings → the JSON types their schema declares (as a server would parse them). */
function coerce(schema: Json, raw: string[]): unknown {
  const scalar = (s: Json, v: string): unknown => {
    const t = Array.isArray(s.type)
      ? (s.type as string[]).find((x) => x !== 'null')
      : (s.type as string | undefined);
    if (t === 'integer' || t === 'number') return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    if (t === 'boolean') return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v;
    return v;
  };
  const t = Array.isArray(schema.type) ? (schema.type as string[]).find((x) => x !== 'null') : schema.type;
  if (t === 'array') return raw.map((v) => scalar((schema.items ?? {}) as Json, v));
  return raw.length === 1 ? scalar(schema, raw[0]!) : raw;
}
