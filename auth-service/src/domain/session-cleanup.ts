import type { Logger, Queryable } from '@board/service-kit';
import { deleteStaleSessions } from '../data/sessions';

/** Ended sessions are kept this long, so a token replayed shortly after a revocation still reads as reuse. */
export const ENDED_SESSION_RETENTION_SECONDS = 86_400;
const BATCH_SIZE = 1_000;

/** Deletes sessions that ended more than a day ago, in batches so no statement holds locks for long. */
export async function cleanUpSessions(db: Queryable, logger: Logger): Promise<void> {
  let total = 0;
  for (;;) {
    const deleted = await deleteStaleSessions(db, ENDED_SESSION_RETENTION_SECONDS, BATCH_SIZE);
    total += deleted;
    if (deleted < BATCH_SIZE) break;
  }
  if (total > 0) logger.info({ deleted: total }, 'deleted ended sessions');
}
