import type { Logger } from 'pino';
import { startService, type StartedService } from '@board/service-kit';
import type { Config } from './config';
import { SERVICE_NAME } from './config';
import { createApp } from './app';
import { BackupJob } from './job';
import type { PgBackRest } from './pgbackrest';
import { nextRun } from './schedule';

export interface BackupServiceOptions {
  logger?: Logger;
  /** Replaces the one the configuration describes (tests pass one that runs as the server's user). */
  pgbackrest?: PgBackRest;
  /** The first run at once when a kind of backup is missing (a new installation); on by default. */
  backupWhenMissing?: boolean;
}

/** After a failed start of the schedule (the server not up yet), the next attempt. */
const RETRY_MS = 60_000;

/**
 * The backup service: /metrics for Prometheus (the freshness of the newest backups) and the
 * nightly schedule. Its own failures never stop it: a failed run is logged, counted, and retried
 * at the next scheduled time.
 */
export async function start(config: Config, options: BackupServiceOptions = {}): Promise<StartedService & { job: BackupJob }> {
  return startService({ name: SERVICE_NAME, config, logger: options.logger }, async ({ logger, metrics, lifecycle }) => {
    const job = new BackupJob(config, logger, options.pgbackrest, metrics.registry);
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let current: Promise<void> = Promise.resolve();
    const later = (at: Date, work: () => Promise<void>) => {
      if (stopped) return;
      timer = setTimeout(() => (current = work()), Math.max(0, at.getTime() - Date.now()));
    };
    const nightly = async () => {
      try {
        await job.prepare();
        await job.run();
      } catch {
        // Logged and counted by the job; the alert on the freshness metric tells the operator.
      }
      later(nextRun(new Date(), config.BACKUP_AT), nightly);
    };
    const first = async () => {
      try {
        await job.prepare();
      } catch (error) {
        logger.error({ err: error }, 'cannot prepare the backups yet (is PostgreSQL up?); trying again');
        later(new Date(Date.now() + RETRY_MS), first);
        return;
      }
      if ((options.backupWhenMissing ?? true) && (await job.anyMissing())) await nightly();
      else later(nextRun(new Date(), config.BACKUP_AT), nightly);
    };
    lifecycle.onStop('schedule', async () => {
      stopped = true;
      clearTimeout(timer);
      await current;
    });

    const app = createApp(metrics.registry, logger);

    const whenListening = async () => {
      current = first();
    };
    return { app, exposed: { job }, whenListening };
  });
}
