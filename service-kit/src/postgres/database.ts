import type pg from 'pg';
import type { PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import type { EventData, EventEnvelope, EventType } from '../contracts/events';
import { createEvent } from '../events/envelope';
import { withTransaction, type Queryable } from './pool';

/** A transaction that can also record domain events; they are published only if it commits. */
export class Transaction implements Queryable {
  private recorded = 0;

  constructor(
    readonly client: PoolClient,
    private readonly producer: string,
  ) {}

  get recordedEvents(): number {
    return this.recorded;
  }

  query<Row extends QueryResultRow = QueryResultRow>(query: string | QueryConfig, values?: unknown[]): Promise<QueryResult<Row>> {
    return this.client.query<Row>(query, values);
  }

  /**
   * Writes the event to the outbox in this transaction (the transactional outbox), with the
   * version the change leaves its aggregate at, when there is one (see EventEnvelope).
   */
  async recordEvent<T extends EventType>(type: T, data: EventData<T>, aggregateVersion?: number): Promise<EventEnvelope<T>> {
    const event = createEvent(this.producer, type, data, aggregateVersion);
    await this.client.query('INSERT INTO outbox (id, type, envelope) VALUES ($1, $2, $3)', [event.id, event.type, event]);
    this.recorded += 1;
    return event;
  }

  /**
   * Claims `eventId` for `consumer`; false when it was handled before. Run in the handler's
   * transaction, so the claim and the handler's changes commit or roll back together.
   */
  async claimEvent(consumer: string, eventId: string): Promise<boolean> {
    const result = await this.client.query(
      'INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [consumer, eventId],
    );
    return result.rowCount === 1;
  }
}

/** The pool plus transactions that record events and wake the outbox relay once they commit. */
export class Database implements Queryable {
  constructor(
    readonly pool: pg.Pool,
    private readonly producer: string,
    /** Called after a commit that recorded events, typically OutboxRelay#nudge. */
    private readonly onEventsCommitted: () => void = () => undefined,
  ) {}

  query<Row extends QueryResultRow = QueryResultRow>(query: string | QueryConfig, values?: unknown[]): Promise<QueryResult<Row>> {
    return this.pool.query<Row>(query, values);
  }

  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    let recordedEvents = 0;
    const result = await withTransaction(this.pool, async (client) => {
      const tx = new Transaction(client, this.producer);
      const value = await work(tx);
      recordedEvents = tx.recordedEvents;
      return value;
    });
    if (recordedEvents > 0) this.onEventsCommitted();
    return result;
  }
}
