import type { Logger } from '@board/service-kit';

export interface OutageDescription {
  /** What failed, e.g. "revocation check". */
  what: string;
  /** What requests get meanwhile, e.g. "tokens are accepted without it". */
  meanwhile: string;
}

/**
 * Reports a dependency that fails on the request path: every failure is counted, but only the
 * first failure of an outage and the recovery are logged, so an outage under load does not flood
 * the logs.
 */
export class OutageReporter {
  private down = false;

  constructor(
    private readonly logger: Logger,
    private readonly failures: { inc(): void },
    private readonly description: OutageDescription,
  ) {}

  failed(error: unknown): void {
    this.failures.inc();
    if (this.down) return;
    this.down = true;
    this.logger.warn({ err: error }, `${this.description.what} failed (Redis unavailable); ${this.description.meanwhile}`);
  }

  succeeded(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.info(`${this.description.what} works again`);
  }
}
