import type pg from 'pg';
import { createPool, withTransaction } from '../src/postgres/pool';
import { TestWorld, silentLogger, type TcpProxy } from '../src/testing';

let world: TestWorld;
let proxy: TcpProxy;
let pool: pg.Pool;

beforeAll(async () => {
  world = await TestWorld.create({ database: 'kit_connection_loss', broker: false, redis: false });
  proxy = await world.proxy(world.database.url);
  pool = createPool({ DATABASE_URL: proxy.urlFor(world.database.url) }, silentLogger());
  world.onCleanUp(() => pool.end());
});

afterAll(() => world.cleanUp());

describe('a transaction whose connection is lost between two of its queries', () => {
  it('When PostgreSQL goes away mid-transaction, Then the transaction fails and the process lives on, and the pool recovers', async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      await expect(
        withTransaction(pool, async (client) => {
          await client.query('SELECT 1');
          await proxy.stop();
          // The client idles, checked out, while its connection dies.
          await new Promise((resolve) => setTimeout(resolve, 200));
          await client.query('SELECT 2');
        }),
      ).rejects.toThrow();
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', record);
    }
    await proxy.start();
    expect((await withTransaction(pool, (client) => client.query<{ ok: number }>('SELECT 1 AS ok'))).rows[0]?.ok).toBe(1);
  });
});
