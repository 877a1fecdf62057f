import { parseRevocationNotice, type Logger, type Redis } from '@board/service-kit';
import { parseLiveMessage } from '../store/event-log';
import { StreamEvent } from './frames';
import type { ClientHub } from './hub';

export interface LiveFeedOptions {
  /** A connection of its own: once subscribed, it can do nothing else. */
  subscriber: Redis;
  liveChannel: string;
  revocationChannel: string;
  hub: ClientHub;
  logger: Logger;
}

/**
 * The instance's one Redis subscription: appended events, fanned out to local clients, and
 * revocation notices, which close the streams of revoked sessions and users.
 */
export class LiveFeed {
  private subscribed = false;
  private readonly log: Logger;

  constructor(private readonly options: LiveFeedOptions) {
    this.log = options.logger.child({ component: 'live-feed' });
  }

  /** True while live events arrive: a stream opened now misses nothing. */
  get isSubscribed(): boolean {
    return this.subscribed;
  }

  start(): void {
    const { subscriber } = this.options;
    subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    // The kit's client queues nothing while disconnected, so subscribe on every (re)connection.
    subscriber.on('ready', () => void this.subscribe());
    subscriber.on('close', () => this.onLost());
    if (subscriber.status === 'ready') void this.subscribe();
  }

  private async subscribe(): Promise<void> {
    const { subscriber, liveChannel, revocationChannel } = this.options;
    try {
      await subscriber.subscribe(liveChannel, revocationChannel);
      this.subscribed = true;
    } catch (error) {
      this.log.warn({ err: error }, 'could not subscribe; will retry on the next connection');
    }
  }

  /**
   * Events published while the subscription is down never reach this instance, so rather than
   * leave its clients with a silent gap, their streams end and they come back with Last-Event-ID.
   */
  private onLost(): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    this.log.warn({ clients: this.options.hub.size }, 'lost the live subscription; ending streams so that clients resume');
    this.options.hub.closeAll('live_feed_lost');
  }

  private onMessage(channel: string, message: string): void {
    const { hub, liveChannel, revocationChannel } = this.options;
    try {
      if (channel === liveChannel) {
        const { id, event } = parseLiveMessage(message);
        hub.dispatch(new StreamEvent(id, event));
      } else if (channel === revocationChannel) {
        const { sessionIds, userId, role } = parseRevocationNotice(message);
        if (sessionIds) hub.closeSessions(sessionIds, 'revoked');
        if (userId) hub.closeUser(userId, 'revoked');
        if (role) hub.closeAboveRole(role.userId, role.role);
      }
    } catch (error) {
      this.log.error({ err: error, channel }, 'could not handle a pub/sub message');
    }
  }
}
