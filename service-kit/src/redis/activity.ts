import type { Redis } from 'ioredis';

/** One user's last activity, as marked. */
export interface ActivityMark {
  userId: string;
  at: Date;
}

/**
 * Marks a user active: the first mark in a window sets the window's key (SET NX EX) and queues
 * the user with the time; later marks in the window do nothing. So however many gateways mark a
 * user, the queue gets the user at most once per window, and user-service writes no more often.
 */
const MARK = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[3])
  return 1
end
return 0`;

/**
 * "Last active" marks, kept in Redis between the gateway (which marks the users it serves) and
 * user-service (which takes them in batches and writes them to PostgreSQL): a sorted set of user
 * ids scored by the time of their mark, plus one short-lived key per user and window.
 */
export class ActivityMarks {
  private readonly queueKey: string;
  private readonly windowPrefix: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
    /** At most one mark per user in this many seconds. */
    readonly windowSeconds = 60,
  ) {
    this.queueKey = `${keyPrefix}activity:queue`;
    this.windowPrefix = `${keyPrefix}activity:window:`;
  }

  /** True when this mark was queued; false when the user was already marked in this window. */
  async mark(userId: string, at: Date = new Date()): Promise<boolean> {
    const queued = await this.redis.eval(MARK, 2, this.windowPrefix + userId, this.queueKey, this.windowSeconds, at.getTime(), userId);
    return queued === 1;
  }

  /** Takes (removes and returns) up to `max` queued marks, oldest first. */
  async take(max: number): Promise<ActivityMark[]> {
    const flat = await this.redis.zpopmin(this.queueKey, max);
    const marks: ActivityMark[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) marks.push({ userId: flat[i]!, at: new Date(Number(flat[i + 1])) });
    return marks;
  }

  /** Puts back marks that could not be written, unless a later mark of the same user came meanwhile. */
  async putBack(marks: readonly ActivityMark[]): Promise<void> {
    if (marks.length === 0) return;
    await this.redis.zadd(this.queueKey, 'GT', ...marks.flatMap((mark) => [mark.at.getTime(), mark.userId]));
  }

  /** How many marks wait to be written. */
  pending(): Promise<number> {
    return this.redis.zcard(this.queueKey);
  }
}
