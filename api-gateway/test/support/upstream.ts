import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

const answerJson: (name: string) => UpstreamHandler = (name) => (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ upstream: name, path: req.url }));
};

/**
 * A real HTTP server standing in for an upstream service: records what reaches it (headers and
 * the exact body bytes), answers through a replaceable handler, and can be killed and brought
 * back on the same port.
 */
export class FakeUpstream {
  readonly requests: RecordedRequest[] = [];
  private handler: UpstreamHandler;
  private server: http.Server | undefined;
  private port = 0;

  private constructor(readonly name: string) {
    this.handler = answerJson(name);
  }

  static async start(name: string): Promise<FakeUpstream> {
    const upstream = new FakeUpstream(name);
    await upstream.listen();
    return upstream;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests other than health probes. */
  get proxied(): RecordedRequest[] {
    return this.requests.filter((request) => request.url !== '/health/ready');
  }

  last(): RecordedRequest {
    const last = this.proxied.at(-1);
    if (!last) throw new Error(`${this.name} received no request`);
    return last;
  }

  respondWith(handler: UpstreamHandler): void {
    this.handler = handler;
  }

  answerDefault(): void {
    this.handler = answerJson(this.name);
  }

  /** Stops listening and cuts every open connection, as a crashed process would. */
  async kill(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Listens again on the same port. */
  async revive(): Promise<void> {
    await this.listen();
  }

  private listen(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (req.url === '/health/ready') res.end('{"status":"ok"}');
        else this.handler(req, res, body);
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        this.server = server;
        resolve();
      });
    });
  }
}

export interface FakeUpstreams {
  auth: FakeUpstream;
  users: FakeUpstream;
  messages: FakeUpstream;
  realtime: FakeUpstream;
}

export async function startFakeUpstreams(): Promise<FakeUpstreams> {
  const [auth, users, messages, realtime] = await Promise.all([
    FakeUpstream.start('auth'),
    FakeUpstream.start('user'),
    FakeUpstream.start('message'),
    FakeUpstream.start('realtime'),
  ]);
  return { auth, users, messages, realtime };
}

/** The gateway's environment pointing at these upstreams. */
export const upstreamEnv = ({ auth, users, messages, realtime }: FakeUpstreams): Record<string, string> => ({
  AUTH_SERVICE_URL: auth.url,
  USER_SERVICE_URL: users.url,
  MESSAGE_SERVICE_URL: messages.url,
  REALTIME_SERVICE_URL: realtime.url,
});

export async function killAll(upstreams: FakeUpstreams): Promise<void> {
  await Promise.all(Object.values(upstreams).map((upstream: FakeUpstream) => upstream.kill()));
}
