import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { BoardClient } from '../../stack/dist/board-client';
import { sleep } from './board';

/** One event a stream received: its SSE id and type, and the fields of its data the checks read. */
export interface ReceivedEvent {
  type: string;
  streamId: string | undefined;
  /** The message or user the event is about. */
  subject: string | undefined;
  body: string | undefined;
  displayName: string | undefined;
  at: number;
}

/**
 * An SSE client that behaves as a browser tab that keeps itself up: it opens the stream with its
 * access token, and whenever the stream ends or is refused it waits the announced `retry:` and
 * comes back with Last-Event-ID, so the server can replay what it missed (or say `resync`).
 * It records every event; nothing here decides what is right.
 */
export class ResumingStream {
  readonly events: ReceivedEvent[] = [];
  readonly resyncs: { at: number; reason: string }[] = [];
  /** Successful (200) connections, the first included. */
  connects = 0;
  /** Refused connection attempts, by status (or by error code when there was no answer). */
  readonly refused: Record<string, number> = {};
  lastEventId: string | undefined;
  private retryMs = 3_000;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly client: BoardClient;
  private loop: Promise<void> | undefined;

  constructor(
    baseUrl: string,
    ca: string,
    readonly name: string,
    private readonly token: string,
    private readonly channels: string,
  ) {
    // Connections of its own, as a separate browser would have.
    this.client = new BoardClient(baseUrl, { ca });
  }

  /** Starts the stream and resolves once the first connection is open. */
  async open(timeoutMs = 30_000): Promise<void> {
    this.loop = this.run();
    const deadline = Date.now() + timeoutMs;
    while (this.connects === 0) {
      if (Date.now() > deadline) throw new Error(`${this.name}: no stream within ${timeoutMs} ms (${JSON.stringify(this.refused)})`);
      await sleep(50);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await this.loop;
    await this.client.close();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        await this.connectOnce();
      } catch (error) {
        if (this.closed) break;
        const code = (error as { cause?: { code?: string }; code?: string }).cause?.code ?? (error as { code?: string }).code ?? 'error';
        this.refused[code] = (this.refused[code] ?? 0) + 1;
      }
      if (!this.closed) await sleep(this.retryMs);
    }
  }

  private async connectOnce(): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${this.token}` };
    if (this.lastEventId !== undefined) headers['last-event-id'] = this.lastEventId;
    const response = await this.client.api(`/api/events?channels=${this.channels}`, { headers, signal: this.abort.signal });
    if (response.status !== 200 || !response.body) {
      this.refused[response.status] = (this.refused[response.status] ?? 0) + 1;
      await response.body?.cancel();
      return;
    }
    this.connects += 1;
    const parser = createParser({
      onEvent: (message) => this.record(message),
      onRetry: (ms) => (this.retryMs = ms),
    });
    const decoder = new TextDecoder();
    for await (const chunk of response.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
  }

  private record(message: EventSourceMessage): void {
    if (message.id !== undefined) this.lastEventId = message.id;
    const type = message.event ?? 'message';
    const data = JSON.parse(message.data) as { id?: string; body?: string; displayName?: string; reason?: string };
    if (type === 'resync') this.resyncs.push({ at: Date.now(), reason: String(data.reason) });
    this.events.push({ type, streamId: message.id, subject: data.id, body: data.body, displayName: data.displayName, at: Date.now() });
  }
}

/** Opens `count` streams for `tokens` (taken in turn) on `channels`. */
export async function openStreams(baseUrl: string, ca: string, tokens: readonly string[], count: number, channels: string): Promise<ResumingStream[]> {
  const streams = Array.from({ length: count }, (_, index) => new ResumingStream(baseUrl, ca, `client-${index + 1}`, tokens[index % tokens.length]!, channels));
  await Promise.all(streams.map((stream) => stream.open()));
  return streams;
}
