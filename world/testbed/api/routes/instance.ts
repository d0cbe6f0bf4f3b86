import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Testbed } from '../../context.js';
import { requireAdmin } from '../auth.js';
import { humanSize, params, parameterMissing, str, strArray, validationFailed } from '../http.js';
import { IMAGE_LIMIT_BYTES, SUPPORTED_MIME_TYPES, VIDEO_LIMIT_BYTES } from '../../mediaAttachment.js';
import { IMAGE_MATRIX_LIMIT } from '../media.js';
import { MAX_MEDIA_ATTACHMENTS } from '../services.js';
import { MAX_CHARS, URL_PLACEHOLDER_CHARS } from '../text.js';

export const TESTBED_VERSION = '4.4.0+fedicap-testbed';
const STATS_TTL_MS = 60_000;

interface Stats {
  userCount: number;
  statusCount: number;
  domainCount: number;
  activeMonth: number;
}

/** Api::V1::InstancesController / Api::V2::InstancesController and Api::V1::Admin::MeasuresController. */
export function instanceRoutes(app: FastifyInstance, tb: Testbed): void {
  const stats = cachedStats(tb);
  app.get('/api/v1/instance', { config: { controller: 'api/v1/instances', action: 'show' } }, async () =>
    instanceV1(tb, await stats()),
  );
  app.get('/api/v2/instance', { config: { controller: 'api/v2/instances', action: 'show' } }, async () =>
    instanceV2(tb, await stats()),
  );
  app.post(
    '/api/v1/admin/measures',
    { config: { controller: 'api/v1/admin/measures', action: 'create' } },
    async (request) => measures(tb, request),
  );
}

/** Mastodon's InstancePresenter caches its counts; so does the testbed (1 min). */
function cachedStats(tb: Testbed): () => Promise<Stats> {
  let cached: { at: number; stats: Promise<Stats> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > STATS_TTL_MS) {
      const p = tb.db
        .query<{ users: string; statuses: string; domains: string; active: string }>(
          `SELECT (SELECT count(*) FROM users) AS users,
                  (SELECT count(*) FROM statuses WHERE local AND deleted_at IS NULL) AS statuses,
                  (SELECT count(DISTINCT lower(domain)) FROM accounts WHERE domain IS NOT NULL) AS domains,
                  (SELECT count(*) FROM users WHERE current_sign_in_at > now() - interval '28 days') AS active`,
        )
        .then((r) => ({
          userCount: Number(r.rows[0]!.users),
          statusCount: Number(r.rows[0]!.statuses),
          domainCount: Number(r.rows[0]!.domains),
          activeMonth: Number(r.rows[0]!.active),
        }));
      p.catch(() => {
        cached = undefined;
      });
      cached = { at: Date.now(), stats: p };
    }
    return cached.stats;
  };
}

const limits = () => ({
  statuses: {
    max_characters: MAX_CHARS,
    max_media_attachments: MAX_MEDIA_ATTACHMENTS,
    characters_reserved_per_url: URL_PLACEHOLDER_CHARS,
  },
  media_attachments: {
    supported_mime_types: SUPPORTED_MIME_TYPES,
    description_limit: 1500,
    image_size_limit: IMAGE_LIMIT_BYTES,
    image_matrix_limit: IMAGE_MATRIX_LIMIT,
    video_size_limit: VIDEO_LIMIT_BYTES,
    video_frame_rate_limit: 120,
    video_matrix_limit: 8_294_400,
  },
  polls: { max_options: 4, max_characters_per_option: 50, min_expiration: 300, max_expiration: 2_629_746 },
});
const streamingUrl = (tb: Testbed) => tb.baseUrl.replace(/^http/, 'ws');
const email = (tb: Testbed) => `admin@${tb.domain.replace(/:\d+$/, '')}`;

/** REST::V1::InstanceSerializer. */
function instanceV1(tb: Testbed, s: Stats) {
  return {
    uri: tb.domain,
    title: 'fedicap testbed',
    short_description: 'A Mastodon-shaped staging instance for load and capacity work',
    description: 'A faithful subset of Mastodon behaviour for load and capacity work (fedicap testbed).',
    email: email(tb),
    version: TESTBED_VERSION,
    urls: { streaming_api: streamingUrl(tb) },
    stats: { user_count: s.userCount, status_count: s.statusCount, domain_count: s.domainCount },
    thumbnail: null,
    languages: ['en'],
    registrations: false,
    approval_required: false,
    invites_enabled: false,
    configuration: { accounts: { max_featured_tags: 10 }, ...limits() },
    contact_account: null,
    rules: [],
  };
}

