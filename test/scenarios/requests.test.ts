/**
 * The client API requests the scenarios send, built by scenarios/lib (plain
 * TypeScript, no k6 needed), validated against the Mastodon API schema
 * (fixtures/mastodon-api/openapi.json) with the testbed's validator.
 */
import { describe, expect, it } from 'vitest';
import { MastodonApiSchema, defaultOpenApiPath } from '../../world/testbed/api/openapi.js';
import { parseQuery, splitUrl } from '../../scenarios/lib/encoding.ts';
import {
  createStatus,
  favourite,
  followAccount,
  homeTimeline,
  nextMaxId,
  notifications,
  parseLinkHeader,
  publicTimeline,
  reblog,
  requestUrl,
  showMedia,
  statusContext,
  streamingUrl,
  uploadMedia,
  verifyCredentials,
  type ApiRequest,
  type FilePart,
} from '../../scenarios/lib/requests.ts';

const schema = await MastodonApiSchema.load();
if (!schema)
  process.stdout.write(
    `skipping the schema checks of scenario requests: ${defaultOpenApiPath()} is absent\n`,
  );

const BASE = 'https://staging.example.org';

/** Multipart fields as the validator reads them: files described, since k6 writes their bytes. */
function describedFields(fields: Record<string, string | FilePart>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields))
    out[k] = typeof v === 'string' ? v : `<binary ${v.contentType}, ${v.data.byteLength} bytes>`;
  return out;
}

/** Validate one request as the server would see it: path, query, headers, body. */
function validate(req: ApiRequest) {
  const { path, query } = splitUrl(requestUrl(BASE, req));
  const body = req.json ?? (req.multipart ? describedFields(req.multipart) : undefined);
  const contentType = req.json !== undefined ? 'application/json' : req.multipart && 'multipart/form-data';
  return schema!.validateRequest(req.method, path, {
    query: parseQuery(query),
    headers: req.headers,
    body,
    contentType,
  });
}

const ALL: [string, ApiRequest][] = [
  ['verify credentials', verifyCredentials()],
  ['home, first page', homeTimeline()],
  ['home, next page', homeTimeline({ maxId: '109876543210', limit: 20 })],
  ['public local', publicTimeline({ local: true })],
  ['public remote, paged', publicTimeline({ remote: true, maxId: '42', limit: 40 })],
  ['public federated', publicTimeline({})],
  ['notifications, paged', notifications({ maxId: '77' })],
  ['status context', statusContext('109876543210')],
  [
    'text status',
    createStatus({ status: 'Hello @alice #tag https://example.org', idempotencyKey: 'k-1', language: 'en' }),
  ],
  ['reply', createStatus({ status: 'a reply', inReplyToId: '123' })],
  ['media status', createStatus({ status: 'with a picture', mediaIds: ['555'] })],
  ['favourite', favourite('123')],
  ['reblog', reblog('123')],
  ['follow', followAccount('99')],
  [
    'media upload',
    uploadMedia({ data: new ArrayBuffer(16), filename: 'a.jpg', contentType: 'image/jpeg' }, 'alt text'),
  ],
  ['media poll', showMedia('555')],
];

describe.skipIf(!schema)('scenario requests match openapi.json', () => {
  it.each(ALL)('%s', (_name, req) => {
    const r = validate(req);
    expect(r.problems, `${req.method} ${req.path}`).toEqual([]);
    expect(r.operation).toBeDefined();
  });

  it('the validator does catch a malformed request built the same way', () => {
    const bad: ApiRequest = { ...createStatus({ status: 'x' }), json: { visibility: 'public' } };
    expect(validate(bad).ok).toBe(false);
    const badQuery: ApiRequest = { ...homeTimeline(), query: { limit: 'many' } };
    expect(validate(badQuery).ok).toBe(false);
  });
});

describe('request details the schema does not cover', () => {
  it('every request carries station, endpoint and a low-cardinality name', () => {
    for (const [, req] of ALL) {
      expect(req.tags.station).toMatch(/^[a-z/-]+$/);
      expect(req.tags.endpoint).toMatch(/#/);
      expect(req.tags.name.startsWith('/api/')).toBe(true);
      expect(req.tags.name).not.toMatch(/\d{2,}/); // ids are templated, never in the name
    }
    expect(homeTimeline().tags.station).toBe('timelines/home');
    expect(createStatus({ status: 'x' }).tags.station).toBe('statuses/create');
    expect(
      uploadMedia({ data: new ArrayBuffer(1), filename: 'f', contentType: 'image/png' }).tags.station,
    ).toBe('media/create');
  });

  it('an upload carries the file as given (k6 writes the multipart body) and its description', () => {
    const data = new Uint8Array([0xff, 0xd8, 0xff, 0xe0]).buffer;
    const req = uploadMedia({ data, filename: 'x.jpg', contentType: 'image/jpeg' }, 'desc');
    expect(req.multipart).toEqual({
      file: { data, filename: 'x.jpg', contentType: 'image/jpeg' },
      description: 'desc',
    });
    expect(uploadMedia({ data, filename: 'x.jpg', contentType: 'image/jpeg' }).multipart).not.toHaveProperty(
      'description',
    );
  });

  it('pagination follows max_id from the Link header as clients do', () => {
    const link =
      '<https://s.example/api/v1/timelines/home?max_id=109&limit=20>; rel="next", <https://s.example/api/v1/timelines/home?min_id=120>; rel="prev"';
    expect(parseLinkHeader(link)).toEqual({
      next: 'https://s.example/api/v1/timelines/home?max_id=109&limit=20',
      prev: 'https://s.example/api/v1/timelines/home?min_id=120',
    });
    expect(nextMaxId(link)).toBe('109');
    expect(nextMaxId(undefined)).toBeUndefined();
    expect(nextMaxId('<https://s.example/x?min_id=1>; rel="prev"')).toBeUndefined();
  });

  it('the streaming URL never carries the token', () => {
    expect(streamingUrl('https://s.example/')).toBe('wss://s.example/api/v1/streaming?stream=user');
    expect(streamingUrl('http://127.0.0.1:3000')).toBe('ws://127.0.0.1:3000/api/v1/streaming?stream=user');
  });
});
