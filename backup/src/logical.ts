import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import pg from 'pg';
import { run } from './command';
import { applyRetention, type RetentionRule } from './retention';

/** Where the cluster is, for the superuser that dumps and restores (a Unix socket directory or a host). */
export interface PostgresConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
}

/** The management API of RabbitMQ, whose definitions (users, vhosts, exchanges, queues, bindings, policies) go with each dump. */
export interface RabbitMqManagement {
  url: string;
  user: string;
  password: string;
}

export interface DumpedDatabase {
  name: string;
  /** Its owner role, which the restore gives the recreated database. */
  owner: string;
  file: string;
  bytes: number;
  sha256: string;
}

/** What a complete dump holds; written last, so a dump without one is incomplete and ignored. */
export interface DumpManifest {
  id: string;
  startedAt: string;
  finishedAt: string;
  databases: DumpedDatabase[];
  rabbitmq?: { file: string; bytes: number };
}

export interface DumpOptions {
  /** The directory of the dumps, one subdirectory per dump. */
  root: string;
  databases: readonly string[];
  postgres: PostgresConnection;
  rabbitmq?: RabbitMqManagement;
  /** Where pg_dump and pg_restore are; PATH when unset. */
  binDir?: string;
  now?: () => Date;
}

const MANIFEST = 'manifest.json';
const RABBITMQ_FILE = 'rabbitmq-definitions.json.gz';
const PARTIAL = '.partial';

/** A dump's name: its start time, sortable and valid as a file name, e.g. 20261201T020000Z. */
export const dumpId = (time: Date) => time.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

const tool = (binDir: string | undefined, name: string) => (binDir ? path.join(binDir, name) : name);

/** libpq's variables for the tools: the password never appears on a command line. */
function libpqEnv(connection: PostgresConnection): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PGHOST: connection.host,
    PGPORT: String(connection.port),
    PGUSER: connection.user,
    ...(connection.password !== undefined ? { PGPASSWORD: connection.password } : {}),
  };
}

