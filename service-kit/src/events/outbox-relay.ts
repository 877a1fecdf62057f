import type pg from 'pg';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { sharedMetric } from '../runtime/metrics';
import { withTransaction } from '../postgres/pool';
import type { EventEnvelope } from '../contracts/events';
import type { EventPublisher } from './publisher';

/** Advisory lock key of the relay; each service's outbox lives in a database of its own. */
const RELAY_LOCK_KEY = 0x6f7574626f78; // "outbox"

export interface OutboxRelayOptions {
  pool: pg.Pool;
  publisher: EventPublisher;
  logger: Logger;
  registry?: Registry;
  /** How often to look for events when nobody nudged; the safety net behind nudge(). */
  pollIntervalMs?: number;
  batchSize?: number;
  /** Published rows are kept this long for inspection, then deleted. */
  retentionMs?: number;
}

/**
 * Moves committed events from the outbox table to RabbitMQ, in outbox order; a row is marked sent
 * only after the broker confirmed it. Delivery is at least once: consumers are idempotent.
 *
 * The ordering rule: one replica publishes at a time. Each batch runs under a transaction-level
 * advisory lock, so a second replica's batch waits for the first to commit and then reads what
 * is left, instead of publishing later rows while earlier ones are still on their way (which
 * SKIP LOCKED alone would allow). Rows of one aggregate are recorded in the order their changes
 * committed (each change locks the aggregate's row first), so that order reaches the broker.
 * A retry or a redelivery can still reorder an event at a consumer: consumers that apply state
 * compare the event's aggregateVersion and drop stale ones.
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private nudged = false;
  private lastCleanup = 0;
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly retentionMs: number;
  private readonly log: Logger;
  private readonly published: Counter<'type'>;

  constructor(private readonly options: OutboxRelayOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.batchSize = options.batchSize ?? 100;
    this.retentionMs = options.retentionMs ?? 24 * 3_600_000;
    this.log = options.logger.child({ component: 'outbox-relay' });
    this.published = sharedMetric(options.registry, 'outbox_events_published_total', (registers) =>
      new Counter({
        name: 'outbox_events_published_total',
        help: 'Events the outbox relay published with a broker confirm',
        labelNames: ['type'] as const,
        registers,
      }),
    );
    const pool = options.pool;
    sharedMetric(options.registry, 'outbox_pending_events', (registers) =>
      new Gauge({
        name: 'outbox_pending_events',
        help: 'Events committed but not yet confirmed by the broker',
        registers,
        async collect() {
          const result = await pool.query<{ count: string }>('SELECT count(*) FROM outbox WHERE published_at IS NULL');
          this.set(Number(result.rows[0]?.count ?? 0));
        },
      }),
    );
    // A small backlog can still be stuck: its age tells a slow relay from one that stopped.
    sharedMetric(options.registry, 'outbox_oldest_pending_age_seconds', (registers) =>
      new Gauge({
        name: 'outbox_oldest_pending_age_seconds',
        help: 'Age of the oldest event not yet confirmed by the broker (0 when none waits)',
        registers,
        async collect() {
          const result = await pool.query<{ age: number | null }>(
            `SELECT extract(epoch FROM now() - created_at)::float8 AS age FROM outbox
              WHERE published_at IS NULL ORDER BY seq LIMIT 1`,
          );
          this.set(Math.max(0, result.rows[0]?.age ?? 0));
        },
      }),
    );
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Asks for a pass now (called after a transaction that recorded events commits). */
  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  /** Stops the loop after one last pass, so events committed before shutdown go out if the broker is up. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.publishPending().catch((error: unknown) => this.log.warn({ err: error }, 'final outbox flush failed'));
  }

  /** Publishes what is pending, batch after batch; returns how many events went out. */
  async publishPending(): Promise<number> {
    let total = 0;
    for (;;) {
      if (!this.options.publisher.isReady) return total;
      const count = await this.publishBatch();
      total += count;
      if (count < this.batchSize) return total;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.nudged = false;
      try {
        await this.publishPending();
        await this.cleanupIfDue();
      } catch (error) {
        this.log.warn({ err: error }, 'outbox pass failed; will retry');
      }
      if (this.running && !this.nudged) await this.sleep(this.pollIntervalMs);
    }
  }

  private async publishBatch(): Promise<number> {
    return withTransaction(this.options.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [RELAY_LOCK_KEY]);
      const { rows } = await client.query<{ seq: string; envelope: EventEnvelope }>(
        `SELECT seq, envelope FROM outbox WHERE published_at IS NULL
         ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.batchSize],
      );
      if (rows.length === 0) return 0;
      // One channel keeps publish order; waiting for all confirms together keeps the batch fast.
      await Promise.all(rows.map((row) => this.options.publisher.publish(row.envelope)));
      await client.query('UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])', [rows.map((row) => row.seq)]);
      for (const row of rows) this.published.inc({ type: row.envelope.type });
      return rows.length;
    });
  }

  /**
   * Every ten minutes: forget published events past their retention, and the ids of handled events
   * older than a week (a redelivery comes within minutes, never a week later).
   */
  private async cleanupIfDue(): Promise<void> {
    if (Date.now() - this.lastCleanup < 600_000) return;
    this.lastCleanup = Date.now();
    const { pool } = this.options;
    await pool.query(`DELETE FROM outbox WHERE published_at < now() - $1::int * interval '1 millisecond'`, [this.retentionMs]);
    await pool.query(`DELETE FROM processed_events WHERE processed_at < now() - interval '7 days'`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
