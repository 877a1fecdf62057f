import path from 'node:path';
import { migrate } from '../../src/postgres/migrations';
import { TestWorld, silentLogger, type TestWorldOptions } from '../../src/testing';

/**
 * A test world whose database holds the kit's outbox and inbox and the fixtures' `effects` table;
 * no Redis unless asked for.
 */
export async function createFixtureWorld(label: string, options: Omit<TestWorldOptions, 'database'> = {}): Promise<TestWorld> {
  const world = await TestWorld.create({ redis: false, ...options, database: label });
  await migrate({ DATABASE_URL: world.database.url }, path.join(__dirname, '..', 'fixtures', 'migrations'), silentLogger());
  return world;
}
