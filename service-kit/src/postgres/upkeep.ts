import { z } from 'zod';
import type pg from 'pg';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Lifecycle } from '../runtime/lifecycle';
import type { ServiceParts } from '../runtime/service';
import { sharedMetric } from '../runtime/metrics';
import type { Queryable } from './pool';

/** One kind of pruning: what is due goes, in batches, and the run says how much went. */
export interface UpkeepJob {
  name: string;
  everyMs: number;
  /** Removes one batch of what is due; the job runs again at once while a batch comes back full. */
  removeBatch: (db: Queryable, batchSize: number) => Promise<number>;
}

export interface UpkeepOptions {
  /** The service's name: replicas of one service share a lock per job, other services do not. */
  service: string;
  pool: pg.Pool;
  logger: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
  batchSize?: number;
}

const DEFAULT_BATCH_SIZE = 1_000;

/**
 * The scheduled pruning of a service's tables. Each job runs on its own timer; a run takes a
 * PostgreSQL advisory lock named after the service and the job on a connection of its own, so
 * among replicas exactly one prunes at a time and the others skip that round (the lock goes with
 * the connection if the replica dies). Batches keep every statement short. Runs are logged and
 * counted (`upkeep_runs_total{job,outcome}`, `upkeep_removed_total{job}`).
 */
export class Upkeep {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private readonly runs: Counter<'job' | 'outcome'>;
  private readonly removed: Counter<'job'>;
  private readonly lastSuccess: Gauge<'job'>;

  constructor(private readonly options: UpkeepOptions) {
    const { registry } = options;
    this.runs = sharedMetric(registry, 'upkeep_runs_total', (registers) =>
      new Counter({ name: 'upkeep_runs_total', help: 'Upkeep runs by job and outcome (done; skipped: another replica held the lock; failed)', labelNames: ['job', 'outcome'] as const, registers }),
    );
    this.removed = sharedMetric(registry, 'upkeep_removed_total', (registers) =>
      new Counter({ name: 'upkeep_removed_total', help: 'Rows removed by upkeep, by job', labelNames: ['job'] as const, registers }),
    );
    this.lastSuccess = sharedMetric(registry, 'upkeep_last_success_timestamp_seconds', (registers) =>
      new Gauge({ name: 'upkeep_last_success_timestamp_seconds', help: 'When each upkeep job last completed', labelNames: ['job'] as const, registers }),
    );
    options.lifecycle.onStop('upkeep', () => this.stop());
  }

  /** Runs `job` every `job.everyMs`; the timer does not keep the process alive. */
  schedule(job: UpkeepJob): void {
    const timer = setInterval(() => {
      if (!this.running.has(job.name)) void this.runOnce(job);
    }, job.everyMs);
    timer.unref();
    this.timers.push(timer);
  }

  /** One run of `job` now (the schedule calls it; tests and operators may too). Never throws. */
  runOnce(job: UpkeepJob): Promise<void> {
    const run = this.attempt(job).finally(() => this.running.delete(job.name));
    this.running.set(job.name, run);
    return run;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await Promise.all(this.running.values());
  }

  private async attempt(job: UpkeepJob): Promise<void> {
    const { pool, service, logger } = this.options;
    const batchSize = this.options.batchSize ?? DEFAULT_BATCH_SIZE;
    const started = Date.now();
    let client: pg.PoolClient | undefined;
    let locked = false;
    try {
      client = await pool.connect();
      const lock = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [`${service}:upkeep:${job.name}`]);
      locked = lock.rows[0]?.locked === true;
      if (!locked) {
        this.runs.inc({ job: job.name, outcome: 'skipped' });
        return;
      }
      let total = 0;
      for (;;) {
        const removed = await job.removeBatch(client, batchSize);
        total += removed;
        if (removed < batchSize) break;
      }
      this.removed.inc({ job: job.name }, total);
      this.runs.inc({ job: job.name, outcome: 'done' });
      this.lastSuccess.set({ job: job.name }, Date.now() / 1_000);
      logger.info({ component: 'upkeep', job: job.name, removed: total, durationMs: Date.now() - started }, 'upkeep run done');
    } catch (error) {
      this.runs.inc({ job: job.name, outcome: 'failed' });
      logger.warn({ component: 'upkeep', job: job.name, err: error }, 'upkeep run failed; the next one comes on schedule');
    } finally {
      if (client) {
        const release = client;
        const unlocked = locked ? release.query('SELECT pg_advisory_unlock(hashtext($1))', [`${service}:upkeep:${job.name}`]).then(() => true, () => false) : Promise.resolve(true);
        // A connection that could not unlock must not go back to the pool still holding the lock.
        release.release(!(await unlocked));
      }
    }
  }
}

/** Published outbox rows older than `retentionSeconds`: kept a while to look into what was sent. */
export const outboxPruning = (retentionSeconds: number, everyMs: number): UpkeepJob => ({
  name: 'outbox',
  everyMs,
  removeBatch: async (db, batchSize) =>
    (
      await db.query(
        `DELETE FROM outbox WHERE seq IN (
           SELECT seq FROM outbox WHERE published_at < now() - make_interval(secs => $1) ORDER BY published_at LIMIT $2)`,
        [retentionSeconds, batchSize],
      )
    ).rowCount ?? 0,
});

/**
 * Handled-event ids older than `retentionSeconds`. A redelivery of an event older than that would
 * be applied again, so the retention must outlast any event's stay in a queue or dead-letter queue.
 */
export const handledEventPruning = (retentionSeconds: number, everyMs: number): UpkeepJob => ({
  name: 'handled-events',
  everyMs,
  removeBatch: async (db, batchSize) =>
    (
      await db.query(
        `DELETE FROM processed_events WHERE (consumer, event_id) IN (
           SELECT consumer, event_id FROM processed_events
            WHERE processed_at < now() - make_interval(secs => $1) ORDER BY processed_at LIMIT $2)`,
        [retentionSeconds, batchSize],
      )
    ).rowCount ?? 0,
});

/** The settings of the event tables' pruning, for every service with an outbox. */
export const upkeepSettings = {
  /** How often each pruning job runs (on one replica). */
  UPKEEP_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
  /** Published outbox rows are kept this long. */
  OUTBOX_RETENTION_HOURS: z.coerce.number().int().min(1).default(168),
  /** Handled-event ids are kept this long: longer than any event may wait in a queue. */
  HANDLED_EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
};

export interface UpkeepConfig {
  UPKEEP_INTERVAL_MS: number;
  OUTBOX_RETENTION_HOURS: number;
  HANDLED_EVENTS_RETENTION_DAYS: number;
}

/**
 * A service's upkeep with the kit's own pruning (outbox, handled-event ids) scheduled; the
 * service schedules its own jobs on it too. Stops with the service.
 */
export function startUpkeep({ logger, metrics, lifecycle }: ServiceParts, options: { service: string; pool: pg.Pool; config: UpkeepConfig }): Upkeep {
  const { config } = options;
  const upkeep = new Upkeep({ service: options.service, pool: options.pool, logger, registry: metrics.registry, lifecycle });
  upkeep.schedule(outboxPruning(config.OUTBOX_RETENTION_HOURS * 3_600, config.UPKEEP_INTERVAL_MS));
  upkeep.schedule(handledEventPruning(config.HANDLED_EVENTS_RETENTION_DAYS * 86_400, config.UPKEEP_INTERVAL_MS));
  return upkeep;
}
