import request from 'supertest';
import type { TestWorld } from '@board/service-kit/testing';
import type { RunningService } from '../src/service';
import { FakeUpstream } from './support/upstream';
import { createGatewayWorld, startGateway } from './support/gateway';

const WINDOW_SECONDS = 60;
const PER_CLIENT_MAX = 8;
const CREDENTIALS_MAX = 3;
const PUBLIC_PATH = '/api/auth/.well-known/jwks.json';

let world: TestWorld;
let auth: FakeUpstream;
let gateways: RunningService[];
let clientNumber = 0;

/** A client address of its own for each test (nginx, the trusted hop, puts it in X-Forwarded-For). */
const newClient = () => `198.51.100.${(clientNumber += 1)}`;

beforeAll(async () => {
  world = await createGatewayWorld();
  auth = await FakeUpstream.start('auth');
  world.onCleanUp(() => auth.kill());
  // Two replicas sharing one Redis, as behind a load balancer.
  const env = {
    AUTH_SERVICE_URL: auth.url,
    RATE_LIMIT_WINDOW_MS: String(WINDOW_SECONDS * 1_000),
    RATE_LIMIT_MAX: String(PER_CLIENT_MAX),
    AUTH_RATE_LIMIT_WINDOW_MS: String(WINDOW_SECONDS * 1_000),
    AUTH_RATE_LIMIT_MAX: String(CREDENTIALS_MAX),
  };
  gateways = await Promise.all([startGateway(world, env), startGateway(world, env)]);
});

afterAll(() => world.cleanUp());

afterEach(() => auth.answerDefault());

const replica = (attempt: number) => gateways[attempt % gateways.length]!.url;
const login = (url: string, client: string, email: string, path = '/api/auth/login') =>
  request(url).post(path).set('X-Forwarded-For', client).send({ email, password: 'guess' });

describe('rate limits', () => {
  it('share one budget per client across gateway replicas', async () => {
    const client = newClient();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < PER_CLIENT_MAX + 2; attempt += 1) {
      statuses.push((await request(replica(attempt)).get(PUBLIC_PATH).set('X-Forwarded-For', client)).status);
    }
    expect(statuses).toEqual([...Array<number>(PER_CLIENT_MAX).fill(200), 429, 429]);
    // Another client is not affected.
    expect((await request(replica(0)).get(PUBLIC_PATH).set('X-Forwarded-For', newClient())).status).toBe(200);
  });

  it('answer 429 in the error shape with Retry-After and the standard RateLimit headers', async () => {
    const client = newClient();
    let res = await request(replica(0)).get(PUBLIC_PATH).set('X-Forwarded-For', client);
    expect(res.headers.ratelimit).toBe(`"per-client"; r=${PER_CLIENT_MAX - 1}; t=${WINDOW_SECONDS}`);
    expect(res.headers['ratelimit-policy']).toMatch(new RegExp(`^"per-client"; q=${PER_CLIENT_MAX}; w=${WINDOW_SECONDS}; pk=:`));
    for (let attempt = 1; attempt <= PER_CLIENT_MAX; attempt += 1) {
      res = await request(replica(attempt)).get(PUBLIC_PATH).set('X-Forwarded-For', client);
    }
    expect(res.status).toBe(429);
    expect(res.body.error).toEqual({ code: 'TOO_MANY_REQUESTS', message: expect.any(String), requestId: res.headers['x-request-id'] });
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(WINDOW_SECONDS - 5);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(WINDOW_SECONDS);
    expect(res.headers.ratelimit).toMatch(/^"per-client"; r=0; t=\d+$/);
  });

  it('limit login and register attempts per client much more strictly', async () => {
    const client = newClient();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < CREDENTIALS_MAX + 1; attempt += 1) {
      const path = attempt % 2 === 0 ? '/api/auth/login' : '/api/auth/register';
      statuses.push((await login(replica(attempt), client, `user${attempt}@example.com`, path)).status);
    }
    expect(statuses).toEqual([...Array<number>(CREDENTIALS_MAX).fill(200), 429]);
    // A case or trailing-slash variant of the route is the same route.
    expect((await login(replica(0), client, 'x@example.com', '/api/auth/LOGIN/')).status).toBe(429);
    // Other routes of the same client still pass.
    expect((await request(replica(0)).get(PUBLIC_PATH).set('X-Forwarded-For', client)).status).toBe(200);
  });
});
