import type { Socket } from 'node:net';
import type { Response } from 'express';
import type { Identity, Role } from '@board/service-kit/contracts';
import { VISITOR_ROLE, viewFor, type Recipient } from '../domain/audience';
import { isAfter } from '../domain/stream-id';
import type { CloseReason, ResyncReason } from '../metrics';
import { eventFrame, type StreamEvent } from './frames';

/** Live events a replaying client may have held back before it counts as too slow. */
const MAX_HELD_EVENTS = 1_000;

/** What a client reports to the hub that owns it. */
export interface ClientOwner {
  readonly maxBufferBytes: number;
  endedByService(reason: CloseReason): void;
}

/**
 * One open SSE stream. Its state is kept small on purpose (an instance holds thousands): who it
 * is, what it follows, and, only while it replays what it missed, the live events held back.
 */
export class SseClient implements Recipient {
  /** Undefined for a visitor's stream, which no user or session owns. */
  readonly userId: string | undefined;
  readonly sessionId: string | undefined;
  role: Role;
  private held: StreamEvent[] | undefined;
  /**
   * The stream id of the last event this client got (or, after a resync, the point it reloads
   * from). Ids only grow, so anything at or before it is a duplicate: a live event that was also
   * in the replay can reach this instance's subscriber after the replay read it.
   */
  private sentUpTo: string | undefined;
  private ended = false;
  private readonly socket: Socket;

  constructor(
    private readonly res: Response,
    identity: Identity | undefined,
    readonly channels: readonly string[],
    private readonly owner: ClientOwner,
    replaying: boolean,
  ) {
    this.userId = identity?.userId;
    this.sessionId = identity?.sessionId;
    this.role = identity?.role ?? VISITOR_ROLE;
    this.held = replaying ? [] : undefined;
    this.socket = res.socket!;
  }

  get isOpen(): boolean {
    return !this.ended && !this.res.destroyed;
  }

  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /** Resolves once the response buffer drained or the stream closed. */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done).off('close', done);
        resolve();
      };
      this.socket.once('drain', done).once('close', done);
    });
  }

  /** A live event: written now, or held back while the client still replays what it missed. */
  receive(entry: StreamEvent): boolean {
    if (!this.held) return this.deliver(entry);
    this.held.push(entry);
    if (this.held.length > MAX_HELD_EVENTS) this.drop('slow_client');
    return false;
  }

  /** Writes the event if it is for this client; a change of this user's role applies from here on. */
  deliver(entry: StreamEvent): boolean {
    if (this.sentUpTo !== undefined && !isAfter(entry.id, this.sentUpTo)) return false;
    this.sentUpTo = entry.id;
    const { event } = entry;
    const view = viewFor(event, this);
    if (event.type === 'user.role_changed' && event.data.id === this.userId) this.role = event.data.role;
    return view !== undefined && this.write(entry.frame(view));
  }

  /**
   * Ends the replay at stream id `replayedUpTo` (undefined: nothing to skip) and delivers what was
   * held back meanwhile, minus what the replay already covered: no gap and no duplicate at the
   * seam. Returns what it delivered.
   */
  goLive(replayedUpTo: string | undefined): StreamEvent[] {
    const held = this.held ?? [];
    this.held = undefined;
    if (replayedUpTo !== undefined && (this.sentUpTo === undefined || isAfter(replayedUpTo, this.sentUpTo))) this.sentUpTo = replayedUpTo;
    return held.filter((entry) => this.deliver(entry));
  }

  /**
   * Tells a reconnecting client that the stream cannot fill its gap, so it reloads from the API.
   * The frame carries the newest stream id, so that its next reconnect resumes from there.
   */
  resync(reason: ResyncReason, newestId: string | undefined): void {
    this.write(eventFrame('resync', { reason }, newestId));
  }

  write(frame: string | Buffer): boolean {
    if (this.ended) return false;
    // Never wait for a slow reader: one that still has more than the bound unsent when the next
    // frame comes is cut off, so that it can neither hold memory nor slow the fan-out to everyone
    // else. Checking before the write lets a single frame larger than the bound through to a
    // client that keeps up. A replay waits for drains instead.
    if (this.held === undefined && this.socket.writableLength > this.owner.maxBufferBytes) {
      this.drop('slow_client');
      return false;
    }
    // Straight to the socket (the response is close-delimited, see ClientHub.open), skipping the
    // HTTP message machinery: in a fan-out to 10,000 streams the first clients then have the frame
    // while the loop still runs.
    this.socket.write(frame);
    return true;
  }

  /** Ends the stream cleanly, optionally with a last frame (e.g. a retry hint). */
  end(lastFrame?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.res.end(lastFrame);
  }

  /** Ends the stream cleanly for `reason`, e.g. the user was deleted or the session revoked. */
  close(reason: CloseReason, lastFrame?: string): void {
    if (this.ended) return;
    this.owner.endedByService(reason);
    this.end(lastFrame);
  }

  /** Cuts the connection without flushing what is queued for it. */
  drop(reason: CloseReason): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.endedByService(reason);
    this.res.destroy();
  }
}
