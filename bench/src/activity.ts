/**
 * What "last active" costs. One stack, and beside it two gateways started alike from its
 * gateway's settings, one marking activity (as in production), one with ACTIVITY_MARKING=false. Round after round, the same authenticated GET /api/messages from 20
 * users goes straight to message-service, through the marking gateway and through the quiet one,
 * so the comparison is paired (a shared 2-core machine drifts too much for two separate runs).
 * Then the PostgreSQL writes the marks caused are counted: user-service's counter and
 * PostgreSQL's own row-update count on profiles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ActivityMarks, createLogger, type Redis } from '@board/service-kit';
import { ActivityMarker } from '../../api-gateway/dist/activity';
import { OutageReporter } from '../../api-gateway/dist/outage';
import { removeNamespace } from '../../stack/dist/cleanup';
import { freePortOffset } from '../../stack/dist/ports';
import { startStack } from '../../stack/dist/stack';
import { localServers, type CpuGroups } from './cpu';
import { json, load, measured, median, type Callers, type LoadResult } from './gateway';
import { round } from './stats';

export interface ActivityRound {
  direct: LoadResult;
  marking: LoadResult;
  quiet: LoadResult;
  /** Through each gateway as a share of direct, and the marking one as a share of the quiet one. */
  markingRatio: number;
  quietRatio: number;
  markingVsQuiet: number;
}

export interface ActivityWrites {
  users: number;
  /** From the first measured request to the count, in minutes. */
  minutes: number;
  /** Requests the marking gateway served the users (about: rate x duration). */
  requests: number;
  /** users_activity_writes_total of user-service. */
  counted: number;
  /** n_tup_upd of the profiles table: every row update PostgreSQL made there. */
  rowUpdates: number;
  /** Users whose lastActiveAt was written at least once. */
  usersWritten: number;
  /** At most one write per user per started minute. */
  bound: number;
}

export interface ActivityBenchmark {
  /** What marking adds to a request once the user is marked in this window: nanoseconds, in process. */
  markNs: number;
  rounds: ActivityRound[];
  median: { markingRatio: number; quietRatio: number; markingVsQuiet: number };
  writes: ActivityWrites;
}

