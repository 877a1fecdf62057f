import { randomUUID } from 'node:crypto';
import type { Redis } from '@board/service-kit';

export interface StreamCaps {
  /** Open streams one user may hold, across every realtime instance. */
  perUser: number;
  /** Open streams one client address may hold (visitors and users alike). */
  perAddress: number;
  /** Open visitor streams (no account) one client address may hold, within perAddress. */
  visitorsPerAddress: number;
  /** How long a slot counts unless its instance renews it: an instance that dies frees its slots within this. */
  leaseMs: number;
}

/** Who holds a slot: a user, or a visitor (no user id) known only by address. */
export interface StreamHolder {
  userId: string | undefined;
  address: string;
}

export type ClaimOutcome = { granted: true; release: () => Promise<void> } | { granted: false; cap: 'user' | 'visitor' | 'address' };

/**
 * Prunes expired slots, refuses when either set is full, else takes a slot in both, atomically:
 * two instances opening streams for one user at once cannot both take the last slot. KEYS[1] is
 * the holder's own set (the user's, or the address's visitors'), KEYS[2] the address's.
 */
const CLAIM_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 2 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return 0
`;

/**
 * Caps on open SSE streams, per user, per client address, and on visitors' streams per address,
 * that hold across realtime instances: a sorted set per user, per address and per address's
 * visitors in Redis, one member per open stream, scored
 * with the time it stops counting. Each instance renews its own slots on a timer, so the slots of
 * an instance that crashed lapse by themselves instead of locking their users out.
 */
export class StreamSlots {
  private readonly held = new Map<string, StreamHolder>();
  private readonly renewTimer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly caps: StreamCaps,
  ) {
    this.renewTimer = setInterval(() => void this.renew().catch(() => undefined), caps.leaseMs / 3).unref();
  }

  async claim(holder: StreamHolder): Promise<ClaimOutcome> {
    const slot = randomUUID();
    const now = Date.now();
    const refused = await this.redis.eval(
      CLAIM_SCRIPT,
      2,
      this.holderKey(holder),
      this.addressKey(holder.address),
      String(now),
      String(now + this.caps.leaseMs),
      slot,
      String(holder.userId === undefined ? this.caps.visitorsPerAddress : this.caps.perUser),
      String(this.caps.perAddress),
      String(this.caps.leaseMs),
    );
    if (refused === 1) return { granted: false, cap: holder.userId === undefined ? 'visitor' : 'user' };
    if (refused === 2) return { granted: false, cap: 'address' };
    this.held.set(slot, holder);
    return { granted: true, release: () => this.release(slot) };
  }

  /** Stops renewing; the slots still held lapse with their lease. */
  stop(): void {
    clearInterval(this.renewTimer);
  }

  private async release(slot: string): Promise<void> {
    const holder = this.held.get(slot);
    if (!holder) return;
    this.held.delete(slot);
    // If Redis is away the slot lapses with its lease.
    await this.redis
      .multi()
      .zrem(this.holderKey(holder), slot)
      .zrem(this.addressKey(holder.address), slot)
      .exec()
      .catch(() => undefined);
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const until = String(Date.now() + this.caps.leaseMs);
    const pipeline = this.redis.pipeline();
    for (const [slot, holder] of this.held) {
      const own = this.holderKey(holder);
      const address = this.addressKey(holder.address);
      pipeline.zadd(own, 'XX', until, slot).pexpire(own, this.caps.leaseMs);
      pipeline.zadd(address, 'XX', until, slot).pexpire(address, this.caps.leaseMs);
    }
    await pipeline.exec();
  }

  private holderKey({ userId, address }: StreamHolder): string {
    return userId === undefined ? `${this.prefix}streams:visitors:${address}` : `${this.prefix}streams:user:${userId}`;
  }

  private addressKey(address: string): string {
    return `${this.prefix}streams:address:${address}`;
  }
}
