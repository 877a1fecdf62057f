import type { Logger, RevocationList, Transaction } from '@board/service-kit';
import type { AuthMetrics, RevocationReason } from '../metrics';

/**
 * Tells the gateways (through Redis) about sessions this service ended in PostgreSQL, so their
 * access tokens stop working at once. Two paths: `record` puts a session.revoked event in the
 * transaction that ends the sessions (this service consumes it and writes Redis, retrying while
 * Redis is away, so the revocation always arrives); `announce`, after the commit, writes Redis
 * at once, so that it usually arrives within the request. Both writes are idempotent.
 */
export class SessionRevocations {
  constructor(
    private readonly list: RevocationList,
    private readonly metrics: AuthMetrics,
    private readonly logger: Logger,
  ) {}

  /** In the transaction that ended the sessions. */
  async record(tx: Transaction, userId: string, sessionIds: readonly string[], reason: RevocationReason): Promise<void> {
    if (sessionIds.length === 0) return;
    await tx.recordEvent('session.revoked', { userId, sessionIds: [...sessionIds], reason });
  }

  /** After the commit: the fast path; on failure the recorded event still gets there. */
  async announce(sessionIds: readonly string[], reason: RevocationReason): Promise<void> {
    if (sessionIds.length === 0) return;
    this.metrics.sessionsRevoked.inc({ reason }, sessionIds.length);
    try {
      await this.list.revokeSessions(sessionIds);
    } catch (error) {
      this.metrics.revocationPublishFailures.inc();
      this.logger.warn({ err: error, sessionIds, reason }, 'could not write session revocations to Redis now; the recorded event will');
    }
  }
}