const ROOT = path.resolve(__dirname, '..', '..');
const FLUSH_INTERVAL_MS = 5_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** One series of a service's metrics (every series carries the service label: `name{service="..."} 20`). */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) || candidate.startsWith(`${name} `));
  if (line === undefined) throw new Error(`${name} is not exported`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function signIn(gateway: string, username: string): Promise<string> {
  const email = `${username}@example.com`;
  const password = 'benchmark-password';
  const headers = { 'content-type': 'application/json' };
  await json(`${gateway}/api/auth/register`, { method: 'POST', headers, body: JSON.stringify({ email, username, password }) });
  return String((await json(`${gateway}/api/auth/login`, { method: 'POST', headers, body: JSON.stringify({ email, password }) })).accessToken);
}

/**
 * The request path's share of marking, apart from the machine's noise: ActivityMarker.mark() for
 * users already marked in this window (every request but one per user a minute), timed in process.
 */
function markCostNs(users: number, calls = 2_000_000): number {
  // A Redis stand-in that answers at once: only the first call per user reaches it.
  const marks = new ActivityMarks({ eval: () => Promise.resolve(1) } as unknown as Redis, 'bench:');
  const outage = new OutageReporter(createLogger({ service: 'bench', level: 'silent' }), { inc: () => undefined }, { what: 'marking', meanwhile: '-' });
  const marker = new ActivityMarker(marks, outage);
  const ids = Array.from({ length: users }, () => randomUUID());
  for (const id of ids) marker.mark(id);
  const started = process.hrtime.bigint();
  for (let index = 0; index < calls; index += 1) marker.mark(ids[index % users]!);
  const elapsed = Number(process.hrtime.bigint() - started);
  marker.stop();
  return round(elapsed / calls, 1);
}

export async function runActivity({ users = 20, connections = 10, seconds = 5, rounds = 7 } = {}): Promise<ActivityBenchmark> {
  const namespace = `bench_${randomUUID().slice(0, 8)}`;
  const stack = await startStack({
    namespace,
    // Not the gateway benchmark's fixed offset: another benchmark may be running on this machine.
    portOffset: await freePortOffset([3000, 3001, 3002, 3003, 3004, 8080, 8443], 31_000, 200),
    overrides: { LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '100000000', AUTH_RATE_LIMIT_MAX: '1000', ACTIVITY_MARKING: 'true', ACTIVITY_FLUSH_INTERVAL_MS: String(FLUSH_INTERVAL_MS) },
  });
  // Both measured gateways are started here, from the stack gateway's settings, so they differ in
  // ACTIVITY_MARKING only (the stack's own gateway serves the sign-ins and the posts).
  const gatewayPlan = stack.plan.services.find((service) => service.name === 'api-gateway')!;
  const children: ChildProcess[] = [];
  const startGateway = async (marking: boolean) => {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(ROOT, 'api-gateway', 'dist', 'main.js')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...gatewayPlan.env, PORT: String(port), ACTIVITY_MARKING: String(marking) },
      stdio: 'ignore',
    });
    children.push(child);
    return { child, url: `http://127.0.0.1:${port}` };
  };
  try {
    const markingGateway = await startGateway(true);
    const quietGateway = await startGateway(false);
    const marking = markingGateway.url;
    const quiet = quietGateway.url;
    await Promise.all([waitReady(marking), waitReady(quiet)]);
    const front = stack.serviceUrl('api-gateway');
    const tokens: string[] = [];
    for (let index = 0; index < users; index += 1) tokens.push(await signIn(front, `${namespace}_${index}`));
    const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { sub: string; role: string; sid: string };
    const callers: Callers = tokens.map((token) => ({ authorization: `Bearer ${token}` }));
    for (let index = 0; index < 50; index += 1) {
      await json(`${front}/api/messages`, {
        method: 'POST',
        headers: { ...callers[0]!, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'general', body: `benchmark message ${index}` }),
      });
    }
    const route = '/api/messages?channel=general&limit=20';
    const first = claimsOf(tokens[0]!);
    const identity = { 'x-user-id': first.sub, 'x-user-role': first.role, 'x-session-id': first.sid };
    const urls = { direct: `${stack.serviceUrl('message-service')}${route}`, marking: `${marking}${route}`, quiet: `${quiet}${route}` };
    const startedAt = Date.now();
    await load(urls.direct, identity, connections, 3);
    await load(urls.marking, callers, connections, 3);
    await load(urls.quiet, callers, connections, 3);
    const groups: CpuGroups = {
      ...localServers,
      'message-service': () => [stack.pids['message-service']!],
      'gateway (marking)': () => [markingGateway.child.pid!],
      'gateway (quiet)': () => [quietGateway.child.pid!],
    };
    const results: ActivityRound[] = [];
    for (let index = 0; index < rounds; index += 1) {
      const label = (name: string) => `${name}, round ${index + 1}`;
      const direct = await measured(label('direct'), urls.direct, identity, connections, seconds, groups);
      // Which gateway goes first alternates, so neither always runs on the warmer machine.
      const order = index % 2 === 0 ? (['marking', 'quiet'] as const) : (['quiet', 'marking'] as const);
      const through: Partial<Record<'marking' | 'quiet', LoadResult>> = {};
      for (const name of order) through[name] = await measured(label(`gateway ${name}`), urls[name], callers, connections, seconds, groups);
      const { marking: withMarks, quiet: without } = through as Record<'marking' | 'quiet', LoadResult>;
      results.push({
        direct,
        marking: withMarks,
        quiet: without,
        markingRatio: round((withMarks.requestsPerSecond / direct.requestsPerSecond) * 100),
        quietRatio: round((without.requestsPerSecond / direct.requestsPerSecond) * 100),
        markingVsQuiet: round((withMarks.requestsPerSecond / without.requestsPerSecond) * 100),
      });
    }

    // The last marks are written at the next run; each PostgreSQL backend reports its counts within a second or so.
    await sleep(FLUSH_INTERVAL_MS + 2_500);
    const minutes = (Date.now() - startedAt) / 60_000;
    const userService = stack.plan.services.find((service) => service.name === 'user-service')!;
    const db = new pg.Client({ connectionString: userService.env.DATABASE_URL });
    await db.connect();
    let writes: ActivityWrites;
    try {
      const updates = await db.query<{ n: string }>("SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE relname = 'profiles'");
      const written = await db.query<{ n: string }>('SELECT count(*) AS n FROM profiles WHERE id = ANY($1) AND last_active_at IS NOT NULL', [
        tokens.map((token) => claimsOf(token).sub),
      ]);
      writes = {
        users,
        minutes: round(minutes, 2),
        requests: Math.round(results.reduce((sum, item) => sum + item.marking.requestsPerSecond * seconds, 0)),
        counted: await metric(stack.serviceUrl('user-service'), 'users_activity_writes_total'),
        rowUpdates: Number(updates.rows[0]!.n),
        usersWritten: Number(written.rows[0]!.n),
        bound: users * Math.ceil(minutes),
      };
    } finally {
      await db.end();
    }
    return {
      markNs: markCostNs(users),
      rounds: results,
      median: {
        markingRatio: median(results.map((item) => item.markingRatio)),
        quietRatio: median(results.map((item) => item.quietRatio)),
        markingVsQuiet: median(results.map((item) => item.markingVsQuiet)),
      },
      writes,
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await stack.stop();
    await removeNamespace(stack.plan, namespace);
  }
}