async function withClient<T>(connection: PostgresConnection, database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...connection, database });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function rabbitMqDefinitions(rabbitmq: RabbitMqManagement): Promise<Buffer> {
  const response = await fetch(new URL('/api/definitions', rabbitmq.url), {
    headers: { authorization: `Basic ${Buffer.from(`${rabbitmq.user}:${rabbitmq.password}`).toString('base64')}` },
    signal: AbortSignal.timeout(30_000),
  });
  if (!response.ok) throw new Error(`RabbitMQ definitions: the management API answered ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/**
 * One logical dump: every database with `pg_dump -Fc` (compressed, restorable table by table),
 * and RabbitMQ's definitions, gzipped. It is written under a temporary name and renamed when
 * complete, so a dump cut short never counts as a backup.
 */
export async function dumpAll(options: DumpOptions): Promise<DumpManifest> {
  const startedAt = (options.now ?? (() => new Date()))();
  const id = dumpId(startedAt);
  const final = path.join(options.root, id);
  if (existsSync(final)) throw new Error(`a dump named ${id} exists already`);
  const dir = `${final}${PARTIAL}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const databases: DumpedDatabase[] = [];
    for (const name of options.databases) {
      const owner = await withClient(options.postgres, 'postgres', async (client) => {
        const { rows } = await client.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [name]);
        if (!rows[0]) throw new Error(`there is no database named ${name}`);
        return rows[0].owner;
      });
      const file = `${name}.dump`;
      await run(tool(options.binDir, 'pg_dump'), ['--format=custom', '--compress=6', `--dbname=${name}`, `--file=${path.join(dir, file)}`], {
        env: libpqEnv(options.postgres),
      });
      const content = readFileSync(path.join(dir, file));
      databases.push({ name, owner, file, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') });
    }
    let rabbitmq: DumpManifest['rabbitmq'];
    if (options.rabbitmq) {
      const compressed = gzipSync(await rabbitMqDefinitions(options.rabbitmq));
      writeFileSync(path.join(dir, RABBITMQ_FILE), compressed);
      rabbitmq = { file: RABBITMQ_FILE, bytes: compressed.length };
    }
    const manifest: DumpManifest = { id, startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), databases, rabbitmq };
    writeFileSync(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    renameSync(dir, final);
    return manifest;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The complete dumps under `root`, newest first. */
export function listDumps(root: string): DumpManifest[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => !name.endsWith(PARTIAL) && existsSync(path.join(root, name, MANIFEST)))
    .map((name) => JSON.parse(readFileSync(path.join(root, name, MANIFEST), 'utf8')) as DumpManifest)
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

/** Removes the dumps the rule does not keep (and leftovers of dumps cut short); returns the removed ids. */
export function pruneDumps(root: string, rule: RetentionRule): string[] {
  const { remove } = applyRetention(listDumps(root), (dump) => new Date(dump.startedAt), rule);
  for (const dump of remove) rmSync(path.join(root, dump.id), { recursive: true, force: true });
  const leftovers = existsSync(root) ? readdirSync(root).filter((name) => name.endsWith(PARTIAL)) : [];
  for (const name of leftovers) rmSync(path.join(root, name), { recursive: true, force: true });
  return remove.map((dump) => dump.id);
}

export interface RestoreDumpOptions {
  root: string;
  id: string;
  postgres: PostgresConnection;
  binDir?: string;
  /** Only these databases of the dump; all of them by default. */
  databases?: readonly string[];
  /**
   * Drops and recreates a database that holds tables. Without it, a restore goes into empty
   * databases only (as the init scripts create them on a new volume) and refuses otherwise.
   */
  replace?: boolean;
  /** Loads the dump's RabbitMQ definitions into this broker (the management API merges them in). */
  rabbitmq?: RabbitMqManagement;
}

/** Tables, sequences, views... that are not PostgreSQL's own: none in a database the init scripts just created. */
const USER_RELATIONS = `SELECT count(*)::int AS relations FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'`;

/**
 * Restores a logical dump: each database is recreated empty, owned by the role that owned it at
 * dump time (the role must exist: on a new volume the init scripts create it), and loaded with
 * pg_restore in one transaction, so a failure leaves an empty database rather than half of one.
 */
export async function restoreDump(options: RestoreDumpOptions): Promise<DumpManifest> {
  const manifest = listDumps(options.root).find((dump) => dump.id === options.id);
  if (!manifest) {
    const known = listDumps(options.root).map((dump) => dump.id);
    throw new Error(`no complete dump named ${options.id} (there are: ${known.join(', ') || 'none'})`);
  }
  const wanted = options.databases ?? manifest.databases.map((database) => database.name);
  const chosen = wanted.map((name) => {
    const database = manifest.databases.find((candidate) => candidate.name === name);
    if (!database) throw new Error(`dump ${manifest.id} holds no database named ${name}`);
    return database;
  });
  const dir = path.join(options.root, manifest.id);
  for (const database of chosen) {
    const file = path.join(dir, database.file);
    const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    if (sha256 !== database.sha256) throw new Error(`${file} is damaged: its checksum differs from the one taken at dump time`);
  }

  for (const database of chosen) {
    await withClient(options.postgres, 'postgres', async (admin) => {
      const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database.name])).rowCount === 1;
      if (exists && !options.replace) {
        const relations = await withClient(options.postgres, database.name, async (client) => (await client.query<{ relations: number }>(USER_RELATIONS)).rows[0]!.relations);
        if (relations > 0) throw new Error(`database ${database.name} is not empty (${relations} relations): restore with --replace to drop and recreate it`);
      }
      const name = pg.escapeIdentifier(database.name);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name} OWNER ${pg.escapeIdentifier(database.owner)}`);
    });
    await run(
      tool(options.binDir, 'pg_restore'),
      ['--exit-on-error', '--single-transaction', `--dbname=${database.name}`, path.join(dir, database.file)],
      { env: libpqEnv(options.postgres) },
    );
  }

  if (options.rabbitmq && manifest.rabbitmq) {
    const definitions = gunzipSync(readFileSync(path.join(dir, manifest.rabbitmq.file)));
    const { url, user, password } = options.rabbitmq;
    const response = await fetch(new URL('/api/definitions', url), {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, 'content-type': 'application/json' },
      body: definitions,
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) throw new Error(`RabbitMQ definitions: the management API answered ${response.status} ${await response.text()}`);
  }
  return manifest;
}

/** The newest complete dump's time, for the freshness metric. */
export function newestDump(root: string): { finishedAt: Date; bytes: number } | undefined {
  const [newest] = listDumps(root);
  if (!newest) return undefined;
  const dir = path.join(root, newest.id);
  const bytes = readdirSync(dir).reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0);
  return { finishedAt: new Date(newest.finishedAt), bytes };
}

