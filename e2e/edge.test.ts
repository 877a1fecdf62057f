import http from 'node:http';
import tls from 'node:tls';
import { api, call, environment } from './support/client';

const httpsPort = Number(new URL(environment.baseUrl).port);
const httpPort = httpsPort - 8443 + 8080;

const errorShape = (code: string) => ({ error: { code, message: expect.any(String), requestId: expect.stringMatching(/^[A-Za-z0-9-]{1,64}$/) } });

/** The headers the edge puts on every answer over HTTPS, its own errors included. */
function expectSecurityHeaders(headers: Headers): void {
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('x-frame-options')).toBe('DENY');
  expect(headers.get('content-security-policy')).toContain("default-src 'none'");
}

/** An answer nginx made itself: the error shape, as JSON, with the security headers. */
async function expectEdgeError(path: string, init: Parameters<typeof api>[1], status: number, code: string): Promise<void> {
  const response = await api(path, init);
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json');
  expectSecurityHeaders(response.headers);
  expect(await response.json()).toEqual(errorShape(code));
}

/** One raw HTTP/1.1 request over TLS (for what no HTTP client sends), read until nginx closes. */
function rawRequest(request: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: httpsPort, ca: environment.certificate, servername: 'localhost' }, () => socket.end(request));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head.toLowerCase(), body });
    });
    socket.on('error', reject);
  });
}

/** What only nginx and the gateway decide: TLS, what is public, and the error shape at the edge. */
describe('the public edge (nginx + gateway)', () => {
  it('serves the API over HTTPS with security headers and a request id, and no HSTS in development', async () => {
    const response = await api('/api/health');
    expect(response.status).toBe(200);
    expectSecurityHeaders(response.headers);
    expect(response.headers.get('strict-transport-security')).toBeNull();
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const body = (await response.json()) as { status: string };
    expect(body.status).toBe('ok');
  });

  it('keeps a caller-supplied request id end to end', async () => {
    const response = await api('/api/health', { headers: { 'x-request-id': 'e2e-trace-42' } });
    expect(response.headers.get('x-request-id')).toBe('e2e-trace-42');
    await response.text();
  });

  it.each([['<script>alert(1)</script>'], ['looks.like.an.id'], ['x'.repeat(65)]])(
    'replaces a request id that does not look like one (%s) with its own',
    async (hostile) => {
      // The gateway accepts dots and up to 128 characters: the 32 hex digits show nginx chose.
      const proxied = await api('/api/health', { headers: { 'x-request-id': hostile } });
      expect(proxied.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
      await proxied.text();

      const own = await api('/x.html', { headers: { 'x-request-id': hostile } });
      expect(own.headers.get('content-type')).toBe('application/json');
      const text = await own.text();
      expect(text).not.toContain(hostile);
      expect((JSON.parse(text) as { error: { requestId: string } }).error.requestId).toMatch(/^[0-9a-f]{32}$/);
    },
  );

  it('redirects plain HTTP to HTTPS', async () => {
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: httpPort, path: '/api/health' }, (res) => {
        res.resume();
        resolve(res);
      }).on('error', reject);
    });
    expect(response.statusCode).toBe(301);
    expect(response.headers.location).toBe(`https://127.0.0.1:${httpsPort}/api/health`);
  });

  it.each(['/metrics', '/health/ready', '/health/live', '/index.html', '/api/../metrics'])('never exposes %s', async (path) => {
    const response = await call('GET', path);
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: expect.objectContaining({ code: 'NOT_FOUND' }) });
  });

  describe('answers nginx makes itself are the error shape, as application/json', () => {
    it('a path with an HTML extension', () => expectEdgeError('/x.html', {}, 404, 'NOT_FOUND'));

    it('an over-long URI (414)', () => expectEdgeError(`/api/${'a'.repeat(9_000)}`, {}, 414, 'URI_TOO_LONG'));

    it('an oversized header (431)', () => expectEdgeError('/api/health', { headers: { 'x-padding': 'a'.repeat(10_000) } }, 431, 'REQUEST_HEADER_TOO_LARGE'));

    it('a method the API does not use (405, with Allow)', async () => {
      await expectEdgeError('/api/health', { method: 'BREW' }, 405, 'METHOD_NOT_ALLOWED');
      expect((await api('/api/health', { method: 'PROPFIND' })).headers.get('allow')).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    });

    it('an oversized body (413)', () =>
      expectEdgeError('/api/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'x'.repeat(3 * 1024 * 1024) }) }, 413, 'PAYLOAD_TOO_LARGE'));

    it.each([
      ['a malformed method', 'G@T /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n', 400, 'BAD_REQUEST'],
      ['an unsupported HTTP version', 'GET /api/health HTTP/2.7\r\nHost: localhost\r\n\r\n', 505, 'HTTP_VERSION_NOT_SUPPORTED'],
      ['an unknown transfer coding', 'POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n', 501, 'NOT_IMPLEMENTED'],
    ])('%s', async (_label, request, status, code) => {
      const response = await rawRequest(request);
      expect(response.status).toBe(status);
      expect(response.headers).toContain('content-type: application/json');
      expect(response.headers).toContain('x-content-type-options: nosniff');
      expect(JSON.parse(response.body)).toEqual(errorShape(code));
    });
  });

  it('answers malformed JSON with 400 in the error shape', async () => {
    const response = await call('POST', '/api/auth/login', { body: '{"email": "a@b.c", ' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: expect.objectContaining({ code: 'MALFORMED_JSON', requestId: expect.any(String) }) });
  });
});
