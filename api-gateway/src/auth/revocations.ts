import type { RevocationCheck, TokenStanding } from '@board/service-kit';
import type { OutageReporter } from '../outage';

/**
 * Asks Redis, and fails open when Redis is away: access tokens live minutes, and an outage of
 * the revocation store must not take the whole API down with it. Counted and logged, so it is
 * not silent.
 */
export class FailOpenRevocationCheck implements RevocationCheck {
  constructor(
    private readonly redisCheck: RevocationCheck,
    private readonly outage: OutageReporter,
  ) {}

  async standing(sessionId: string, userId: string): Promise<TokenStanding> {
    try {
      const standing = await this.redisCheck.standing(sessionId, userId);
      this.outage.succeeded();
      return standing;
    } catch (error) {
      this.outage.failed(error);
      return { revoked: false };
    }
  }
}
