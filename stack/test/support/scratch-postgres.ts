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
  /** Directory of the Unix socket (PGHOST for psql as the superuser). */
  socketDir: string;
  port: number;
  /** A client on 127.0.0.1 (password checked). */
  connect: (user: string, password: string, database: string) => Promise<pg.Client>;
  /** The superuser, over the Unix socket (no password). */
  connectAsSuperuser: () => Promise<pg.Client>;
  stop: () => Promise<void>;
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

/** PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` system user. */
const asServerUser = (command: string, args: string[]): [string, string[]] =>
  userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];

export async function startScratchPostgres(): Promise<ScratchPostgres> {
  const bin = binDir();
  const dir = mkdtempSync(path.join(tmpdir(), 'scratch-postgres-'));
  if (userInfo().uid === 0) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'])), Number(execFileSync('id', ['-g', 'postgres'])));
  const data = path.join(dir, 'data');
  execFileSync(...asServerUser(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256']), {
    stdio: 'pipe',
  });
  const port = await freePort();
  const [command, args] = asServerUser(path.join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1']);
  const server: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));

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
      return server.pid!;
    }
  };
  const stop = async () => {
    // Fast shutdown: open sessions are ended.
    process.kill(postmasterPid(), 'SIGINT');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  while (!/ready to accept connections/.test(log)) {
    if (server.exitCode !== null || Date.now() > deadline) {
      if (server.exitCode === null) await stop();
      else rmSync(dir, { recursive: true, force: true });
      throw new Error(`scratch PostgreSQL did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { socketDir: dir, port, connect, connectAsSuperuser, stop };
}
