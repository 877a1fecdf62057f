import http from 'node:http';
import { waitFor } from '@board/service-kit/testing';

export interface SseFrame {
  id?: string;
  event: string;
  data: string;
}

/**
 * A raw SSE client over node:http: every frame, comment and retry field exactly as sent, and
 * whether the server ended the stream. Non-200 answers keep their body for error assertions.
 */
export class SseReader {
  readonly frames: SseFrame[] = [];
  readonly comments: string[] = [];
  readonly retries: number[] = [];
  ended = false;
  body = '';
  private buffer = '';
  private pendingFrame: Partial<SseFrame> = {};

  private constructor(
    private readonly request: http.ClientRequest,
    readonly response: http.IncomingMessage,
    paused: boolean,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.consume(chunk));
    response.on('end', () => (this.ended = true));
    response.on('close', () => (this.ended = true));
    if (paused) response.pause();
  }

  /**
   * Opens the stream. `paused`: reads nothing of the body until resume(), as a client too slow to
   * keep up, so the server's writes back up once the socket buffers are full.
   */
  static open(url: string, headers: Record<string, string> = {}, { paused = false } = {}): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } });
      request.once('response', (response) => resolve(new SseReader(request, response, paused)));
      request.once('error', reject);
    });
  }

  /** Reads the body from now on (after opening paused). */
  resume(): void {
    this.response.resume();
  }

  get status(): number | undefined {
    return this.response.statusCode;
  }

  /** The parsed JSON body of a non-stream answer (an error). */
  async json(): Promise<{ error: { code: string; message: string; requestId: string } }> {
    await this.waitForEnd();
    return JSON.parse(this.body) as { error: { code: string; message: string; requestId: string } };
  }

  events(type?: string): SseFrame[] {
    return type === undefined ? this.frames : this.frames.filter((frame) => frame.event === type);
  }

  waitForEvents(count: number, type?: string, timeoutMs = 10_000): Promise<SseFrame[]> {
    return waitFor(() => this.events(type).length >= count && this.events(type), {
      timeoutMs,
      what: `${count} ${type ?? ''} event(s); got ${this.events(type).length}`,
    });
  }

  waitForEnd(timeoutMs = 10_000): Promise<true> {
    return waitFor(() => this.ended, { timeoutMs, what: 'the end of the stream' });
  }

  close(): void {
    this.request.destroy();
  }

  private consume(chunk: string): void {
    if (this.response.statusCode !== 200) {
      this.body += chunk;
      return;
    }
    this.buffer += chunk;
    let newline = this.buffer.indexOf('\n');
    while (newline >= 0) {
      this.line(this.buffer.slice(0, newline));
      this.buffer = this.buffer.slice(newline + 1);
      newline = this.buffer.indexOf('\n');
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.pendingFrame.data !== undefined) {
        this.frames.push({ event: 'message', data: '', ...this.pendingFrame });
      }
      this.pendingFrame = {};
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trim());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') this.pendingFrame.data = this.pendingFrame.data === undefined ? value : `${this.pendingFrame.data}\n${value}`;
    else if (field === 'event') this.pendingFrame.event = value;
    else if (field === 'id') this.pendingFrame.id = value;
    else if (field === 'retry') this.retries.push(Number(value));
  }
}