/** REST::InstanceSerializer (v2). */
function instanceV2(tb: Testbed, s: Stats) {
  return {
    domain: tb.domain,
    title: 'fedicap testbed',
    version: TESTBED_VERSION,
    source_url: 'https://github.com/mastodon/mastodon',
    description: 'A faithful subset of Mastodon behaviour for load and capacity work (fedicap testbed).',
    usage: { users: { active_month: s.activeMonth } },
    thumbnail: { url: `${tb.baseUrl}/packs/media/images/preview.png`, blurhash: null, versions: {} },
    icon: [],
    languages: ['en'],
    configuration: {
      urls: {
        streaming: streamingUrl(tb),
        status: null,
        about: `${tb.baseUrl}/about`,
        privacy_policy: null,
        terms_of_service: null,
      },
      accounts: { max_featured_tags: 10, max_pinned_statuses: 5 },
      ...limits(),
      translation: { enabled: false },
      limited_federation: false,
    },
    registrations: {
      enabled: false,
      approval_required: false,
      reason_required: false,
      message: null,
      min_age: null,
    },
    api_versions: { mastodon: 6 },
    contact: { email: email(tb), account: null },
    rules: [],
  };
}

/**
 * Admin::Metrics::Measure: instance_statuses and instance_media_attachments
 * (bytes), total and per day in start_at..end_at, for
 * `<key>[domain]` — or, without a domain, for local accounts.
 */
async function measures(tb: Testbed, request: FastifyRequest) {
  requireAdmin(request, ['admin:read']);
  const p = params(request);
  const startAt = str(p.start_at);
  const endAt = str(p.end_at);
  if (!startAt) throw parameterMissing('start_at');
  if (!endAt) throw parameterMissing('end_at');
  const start = new Date(startAt);
  const end = new Date(endAt);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()))
    throw validationFailed('start_at and end_at must be dates');
  const out: Record<string, unknown>[] = [];
  for (const key of strArray(p.keys)) {
    const opts = p[key] && typeof p[key] === 'object' ? (p[key] as Record<string, unknown>) : {};
    const domain = str(opts.domain)?.toLowerCase() || null;
    if (key === 'instance_statuses') out.push(await instanceStatuses(tb, start, end, domain));
    else if (key === 'instance_media_attachments') out.push(await instanceMedia(tb, start, end, domain));
  }
  return out;
}

const day = (d: string | Date) =>
  `${(typeof d === 'string' ? d : d.toISOString()).slice(0, 10)}T00:00:00.000+00:00`;

async function instanceStatuses(tb: Testbed, start: Date, end: Date, domain: string | null) {
  const total = await tb.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM statuses s JOIN accounts a ON a.id = s.account_id
     WHERE s.deleted_at IS NULL AND lower(a.domain) IS NOT DISTINCT FROM $1`,
    [domain],
  );
  // Timestamp ids: the id range of the period uses the primary key, as Mastodon's earliest/latest_status_id
  // do.
  const data = await tb.db.query<{ period: string; value: string }>(
    `SELECT to_char(axis.period, 'YYYY-MM-DD') AS period, (
       SELECT count(*) FROM statuses s JOIN accounts a ON a.id = s.account_id
       WHERE s.id BETWEEN (floor(extract(epoch FROM axis.period) * 1000)::bigint << 16)
                      AND ((floor(extract(epoch FROM axis.period + interval '1 day') * 1000)::bigint << 16) - 1)
         AND s.deleted_at IS NULL AND lower(a.domain) IS NOT DISTINCT FROM $3
     ) AS value
     FROM generate_series(date_trunc('day', $1::timestamptz AT TIME ZONE 'UTC'), date_trunc('day', $2::timestamptz AT TIME ZONE 'UTC'), interval '1 day') AS axis(period)`,
    [start.toISOString(), end.toISOString(), domain],
  );
  return {
    key: 'instance_statuses',
    unit: null,
    total: total.rows[0]!.n,
    data: data.rows.map((r) => ({ date: day(r.period), value: String(r.value) })),
  };
}

async function instanceMedia(tb: Testbed, start: Date, end: Date, domain: string | null) {
  const total = await tb.db.query<{ n: string }>(
    `SELECT COALESCE(sum(m.file_size + m.thumbnail_size), 0) AS n FROM media_attachments m JOIN accounts a ON a.id = m.account_id
     WHERE lower(a.domain) IS NOT DISTINCT FROM $1`,
    [domain],
  );
  const data = await tb.db.query<{ period: string; value: string }>(
    `SELECT to_char(axis.period, 'YYYY-MM-DD') AS period, (
       SELECT COALESCE(sum(m.file_size + m.thumbnail_size), 0) FROM media_attachments m JOIN accounts a ON a.id = m.account_id
       WHERE m.created_at >= axis.period AT TIME ZONE 'UTC' AND m.created_at < (axis.period + interval '1 day') AT TIME ZONE 'UTC'
         AND lower(a.domain) IS NOT DISTINCT FROM $3
     ) AS value
     FROM generate_series(date_trunc('day', $1::timestamptz AT TIME ZONE 'UTC'), date_trunc('day', $2::timestamptz AT TIME ZONE 'UTC'), interval '1 day') AS axis(period)`,
    [start.toISOString(), end.toISOString(), domain],
  );
  const n = Number(total.rows[0]!.n);
  return {
    key: 'instance_media_attachments',
    unit: 'bytes',
    total: String(n),
    human_value: humanSize(n),
    data: data.rows.map((r) => ({ date: day(r.period), value: String(r.value) })),
  };
}
