import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ensureDatabase } from '../src/postgres/migrations';
import { TEST_POSTGRES_URL, silentLogger } from '../src/testing';

const name = `kit_ensure_${randomBytes(4).toString('hex')}`;
const urlOf = (database: string) => {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${database}`;
  return url.toString();
};

afterAll(async () => {
  const admin = new pg.Client({ connectionString: urlOf('postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await admin.end();
});

describe('ensureDatabase', () => {
  it('When several replicas start at once on a missing database, Then every one of them gets it', async () => {
    const starts = Array.from({ length: 4 }, () => ensureDatabase({ DATABASE_URL: urlOf(name) }, silentLogger()));
    await expect(Promise.all(starts)).resolves.toHaveLength(4);
    const probe = new pg.Client({ connectionString: urlOf(name) });
    await probe.connect();
    await probe.end();
  });
});
