import { parseArgs } from 'node:util';
import { createLogger, loadConfig } from '@board/service-kit';
import { SERVICE_NAME, configShape } from './config';
import { BackupJob, pgBackRestOf, postgresOf, rabbitMqOf } from './job';
import { listDumps, restoreDump } from './logical';
import { parseTime } from './pgbackrest';

/**
 * What an operator runs inside the backup container (`npm run backup` and `npm run restore` call
 * it through docker compose; see docs/operations.md):
 *   now [--full]                          a backup of both kinds, now
 *   list                                  the logical dumps and the physical backup sets
 *   restore <dump> [--replace] [--databases a,b] [--no-rabbitmq]
 *   restore-physical [--set <label>] [--to <time>]   (PostgreSQL stopped)
 *   flush-archive                         sends the current WAL segment to the repository
 */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      full: { type: 'boolean', default: false },
      replace: { type: 'boolean', default: false },
      databases: { type: 'string' },
      'no-rabbitmq': { type: 'boolean', default: false },
      set: { type: 'string' },
      to: { type: 'string' },
    },
  });
  const [command, argument] = positionals;
  const config = loadConfig(configShape);
  const logger = createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });
  const pgbackrest = pgBackRestOf(config);
  const needPgBackRest = () => {
    if (!pgbackrest) throw new Error('PGBACKREST_STANZA is not set: there are no physical backups here');
    return pgbackrest;
  };
  switch (command) {
    case 'now': {
      const job = new BackupJob(config, logger, pgbackrest);
      await job.prepare();
      await job.run({ full: values.full });
      return;
    }
    case 'list': {
      const lines = listDumps(config.BACKUP_DIR).map((dump) => `logical   ${dump.id}   finished ${dump.finishedAt}   ${dump.databases.map((database) => database.name).join(',')}`);
      if (pgbackrest) {
        const info = await pgbackrest.info();
        for (const set of [...info.backups].reverse()) lines.push(`physical  ${set.label}   ${set.type.padEnd(4)} finished ${set.stopped.toISOString()}`);
        if (info.archive) lines.push(`WAL archive ${info.archive.min} .. ${info.archive.max}: a restore may target any time from the oldest set's end to the newest WAL`);
      }
      process.stdout.write(`${lines.join('\n') || 'no backups'}\n`);
      return;
    }
    case 'restore': {
      if (!argument) throw new Error('restore <dump>: which dump? (`list` shows them)');
      const manifest = await restoreDump({
        root: config.BACKUP_DIR,
        id: argument,
        postgres: postgresOf(config),
        databases: values.databases?.split(',').map((name) => name.trim()),
        replace: values.replace,
        rabbitmq: values['no-rabbitmq'] ? undefined : rabbitMqOf(config),
      });
      logger.info({ dump: manifest.id }, 'logical dump restored');
      return;
    }
    case 'restore-physical': {
      const target = values.to === undefined ? undefined : parseTime(values.to);
      await needPgBackRest().restore({ set: values.set, target });
      logger.info({ set: values.set ?? 'newest', target }, 'data directory restored; PostgreSQL recovers on its next start');
      return;
    }
    case 'flush-archive':
      await needPgBackRest().check();
      return;
    default:
      throw new Error(`unknown command "${command ?? ''}": now, list, restore, restore-physical or flush-archive`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
