import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { BoardClient } from '../../stack/src/board-client';
import { removeNamespace } from '../../stack/src/cleanup';
import { loadCompose } from '../../stack/src/compose';
import { DEFAULT_LOCAL_SERVERS, planStack } from '../../stack/src/plan';
import { freePortOffset } from '../../stack/src/ports';
import { ROOT, startStack, type RunningStack } from '../../stack/src/stack';
import { startScratchPostgres, type ScratchPostgres } from '../../stack/test/support/scratch-postgres';
import { dumpAll, listDumps, restoreDump, type PostgresConnection } from '../src/logical';
import { serverUserMissing } from './support/tools';

/**
 * A logical dump of a running board, restored into empty databases on another cluster: the built
 * services start on the restored databases and serve the same users, sessions and messages. Both
 * clusters are the test's own; Redis and RabbitMQ are the shared servers, in a namespace of the
 * test's own whose Redis keys are removed between the two runs (nothing but the dump carries over).
 */
const missing = serverUserMissing();
const describeIfTools = missing ? describe.skip : describe;
if (missing) console.warn(`skipping the logical restore: ${missing}`);

const SUPERUSER_PASSWORD = `super-${randomBytes(6).toString('hex')}`;
const namespace = `restore_${randomBytes(4).toString('hex')}`;
const MEMBER_PASSCODE = 'restore-member-passcode';

interface Account {
  email: string;
  password: string;
  id: string;
  accessToken: string;
  cookies: string;
  csrfToken: string;
}

function cookiesFrom(headers: Headers): { cookies: string; csrfToken: string } {
  const pairs = headers.getSetCookie().map((line) => line.split(';')[0]!);
  const csrf = pairs.find((pair) => pair.startsWith('csrf_token='));
  return { cookies: pairs.join('; '), csrfToken: csrf ? decodeURIComponent(csrf.slice('csrf_token='.length)) : '' };
}

async function startCluster(): Promise<ScratchPostgres> {
  const cluster = await startScratchPostgres();
  const admin = await cluster.connectAsSuperuser();
  try {
    // The services reach it over TCP, where it checks passwords.
    await admin.query(`ALTER ROLE postgres PASSWORD '${SUPERUSER_PASSWORD}'`);
  } finally {
    await admin.end();
  }
  return cluster;
}

