import path from 'node:path';
import { migrate } from '../../src/postgres/migrations';
import { createTestDatabase, silentLogger, type TestDatabase } from '../../src/testing';

/** A database of the test file's own, with the kit's outbox and inbox and the fixtures' `effects` table. */
export async function createFixtureDatabase(label: string): Promise<TestDatabase> {
  const database = await createTestDatabase(label);
  await migrate({ DATABASE_URL: database.url }, path.join(__dirname, '..', 'fixtures', 'migrations'), silentLogger());
  return database;
}
