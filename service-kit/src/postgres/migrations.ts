import path from 'node:path';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { LevelWithSilent, Logger } from 'pino';
import type { Lifecycle } from '../runtime/lifecycle';
import { createLogger } from '../runtime/logger';
import { createPool, postgresClientConfig, type DatabaseSettings } from './pool';

const UNDEFINED_DATABASE = '3D000';
const DUPLICATE_DATABASE = '42P04';
/** Two replicas creating the database at the same moment: the loser trips the catalog's unique index. */
const UNIQUE_VIOLATION = '23505';

/** Creates the database named in DATABASE_URL when it does not exist yet (development convenience). */
export async function ensureDatabase(settings: DatabaseSettings, logger: Logger): Promise<void> {
  const config = postgresClientConfig(settings);
  const probe = new pg.Client(config);
  try {
    await probe.connect();
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== UNDEFINED_DATABASE) throw error;
  } finally {
    await probe.end().catch(() => undefined);
  }
  // Without a database in the URL, pg connects to the one named like the user.
  const name = config.database ?? config.user ?? '';
  const admin = new pg.Client({ ...config, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    logger.info({ database: name }, 'created database');
  } catch (error) {
    const { code } = error as { code?: string };
    if (code !== DUPLICATE_DATABASE && code !== UNIQUE_VIOLATION) throw error;
  } finally {
    await admin.end();
  }
}

/** The kit's own tables (outbox, processed events), migrated before each service's. */
export const KIT_MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

/** Any fixed number: the advisory lock key that serialises migrations across replicas. */
const MIGRATION_LOCK_KEY = 7_401_116_223;

/**
 * Applies pending migrations: the kit's, then the service's. Replicas starting together wait for
 * each other on a blocking advisory lock (node-pg-migrate's own lock is try-once: the second
 * replica would crash instead of waiting), then find nothing left to do.
 */
export async function migrate(settings: DatabaseSettings, serviceMigrationsDir: string, logger: Logger): Promise<void> {
  const log = logger.child({ component: 'migrations' });
  const lock = new pg.Client(postgresClientConfig(settings));
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const common = {
      dbClient: lock,
      direction: 'up' as const,
      count: Infinity,
      noLock: true,
      logger: {
        debug: (message: string) => log.debug(message),
        info: (message: string) => log.debug(message),
        warn: (message: string) => log.warn(message),
        error: (message: string) => log.error(message),
      },
    };
    const kit = await runner({ ...common, dir: KIT_MIGRATIONS_DIR, migrationsTable: 'kit_migrations' });
    const own = await runner({ ...common, dir: serviceMigrationsDir, migrationsTable: 'migrations' });
    const applied = [...kit, ...own].map((migration) => migration.name);
    if (applied.length > 0) log.info({ applied }, 'applied database migrations');
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.end();
  }
}

/** ensureDatabase outside production, then migrate. */
export async function prepareDatabase(options: {
  database: DatabaseSettings;
  migrationsDir: string;
  logger: Logger;
  createIfMissing: boolean;
}): Promise<void> {
  if (options.createIfMissing) await ensureDatabase(options.database, options.logger);
  await migrate(options.database, options.migrationsDir, options.logger);
}

/**
 * What every service with a database does first: migrate (creating the database outside
 * production), then open the pool, registered to close last on shutdown.
 */
export async function openDatabase(options: {
  config: Pick<MigrationSettings, 'DATABASE_URL' | 'DATABASE_PASSWORD' | 'NODE_ENV'>;
  migrationsDir: string;
  logger: Logger;
  lifecycle: Lifecycle;
}): Promise<pg.Pool> {
  const { config, logger } = options;
  await prepareDatabase({
    database: config,
    migrationsDir: options.migrationsDir,
    logger,
    createIfMissing: config.NODE_ENV !== 'production',
  });
  const pool = createPool(config, logger);
  options.lifecycle.onStop('postgres', () => pool.end());
  return pool;
}

/** The settings `npm run migrate` reads: commonSettings plus the service's database settings. */
export interface MigrationSettings extends DatabaseSettings {
  /** Outside production a missing database is created first, as the service does when it starts. */
  NODE_ENV: string;
  LOG_LEVEL: LevelWithSilent;
}

export interface MigrateAndExitOptions {
  /** The service name its log lines carry. */
  service: string;
  migrationsDir: string;
  /** The parsed configuration (loadConfig), of which only the migration settings are read. */
  config: MigrationSettings;
}

/**
 * The whole of a service's `npm run migrate`: prepares the database as start() would, then exits
 * 0, or logs why it failed and exits 1. It exits only once the logger has flushed, so the last
 * line (often the reason for a failure) is not lost with the process.
 */
export function migrateAndExit({ service, migrationsDir, config }: MigrateAndExitOptions): void {
  const logger = createLogger({ service, level: config.LOG_LEVEL });
  prepareDatabase({
    database: config,
    migrationsDir,
    logger,
    createIfMissing: config.NODE_ENV !== 'production',
  }).then(
    () => logger.flush(() => process.exit(0)),
    (error: unknown) => {
      logger.fatal({ err: error }, 'migrations failed');
      logger.flush(() => process.exit(1));
    },
  );
}
