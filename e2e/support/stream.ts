import type { EventSource } from 'eventsource';
import { call, openEventSource } from './client';
import { eventually } from './users';

export interface ReceivedEvent {
  type: string;
  id: string;
  data: Record<string, unknown>;
}

/** A live SSE subscription through nginx and the gateway that records every event it receives. */
export class Stream {
  readonly events: ReceivedEvent[] = [];
  closed = false;

  private constructor(readonly source: EventSource) {}

  /** Opens the stream the browser way: a single-use ticket in the query string. */
  static async open(token: string, channels: string, lastEventId?: string): Promise<Stream> {
    const ticket = await call<{ ticket: string }>('POST', '/api/events/ticket', { token });
    if (ticket.status !== 200) throw new Error(`ticket: ${ticket.status} ${JSON.stringify(ticket.body)}`);
    return Stream.connect(`/api/events?ticket=${encodeURIComponent(ticket.body.ticket)}&channels=${channels}`, lastEventId);
  }

  /** Opens the stream as a visitor: neither ticket nor token. */
  static openAsVisitor(channels: string, lastEventId?: string): Promise<Stream> {
    return Stream.connect(`/api/events?channels=${channels}`, lastEventId);
  }

  private static async connect(path: string, lastEventId: string | undefined): Promise<Stream> {
    const source = openEventSource(path, lastEventId ? { 'last-event-id': lastEventId } : {});
    const stream = new Stream(source);
    const types = [
      'message.created',
      'message.updated',
      'message.deleted',
      'message.likes_changed',
      'user.updated',
      'user.role_changed',
      'user.registered',
      'user.deleted',
      'resync',
    ];
    for (const type of types) {
      source.addEventListener(type, (event) => {
        stream.events.push({ type, id: event.lastEventId, data: JSON.parse(event.data) as Record<string, unknown> });
      });
    }
    await new Promise<void>((resolve, reject) => {
      source.onopen = () => resolve();
      source.onerror = (error) => reject(new Error(`stream did not open: ${error.message ?? error.code}`));
    });
    // A browser's EventSource would reconnect; these tests want to see the close itself.
    source.onerror = () => {
      stream.closed = true;
      source.close();
    };
    return stream;
  }

  async next(type: string, match: (data: Record<string, unknown>) => boolean = () => true): Promise<ReceivedEvent> {
    return eventually(async () => this.events.find((event) => event.type === type && match(event.data)), `${type} on the stream`);
  }

  close(): void {
    this.source.close();
  }
}
