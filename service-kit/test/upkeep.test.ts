import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createPool } from '../src/postgres/pool';
import { Upkeep, handledEventPruning, outboxPruning, type UpkeepJob } from '../src/postgres/upkeep';
import { Lifecycle } from '../src/runtime/lifecycle';
import { captureLogger, silentLogger, type TestDatabase } from '../src/testing';
import { createFixtureDatabase } from './support/fixture-database';

let database: TestDatabase;
let pool: pg.Pool;
const upkeeps: Upkeep[] = [];

beforeAll(async () => {
  database = await createFixtureDatabase('kit_upkeep');
  pool = createPool({ DATABASE_URL: database.url }, silentLogger());
});

afterEach(async () => {
  await Promise.all(upkeeps.splice(0).map((upkeep) => upkeep.stop()));
  await pool.query('TRUNCATE outbox, processed_events');
});

afterAll(async () => {
  await pool.end();
  await database.drop();
});

/** An upkeep as one replica of `service` would run it, on a pool of its own. */
function replica(service = 'kit-test', logger = silentLogger()) {
  const registry = new Registry();
  const own = createPool({ DATABASE_URL: database.url }, logger, 2);
  const lifecycle = new Lifecycle(logger);
  const upkeep = new Upkeep({ service, pool: own, logger, registry, lifecycle, batchSize: 2 });
  upkeeps.push(upkeep);
  const stop = upkeep.stop.bind(upkeep);
  upkeep.stop = async () => {
    await stop();
    await own.end();
  };
  const sample = async (name: string, labels: Record<string, string>) =>
    (await registry.getSingleMetric(name)?.get())?.values.find((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label))?.value ?? 0;
  return { upkeep, sample };
}

async function addOutboxRow(publishedAgo: string | null): Promise<string> {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO outbox (id, type, envelope, published_at) VALUES ($1, 'test.event', '{}', CASE WHEN $2::interval IS NULL THEN NULL ELSE now() - $2::interval END)`,
    [id, publishedAgo],
  );
  return id;
}

const outboxIds = async () => (await pool.query<{ id: string }>('SELECT id FROM outbox ORDER BY seq')).rows.map((row) => row.id);

describe('Upkeep', () => {
  it('prunes published outbox rows past their retention, in batches, keeping unpublished and recent ones', async () => {
    const unpublished = await addOutboxRow(null);
    const recent = await addOutboxRow('1 hour');
    for (let index = 0; index < 5; index += 1) await addOutboxRow('8 days');
    const { upkeep, sample } = replica();

    await upkeep.runOnce(outboxPruning(7 * 86_400, 60_000));

    expect(await outboxIds()).toEqual([unpublished, recent]);
    expect(await sample('upkeep_removed_total', { job: 'outbox' })).toBe(5);
    expect(await sample('upkeep_runs_total', { job: 'outbox', outcome: 'done' })).toBe(1);
    expect(await sample('upkeep_last_success_timestamp_seconds', { job: 'outbox' })).toBeGreaterThan(Date.now() / 1_000 - 60);
  });

  it('prunes handled-event ids past their retention, and only those', async () => {
    const kept = randomUUID();
    await pool.query(`INSERT INTO processed_events (event_id, consumer, processed_at) VALUES ($1, 'c', now() - interval '1 day')`, [kept]);
    await pool.query(
      `INSERT INTO processed_events (event_id, consumer, processed_at)
       SELECT gen_random_uuid(), 'c', now() - interval '31 days' FROM generate_series(1, 3)`,
    );
    const { upkeep } = replica();
    await upkeep.runOnce(handledEventPruning(30 * 86_400, 60_000));
    const { rows } = await pool.query<{ event_id: string }>('SELECT event_id FROM processed_events');
    expect(rows.map((row) => row.event_id)).toEqual([kept]);
  });

  it('lets one replica run a job at a time: the other skips that round, and a later round runs', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const slow: UpkeepJob = {
      name: 'slow',
      everyMs: 60_000,
      removeBatch: async () => {
        calls += 1;
        if (calls === 1) await held;
        return 0;
      },
    };
    const first = replica();
    const second = replica();
    const running = first.upkeep.runOnce(slow);
    // Wait until the first replica holds the lock (it is inside the job).
    while (calls === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await second.upkeep.runOnce(slow);
    expect(await second.sample('upkeep_runs_total', { job: 'slow', outcome: 'skipped' })).toBe(1);
    expect(calls).toBe(1);

    release();
    await running;
    await second.upkeep.runOnce(slow);
    expect(await second.sample('upkeep_runs_total', { job: 'slow', outcome: 'done' })).toBe(1);
    // Another service's replica has its own lock and never waits on this one.
    const other = replica('other-service');
    await other.upkeep.runOnce(slow);
    expect(await other.sample('upkeep_runs_total', { job: 'slow', outcome: 'done' })).toBe(1);
  });

  it('logs and counts a failed run, never throws, and leaves the lock free for the next one', async () => {
    const captured = captureLogger('kit-test', 'info');
    const { upkeep, sample } = replica('kit-test', captured.logger);
    const failing: UpkeepJob = { name: 'failing', everyMs: 60_000, removeBatch: () => Promise.reject(new Error('disk on fire')) };
    await expect(upkeep.runOnce(failing)).resolves.toBeUndefined();
    expect(await sample('upkeep_runs_total', { job: 'failing', outcome: 'failed' })).toBe(1);
    expect(captured.lines()).toContainEqual(expect.objectContaining({ job: 'failing', msg: expect.stringContaining('failed') }));
    const { rows } = await pool.query(`SELECT count(*)::int AS held FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    expect(rows[0].held).toBe(0);
  });

  it('runs on its schedule, and a run done is logged with what it removed', async () => {
    await addOutboxRow('8 days');
    const captured = captureLogger('kit-test', 'info');
    const { upkeep } = replica('kit-test', captured.logger);
    upkeep.schedule(outboxPruning(7 * 86_400, 100));
    const deadline = Date.now() + 5_000;
    while ((await outboxIds()).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await outboxIds()).toEqual([]);
    expect(captured.lines()).toContainEqual(expect.objectContaining({ component: 'upkeep', job: 'outbox', removed: 1 }));
  });
});
