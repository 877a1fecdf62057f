import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import type { Histogram } from '@board/service-kit';
import { passwordTooLong } from './credential-rules';

/**
 * bcrypt through its async API, which runs on the libuv thread pool so hashing never blocks the
 * event loop. A dummy hash of the same cost lets a login for an unknown email spend exactly as
 * long as one with a wrong password.
 */
export class PasswordHasher {
  private constructor(
    readonly cost: number,
    private readonly dummyHash: string,
    private readonly duration: Histogram<'operation'>,
  ) {}

  static async create(cost: number, duration: Histogram<'operation'>): Promise<PasswordHasher> {
    const dummyHash = await bcrypt.hash(randomBytes(16).toString('hex'), cost);
    return new PasswordHasher(cost, dummyHash, duration);
  }

  async hash(password: string): Promise<string> {
    const stopTimer = this.duration.startTimer({ operation: 'hash' });
    try {
      return await bcrypt.hash(password, this.cost);
    } finally {
      stopTimer();
    }
  }

  /**
   * Checks `password` against `hash`, or against the dummy hash when there is no account. A
   * password longer than bcrypt reads could never have been set, so it matches nothing (bcrypt
   * alone would accept it when its first 72 bytes are right).
   */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const stopTimer = this.duration.startTimer({ operation: 'compare' });
    const comparable = hash !== undefined && !passwordTooLong(password);
    try {
      const matches = await bcrypt.compare(password, comparable ? hash : this.dummyHash);
      return comparable && matches;
    } finally {
      stopTimer();
    }
  }

  /** True when `hash` was made with another cost than the configured one (rehash on next login). */
  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) !== this.cost;
  }
}
