import pg from 'pg';
import { withoutCredentials } from '../shared/urlSecrets.js';
import type { Sample } from './sample.js';
import type { Sampler } from './sampler.js';

/** How long a connection attempt or one statement may take before the sample is a gap. */
const TIMEOUT_MS = 5_000;
/** The statements of pg_stat_statements reported, by total execution time. */
export const TOP_STATEMENTS = 20;
/** A statement's text in its label: whitespace collapsed, at most this many characters. */
const QUERY_LABEL_CHARS = 200;

/** What this sampler's connection calls itself in pg_stat_activity (it leaves itself out of the counts). */
export const APPLICATION_NAME = 'fedicap collect';

/**
 * One connection that can only read: every transaction of the session is read-only
 * (default_transaction_read_only), statements are bounded by statement_timeout.
 */
export async function openReadOnlyClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    application_name: APPLICATION_NAME,
    connectionTimeoutMillis: TIMEOUT_MS,
    query_timeout: TIMEOUT_MS,
  });
  // A connection lost between samples: the next sample's query fails and reconnects.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`SET default_transaction_read_only = on; SET statement_timeout = ${TIMEOUT_MS}`);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** pg_stat_database's counters (since the statistics were last reset) and the metric each becomes. */
const DATABASE_COUNTERS = {
  xact_commit: 'postgres_xact_commit_total',
  xact_rollback: 'postgres_xact_rollback_total',
  blks_read: 'postgres_blks_read_total',
  blks_hit: 'postgres_blks_hit_total',
  tup_returned: 'postgres_tup_returned_total',
  tup_fetched: 'postgres_tup_fetched_total',
  tup_inserted: 'postgres_tup_inserted_total',
  tup_updated: 'postgres_tup_updated_total',
  tup_deleted: 'postgres_tup_deleted_total',
  temp_bytes: 'postgres_temp_bytes_total',
  deadlocks: 'postgres_deadlocks_total',
} as const;

/**
 * PostgreSQL as the instance's database sees it, read through one read-only connection to the URL's
 * database, labelled `database`:
 *
 * - `postgres_connections{state}`: client backends connected to this database by pg_stat_activity state
 *   (active, idle, idle in transaction…), this sampler's own left out; `postgres_connections_total`:
 *   client backends of the whole server (what max_connections bounds);
 * - pg_stat_database's counters for this database (commits, rollbacks, blocks read and hit, tuples) and
 *   `postgres_database_size_bytes`;
 * - when pg_stat_statements is installed in this database and loaded, its top statements by total
 *   execution time: `postgres_statement_calls_total{queryid, query}`,
 *   `postgres_statement_exec_seconds_total{queryid}`, `postgres_statement_rows_total{queryid}`.
 *
 * Backend CPU is not observable through SQL (no catalog view reports it): the CPU of PostgreSQL's
 * processes comes from node_exporter or cAdvisor (--prometheus) or /proc (--process).
 */
export class PostgresSampler implements Sampler {
  readonly source = 'postgres' as const;
  readonly name: string;
  private client: Promise<pg.Client> | undefined;
  /** The pg_stat_statements view to read (schema-qualified) and its time column; null: none usable. */
  private statements: Promise<StatementsView | null> | undefined;

  constructor(private readonly url: string) {
    this.name = withoutCredentials(url);
  }

  async sample(time: string): Promise<Sample[]> {
    try {
      const client = await this.connection();
      const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
      const at = (metric: string, value: number, labels: Record<string, string> = {}): Sample => ({
        time,
        source: this.source,
        metric,
        value,
        labels: { database, ...labels },
      });
      this.statements ??= findStatementsView(client);
      const statements = await topStatements(client, await this.statements, at);
      // Not loaded: asking again each interval would only log an ERROR on the server each time.
      if (statements === NOT_LOADED) this.statements = Promise.resolve(null);
      return [
        ...(await connections(client, at)),
        ...(await databaseStats(client, at)),
        ...(statements === NOT_LOADED ? [] : statements),
      ];
    } catch (err) {
      await this.drop();
      throw new Error(`${this.name}: ${(err as Error).message}`);
    }
  }

  private connection(): Promise<pg.Client> {
    if (!this.client) {
      this.client = openReadOnlyClient(this.url);
      this.statements = undefined;
    }
    return this.client;
  }

