import { randomUUID } from 'node:crypto';
import http, { STATUS_CODES, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

type Stopper = { name: string; stop: () => Promise<void> };

/**
 * Graceful shutdown: on SIGTERM or SIGINT, stop what was started in reverse order (HTTP first,
 * so no new work arrives; pools last), each within what is left of a bounded time.
 */
export class Lifecycle {
  private readonly stoppers: Stopper[] = [];
  private shutdownPromise: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = 10_000,
  ) {}

  get isShuttingDown(): boolean {
    return this.shutdownPromise !== undefined;
  }

  /** Registers something to stop; what is registered last stops first. */
  onStop(name: string, stop: () => Promise<void> | void): void {
    this.stoppers.push({ name, stop: async () => stop() });
  }

  handleSignals(exit: (code: number) => void = (code) => process.exit(code)): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        this.logger.info({ signal }, 'shutting down');
        void this.shutdown().then(
          () => exit(0),
          () => exit(1),
        );
      });
    }
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.stopAll();
    return this.shutdownPromise;
  }

  private async stopAll(): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let failed = false;
    for (const { name, stop } of [...this.stoppers].reverse()) {
      const remaining = Math.max(0, deadline - Date.now());
      try {
        await withTimeout(stop(), remaining, name);
        this.logger.debug({ component: name }, 'stopped');
      } catch (error) {
        failed = true;
        this.logger.error({ err: error, component: name }, 'did not stop cleanly');
      }
    }
    this.logger.info('shutdown complete');
    this.logger.flush();
    if (failed) throw new Error('shutdown was not clean');
  }
}

function withTimeout(work: Promise<void>, ms: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not stop within the shutdown timeout`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Starts listening; resolves with the server once the port is bound. */
export function listen(app: RequestListener, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(app);
    server.on('clientError', answerClientError);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

const PARSER_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'REQUEST_HEADER_TOO_LARGE', 'The request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'The request took too long to arrive'],
};

/**
 * What Node's HTTP parser refuses before any route runs (bytes outside ASCII in the request
 * target, malformed headers) gets the error shape like every other 4xx, not Node's bare 400
 * without a body. No request was parsed, so the request id is a new one.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message] = PARSER_ERRORS[error.code ?? ''] ?? [400, 'BAD_REQUEST', 'The request is not valid HTTP'];
  const body = JSON.stringify({ error: { code, message, requestId: randomUUID() } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Stops accepting connections and waits for in-flight requests; idle keep-alive sockets are
 * closed at once, and whatever is still open when `graceMs` ends is cut.
 */
export function closeServer(server: Server, graceMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close((error) => {
      clearTimeout(force);
      if (error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}
