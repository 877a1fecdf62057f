import tls from 'node:tls';
import zlib from 'node:zlib';
import type { Agent } from 'undici';

/**
 * One generated request. `client`: undici over the shared keep-alive connections (well-formed
 * HTTP). `raw`: bytes written as they are on a TLS socket of their own, for what no HTTP client
 * sends (header injection, control bytes, conflicting framing, odd request lines).
 */
export type WireRequest =
  | {
      transport: 'client';
      method: string;
      /** Path and query, percent-encoded ASCII. */
      target: string;
      /** In order; a name may repeat. */
      headers: [string, string][];
      body?: Buffer;
    }
  | { transport: 'raw'; /** For pacing and reports. */ target: string; bytes: Buffer };

export interface WireResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", " (set-cookie kept apart). */
  headers: Record<string, string>;
  setCookies: string[];
  /** Decoded per Content-Encoding. */
  body: Buffer;
  /** The body of an event stream is not read: only its head. */
  streamed: boolean;
}

export interface Transport {
  send(request: WireRequest): Promise<WireResponse>;
  close(): Promise<void>;
}

const TIMEOUT_MS = 20_000;

/**
 * Sends fuzz requests to the stack's public entry (nginx over HTTPS, trusting only its
 * certificate), and paces everything under /api/auth/ below nginx's per-address limit there, so
 * the run tests the API and not the edge's limiter (every request comes from one address).
 */
export class EdgeTransport implements Transport {
  private readonly url: URL;
  private nextAuthSlot = 0;

  constructor(
    baseUrl: string,
    private readonly dispatcher: Agent,
    private readonly certificate: string,
    private readonly authRequestsPerSecond: number,
  ) {
    this.url = new URL(baseUrl);
  }

  async send(request: WireRequest): Promise<WireResponse> {
    if (/^\/api\/auth(\/|$)/i.test(request.target)) await this.authSlot();
    return request.transport === 'raw' ? this.sendRaw(request.bytes) : this.sendClient(request);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private async authSlot(): Promise<void> {
    const now = Date.now();
    const slot = Math.max(now, this.nextAuthSlot);
    this.nextAuthSlot = slot + 1_000 / this.authRequestsPerSecond;
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }

  private async sendClient(request: Extract<WireRequest, { transport: 'client' }>): Promise<WireResponse> {
    const response = await this.dispatcher.request({
      origin: this.url.origin,
      path: request.target,
      method: request.method as 'GET',
      headers: request.headers.flat(),
      body: request.body,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
      // Also bounds the wait for a free connection, which the timeouts above do not.
      signal: AbortSignal.timeout(TIMEOUT_MS + 5_000),
    });
    const headers: Record<string, string> = {};
    const setCookies: string[] = [];
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      if (name === 'set-cookie') setCookies.push(...(Array.isArray(value) ? value : [value]));
      else headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    if (isStream(headers)) {
      response.body.destroy();
      return { status: response.statusCode, headers, setCookies, body: Buffer.alloc(0), streamed: true };
    }
    const body = Buffer.from(await response.body.arrayBuffer());
    return { status: response.statusCode, headers, setCookies, body: decode(body, headers['content-encoding']), streamed: false };
  }

  private sendRaw(bytes: Buffer): Promise<WireResponse> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect(
        { host: this.url.hostname, port: Number(this.url.port), ca: this.certificate, servername: this.url.hostname, ALPNProtocols: ['http/1.1'] },
        // Written, not ended: nginx takes a half-closed connection for a client that went away.
        () => socket.write(bytes),
      );
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (streamedEarly: boolean) => {
        if (settled) return;
        settled = true;
        socket.destroy();
        try {
          resolve(parseRaw(Buffer.concat(chunks), streamedEarly));
        } catch (error) {
          reject(error as Error);
        }
      };
      socket.setTimeout(TIMEOUT_MS, () => {
        if (!settled) {
          settled = true;
          socket.destroy();
          reject(new Error(`no answer within ${TIMEOUT_MS / 1_000}s`));
        }
      });
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        const text = Buffer.concat(chunks).toString('latin1');
        // An event stream stays open: its head is the answer.
        if (/^content-type:\s*text\/event-stream/im.test(text.split('\r\n\r\n').find((head) => !/^HTTP\/\d\.\d 1\d\d /.test(head)) ?? '')) finish(true);
      });
      socket.on('end', () => finish(false));
      socket.on('error', (error) => {
        // nginx may close while a large body is still being written; what it answered counts.
        if (chunks.length > 0) finish(false);
        else if (!settled) {
          settled = true;
          reject(error);
        }
      });
    });
  }
}

const isStream = (headers: Record<string, string>) => (headers['content-type'] ?? '').startsWith('text/event-stream');

function decode(body: Buffer, encoding: string | undefined): Buffer {
  if (body.length === 0) return body;
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
      return zlib.gunzipSync(body);
    case 'br':
      return zlib.brotliDecompressSync(body);
    case 'deflate':
      return zlib.inflateSync(body);
    default:
      return body;
  }
}

function parseRaw(whole: Buffer, streamed: boolean): WireResponse {
  let data = whole;
  // Interim answers (100 Continue) come before the real one.
  while (/^HTTP\/\d\.\d 1\d\d /.test(data.subarray(0, 16).toString('latin1')) && data.indexOf('\r\n\r\n') >= 0) data = data.subarray(data.indexOf('\r\n\r\n') + 4);
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`the connection closed without a complete answer (${data.length} bytes: ${JSON.stringify(data.toString('latin1').slice(0, 200))})`);
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP answer: ${JSON.stringify(statusLine.slice(0, 200))}`);
  const headers: Record<string, string> = {};
  const setCookies: string[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'set-cookie') setCookies.push(value);
    else headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  if (streamed) return { status, headers, setCookies, body: Buffer.alloc(0), streamed: true };
  let body = data.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status, headers, setCookies, body: decode(body, headers['content-encoding']), streamed: false };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
