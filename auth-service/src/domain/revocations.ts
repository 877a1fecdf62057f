import type { Logger, RevocationList } from '@board/service-kit';
import type { AuthMetrics, RevocationReason } from '../metrics';

/**
 * Tells the gateway (through Redis) about sessions this service revoked in PostgreSQL, so their
 * access tokens stop working at once. The database stays the authority: when Redis is away the
 * revocation still holds for refreshing, and the access tokens die when they expire, so the
 * request succeeds and the failure is logged and counted rather than undoing a logout.
 */
export class SessionRevocations {
  constructor(
    private readonly list: RevocationList,
    private readonly metrics: AuthMetrics,
    private readonly logger: Logger,
  ) {}

  async announce(sessionIds: readonly string[], reason: RevocationReason): Promise<void> {
    if (sessionIds.length === 0) return;
    this.metrics.sessionsRevoked.inc({ reason }, sessionIds.length);
    try {
      await this.list.revokeSessions(sessionIds);
    } catch (error) {
      this.metrics.revocationPublishFailures.inc();
      this.logger.error({ err: error, sessionIds, reason }, 'could not write session revocations to Redis');
    }
  }
}
