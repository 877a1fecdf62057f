import type { UpkeepJob } from '@board/service-kit';
import { deleteStaleSessions } from '../data/sessions';

/** Ended sessions are kept this long, so a token replayed shortly after a revocation still reads as reuse. */
export const ENDED_SESSION_RETENTION_SECONDS = 86_400;

/** The upkeep job that deletes sessions which ended (expired or revoked) more than a day ago. */
export const sessionCleanup = (everyMs: number): UpkeepJob => ({
  name: 'sessions',
  everyMs,
  removeBatch: (db, batchSize) => deleteStaleSessions(db, ENDED_SESSION_RETENTION_SECONDS, batchSize),
});