  /** Forget a connection that failed: the next sample opens a new one. */
  private async drop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.statements = undefined;
    await client?.then((c) => c.end()).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.drop();
  }
}

type At = (metric: string, value: number, labels?: Record<string, string>) => Sample;

async function connections(client: pg.Client, at: At): Promise<Sample[]> {
  const byState = await client.query<{ state: string; n: string }>(
    `SELECT coalesce(state, 'unknown') AS state, count(*) AS n FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND datname = current_database() AND pid <> pg_backend_pid()
      GROUP BY 1 ORDER BY 1`,
  );
  const total = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
  );
  return [
    ...byState.rows.map((r) => at('postgres_connections', Number(r.n), { state: r.state })),
    at('postgres_connections_total', Number(total.rows[0]!.n)),
  ];
}

async function databaseStats(client: pg.Client, at: At): Promise<Sample[]> {
  const stats = await client.query<Record<string, string | null>>(
    `SELECT *, pg_database_size(datname) AS size_bytes FROM pg_stat_database WHERE datname = current_database()`,
  );
  const row = stats.rows[0];
  if (!row) return [];
  const samples: Sample[] = [];
  // Columns differ between versions: only those this server has.
  for (const [column, metric] of Object.entries(DATABASE_COUNTERS)) {
    if (row[column] != null) samples.push(at(metric, Number(row[column])));
  }
  samples.push(at('postgres_database_size_bytes', Number(row.size_bytes)));
  return samples;
}

interface StatementsView {
  /** `"schema".pg_stat_statements` */
  view: string;
  /** total_exec_time (pg_stat_statements 1.8+, PostgreSQL 13+) or total_time (up to PostgreSQL 12), in ms. */
  timeColumn: 'total_exec_time' | 'total_time';
}

/** pg_stat_statements when it is installed in this database; null when it is not. */
async function findStatementsView(client: pg.Client): Promise<StatementsView | null> {
  const found = await client.query<{ schema: string; exec: boolean }>(
    `SELECT n.nspname AS schema,
            EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'total_exec_time') AS exec
       FROM pg_extension e
       JOIN pg_namespace n ON n.oid = e.extnamespace
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'pg_stat_statements'
      WHERE e.extname = 'pg_stat_statements'`,
  );
  const row = found.rows[0];
  if (!row) return null;
  return {
    view: `${client.escapeIdentifier(row.schema)}.pg_stat_statements`,
    timeColumn: row.exec ? 'total_exec_time' : 'total_time',
  };
}

/** SQLSTATE of "pg_stat_statements must be loaded via shared_preload_libraries" (object_not_in_prerequisite_state). */
const NOT_LOADED = '55000';

/** The top statements, or NOT_LOADED when the extension is installed but not in shared_preload_libraries. */
async function topStatements(
  client: pg.Client,
  view: StatementsView | null,
  at: At,
): Promise<Sample[] | typeof NOT_LOADED> {
  if (!view) return [];
  let rows: { queryid: string | null; query: string; calls: string; total_ms: number; rows: string }[];
  try {
    rows = (
      await client.query(
        `SELECT queryid::text AS queryid, query, calls, ${view.timeColumn}::float8 AS total_ms, rows
           FROM ${view.view}
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY ${view.timeColumn} DESC LIMIT ${TOP_STATEMENTS}`,
      )
    ).rows;
  } catch (err) {
    // Installed (CREATE EXTENSION) but not in shared_preload_libraries: the view cannot be read.
    if ((err as { code?: string }).code === NOT_LOADED) return NOT_LOADED;
    throw err;
  }
  const samples: Sample[] = [];
  for (const r of rows) {
    // Other roles' statements, without the privilege to see them, have no queryid.
    if (r.queryid === null) continue;
    const query = r.query.replace(/\s+/g, ' ').trim().slice(0, QUERY_LABEL_CHARS);
    samples.push(
      at('postgres_statement_calls_total', Number(r.calls), { queryid: r.queryid, query }),
      at('postgres_statement_exec_seconds_total', r.total_ms / 1000, { queryid: r.queryid }),
      at('postgres_statement_rows_total', Number(r.rows), { queryid: r.queryid }),
    );
  }
  return samples;
}
