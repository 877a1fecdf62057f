/** The event types the client listens for (docs/openapi.yaml, GET /api/events). */
export const LIVE_EVENT_TYPES = [
  'message.created',
  'message.updated',
  'message.deleted',
  'message.likes_changed',
  'user.updated',
  'user.role_changed',
  'user.registered',
  'user.deleted',
] as const;
export type LiveEventType = (typeof LIVE_EVENT_TYPES)[number];

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface LiveStreamOptions {
  channels: readonly string[];
  /** A fresh single-use ticket (POST /api/events/ticket). Throws when the session is over. Absent: a visitor's stream, with no ticket. */
  ticket?: () => Promise<string>;
  onEvent: (type: LiveEventType, data: unknown) => void;
  /** The stream could not replay what was missed: reload what is on screen from the API. */
  onResync: () => void;
  onStatus?: (status: LiveStatus) => void;
  EventSource?: typeof EventSource;
  /** Backoff of the explicit reconnect: base and cap, in milliseconds. */
  backoff?: { baseMs: number; maxMs: number };
  random?: () => number;
}

/** Stream ids are `<ms>-<seq>`, increasing: an id at or below the last applied one is a repeat. */
export function isAfter(id: string, last: string | undefined): boolean {
  if (!last) return true;
  const [ms, seq] = id.split('-').map((part) => BigInt(part || '0'));
  const [lastMs, lastSeq] = last.split('-').map((part) => BigInt(part || '0'));
  if (ms === undefined || lastMs === undefined) return true;
  return ms > lastMs || (ms === lastMs && (seq ?? 0n) > (lastSeq ?? 0n));
}

/**
 * One live stream through the browser's EventSource. The browser's own reconnect (with
 * Last-Event-ID) is authorised by the stream cookie the server set when the stream opened; when
 * the browser gives up (an HTTP error on its retry: the cookie lapsed, a gateway answered 502),
 * this opens a new stream with a fresh ticket and `lastEventId`, backing off between attempts.
 * Events at or below the last applied id are dropped, so a replay never shows a message twice.
 */
export class LiveStream {
  private source: EventSource | undefined;
  private lastEventId: string | undefined;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly options: LiveStreamOptions) {}

  start(): void {
    this.stopped = false;
    void this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.source?.close();
    this.source = undefined;
  }

  get lastId(): string | undefined {
    return this.lastEventId;
  }

  private status(status: LiveStatus): void {
    this.options.onStatus?.(status);
  }

  private async open(): Promise<void> {
    this.status(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const params = new URLSearchParams();
    if (this.options.ticket) {
      try {
        params.set('ticket', await this.options.ticket());
      } catch {
        this.retryLater();
        return;
      }
      if (this.stopped) return;
    }
    params.set('channels', this.options.channels.join(','));
    if (this.lastEventId) params.set('lastEventId', this.lastEventId);
    const Source = this.options.EventSource ?? EventSource;
    const source = new Source(`/api/events?${params.toString()}`);
    this.source = source;
    source.onopen = () => {
      this.attempt = 0;
      this.status('live');
    };
    source.onerror = () => {
      if (this.source !== source) return;
      // CONNECTING: the browser retries by itself, with Last-Event-ID and the stream cookie.
      if (source.readyState !== source.CLOSED) {
        this.status('reconnecting');
        return;
      }
      source.close();
      this.source = undefined;
      this.retryLater();
    };
    for (const type of LIVE_EVENT_TYPES) {
      source.addEventListener(type, (event) => this.deliver(type, event));
    }
    source.addEventListener('resync', (event) => {
      this.lastEventId = event.lastEventId || this.lastEventId;
      this.options.onResync();
    });
  }

  private deliver(type: LiveEventType, event: MessageEvent<string>): void {
    if (event.lastEventId) {
      if (!isAfter(event.lastEventId, this.lastEventId)) return;
      this.lastEventId = event.lastEventId;
    }
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    this.options.onEvent(type, data);
  }

  private retryLater(): void {
    if (this.stopped) return;
    this.status('offline');
    const { baseMs, maxMs } = this.options.backoff ?? { baseMs: 1_000, maxMs: 30_000 };
    const ceiling = Math.min(maxMs, baseMs * 2 ** this.attempt);
    this.attempt += 1;
    // Full jitter: tabs that lost the same instance do not come back in step.
    const delay = ceiling / 2 + (this.options.random ?? Math.random)() * (ceiling / 2);
    this.retryTimer = setTimeout(() => void this.open(), delay);
  }
}
