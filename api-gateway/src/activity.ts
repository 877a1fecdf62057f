import type { RequestHandler } from 'express';
import type { ActivityMarks } from '@board/service-kit';
import type { OutageReporter } from './outage';

/** Forget users not seen for this many windows: the memory holds recent users only. */
const SWEEP_AFTER_WINDOWS = 2;

/**
 * Marks each signed-in caller active ("last active", written by user-service in batches), off
 * the request path: a user seen within the window costs a Map lookup, and the first request in a
 * window sends one Redis command that nobody awaits. The window is also kept in Redis (shared by
 * every gateway replica), so a user is queued at most once per window however many replicas see
 * them. While Redis is away, marks are lost (counted) and requests go on as ever.
 */
export class ActivityMarker {
  /** User id -> when this replica last sent a mark. */
  private readonly lastSent = new Map<string, number>();
  private readonly windowMs: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly marks: ActivityMarks,
    private readonly outage: OutageReporter,
    private readonly now: () => number = Date.now,
  ) {
    this.windowMs = marks.windowSeconds * 1_000;
    this.sweeper = setInterval(() => this.sweep(), this.windowMs).unref();
  }

  /** Marks `userId` unless this replica already did within the window. Never throws, never waits. */
  mark(userId: string): void {
    const now = this.now();
    const last = this.lastSent.get(userId);
    if (last !== undefined && now - last < this.windowMs) return;
    this.lastSent.set(userId, now);
    // A failed mark is not retried before the window ends: an outage costs one attempt per user and window.
    this.marks.mark(userId, new Date(now)).then(
      () => this.outage.succeeded(),
      (error: unknown) => this.outage.failed(error),
    );
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const cutoff = this.now() - SWEEP_AFTER_WINDOWS * this.windowMs;
    for (const [userId, sentAt] of this.lastSent) if (sentAt < cutoff) this.lastSent.delete(userId);
  }
}

/** After authentication: marks the verified caller, if any. */
export function markActivity(marker: ActivityMarker): RequestHandler {
  return (req, _res, next) => {
    if (req.identity) marker.mark(req.identity.userId);
    next();
  };
}
