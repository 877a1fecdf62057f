import pg, { type ClientConfig, type PoolClient, type QueryConfig, type QueryResultRow } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import type { Logger } from 'pino';

export type { PoolClient } from 'pg';

/**
 * Something that runs SQL: the pool or a transaction's client. A query given as a config with a
 * `name` is a prepared statement: each connection parses and plans it once, then only binds values.
 */
export interface Queryable {
  query<Row extends QueryResultRow = QueryResultRow>(query: string | QueryConfig, values?: unknown[]): Promise<pg.QueryResult<Row>>;
}

/** Where a service's database is, and the password to it when that is kept out of the URL. */
export interface DatabaseSettings {
  DATABASE_URL: string;
  DATABASE_PASSWORD?: string;
}

/**
 * The client settings for a database: the URL parsed as pg parses it, with DATABASE_PASSWORD, when
 * set, as the password. (pg's own `connectionString` option would let the URL's empty password
 * override a `password` given beside it.)
 */
export function postgresClientConfig(settings: DatabaseSettings): ClientConfig {
  const config = parseIntoClientConfig(settings.DATABASE_URL);
  return settings.DATABASE_PASSWORD === undefined ? config : { ...config, password: settings.DATABASE_PASSWORD };
}

export function createPool(settings: DatabaseSettings, logger: Logger, max = 10): pg.Pool {
  const pool = new pg.Pool({ ...postgresClientConfig(settings), max, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000 });
  // An idle client can lose its connection (database restart); without a listener that would crash the process.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL client failed'));
  return pool;
}

export async function withTransaction<T>(pool: pg.Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // pg-pool listens for a client's errors only while it idles in the pool. A connection lost
  // while the client is checked out here (between two queries of the transaction) would emit
  // 'error' with nobody listening and end the process; the next query fails with it instead.
  let lost = false;
  const onLost = () => {
    lost = true;
  };
  client.on('error', onLost);
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that cannot even roll back is unusable: destroy it instead of pooling it.
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw error;
  } finally {
    client.off('error', onLost);
    client.release(broken || lost);
  }
}
