import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import request from 'supertest';
import { sleep, waitFor, type TestWorld } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { TokenIssuer } from './support/issuer';
import { killAll, startFakeUpstreams, upstreamEnv, type FakeUpstream, type FakeUpstreams } from './support/upstream';
import { createGatewayWorld, startGateway } from './support/gateway';

const JWKS_PATH = '/api/auth/.well-known/jwks.json';
const BODY_LIMIT = 1_048_576;

const issuer = new TokenIssuer();
let world: TestWorld;
let upstreams: FakeUpstreams;
let auth: FakeUpstream;
let users: FakeUpstream;
let messages: FakeUpstream;
let realtime: FakeUpstream;
let gateway: RunningService;
const bearer = () => `Bearer ${issuer.sign()}`;
const sha256 = (body: Buffer | string) => createHash('sha256').update(body).digest('hex');
const postJson = (path: string, body: string) =>
  request(gateway.url).post(path).set('Authorization', bearer()).set('Content-Type', 'application/json').send(body);

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request with a chunked body (no Content-Length), written in pieces. */
function sendChunked(path: string, headers: Record<string, string>, chunks: readonly Buffer[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${gateway.url}${path}`, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

beforeAll(async () => {
  world = await createGatewayWorld();
  upstreams = await startFakeUpstreams();
  world.onCleanUp(() => killAll(upstreams));
  ({ auth, users, messages, realtime } = upstreams);
  auth.respondWith((req, res, body) => {
    res.setHeader('content-type', 'application/json');
    res.end(req.url === JWKS_PATH ? JSON.stringify(issuer.jwks()) : JSON.stringify({ received: body.length }));
  });
  gateway = await startGateway(world, {
    ...upstreamEnv(upstreams),
    BODY_LIMIT_BYTES: String(BODY_LIMIT),
    // Shorter than the event stream below runs: a stream must not be cut by the upstream timeout.
    UPSTREAM_TIMEOUT_MS: '500',
    CORS_ORIGINS: 'https://board.example.com',
  });
});

afterAll(() => world.cleanUp());

afterEach(() => {
  for (const upstream of [users, messages, realtime]) upstream.answerDefault();
});

describe('request bodies', () => {
  it('forwards a POST body byte for byte', async () => {
    const body = '{ "channel" : "general",\n  "body": "héllo ✓ \\u00e9 — spacing  kept" }';
    const res = await postJson('/api/messages', body);
    expect(res.status).toBe(200);
    const received = messages.last();
    expect(received.body.toString('utf8')).toBe(body);
    expect(received.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(received.headers['content-type']).toBe('application/json');
  });

  it('forwards a large JSON body byte for byte', async () => {
    const items = Array.from({ length: 9_000 }, (_, index) => ({ index, text: `item ${index} ${'x'.repeat(80)}` }));
    const body = JSON.stringify({ items });
    expect(body.length).toBeGreaterThan(900_000);
    expect(body.length).toBeLessThan(BODY_LIMIT);
    const res = await postJson('/api/messages', body);
    expect(res.status).toBe(200);
    expect(sha256(messages.last().body)).toBe(sha256(body));
  });

  it('forwards a login body byte for byte although it reads it for the per-account limit', async () => {
    const body = '{"password":"pässword with spaces ","email":"Someone@Example.com"}';
    const res = await request(gateway.url).post('/api/auth/login').set('Content-Type', 'application/json').send(body);
    expect(res.body).toEqual({ received: Buffer.byteLength(body) });
    expect(auth.last().body.toString('utf8')).toBe(body);
  });

  it('forwards a chunked body whole, with its length', async () => {
    const parts = ['{"body":', '"in three ', 'pieces"}'].map((part) => Buffer.from(part));
    const res = await sendChunked('/api/messages', { authorization: bearer(), 'content-type': 'application/json' }, parts);
    expect(res.status).toBe(200);
    expect(messages.last().body.toString('utf8')).toBe('{"body":"in three pieces"}');
    expect(messages.last().headers['content-length']).toBe('26');
    expect(messages.last().headers['transfer-encoding']).toBeUndefined();
  });

  it('refuses a body over the limit with 413, declared or chunked, without bothering the upstream', async () => {
    const before = messages.proxied.length;
    const declared = await postJson('/api/messages', JSON.stringify({ body: 'x'.repeat(BODY_LIMIT) }));
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('PAYLOAD_TOO_LARGE');

    const chunk = Buffer.alloc(64 * 1024, 'a');
    const chunked = await sendChunked(
      '/api/messages',
      { authorization: bearer(), 'content-type': 'application/json' },
      Array.from({ length: BODY_LIMIT / chunk.length + 1 }, () => chunk),
    );
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(messages.proxied.length).toBe(before);
  });
});

describe('a declared body over the limit, as nginx sends one', () => {
  /** Two requests on one kept-alive connection: the second needs the first's connection intact. */
  function twoOnOneConnection(first: Buffer): Promise<{ statuses: number[]; connection: (string | undefined)[]; sockets: number }> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const send = (path: string, method: string, body?: Buffer) =>
      new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        const req = http.request(`${gateway.url}${path}`, { method, agent, headers: { authorization: bearer(), 'content-type': 'application/json', ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
        });
        req.on('socket', (socket) => sockets.add(socket));
        req.on('error', reject);
        req.end(body);
      });
    return (async () => {
      try {
        const one = await send('/api/messages', 'POST', first);
        const two = await send('/api/users/me', 'GET');
        return { statuses: [one.status, two.status], connection: [one.connection, two.connection], sockets: sockets.size };
      } finally {
        agent.destroy();
      }
    })();
  }

  it('is read and dropped before the 413, so the connection serves the next request (a closed one reads as a failed gateway to nginx)', async () => {
    const { statuses, connection, sockets } = await twoOnOneConnection(Buffer.alloc(BODY_LIMIT + 512 * 1024, 'a'));
    expect(statuses).toEqual([413, 200]);
    expect(connection[0]).not.toBe('close');
    expect(sockets).toBe(1);
  });
});

describe('responses', () => {
  it('passes an upstream 5xx through as it is', async () => {
    const upstreamError = { error: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side', requestId: 'r-1' } };
    users.respondWith((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(upstreamError));
    });
    const res = await request(gateway.url).get('/api/users/me').set('Authorization', bearer());
    expect(res.status).toBe(500);
    expect(res.body).toEqual(upstreamError);
  });

  it('streams an event stream event by event, past the upstream timeout', async () => {
    const gapMs = 300;
    let upstreamSawClose = false;
    realtime.respondWith((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
      res.flushHeaders();
      req.socket.on('close', () => (upstreamSawClose = true));
      let sent = 0;
      const timer = setInterval(() => {
        sent += 1;
        res.write(`id: ${sent}\nevent: message.created\ndata: {"n":${sent}}\n\n`);
        if (sent === 4) clearInterval(timer);
      }, gapMs);
      res.on('close', () => clearInterval(timer));
    });

    const arrivals: { at: number; text: string }[] = [];
    const started = Date.now();
    const { headersAt, response } = await new Promise<{ headersAt: number; response: http.IncomingMessage }>((resolve, reject) => {
      http
        .get(`${gateway.url}/api/events?ticket=t-1&channels=general`, (res) => resolve({ headersAt: Date.now() - started, response: res }))
        .on('error', reject);
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    expect(response.headers['x-accel-buffering']).toBe('no');
    // The headers came before any event: they were not held back until the first write.
    expect(headersAt).toBeLessThan(gapMs);
    response.setEncoding('utf8');
    response.on('data', (text: string) => arrivals.push({ at: Date.now() - started, text }));
    await waitFor(() => arrivals.length >= 4, { timeoutMs: 5_000, what: 'four events' });

    expect(arrivals.map(({ text }) => text)).toEqual([1, 2, 3, 4].map((n) => `id: ${n}\nevent: message.created\ndata: {"n":${n}}\n\n`));
    const gaps = arrivals.slice(1).map((arrival, index) => arrival.at - arrivals[index]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThan(gapMs * 0.6);
    // The stream outlived the 500 ms upstream timeout.
    expect(arrivals.at(-1)!.at).toBeGreaterThan(1_000);

    response.destroy();
    await waitFor(() => upstreamSawClose, { timeoutMs: 2_000, what: 'the upstream to see the client leave' });
  });

  it("passes a browser's reconnect (spent ticket, Last-Event-ID, the resume cookie) to realtime and its new pass back, unauthenticated", async () => {
    const pass = 'p'.repeat(43);
    realtime.respondWith((_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'set-cookie': `sse_resume=${'q'.repeat(43)}; Path=/api/events; HttpOnly; Secure; SameSite=Strict`,
      });
      res.end('retry: 3000\n\n');
    });
    const res = await request(gateway.url)
      .get('/api/events?ticket=spent&channels=general')
      .set('Cookie', `csrf_token=x; sse_resume=${pass}`)
      .set('Last-Event-ID', '5-0');
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toEqual([`sse_resume=${'q'.repeat(43)}; Path=/api/events; HttpOnly; Secure; SameSite=Strict`]);
    const received = realtime.last();
    expect(received.headers.cookie).toBe(`csrf_token=x; sse_resume=${pass}`);
    expect(received.headers['last-event-id']).toBe('5-0');
    // No token, so no identity: realtime-service alone decides what the pass is worth.
    expect(Object.keys(received.headers).filter((name) => name.startsWith('x-user-') || name === 'x-session-id')).toEqual([]);
  });

  it('gives up the upstream request when the client leaves before the answer', async () => {
    let upstreamSawClose = false;
    messages.respondWith((req) => req.socket.on('close', () => (upstreamSawClose = true)));
    const req = http.get(`${gateway.url}/api/messages`, { headers: { authorization: bearer() } });
    req.on('error', () => undefined);
    await waitFor(() => messages.proxied.length > 0 && messages.last().url === '/api/messages', { what: 'the request upstream' });
    await sleep(50);
    req.destroy();
    await waitFor(() => upstreamSawClose, { timeoutMs: 400, what: 'the upstream to see the client leave (before the 500 ms timeout)' });
  });
});

describe('browser rules', () => {
  it('allows cross-origin calls from the allow-list only', async () => {
    const allowed = await request(gateway.url)
      .options('/api/messages')
      .set('Origin', 'https://board.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://board.example.com');
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');

    const refused = await request(gateway.url)
      .options('/api/messages')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    const simple = await request(gateway.url).get('/api/messages').set('Origin', 'https://evil.example').set('Authorization', bearer());
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('GET /api/health', () => {
  it('reports every upstream ready with its breaker closed', async () => {
    const res = await request(gateway.url).get('/api/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      upstreams: Object.fromEntries(
        ['auth', 'user', 'message', 'realtime'].map((name) => [name, { ready: true, breaker: 'closed', latencyMs: expect.any(Number) }]),
      ),
    });
  });
});
