import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { PgBackRest } from '../../src/pgbackrest';
import { asServerUser, startScratchPostgres, type ScratchPostgres } from '../../../stack/test/support/scratch-postgres';

export interface ArchivingCluster {
  server: ScratchPostgres;
  /** Runs as the server's user, with the cluster's own configuration file. */
  pgbackrest: PgBackRest;
  stanza: string;
  /** pgBackRest's configuration file: the repository, logs and locks in the test's directory, and the cluster. */
  config: string;
  stop: () => Promise<void>;
}

/**
 * A scratch cluster that archives its WAL with pgBackRest into a repository of its own, whose
 * stanza exists: what the production stack's PostgreSQL and backup service set up, in a
 * temporary directory (repository, logs, locks, configuration), owned by the server's user since
 * the archive_command runs as it.
 */
export async function startArchivingCluster(options: { retentionFull?: number } = {}): Promise<ArchivingCluster> {
  const stanza = 'scratch';
  const work = mkdtempSync(path.join(tmpdir(), 'pgbackrest-'));
  for (const dir of ['repo', 'log', 'lock']) mkdirSync(path.join(work, dir));
  const config = path.join(work, 'pgbackrest.conf');
  let server: ScratchPostgres | undefined;
  try {
    server = await startScratchPostgres({
      settings: { wal_level: 'replica', archive_mode: 'on', archive_command: `pgbackrest --config=${config} --stanza=${stanza} archive-push %p` },
    });
    writeFileSync(
      config,
      [
        '[global]',
        `repo1-path=${path.join(work, 'repo')}`,
        `repo1-retention-full=${options.retentionFull ?? 2}`,
        `log-path=${path.join(work, 'log')}`,
        `lock-path=${path.join(work, 'lock')}`,
        'log-level-console=warn',
        'log-level-file=detail',
        'start-fast=y',
        '',
        `[${stanza}]`,
        `pg1-path=${server.dataDir}`,
        `pg1-port=${server.port}`,
        `pg1-socket-path=${server.socketDir}`,
        'pg1-user=postgres',
        '',
      ].join('\n'),
    );
    if (userInfo().uid === 0) execFileSync('chown', ['-R', 'postgres:postgres', work]);
    const pgbackrest = new PgBackRest({ stanza, config, wrap: asServerUser });
    await pgbackrest.createStanza();
    const started = server;
    return {
      server: started,
      pgbackrest,
      stanza,
      config,
      stop: async () => {
        await started.stop();
        rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}
