import type pg from 'pg';
import type { PgBackRest } from '../src/pgbackrest';
import type { ScratchPostgres } from '../../stack/test/support/scratch-postgres';
import { startArchivingCluster, type ArchivingCluster } from './support/archiving-cluster';
import { serverUserMissing } from './support/tools';

/**
 * Point-in-time recovery with pgBackRest, on a cluster of the test's own that archives its WAL
 * into a repository of the test's own: write, back up, write more, restore to a moment between
 * the writes, and find the first write and not the second.
 */
const missing = serverUserMissing();
const describeIfTools = missing ? describe.skip : describe;
if (missing) console.warn(`skipping point-in-time recovery: ${missing}`);

describeIfTools('point-in-time recovery (pgBackRest)', () => {
  let cluster: ArchivingCluster;
  let server: ScratchPostgres;
  let pgbackrest: PgBackRest;

  const sql = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => {
    const client = await server.connectAsSuperuser();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  /** The server's clock, so the target is on the same clock as the commit timestamps in the WAL. */
  const serverNow = async () => (await sql<{ now: Date }>('SELECT clock_timestamp() AS now'))[0]!.now;
  const notes = async () => (await sql<{ body: string }>('SELECT body FROM notes ORDER BY id')).map((row) => row.body);

  beforeAll(async () => {
    cluster = await startArchivingCluster({ retentionFull: 2 });
    ({ server, pgbackrest } = cluster);
    await pgbackrest.check();
  }, 120_000);

  afterAll(() => cluster?.stop());

  it('restores to a moment between two writes: the first is there, the second is not', async () => {
    await sql('CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');
    await sql("INSERT INTO notes (body) VALUES ('before the full backup')");
    await pgbackrest.backup('full');
    await sql("INSERT INTO notes (body) VALUES ('first write')");
    await pgbackrest.backup('incr');
    await sql("INSERT INTO notes (body) VALUES ('after the incremental backup')");
    // Commit timestamps are in microseconds: a few milliseconds either side of the target.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const target = await serverNow();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sql("INSERT INTO notes (body) VALUES ('second write')");
    // What the operator's restore does first: the WAL holding the last commits reaches the repository.
    await pgbackrest.check();
    expect(await notes()).toEqual(['before the full backup', 'first write', 'after the incremental backup', 'second write']);

    const { backups } = await pgbackrest.info();
    expect(backups.map((set) => set.type)).toEqual(['full', 'incr']);

    await server.halt();
    await pgbackrest.restore({ target });
    await server.resume();

    expect(await notes()).toEqual(['before the full backup', 'first write', 'after the incremental backup']);
    // Promoted at the target: it takes writes again, on a timeline of its own.
    await sql("INSERT INTO notes (body) VALUES ('after the restore')");
    expect((await sql<{ recovering: boolean }>('SELECT pg_is_in_recovery() AS recovering'))[0]!.recovering).toBe(false);
  }, 120_000);

  it('runs two backups asked for at once one after the other (the second waits for the stanza lock)', async () => {
    const before = (await pgbackrest.info()).backups.length;
    await Promise.all([pgbackrest.backup('incr'), pgbackrest.backup('incr')]);
    expect((await pgbackrest.info()).backups.length).toBe(before + 2);
  }, 120_000);

  it('expires full backups beyond the retention, and the WAL only they needed', async () => {
    const before = await pgbackrest.info();
    await pgbackrest.backup('full');
    await pgbackrest.backup('full');
    await pgbackrest.expire();
    const after = await pgbackrest.info();
    const fulls = after.backups.filter((set) => set.type === 'full');
    expect(fulls).toHaveLength(2); // repo1-retention-full=2
    expect(after.backups.map((set) => set.label)).not.toContain(before.backups[0]!.label);
    // The archive now starts at the oldest kept full backup's WAL, not at the first segment ever archived.
    expect(after.archive!.min > before.archive!.min).toBe(true);
  }, 120_000);
});
