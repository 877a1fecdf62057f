import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from '@board/service-kit';
import type { Config } from './config';
import { dumpAll, newestDump, pruneDumps, type PostgresConnection, type RabbitMqManagement } from './logical';
import { PgBackRest, type StanzaInfo } from './pgbackrest';
import { physicalBackupType } from './schedule';

export type BackupKind = 'logical' | 'physical';

/** The connection and targets of a backup run, from the configuration. */
export function postgresOf(config: Config): PostgresConnection {
  return { host: config.PGHOST, port: config.PGPORT, user: config.PGUSER, password: config.PGPASSWORD };
}

export function rabbitMqOf(config: Config): RabbitMqManagement | undefined {
  if (!config.RABBITMQ_MANAGEMENT_URL) return undefined;
  return { url: config.RABBITMQ_MANAGEMENT_URL, user: config.RABBITMQ_USER, password: config.RABBITMQ_PASSWORD ?? '' };
}

export function pgBackRestOf(config: Config): PgBackRest | undefined {
  return config.PGBACKREST_STANZA ? new PgBackRest({ stanza: config.PGBACKREST_STANZA, config: config.PGBACKREST_CONFIG }) : undefined;
}

/** How long `pgbackrest info` is reused between scrapes (it reads the repository). */
const INFO_CACHE_MS = 60_000;

/**
 * The nightly backup: a physical one (full weekly, incremental otherwise; then pgBackRest expires
 * what its retention no longer keeps), then a logical dump of every database with RabbitMQ's
 * definitions (then the dumps the retention rule no longer keeps are removed). The freshness
 * metrics are read from the backups themselves at each scrape, so a backup made by the CLI, or
 * before a restart, counts as well.
 */
export class BackupJob {
  private readonly runs: Counter<'kind' | 'result'>;
  private infoCache: { at: number; info: StanzaInfo } | undefined;
  /** The work of this process, one piece at a time (pgBackRest takes a lock per stanza and would refuse a second). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly pgbackrest: PgBackRest | undefined = pgBackRestOf(config),
    registry?: Registry,
  ) {
    const registers = registry ? [registry] : [];
    this.runs = new Counter({ name: 'backup_runs_total', help: 'Backup runs of this process, by kind and result', labelNames: ['kind', 'result'], registers });
    const kinds: BackupKind[] = this.pgbackrest ? ['logical', 'physical'] : ['logical'];
    for (const kind of kinds) for (const result of ['success', 'failure']) this.runs.inc({ kind, result }, 0);
    // The gauges' collect() runs with the gauge as `this`.
    const newest = () => this.newest();
    new Gauge({
      name: 'backup_last_success_timestamp_seconds',
      help: 'When the newest complete backup of each kind finished (Unix time); 0 while there is none',
      labelNames: ['kind'],
      registers,
      async collect() {
        for (const [kind, backup] of Object.entries(await newest())) this.set({ kind }, backup ? backup.finishedAt.getTime() / 1000 : 0);
      },
    });
    new Gauge({
      name: 'backup_last_size_bytes',
      help: 'Size of the newest complete backup of each kind (a physical one: its own files in the repository)',
      labelNames: ['kind'],
      registers,
      async collect() {
        for (const [kind, backup] of Object.entries(await newest())) this.set({ kind }, backup?.bytes ?? 0);
      },
    });
  }

  /** The newest complete backup of each kind, from the dump directory and the pgBackRest repository. */
  async newest(): Promise<Partial<Record<BackupKind, { finishedAt: Date; bytes: number } | undefined>>> {
    const result: Partial<Record<BackupKind, { finishedAt: Date; bytes: number } | undefined>> = { logical: newestDump(this.config.BACKUP_DIR) };
    if (this.pgbackrest) {
      const info = await this.info().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'pgbackrest info failed');
        return undefined;
      });
      const set = info?.backups.at(-1);
      result.physical = set ? { finishedAt: set.stopped, bytes: set.repoSize } : undefined;
    }
    return result;
  }

  private async info(): Promise<StanzaInfo> {
    if (this.infoCache && Date.now() - this.infoCache.at < INFO_CACHE_MS) return this.infoCache.info;
    const info = await this.pgbackrest!.info();
    this.infoCache = { at: Date.now(), info };
    return info;
  }

  /** Whether there is no backup of some kind yet (a new installation): the service then runs one at once. */
  async anyMissing(): Promise<boolean> {
    return Object.values(await this.newest()).some((newest) => newest === undefined);
  }

  /** Makes sure the stanza exists (it does nothing when it does); the server's archive_command needs it. */
  prepare(): Promise<void> {
    return this.exclusive(async () => this.pgbackrest?.createStanza());
  }

  /** Both kinds, each whatever the other did; rejects when either failed. */
  run(options: { full?: boolean } = {}): Promise<void> {
    return this.exclusive(() => this.runBoth(options));
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runBoth(options: { full?: boolean }): Promise<void> {
    const failures: unknown[] = [];
    if (this.pgbackrest) await this.attempt('physical', () => this.physical(options.full ?? false)).catch((error: unknown) => failures.push(error));
    await this.attempt('logical', () => this.logical()).catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, `backup failed: ${failures.map((error) => (error as Error).message).join('; ')}`);
  }

  private async attempt(kind: BackupKind, work: () => Promise<void>): Promise<void> {
    const started = Date.now();
    try {
      await work();
      this.runs.inc({ kind, result: 'success' });
      this.logger.info({ kind, durationMs: Date.now() - started }, 'backup done');
    } catch (error) {
      this.runs.inc({ kind, result: 'failure' });
      this.logger.error({ err: error, kind }, 'backup failed');
      throw error;
    }
  }

  private async physical(forceFull: boolean): Promise<void> {
    const pgbackrest = this.pgbackrest!;
    const fulls = (await pgbackrest.info()).backups.filter((set) => set.type === 'full');
    const type = forceFull ? 'full' : physicalBackupType(new Date(), fulls.at(-1)?.stopped);
    await pgbackrest.backup(type);
    await pgbackrest.expire();
    this.infoCache = undefined;
  }

  private async logical(): Promise<void> {
    const manifest = await dumpAll({
      root: this.config.BACKUP_DIR,
      databases: this.config.BACKUP_DATABASES,
      postgres: postgresOf(this.config),
      rabbitmq: rabbitMqOf(this.config),
    });
    const removed = pruneDumps(this.config.BACKUP_DIR, { daily: this.config.BACKUP_KEEP_DAILY, weekly: this.config.BACKUP_KEEP_WEEKLY });
    this.logger.info({ dump: manifest.id, removed }, 'logical dump written');
  }
}
