import { randomBytes } from 'node:crypto';
import type { BoardClient } from '../../stack/dist/board-client';
import { ADMIN_PASSWORD } from './harness';

export interface Session {
  id: string;
  username: string;
  email: string;
  password: string;
  token: string;
}

export interface ListedMessage {
  id: string;
  body: string;
  authorId: string | undefined;
  authorDisplayName: string | undefined;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` gives a value, or throws after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Registers through nginx; the id comes back at once, the profile follows through user.registered. */
export async function register(client: BoardClient, label: string): Promise<Omit<Session, 'token'>> {
  const username = `${label}_${randomBytes(4).toString('hex')}`.slice(0, 32);
  const email = `${username}@example.com`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const response = await client.call<{ user: { id: string } }>('POST', '/api/auth/register', {
    body: { email, username, password, displayName: username },
  });
  if (response.status !== 201) throw new Error(`register ${username}: ${response.status} ${JSON.stringify(response.body)}`);
  return { id: response.body.user.id, username, email, password };
}

export async function login(client: BoardClient, email: string, password: string): Promise<string> {
  const response = await client.call<{ accessToken: string }>('POST', '/api/auth/login', { body: { email, password } });
  if (response.status !== 200) throw new Error(`login ${email}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.accessToken;
}

/** A registered, logged-in user whose profile exists in user-service. */
export async function newUser(client: BoardClient, label: string): Promise<Session> {
  const registered = await register(client, label);
  const token = await login(client, registered.email, registered.password);
  await eventually(async () => ((await client.call('GET', '/api/users/me', { token })).status === 200 ? true : undefined), `${registered.username}'s profile`);
  return { ...registered, token };
}

/** `count` users, a few registering at a time. */
export async function newUsers(client: BoardClient, label: string, count: number): Promise<Session[]> {
  const users: Session[] = [];
  for (let start = 0; start < count; start += 5) {
    const batch = Array.from({ length: Math.min(5, count - start) }, (_, index) => newUser(client, `${label}${start + index}`));
    users.push(...(await Promise.all(batch)));
  }
  return users;
}

/** The seeded admin, once auth-service has created it and user-service has its profile. */
export async function adminSession(client: BoardClient, email: string): Promise<Session> {
  const token = await eventually(() => login(client, email, ADMIN_PASSWORD), 'the seeded admin');
  const me = await eventually(async () => {
    const response = await client.call<{ user: { id: string; username: string } }>('GET', '/api/users/me', { token });
    return response.status === 200 ? response.body.user : undefined;
  }, "the admin's profile");
  return { id: me.id, username: me.username, email, password: ADMIN_PASSWORD, token };
}

/** Every message of a channel, newest first, as `reader` sees it (an admin sees every author). */
export async function listChannel(client: BoardClient, reader: Session, channel: string): Promise<Map<string, ListedMessage>> {
  const messages = new Map<string, ListedMessage>();
  let before: string | null = null;
  do {
    const query: string = `/api/messages?channel=${channel}&limit=100${before ? `&before=${encodeURIComponent(before)}` : ''}`;
    const page = await retrying(() =>
      client.call<{ messages: { id: string; body: string; author: { id: string; displayName: string } | null }[]; nextCursor: string | null }>('GET', query, {
        token: reader.token,
      }),
    );
    for (const message of page.body.messages) {
      messages.set(message.id, { id: message.id, body: message.body, authorId: message.author?.id, authorDisplayName: message.author?.displayName });
    }
    before = page.body.nextCursor;
  } while (before);
  return messages;
}

/** A read for the final check: retried a few times, since the stack may still be settling. */
async function retrying<T extends { status: number; body: unknown }>(request: () => Promise<T>): Promise<T> {
  let last: T | undefined;
  for (let attempt = 0; attempt < 10; attempt += 1) {
    last = await request().catch(() => undefined);
    if (last?.status === 200) return last;
    await sleep(1_000);
  }
  throw new Error(`a read kept failing: ${last ? `${last.status} ${JSON.stringify(last.body)}` : 'no answer'}`);
}
