import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createPool, migrate } from '@board/service-kit';
import { freePort, silentLogger } from '@board/service-kit/testing';
import { ROOT } from '../src/stack';
import { startScratchPostgres, type ScratchPostgres } from './support/scratch-postgres';
import { startProcess, waitUntilReady } from './support/processes';

const SCRIPT = path.join(ROOT, 'postgres', 'init', '10-service-databases.sh');
const MONITORING_SCRIPT = path.join(ROOT, 'postgres', 'init', '20-monitoring-role.sh');
const MONITORING_PASSWORD = `mo/+=#@:?'"\\nitor`;

/** Each service's database, the variable its role's password comes from, and a password holding every URL-reserved character and SQL quotes. */
const DATABASES = [
  { database: 'auth', variable: 'AUTH_DATABASE_PASSWORD', password: `a/+=#@:?'"\\uth`, migrations: 'auth-service' },
  { database: 'users', variable: 'USERS_DATABASE_PASSWORD', password: `u/+=#@:?'%41sers`, migrations: 'user-service' },
  { database: 'messages', variable: 'MESSAGES_DATABASE_PASSWORD', password: `m/+=#@:?;--essages`, migrations: 'message-service' },
];
const passwords = Object.fromEntries(DATABASES.map((entry) => [entry.variable, entry.password]));

/** The init script as the official postgres image runs it: as the superuser, over the Unix socket. */
const runInit = (server: ScratchPostgres, env: Record<string, string>, script = SCRIPT) =>
  spawnSync('sh', [script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PGHOST: server.socketDir, PGPORT: String(server.port), POSTGRES_USER: 'postgres', POSTGRES_DB: 'postgres', ...env },
  });

describe('postgres/init: one role per service, owning only its own database', () => {
  let server: ScratchPostgres;
  beforeAll(async () => {
    server = await startScratchPostgres();
  }, 60_000);
  afterAll(() => server?.stop());

  it('refuses to create anything while a password is missing, naming every missing one', async () => {
    const result = runInit(server, { AUTH_DATABASE_PASSWORD: 'only-this-one' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/not set: USERS_DATABASE_PASSWORD MESSAGES_DATABASE_PASSWORD/);
    const admin = await server.connectAsSuperuser();
    try {
      expect((await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'auth'")).rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });

  describe('once run', () => {
    beforeAll(() => {
      const result = runInit(server, passwords);
      if (result.status !== 0) throw new Error(`init script failed: ${result.stderr}`);
    });

    it.each(DATABASES)('$database: its role connects with its password (through the kit, the URL holding none) and owns it', async ({ database, password }) => {
      const pool = createPool({ DATABASE_URL: `postgres://${database}@127.0.0.1:${server.port}/${database}`, DATABASE_PASSWORD: password }, silentLogger());
      try {
        const { rows } = await pool.query<{ owner: string; me: string; superuser: boolean; createdb: boolean; createrole: boolean }>(
          `SELECT pg_get_userbyid(d.datdba) AS owner, current_user AS me, r.rolsuper AS superuser, r.rolcreatedb AS createdb, r.rolcreaterole AS createrole
             FROM pg_database d, pg_roles r WHERE d.datname = current_database() AND r.rolname = current_user`,
        );
        expect(rows).toEqual([{ owner: database, me: database, superuser: false, createdb: false, createrole: false }]);
      } finally {
        await pool.end();
      }
    });

    it.each(DATABASES)('$database: the service\'s migrations run as its role (what production does on start)', async ({ database, password, migrations }) => {
      const settings = { DATABASE_URL: `postgres://${database}@127.0.0.1:${server.port}/${database}`, DATABASE_PASSWORD: password };
      await migrate(settings, path.join(ROOT, migrations, 'migrations'), silentLogger());
      const pool = createPool(settings, silentLogger());
      try {
        const { rows } = await pool.query<{ owner: string; tables: number }>(
          "SELECT tableowner::text AS owner, count(*)::int AS tables FROM pg_tables WHERE schemaname = 'public' GROUP BY tableowner",
        );
        expect(rows).toEqual([{ owner: database, tables: expect.any(Number) }]);
        expect(rows[0]!.tables).toBeGreaterThan(2); // the kit's outbox, inbox and migration tables, and the service's own
      } finally {
        await pool.end();
      }
    });

    it('refuses a wrong password (the server checks them)', async () => {
      await expect(server.connect('auth', 'not-the-password', 'auth')).rejects.toMatchObject({ code: '28P01' });
    });

    it.each(DATABASES.flatMap((own) => DATABASES.filter((other) => other !== own).map((other) => ({ role: own.database, password: own.password, other: other.database }))))(
      '$role cannot connect to $other',
      async ({ role, password, other }) => {
        await expect(server.connect(role, password, other)).rejects.toMatchObject({ code: '42501', message: `permission denied for database "${other}"` });
      },
    );
  });

  describe('the exporter\'s role', () => {
    it('is not created without its password', () => {
      const result = runInit(server, {}, MONITORING_SCRIPT);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/not set: MONITORING_DATABASE_PASSWORD/);
    });

    describe('once created', () => {
      beforeAll(() => {
        const result = runInit(server, { MONITORING_DATABASE_PASSWORD: MONITORING_PASSWORD }, MONITORING_SCRIPT);
        if (result.status !== 0) throw new Error(`init script failed: ${result.stderr}`);
      });

      it('reads the statistics of every database, is no superuser, and cannot connect to a service\'s database', async () => {
        const client = await server.connect('monitoring', MONITORING_PASSWORD, 'postgres');
        try {
          const { rows } = await client.query<{ superuser: boolean; monitor: boolean; size: string }>(
            `SELECT r.rolsuper AS superuser, pg_has_role(current_user, 'pg_monitor', 'member') AS monitor, pg_database_size('auth')::text AS size
               FROM pg_roles r WHERE r.rolname = current_user`,
          );
          expect(rows).toEqual([{ superuser: false, monitor: true, size: expect.stringMatching(/^\d+$/) }]);
        } finally {
          await client.end();
        }
        await expect(server.connect('monitoring', MONITORING_PASSWORD, 'auth')).rejects.toMatchObject({ code: '42501' });
      });

      it('is all postgres-exporter needs: it scrapes with no error', async () => {
        const port = await freePort();
        const exporter = startProcess('prometheus-postgres-exporter', [`--web.listen-address=127.0.0.1:${port}`], {
          PATH: process.env.PATH,
          DATA_SOURCE_URI: `127.0.0.1:${server.port}/postgres?sslmode=disable`,
          DATA_SOURCE_USER: 'monitoring',
          DATA_SOURCE_PASS: MONITORING_PASSWORD,
        });
        try {
          await waitUntilReady(`http://127.0.0.1:${port}/metrics`, exporter);
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          expect(text).toMatch(/^pg_up 1$/m);
          expect(text).toMatch(/^pg_exporter_last_scrape_error 0$/m);
          expect(text).toMatch(/^pg_database_size_bytes\{datname="auth"[^}]*\} \d+/m);
          expect(text).toMatch(/^pg_settings_max_connections\{[^}]*\} \d+/m);
        } finally {
          await exporter.stop();
        }
      });
    });
  });
});
