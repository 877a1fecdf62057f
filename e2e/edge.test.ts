import http from 'node:http';
import { api, call, environment } from './support/client';

/** What only nginx and the gateway decide: TLS, what is public, and the error shape at the edge. */
describe('the public edge (nginx + gateway)', () => {
  it('serves the API over HTTPS with security headers and a request id', async () => {
    const response = await api('/api/health');
    expect(response.status).toBe(200);
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const body = (await response.json()) as { status: string };
    expect(body.status).toBe('ok');
  });

  it('keeps a caller-supplied request id end to end', async () => {
    const response = await api('/api/health', { headers: { 'x-request-id': 'e2e-trace-42' } });
    expect(response.headers.get('x-request-id')).toBe('e2e-trace-42');
  });

  it('redirects plain HTTP to HTTPS', async () => {
    const httpPort = Number(new URL(environment.baseUrl).port) - 8443 + 8080;
    const status = await new Promise<number | undefined>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: httpPort, path: '/api/health' }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    expect(status).toBe(301);
  });

  it.each(['/metrics', '/health/ready', '/health/live', '/', '/api/../metrics'])('never exposes %s', async (path) => {
    const response = await call('GET', path);
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: expect.objectContaining({ code: 'NOT_FOUND' }) });
  });

  it('answers an oversized body in the error shape, not an HTML page', async () => {
    const response = await call('POST', '/api/auth/register', { body: { email: 'x'.repeat(3 * 1024 * 1024) } });
    expect(response.status).toBe(413);
    expect(response.body).toEqual({ error: expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }) });
  });

  it('answers malformed JSON with 400 in the error shape', async () => {
    const response = await call('POST', '/api/auth/login', { body: '{"email": "a@b.c", ' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: expect.objectContaining({ code: 'MALFORMED_JSON', requestId: expect.any(String) }) });
  });
});
