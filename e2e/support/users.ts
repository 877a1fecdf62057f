import { randomBytes } from 'node:crypto';
import { api, call, environment } from './client';

export interface Session {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  /** The refresh and CSRF cookies as a Cookie header value. */
  cookies: string;
  csrfToken: string;
  role: string;
}

export const uniqueName = (label: string) => `${label}_${randomBytes(4).toString('hex')}`;

/** Claims of an access token (decoded, not verified: the gateway verifies). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Reads Set-Cookie headers into a Cookie header and the CSRF token value. */
export function cookiesFrom(headers: Headers): { cookies: string; csrfToken: string } {
  const pairs = headers.getSetCookie().map((line) => line.split(';')[0]!);
  const csrf = pairs.find((pair) => pair.startsWith('csrf_token='));
  return { cookies: pairs.join('; '), csrfToken: csrf ? decodeURIComponent(csrf.slice('csrf_token='.length)) : '' };
}

export async function register(label = 'user'): Promise<{ email: string; password: string; username: string; id: string }> {
  const username = uniqueName(label);
  const email = `${username}@example.com`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const response = await call<{ user: { id: string } }>('POST', '/api/auth/register', {
    body: { email, username, password, displayName: `Display ${username}` },
  });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { email, password, username, id: response.body.user.id };
}

export async function login(email: string, password: string): Promise<Session> {
  const response = await api('/api/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await response.json()) as { accessToken: string; user: { id: string; role: string } };
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${JSON.stringify(body)}`);
  const { cookies, csrfToken } = cookiesFrom(response.headers as unknown as Headers);
  return { id: body.user.id, email, password, accessToken: body.accessToken, cookies, csrfToken, role: body.user.role };
}

export async function refresh(session: Session): Promise<Session> {
  const response = await api('/api/auth/refresh', {
    method: 'POST',
    headers: { cookie: session.cookies, 'x-csrf-token': session.csrfToken },
  });
  const body = (await response.json()) as { accessToken: string; user: { role: string } };
  if (response.status !== 200) throw new Error(`refresh failed: ${response.status} ${JSON.stringify(body)}`);
  const { cookies, csrfToken } = cookiesFrom(response.headers as unknown as Headers);
  return { ...session, accessToken: body.accessToken, cookies, csrfToken, role: body.user.role };
}

/** Polls until `probe` passes (events travel asynchronously between services). */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A registered, logged-in user whose profile exists in user-service. */
export async function newUser(label = 'user'): Promise<Session> {
  const { email, password } = await register(label);
  const session = await login(email, password);
  await eventually(async () => (await call('GET', '/api/users/me', { token: session.accessToken })).status === 200, 'the profile');
  return session;
}

/** A member: passcode, then refresh until the new role reaches auth-service and the token. */
export async function newMember(label = 'member'): Promise<Session> {
  const session = await newUser(label);
  const promoted = await call('POST', '/api/users/me/membership', { token: session.accessToken, body: { passcode: environment.memberPasscode } });
  if (promoted.status !== 200) throw new Error(`membership failed: ${promoted.status} ${JSON.stringify(promoted.body)}`);
  let current = session;
  return eventually(async () => {
    current = await refresh(current);
    return current.role === 'member' ? current : undefined;
  }, 'the member role in a refreshed token');
}

export async function adminSession(): Promise<Session> {
  return eventually(async () => {
    try {
      return await login(environment.admin.email, environment.admin.password);
    } catch {
      return undefined;
    }
  }, 'the seeded admin');
}
