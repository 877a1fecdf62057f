import { Router, type RequestHandler } from 'express';
import { body } from 'express-validator';
import request from 'supertest';
import { createHttpApp } from '../src/http/app';
import { createMetrics } from '../src/runtime/metrics';
import { validate, validated } from '../src/http/validation';
import { conflict } from '../src/http/errors';
import { captureLogger, expectErrorResponse } from '../src/testing';

function buildApp(readiness = {}) {
  const captured = captureLogger('kit-test');
  const metrics = createMetrics('kit-test');
  const routes = Router();
  routes.post('/api/things', validate(body('name').isString().isLength({ min: 1, max: 10 }), body('count').isInt({ min: 0 }).toInt()), (req, res) => {
    captured.logger.info('creating a thing');
    res.status(201).json(validated(req));
  });
  routes.get('/api/things/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  routes.get('/api/conflict', () => {
    throw conflict('already there', 'THING_EXISTS');
  });
  routes.get('/api/boom', async () => {
    throw new Error('database password is hunter2');
  });
  routes.get('/api/database-down', async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  });
  const app = createHttpApp({ logger: captured.logger, metrics, readiness, routes, jsonLimit: '1kb' });
  return { app, captured, metrics };
}


describe('createHttpApp', () => {
  it('accepts a valid body and returns only validated fields', async () => {
    const { app } = buildApp();
    const res = await request(app).post('/api/things').send({ name: 'pen', count: '3', extra: 'ignored' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ name: 'pen', count: 3 });
  });

  it('answers validation failures with 400 VALIDATION_FAILED and field details', async () => {
    const { app } = buildApp();
    const res = await request(app).post('/api/things').send({ name: 42, count: -1 });
    expectErrorResponse(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.details.map((detail: { field: string }) => detail.field).sort()).toEqual(['count', 'name']);
  });

  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    const { app } = buildApp();
    const res = await request(app).post('/api/things').set('Content-Type', 'application/json').send('{"name": ');
    expectErrorResponse(res, 400, 'MALFORMED_JSON');
  });

  it.each([
    ['a value', '{"name": "a\\ud83db", "count": 1}', 'name'],
    ['a nested value', '{"name": "pen", "count": 1, "tags": [{"label": "\\udfff"}]}', 'tags.0.label'],
    ['a key', '{"name": "pen", "count": 1, "\\ud800": true}', '\ud800'],
  ])('refuses a lone surrogate in %s with 400 VALIDATION_FAILED, before any route runs', async (_label, json, field) => {
    const { app } = buildApp();
    const res = await request(app).post('/api/things').set('Content-Type', 'application/json').send(json);
    expectErrorResponse(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.details).toEqual([expect.objectContaining({ field, location: 'body' })]);
  });

  it('accepts astral characters written as surrogate pairs', async () => {
    const { app } = buildApp();
    const res = await request(app).post('/api/things').set('Content-Type', 'application/json').send('{"name": "\\ud83d\\ude00", "count": 1}');
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('😀');
  });

  it('answers an oversized body with 413', async () => {
    const { app } = buildApp();
    const res = await request(app).post('/api/things').send({ name: 'x'.repeat(2_000), count: 1 });
    expectErrorResponse(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(res.body.error.message).toBe('The request body is larger than 1024 bytes');
  });

  it.each(['text/plain', 'application/vnd.api+json', 'application/merge-patch+json', 'application/jsonx', 'multipart/form-data; boundary=x'])(
    'answers a %s body with 415',
    async (contentType) => {
      const { app } = buildApp();
      const res = await request(app).post('/api/things').set('Content-Type', contentType).send('{"name":"pen","count":3}');
      expectErrorResponse(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    },
  );

  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON'])('parses a %s body', async (contentType) => {
    const { app } = buildApp();
    const res = await request(app).post('/api/things').set('Content-Type', contentType).send('{"name":"pen","count":3}');
    expect(res.status).toBe(201);
  });

  it('answers an unknown route with 404 in the error shape', async () => {
    const { app } = buildApp();
    expectErrorResponse(await request(app).get('/api/nothing-here'), 404, 'NOT_FOUND');
  });

  it('passes client errors through with their code', async () => {
    const { app } = buildApp();
    expectErrorResponse(await request(app).get('/api/conflict'), 409, 'THING_EXISTS');
  });

  it('turns an unexpected error into a 500 that reveals nothing', async () => {
    const { app, captured } = buildApp();
    const res = await request(app).get('/api/boom');
    expectErrorResponse(res, 500, 'INTERNAL_ERROR');
    expect(JSON.stringify(res.body)).not.toMatch(/hunter2|at .*\.ts/);
    expect(captured.lines().some((line) => line.msg === 'unhandled error')).toBe(true);
  });

  it('When a dependency is unreachable, Then the answer is 503 with Retry-After, not a 500', async () => {
    const { app } = buildApp();
    const res = await request(app).get('/api/database-down');
    expectErrorResponse(res, 503, 'SERVICE_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('5');
    expect(JSON.stringify(res.body)).not.toMatch(/5432/);
  });

  it('keeps a sane incoming request id, replaces a weird one, and logs it on every request line', async () => {
    const { app, captured } = buildApp();
    const kept = await request(app).post('/api/things').set('X-Request-Id', 'abc-123').send({ name: 'a', count: 1 });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const lines = captured.lines().filter((line) => line.requestId === 'abc-123');
    expect(lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['creating a thing', 'request completed']));
    const replaced = await request(app).get('/api/things/1').set('X-Request-Id', '<script>');
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('redacts credentials from logs', async () => {
    const { app, captured } = buildApp();
    await request(app).get('/api/things/1?ticket=secret-ticket').set('Authorization', 'Bearer secret-token');
    const text = JSON.stringify(captured.lines());
    expect(text).not.toContain('secret-ticket');
    expect(text).not.toContain('secret-token');
  });

  it('labels request metrics with the route pattern, never the raw URL', async () => {
    const { app } = buildApp();
    await request(app).get('/api/things/41');
    await request(app).get('/api/things/42');
    await request(app).get('/api/unknown/1');
    const text = (await request(app).get('/metrics')).text;
    expect(text).toMatch(/http_request_duration_seconds_count\{service="kit-test",method="GET",route="\/api\/things\/:id",status_code="200"\} 2/);
    expect(text).toMatch(/route="unmatched",status_code="404"/);
    expect(text).not.toContain('/api/things/41');
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('reports readiness per dependency', async () => {
    const { app } = buildApp({ postgres: async () => 'ok', redis: async () => Promise.reject(new Error('ECONNREFUSED')) });
    expect((await request(app).get('/health/live')).status).toBe(200);
    const ready = await request(app).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      status: 'unavailable',
      checks: { postgres: { status: 'ok' }, redis: { status: 'failed', error: 'ECONNREFUSED' } },
    });
  });

  it('sets security headers and hides the framework', async () => {
    const { app } = buildApp();
    const res = await request(app).get('/api/things/1');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('raw-body routes', () => {
  function buildRawApp() {
    const captured = captureLogger('kit-test');
    const routes = Router();
    routes.put('/api/pictures/mine', (req, res) => {
      res.json({ bytes: Buffer.isBuffer(req.body) ? req.body.length : null, first: Buffer.isBuffer(req.body) ? req.body[0] : null });
    });
    routes.put('/api/pictures/other', (req, res) => {
      res.json({ body: req.body as unknown });
    });
    const guard: RequestHandler = (req, _res, next) => next(req.headers['x-allowed'] === 'yes' ? undefined : conflict('not allowed', 'GUARDED'));
    const app = createHttpApp({
      logger: captured.logger,
      metrics: createMetrics('kit-test'),
      readiness: {},
      routes,
      rawBodyRoutes: [{ method: 'PUT', path: '/api/pictures/mine', types: ['image/png'], limit: 8, guards: [guard] }],
    });
    return app;
  }
  const allowed = { 'x-allowed': 'yes' };

  it('hands the route its body as bytes when the type is one it takes', async () => {
    const res = await request(buildRawApp()).put('/api/pictures/mine').set(allowed).set('Content-Type', 'image/png; x=1').send(Buffer.from([9, 1, 2]));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ bytes: 3, first: 9 });
  });

  it.each(['application/json', 'image/jpeg', 'text/plain'])('answers a %s body with 415', async (type) => {
    const res = await request(buildRawApp()).put('/api/pictures/mine').set(allowed).set('Content-Type', type).send(Buffer.from('{}'));
    expectErrorResponse(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a body over its limit with 413, and runs its guards before anything is read', async () => {
    const app = buildRawApp();
    expectErrorResponse(await request(app).put('/api/pictures/mine').set(allowed).set('Content-Type', 'image/png').send(Buffer.alloc(9)), 413, 'PAYLOAD_TOO_LARGE');
    expectErrorResponse(await request(app).put('/api/pictures/mine').set('Content-Type', 'text/plain').send('x'), 409, 'GUARDED');
  });

  it('leaves every other route JSON-only', async () => {
    const app = buildRawApp();
    expectErrorResponse(await request(app).put('/api/pictures/other').set('Content-Type', 'image/png').send(Buffer.from([1])), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect((await request(app).put('/api/pictures/other').send({ a: 1 })).body).toEqual({ body: { a: 1 } });
    expectErrorResponse(await request(app).post('/api/pictures/mine').set('Content-Type', 'image/png').send(Buffer.from([1])), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('expectErrorResponse', () => {
  it('accepts the error shape and nothing else', () => {
    const headers = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r1' };
    const error = { code: 'NOT_FOUND', message: 'No such thing', requestId: 'r1' };
    const answer = { status: 404, headers, body: { error } };
    expect(() => expectErrorResponse(answer, 404, 'NOT_FOUND')).not.toThrow();
    expect(() => expectErrorResponse({ ...answer, body: { error: { ...error, details: [] } } }, 404, 'NOT_FOUND')).not.toThrow();
    expect(() => expectErrorResponse(answer, 400, 'NOT_FOUND')).toThrow();
    expect(() => expectErrorResponse(answer, 404, 'CONFLICT')).toThrow();
    expect(() => expectErrorResponse({ ...answer, body: { error: { ...error, requestId: 'r2' } } }, 404, 'NOT_FOUND')).toThrow();
    expect(() => expectErrorResponse({ ...answer, body: { error: { ...error, stack: 'at ...' } } }, 404, 'NOT_FOUND')).toThrow();
    expect(() => expectErrorResponse({ ...answer, body: { error, extra: true } }, 404, 'NOT_FOUND')).toThrow();
    expect(() => expectErrorResponse({ ...answer, headers: { ...headers, 'content-type': 'text/html' } }, 404, 'NOT_FOUND')).toThrow();
  });
});