const superuser = (cluster: ScratchPostgres): PostgresConnection => ({ host: cluster.socketDir, port: cluster.port, user: 'postgres' });

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeIfTools('restoring a logical dump into empty databases', () => {
  let portOffset: number;
  let clusters: ScratchPostgres[] = [];
  let stack: RunningStack | undefined;
  let client: BoardClient | undefined;
  let dumps: string;

  const boot = async (cluster: ScratchPostgres) => {
    stack = await startStack({
      namespace,
      portOffset,
      runDir: path.join(dumps, `run-${clusters.indexOf(cluster)}`),
      servers: { ...DEFAULT_LOCAL_SERVERS, postgres: `postgres://postgres:${SUPERUSER_PASSWORD}@127.0.0.1:${cluster.port}` },
      overrides: {
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        MEMBER_PASSCODE,
        BCRYPT_COST: '4',
        RATE_LIMIT_MAX: '1000000',
        AUTH_RATE_LIMIT_MAX: '1000000',
      },
    });
    client = new BoardClient(stack.baseUrl, { ca: stack.certificate });
  };
  const shutDown = async () => {
    await client?.close();
    await stack?.stop();
    client = undefined;
  };

  const login = async (email: string, password: string): Promise<Omit<Account, 'email' | 'password'>> => {
    const response = await client!.api('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const body = (await response.json()) as { accessToken: string; user: { id: string } };
    if (response.status !== 200) throw new Error(`login failed: ${response.status} ${JSON.stringify(body)}`);
    return { id: body.user.id, accessToken: body.accessToken, ...cookiesFrom(response.headers as unknown as Headers) };
  };
  const newAccount = async (label: string): Promise<Account> => {
    const username = `${label}_${randomBytes(4).toString('hex')}`;
    const email = `${username}@example.com`;
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const registered = await client!.call('POST', '/api/auth/register', { body: { email, username, password, displayName: `Display ${username}` } });
    if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${JSON.stringify(registered.body)}`);
    const session = await login(email, password);
    await eventually(async () => ((await client!.call('GET', '/api/users/me', { token: session.accessToken })).status === 200 ? true : undefined), 'the profile');
    return { email, password, ...session };
  };
  /** What the board serves an account: its profile, its sessions, and the channel's messages. */
  const viewOf = async (account: Account) => {
    const get = async (url: string) => {
      const response = await client!.call('GET', url, { token: account.accessToken });
      expect(response.status).toBe(200);
      return response.body;
    };
    const sessions = (await get('/api/auth/sessions')) as { sessions: { id: string; createdAt: string }[] };
    return {
      me: await get('/api/users/me'),
      sessions: sessions.sessions.map(({ id, createdAt }) => ({ id, createdAt })),
      messages: await get('/api/messages?channel=general&limit=100'),
    };
  };

  beforeAll(async () => {
    dumps = mkdtempSync(path.join(tmpdir(), 'logical-restore-'));
    portOffset = await freePortOffset([3000, 3001, 3002, 3003, 3004, 8080, 8443], 20_000, 360);
  });

  afterAll(async () => {
    await shutDown();
    for (const cluster of clusters) await cluster.stop();
    // Whatever the services created on the shared Redis and RabbitMQ, even when a start failed half-way.
    await removeNamespace(planStack(loadCompose(path.join(ROOT, 'docker-compose.yml'), {}), { namespace }), namespace);
    rmSync(dumps, { recursive: true, force: true });
  });

  it('serves the same users, sessions and messages from the restored databases', async () => {
    // The board as it was: two accounts, one of them a member, and messages by both.
    const source = await startCluster();
    clusters.push(source);
    await boot(source);
    const alice = await newAccount('alice');
    const bob = await newAccount('bob');
    const promoted = await client!.call('POST', '/api/users/me/membership', { token: bob.accessToken, body: { passcode: MEMBER_PASSCODE } });
    expect(promoted.status).toBe(200);
    for (const [account, body] of [[alice, 'hello from alice'], [bob, 'hello from bob'], [alice, 'alice again']] as const) {
      const posted = await client!.call('POST', '/api/messages', { token: account.accessToken, body: { body } });
      expect(posted.status).toBe(201);
    }
    // Membership reaches auth-service by an event: wait until a refresh carries it, so the dump holds it.
    const refreshedBob = await eventually(async () => {
      const response = await client!.api('/api/auth/refresh', { method: 'POST', headers: { cookie: bob.cookies, 'x-csrf-token': bob.csrfToken } });
      const body = (await response.json()) as { accessToken: string; user: { role: string } };
      if (response.status !== 200) throw new Error(`refresh failed: ${response.status}`);
      Object.assign(bob, { accessToken: body.accessToken, ...cookiesFrom(response.headers as unknown as Headers) });
      return body.user.role === 'member' ? bob : undefined;
    }, 'the member role');
    const before = { alice: await viewOf(alice), bob: await viewOf(refreshedBob) };
    expect((before.alice.messages as { messages: unknown[] }).messages).toHaveLength(3);

    const databases = stack!.plan.databases;
    expect(databases.sort()).toEqual([`auth_${namespace}`, `messages_${namespace}`, `users_${namespace}`]);
    const manifest = await dumpAll({ root: dumps, databases, postgres: superuser(source), binDir: source.binDir });
    expect(listDumps(dumps).map((dump) => dump.id)).toEqual([manifest.id]);

    // The source is gone: its cluster, and the namespace's Redis keys (caches, revocations, rate limits).
    await shutDown();
    await source.stop();
    clusters = clusters.filter((cluster) => cluster !== source);
    const redis = new Redis(DEFAULT_LOCAL_SERVERS.redis);
    const keys = await redis.keys(`${namespace}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();

    const target = await startCluster();
    clusters.push(target);
    // Empty databases, as PostgreSQL's init scripts leave them on a new volume: the restore goes into them.
    const admin = await target.connectAsSuperuser();
    for (const database of databases) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
    await admin.end();
    await restoreDump({ root: dumps, id: manifest.id, postgres: superuser(target), binDir: target.binDir });
    await boot(target);

    // The tokens issued before the dump still verify (the signing keys came back), and show the same.
    expect(await viewOf(alice)).toEqual(before.alice);
    expect(await viewOf(refreshedBob)).toEqual(before.bob);
    // The passwords are the same, and so are the refresh sessions: the old cookie refreshes.
    const again = await login(alice.email, alice.password);
    expect(again.id).toBe(alice.id);
    const refreshed = await client!.api('/api/auth/refresh', { method: 'POST', headers: { cookie: bob.cookies, 'x-csrf-token': bob.csrfToken } });
    expect(refreshed.status).toBe(200);
    expect(((await refreshed.json()) as { user: { id: string; role: string } }).user).toMatchObject({ id: bob.id, role: 'member' });
    // And it takes new writes.
    expect((await client!.call('POST', '/api/messages', { token: again.accessToken, body: { body: 'after the restore' } })).status).toBe(201);
  }, 240_000);

  it('refuses to restore over a database that holds data, unless told to replace it', async () => {
    const [target] = clusters;
    const [dump] = listDumps(dumps);
    await shutDown();
    await expect(restoreDump({ root: dumps, id: dump!.id, postgres: superuser(target!), binDir: target!.binDir })).rejects.toThrow(/is not empty .*--replace/);
    await restoreDump({ root: dumps, id: dump!.id, postgres: superuser(target!), binDir: target!.binDir, replace: true });
    // Replaced by the dump: the message written after the restore is gone again.
    const messages = new pg.Client({ ...superuser(target!), database: `messages_${namespace}` });
    await messages.connect();
    try {
      const { rows } = await messages.query<{ body: string }>('SELECT body FROM messages ORDER BY created_at');
      expect(rows.map((row) => row.body)).toEqual(['hello from alice', 'hello from bob', 'alice again']);
    } finally {
      await messages.end();
    }
  }, 60_000);
});
