import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '@board/service-kit/testing';

/**
 * A PostgreSQL cluster of a test's own, from the machine's PostgreSQL binaries, that checks
 * passwords (scram-sha-256 over TCP) where the shared server trusts every connection: a password
 * test against the shared server could not fail. The superuser `postgres` connects over the
 * cluster's own Unix socket without one, as the official image's init scripts do.
 */
export interface ScratchPostgres {
  /** The temporary directory that holds everything of the cluster's (data, socket); owned by the server's user. */
  dir: string;
  /** The data directory (PGDATA). */
  dataDir: string;
  /** Directory of the Unix socket (PGHOST for psql as the superuser). */
  socketDir: string;
  port: number;
  /** The directory of the PostgreSQL binaries it runs (pg_dump, pg_restore... of the same version). */
  binDir: string;
  /** A client on 127.0.0.1 (password checked). */
  connect: (user: string, password: string, database: string) => Promise<pg.Client>;
  /** The superuser, over the Unix socket (no password). */
  connectAsSuperuser: () => Promise<pg.Client>;
  /** Stops the server and keeps its files, e.g. to restore its data directory from a backup. */
  halt: () => Promise<void>;
  /** Starts the server again on its data directory (after `halt`), and waits until it accepts connections. */
  resume: () => Promise<void>;
  /** Stops the server and removes its files. */
  stop: () => Promise<void>;
}

export interface ScratchPostgresOptions {
  /** Server settings (`-c name=value`), e.g. WAL archiving. */
  settings?: Readonly<Record<string, string>>;
}

/** initdb and postgres of the newest PostgreSQL installed (Debian/Ubuntu layout), or TEST_POSTGRES_BINDIR. */
function binDir(): string {
  if (process.env.TEST_POSTGRES_BINDIR) return process.env.TEST_POSTGRES_BINDIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((version) => existsSync(path.join(root, version, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no PostgreSQL server binaries under ${root} (set TEST_POSTGRES_BINDIR)`);
  return path.join(root, newest, 'bin');
}

/**
 * PostgreSQL (and pgBackRest, which must own what the server reads) refuses to run as root: as
 * root, a command of the cluster's runs as the `postgres` system user.
 */
export const asServerUser = (command: string, args: string[]): [string, string[]] =>
  userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];

export async function startScratchPostgres(options: ScratchPostgresOptions = {}): Promise<ScratchPostgres> {
  const bin = binDir();
  const dir = mkdtempSync(path.join(tmpdir(), 'scratch-postgres-'));
  if (userInfo().uid === 0) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'])), Number(execFileSync('id', ['-g', 'postgres'])));
  const data = path.join(dir, 'data');
  execFileSync(...asServerUser(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256']), {
    stdio: 'pipe',
  });
  const port = await freePort();
  const settings = Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]);

  let server: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  const launch = async () => {
    const [command, args] = asServerUser(path.join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', ...settings]);
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    server = child;
    log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 60_000;
    // A server that recovers (e.g. a restored backup replaying WAL) is ready once it says so, after recovery.
    while (!/ready to accept connections/.test(log)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        if (child.exitCode === null) await halt();
        throw new Error(`scratch PostgreSQL did not start:\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const open = async (config: pg.ClientConfig) => {
    const client = new pg.Client(config);
    await client.connect();
    return client;
  };
  const connect = (user: string, password: string, database: string) => open({ host: '127.0.0.1', port, user, password, database });
  const connectAsSuperuser = () => open({ host: dir, port, user: 'postgres', database: 'postgres' });
  /** The postmaster itself (runuser, when in between, exits with it); the child until it wrote its pid file. */
  const postmasterPid = () => {
    try {
      return Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return server!.pid!;
    }
  };
  const halt = async () => {
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    // Fast shutdown: open sessions are ended.
    process.kill(postmasterPid(), 'SIGINT');
    await exited;
  };
  const stop = async () => {
    await halt();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await launch();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, dataDir: data, socketDir: dir, port, binDir: bin, connect, connectAsSuperuser, halt, resume: launch, stop };
}
