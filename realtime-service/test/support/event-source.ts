import { EVENT_TYPES } from '@board/service-kit/contracts';
import { waitFor } from '@board/service-kit/testing';
import { EventSource } from 'eventsource';

export interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

/**
 * The `eventsource` package (the WHATWG EventSource, as browsers have it) recording every event it
 * dispatches. Extra request headers stand for what the gateway or a resuming client adds.
 */
export class Listener {
  readonly received: Received[] = [];
  private readonly source: EventSource;

  private constructor(url: string, headers: Record<string, string>) {
    this.source = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
    });
    for (const type of [...EVENT_TYPES, 'resync']) {
      this.source.addEventListener(type, (event) => {
        this.received.push({ id: event.lastEventId, type, data: JSON.parse(event.data) as Record<string, unknown> });
      });
    }
  }

  /** Resolves once the stream is open. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<Listener> {
    const listener = new Listener(url, headers);
    await waitFor(() => listener.source.readyState === EventSource.OPEN, { what: `an open stream at ${url}` });
    return listener;
  }

  of(type: string): Received[] {
    return this.received.filter((event) => event.type === type);
  }

  ids(): string[] {
    return this.received.map((event) => event.id);
  }

  waitFor(predicate: (received: Received[]) => boolean, what: string): Promise<true> {
    return waitFor(() => predicate(this.received), { what });
  }

  close(): void {
    this.source.close();
  }
}
