import type { Response } from 'express';
import { lowerRole, type AnyEvent, type Identity, type Role } from '@board/service-kit/contracts';
import { appendedAt } from '../domain/stream-id';
import type { CloseReason, RealtimeMetrics, ResyncReason } from '../metrics';
import { SseClient, type ClientOwner } from './client';
import { HEARTBEAT_FRAME, retryFrame, type StreamEvent } from './frames';

export interface HubOptions {
  metrics: RealtimeMetrics;
  /** A client whose unsent output passes this many bytes is dropped. */
  maxBufferBytes: number;
  /** The reconnection delay announced at the start of every stream. */
  retryMs: number;
  heartbeatIntervalMs: number;
}

const NOBODY: ReadonlySet<SseClient> = new Set();

/**
 * This instance's open streams, indexed so that an event only visits the clients it may concern:
 * by channel for messages, by user for role changes and deletions, by session for revocations.
 */
export class ClientHub implements ClientOwner {
  readonly maxBufferBytes: number;
  private readonly clients = new Set<SseClient>();
  private readonly byChannel = new Map<string, Set<SseClient>>();
  private readonly byUser = new Map<string, Set<SseClient>>();
  private readonly bySession = new Map<string, Set<SseClient>>();
  private readonly heartbeat: NodeJS.Timeout;
  private accepting = true;

  constructor(private readonly options: HubOptions) {
    this.maxBufferBytes = options.maxBufferBytes;
    // One timer for every stream, not one per stream; it never keeps the process alive by itself.
    this.heartbeat = setInterval(() => this.broadcast(HEARTBEAT_FRAME), options.heartbeatIntervalMs).unref();
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Starts the SSE response and registers the client (`identity` undefined: a visitor's);
   * `replaying` holds live events back until goLive.
   */
  open(res: Response, identity: Identity | undefined, channels: readonly string[], replaying: boolean): SseClient {
    res.status(200).set({
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
    });
    // The body ends when the connection closes (no chunked framing), so frames can go straight to
    // the socket; see SseClient.write.
    res.useChunkedEncodingByDefault = false;
    res.flushHeaders();
    const client = new SseClient(res, identity, channels, this, replaying);
    client.write(retryFrame(this.options.retryMs));
    this.clients.add(client);
    for (const channel of channels) addTo(this.byChannel, channel, client);
    if (client.userId !== undefined) addTo(this.byUser, client.userId, client);
    if (client.sessionId !== undefined) addTo(this.bySession, client.sessionId, client);
    this.options.metrics.connections.inc();
    res.once('close', () => this.forget(client));
    return client;
  }

  /** Fans a live event out to the local clients it is for; each view is serialised once. */
  dispatch(entry: StreamEvent): void {
    const { event } = entry;
    if (event.type === 'user.deleted') this.closeUser(event.data.id, 'user_deleted');
    let delivered = 0;
    for (const client of this.candidatesFor(event)) {
      if (client.receive(entry)) delivered += 1;
    }
    if (delivered === 0) return;
    const { metrics } = this.options;
    metrics.delivered.inc({ type: event.type }, delivered);
    metrics.fanoutLatency.observe(Math.max(0, Date.now() - appendedAt(entry.id)) / 1000);
  }

  closeSessions(sessionIds: readonly string[], reason: CloseReason): void {
    for (const sessionId of sessionIds) {
      for (const client of this.bySession.get(sessionId) ?? NOBODY) client.close(reason);
    }
  }

  closeUser(userId: string, reason: CloseReason): void {
    for (const client of this.byUser.get(userId) ?? NOBODY) client.close(reason);
  }

  /**
   * The user's role is now `role`: their streams opened with more end, and the client comes back
   * with a token (and so a view) that carries the new role.
   */
  closeAboveRole(userId: string, role: Role): void {
    for (const client of this.byUser.get(userId) ?? NOBODY) {
      if (lowerRole(client.role, role) !== client.role) client.close('role_lowered');
    }
  }

  /**
   * Ends every stream with a reconnection hint, e.g. when this instance can no longer see live
   * events: the clients come back with Last-Event-ID and replay the gap.
   */
  closeAll(reason: CloseReason): void {
    for (const client of this.clients) client.close(reason, this.retryHint('reconnect'));
  }

  /** Refuses new streams and ends the open ones with a retry hint, for a graceful shutdown. */
  shutdown(): void {
    this.accepting = false;
    clearInterval(this.heartbeat);
    for (const client of this.clients) client.end(this.retryHint('server shutting down'));
  }

  endedByService(reason: CloseReason): void {
    this.options.metrics.closed.inc({ reason });
  }

  countDelivered(type: AnyEvent['type']): void {
    this.options.metrics.delivered.inc({ type });
  }

  countResync(reason: ResyncReason): void {
    this.options.metrics.resyncs.inc({ reason });
  }

  countReplay(): void {
    this.options.metrics.replays.inc();
  }

  private candidatesFor(event: AnyEvent): Iterable<SseClient> {
    switch (event.type) {
      case 'message.created':
      case 'message.updated':
      case 'message.deleted':
      case 'message.likes_changed':
        return this.byChannel.get(event.data.channel) ?? NOBODY;
      case 'user.role_changed':
        return this.byUser.get(event.data.id) ?? NOBODY;
      default:
        return this.clients;
    }
  }

  private broadcast(frame: Buffer): void {
    for (const client of this.clients) client.write(frame);
  }

  /** A retry hint spread over [retryMs, 2 x retryMs), so that clients do not all come back at once. */
  private retryHint(comment: string): string {
    const { retryMs } = this.options;
    return retryFrame(retryMs + Math.floor(Math.random() * retryMs), comment);
  }

  private forget(client: SseClient): void {
    if (!this.clients.delete(client)) return;
    for (const channel of client.channels) removeFrom(this.byChannel, channel, client);
    if (client.userId !== undefined) removeFrom(this.byUser, client.userId, client);
    if (client.sessionId !== undefined) removeFrom(this.bySession, client.sessionId, client);
    this.options.metrics.connections.dec();
  }
}

function addTo(index: Map<string, Set<SseClient>>, key: string, client: SseClient): void {
  let clients = index.get(key);
  if (!clients) index.set(key, (clients = new Set()));
  clients.add(client);
}

function removeFrom(index: Map<string, Set<SseClient>>, key: string, client: SseClient): void {
  const clients = index.get(key);
  if (!clients) return;
  clients.delete(client);
  if (clients.size === 0) index.delete(key);
}
