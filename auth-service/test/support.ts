import { createPublicKey } from 'node:crypto';
import jwt, { type JwtPayload } from 'jsonwebtoken';
import { parseConfig, type Env } from '@board/service-kit';
import { parseSetCookie } from 'cookie';
import request from 'supertest';
import { identityHeaders, isRole, type Identity } from '@board/service-kit/contracts';
import { TestWorld, silentLogger, uniqueSuffix } from '@board/service-kit/testing';
import { configShape } from '../src/config';
import { start, type RunningService, type StartOptions } from '../src/service';

export const RETRY_DELAYS_MS = [50, 100];

/** The kit's test world (database, topology, Redis prefix, clean-up) with auth-service to start in it. */
export class AuthWorld extends TestWorld {
  readonly services: RunningService[] = [];

  /** The environment auth-service reads in this world; bcrypt at its cheapest unless overridden. */
  override env(overrides: Env = {}): Env {
    return super.env({ BCRYPT_COST: '4', ...overrides });
  }

  /**
   * Starts auth-service and, unless `brokerReachable` is false, waits until it is connected to
   * RabbitMQ: the kit's AmqpConnection leaks a connection closed while it is still being set up.
   */
  async start(overrides: Env = {}, options: StartOptions = {}, brokerReachable = true): Promise<RunningService> {
    const env = this.env(overrides);
    const service = this.track(
      await start(parseConfig(configShape(env), env), {
        logger: silentLogger(),
        retryDelaysMs: RETRY_DELAYS_MS,
        outboxPollIntervalMs: 50,
        ...options,
      }),
    );
    this.services.push(service);
    if (brokerReachable && !(await service.messaging.connection.waitForConnection(10_000))) throw new Error('no RabbitMQ connection');
    return service;
  }

  async isSessionRevokedInRedis(sessionId: string): Promise<boolean> {
    return (await this.redis.exists(`${this.redisPrefix}revoked:session:${sessionId}`)) === 1;
  }
}

/** A world of the test file's own, with a database named after `label`. */
export const createAuthWorld = (label: string): Promise<AuthWorld> => AuthWorld.create({ database: label, retryDelaysMs: RETRY_DELAYS_MS });

export interface Account {
  email: string;
  username: string;
  password: string;
}

let accountCounter = 0;
export function newAccount(): Account {
  accountCounter += 1;
  const tag = `${uniqueSuffix()}${accountCounter}`.slice(-20);
  return { email: `User_${tag}@Example.com`, username: `user_${tag}`, password: 'correct horse battery' };
}

/** What a browser would hold after signing in, plus the gateway's view of the access token. */
export interface Client {
  accessToken: string;
  refreshToken: string;
  csrfToken: string;
  identity: Identity;
  userId: string;
}

export function setCookies(res: request.Response): Map<string, ReturnType<typeof parseSetCookie>> {
  const header = res.headers['set-cookie'] as unknown;
  const lines = Array.isArray(header) ? (header as string[]) : [];
  return new Map(lines.map((line) => {
    const parsed = parseSetCookie(line);
    return [parsed.name, parsed];
  }));
}

/** The identity the gateway would forward for this access token. */
export function identityOf(accessToken: string): Identity {
  const claims = jwt.decode(accessToken) as JwtPayload;
  if (typeof claims.sub !== 'string' || typeof claims.sid !== 'string' || !isRole(claims.role)) throw new Error('unexpected claims');
  return { userId: claims.sub, role: claims.role, sessionId: claims.sid };
}

export function clientFrom(res: request.Response): Client {
  const cookies = setCookies(res);
  const refreshToken = cookies.get('refresh_token')?.value;
  const csrfToken = cookies.get('csrf_token')?.value;
  if (!refreshToken || !csrfToken) throw new Error(`no session cookies in a ${res.status} response`);
  const accessToken = (res.body as { accessToken: string }).accessToken;
  const identity = identityOf(accessToken);
  return { accessToken, refreshToken, csrfToken, identity, userId: identity.userId };
}

export async function register(url: string, account: Account): Promise<request.Response> {
  const res = await request(url).post('/api/auth/register').send(account);
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

export async function login(url: string, account: Pick<Account, 'email' | 'password'>, userAgent = 'jest'): Promise<Client> {
  const res = await request(url).post('/api/auth/login').set('User-Agent', userAgent).send({ email: account.email, password: account.password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return clientFrom(res);
}

export async function registerAndLogin(url: string, account: Account = newAccount()): Promise<Client & { account: Account }> {
  await register(url, account);
  return { ...(await login(url, account)), account };
}

export const cookieHeader = (cookies: { refreshToken?: string; csrfToken?: string }): string =>
  [
    cookies.refreshToken === undefined ? undefined : `refresh_token=${cookies.refreshToken}`,
    cookies.csrfToken === undefined ? undefined : `csrf_token=${cookies.csrfToken}`,
  ]
    .filter((part) => part !== undefined)
    .join('; ');

/** POST /api/auth/refresh the way the browser client does it. */
export function refresh(url: string, client: Pick<Client, 'refreshToken' | 'csrfToken'>): request.Test {
  return request(url)
    .post('/api/auth/refresh')
    .set('Cookie', cookieHeader(client))
    .set('X-CSRF-Token', client.csrfToken);
}

/** Headers the gateway would add for this client. */
export const asGateway = (client: Pick<Client, 'identity'>): Record<string, string> => identityHeaders(client.identity);

/** Verifies an access token against the service's JWKS, as the gateway does. */
export async function verifyWithJwks(url: string, accessToken: string, options: { issuer?: string; audience?: string } = {}): Promise<JwtPayload> {
  const { keys } = (await request(url).get('/api/auth/.well-known/jwks.json')).body as { keys: (Record<string, string> & { kid: string })[] };
  const header = jwt.decode(accessToken, { complete: true })?.header;
  const jwk = keys.find((key) => key.kid === header?.kid);
  if (!jwk) throw new Error(`kid ${String(header?.kid)} is not in the JWKS`);
  const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
  return jwt.verify(accessToken, publicKey, {
    algorithms: ['RS256'],
    issuer: options.issuer ?? 'message-board-auth',
    audience: options.audience ?? 'message-board',
  }) as JwtPayload;
}

