import type { ActivityMarks, Counter, Database, Logger } from '@board/service-kit';
import { isUuid } from '@board/service-kit/contracts';
import { writeActivity } from '../data/activity';

export interface ActivityRecorderOptions {
  marks: ActivityMarks;
  db: Database;
  /** Marks taken from Redis per UPDATE. */
  batchSize: number;
  /** Profiles written (users_activity_writes_total). */
  writes: Counter;
  logger: Logger;
}

/**
 * Moves "last active" marks from Redis (where the gateway puts at most one per user a minute) to
 * profiles.last_active_at, a batch per UPDATE. Marks that could not be written go back to Redis
 * for the next run; nothing here is on a request's path.
 */
export class ActivityRecorder {
  private running: Promise<number> | undefined;

  constructor(private readonly options: ActivityRecorderOptions) {}

  /** Writes every mark queued now; returns how many profiles were written. One run at a time. */
  flush(): Promise<number> {
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async drain(): Promise<number> {
    const { marks, db, batchSize, writes, logger } = this.options;
    let total = 0;
    for (;;) {
      let busyCount = 0;
      const batch = await marks.take(batchSize);
      // A mark is a user id from a verified token; anything else would fail the whole batch's cast.
      const valid = batch.filter((mark) => isUuid(mark.userId));
      try {
        const { written, busy } = await writeActivity(db, valid);
        writes.inc(written);
        total += written;
        await marks.putBack(busy);
        busyCount = busy.length;
      } catch (error) {
        await marks.putBack(valid).catch((putBackError: unknown) =>
          logger.warn({ err: putBackError, marks: valid.length }, 'could not put activity marks back; they are lost'),
        );
        throw error;
      }
      // Busy marks went back to the head of the queue: the next run takes them, not this loop again.
      if (busyCount > 0 || batch.length < batchSize) return total;
    }
  }
}
