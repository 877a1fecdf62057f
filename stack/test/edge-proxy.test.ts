import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Agent, fetch, type Response } from 'undici';
import { waitFor } from '@board/service-kit/testing';
import { startLocalEdge, StandInGateway, type LocalEdge } from './support/edge';

/**
 * nginx as the local runner renders it, in front of stand-in gateways whose every request the
 * test can see: what nginx forwards, retries, limits and compresses.
 */
const errorShape = (code: string) => ({ error: { code, message: expect.any(String), requestId: expect.stringMatching(/^[A-Za-z0-9-]{1,64}$/) } });

function client(edge: LocalEdge) {
  const dispatcher = new Agent({ connect: { ca: edge.ca }, keepAliveTimeout: 1_000 });
  const request = (path: string, init: Parameters<typeof fetch>[1] = {}) =>
    fetch(`https://localhost:${edge.plan.edge.httpsPort}${path}`, { ...init, dispatcher });
  return {
    request,
    json: async (path: string, init: Parameters<typeof fetch>[1] = {}) => {
      const response = await request(path, init);
      return { response, body: (await response.json()) as Record<string, unknown> };
    },
    close: () => dispatcher.close(),
  };
}

/** Reads an event stream until `text` has arrived. */
async function readUntil(response: Response, text: string): Promise<string> {
  const reader = response.body!.getReader();
  let received = '';
  while (!received.includes(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before "${text}" arrived: ${received}`);
    received += Buffer.from(value).toString();
  }
  reader.releaseLock();
  return received;
}

describe('the edge in front of two gateway replicas', () => {
  let first: StandInGateway;
  let second: StandInGateway;
  let edge: LocalEdge;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    first = await StandInGateway.start('first');
    second = await StandInGateway.start('second');
    edge = await startLocalEdge([first.address, second.address]);
    api = client(edge);
  });

  afterAll(async () => {
    await api?.close();
    await edge?.stop();
    await first?.stop();
    await second?.stop();
  });

  it('forwards a valid request id and replaces one that does not look like an id', async () => {
    const valid = await api.json('/api/things', { headers: { 'x-request-id': 'trace-42' } });
    expect(valid.body.requestId).toBe('trace-42');
    for (const hostile of ['<script>alert(1)</script>', 'a.b', 'x'.repeat(65)]) {
      const { body } = await api.json('/api/things', { headers: { 'x-request-id': hostile } });
      expect(body.requestId).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('keeps the security headers its own, without the gateway HSTS in development', async () => {
    const response = await api.request('/api/things');
    expect(response.headers.get('strict-transport-security')).toBeNull();
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    await response.text();
  });

  it('reuses its connections to the gateway', async () => {
    const before = first.connections + second.connections;
    for (let index = 0; index < 20; index += 1) await (await api.request('/api/things')).text();
    expect(first.connections + second.connections - before).toBeLessThanOrEqual(4);
  });

  it('compresses JSON, but neither the event stream nor token-bearing auth answers', async () => {
    const gzip = { 'accept-encoding': 'gzip' };
    const json = await api.request('/api/large', { headers: gzip });
    expect(json.headers.get('content-encoding')).toBe('gzip');
    await json.text();
    const auth = await api.request('/api/auth/large', { headers: gzip });
    expect(auth.headers.get('content-encoding')).toBeNull();
    await auth.text();
    const controller = new AbortController();
    const stream = await api.request('/api/events', { headers: gzip, signal: controller.signal });
    expect(stream.headers.get('content-encoding')).toBeNull();
    controller.abort();
  });

  it('passes each event on as it arrives', async () => {
    const controller = new AbortController();
    const stream = await api.request('/api/events', { signal: controller.signal });
    await readUntil(stream, ': ');
    await waitFor(() => first.streams.size + second.streams.size > 0);
    first.broadcast('hello');
    second.broadcast('hello');
    await expect(readUntil(stream, 'data: hello')).resolves.toContain('data: hello');
    controller.abort();
  });
});

describe('when a gateway replica fails', () => {
  let replicas: StandInGateway[];
  let edge: LocalEdge;
  let api: ReturnType<typeof client>;

  beforeEach(async () => {
    replicas = [await StandInGateway.start('first'), await StandInGateway.start('second')];
    edge = await startLocalEdge(replicas.map((replica) => replica.address));
    api = client(edge);
  });

  afterEach(async () => {
    await api.close();
    await edge.stop();
    for (const replica of replicas) await replica.stop();
  });

  const seen = (method: string) => replicas.map((replica) => replica.seen.filter((request) => request.method === method).length);

  it('answers every GET from the other replica while one is down', async () => {
    await replicas[0]!.stop();
    for (let index = 0; index < 10; index += 1) {
      const { response, body } = await api.json('/api/things');
      expect(response.status).toBe(200);
      expect(body.upstream).toBe('second');
    }
  });

  it('tries a GET that a replica dropped unanswered on the next one', async () => {
    for (const replica of replicas) replica.dropRequests = true;
    const { response, body } = await api.json('/api/things');
    expect(response.status).toBe(503);
    expect(body).toEqual(errorShape('SERVICE_UNAVAILABLE'));
    expect(seen('GET')).toEqual([1, 1]);
  });

  it('never sends a POST that reached a replica to another one', async () => {
    for (const replica of replicas) replica.dropRequests = true;
    const { response, body } = await api.json('/api/things', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(503);
    expect(body).toEqual(errorShape('SERVICE_UNAVAILABLE'));
    expect(seen('POST').reduce((sum, count) => sum + count)).toBe(1);
  });
});

describe('the edge with nothing behind it', () => {
  let edge: LocalEdge;
  beforeAll(async () => {
    edge = await startLocalEdge(['127.0.0.1:9']);
  });
  afterAll(() => edge?.stop());

  it('answers 503 in the error shape with Retry-After', async () => {
    const api = client(edge);
    const { response, body } = await api.json('/api/anything');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(body).toEqual(errorShape('SERVICE_UNAVAILABLE'));
    await api.close();
  });
});

describe('the edge limits, set low', () => {
  let gateway: StandInGateway;
  let edge: LocalEdge;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    gateway = await StandInGateway.start('only');
    edge = await startLocalEdge([gateway.address], { NGINX_AUTH_RATE: '1r/m', NGINX_AUTH_BURST: '2', NGINX_EVENTS_PER_IP: '2' });
    api = client(edge);
  });

  afterAll(async () => {
    await api?.close();
    await edge?.stop();
    await gateway?.stop();
  });

  it('answers 429 in the error shape with Retry-After beyond the auth burst, whatever the path spelling', async () => {
    const statuses: number[] = [];
    for (const path of ['/api/auth/login', '/api/auth/login', '/API/Auth/login', '/api/auth/refresh']) {
      const { response, body } = await api.json(path, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      statuses.push(response.status);
      if (response.status === 429) {
        expect(body).toEqual(errorShape('TOO_MANY_REQUESTS'));
        expect(response.headers.get('retry-after')).toBe('1');
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      }
    }
    // One at the rate plus a burst of two; the rest is refused without reaching the gateway.
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(gateway.seen.filter((request) => request.method === 'POST')).toHaveLength(3);
  });

  it('limits open event streams per address, whatever the path spelling, and frees the slot when one closes', async () => {
    const controllers = [new AbortController(), new AbortController()];
    const open = await Promise.all([
      api.request('/api/events', { signal: controllers[0]!.signal }),
      api.request('/API/Events/', { signal: controllers[1]!.signal }),
    ]);
    expect(open.map((response) => response.status)).toEqual([200, 200]);

    const { response, body } = await api.json('/api/events');
    expect(response.status).toBe(429);
    expect(body).toEqual(errorShape('TOO_MANY_REQUESTS'));
    expect(response.headers.get('retry-after')).toBe('1');

    controllers[0]!.abort();
    await waitFor(() => gateway.streams.size < 2);
    const again = new AbortController();
    const reopened = await api.request('/api/events', { signal: again.signal });
    expect(reopened.status).toBe(200);
    again.abort();
    controllers[1]!.abort();
  });
});

describe('the production rendering', () => {
  let gateway: StandInGateway;
  let edge: LocalEdge;

  beforeAll(async () => {
    gateway = await StandInGateway.start('only');
    edge = await startLocalEdge([gateway.address], { HSTS_MAX_AGE: '31536000', HTTPS_PORT: '443' });
  });

  afterAll(async () => {
    await edge?.stop();
    await gateway?.stop();
  });

  it('sends HSTS over HTTPS, on proxied and on its own answers', async () => {
    const api = client(edge);
    for (const path of ['/api/things', '/x.html']) {
      const response = await api.request(path);
      expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000');
      await response.text();
    }
    await api.close();
  });

  const plainGet = (path: string) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: edge.plan.edge.httpPort, path, headers: { host: 'board.example.com' } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      }).on('error', reject);
    });

  it('redirects plain HTTP to https on the default port, without HSTS', async () => {
    const response = await plainGet('/api/health?x=1');
    expect(response.status).toBe(301);
    expect(response.headers.location).toBe('https://board.example.com/api/health?x=1');
    expect(response.headers['strict-transport-security']).toBeUndefined();
  });

  it('serves ACME HTTP-01 tokens from the webroot over plain HTTP, and a missing one as a JSON 404', async () => {
    const challenges = path.join(edge.runDir, 'acme', '.well-known', 'acme-challenge');
    mkdirSync(challenges, { recursive: true });
    writeFileSync(path.join(challenges, 'token-123'), 'token-123.thumbprint');
    const token = await plainGet('/.well-known/acme-challenge/token-123');
    expect(token).toMatchObject({ status: 200, body: 'token-123.thumbprint' });
    expect(token.headers['content-type']).toBe('text/plain');
    const missing = await plainGet('/.well-known/acme-challenge/no-such-token');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toBe('application/json');
    expect(JSON.parse(missing.body)).toEqual(errorShape('NOT_FOUND'));
  });
});
