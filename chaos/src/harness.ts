import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import amqplib from 'amqplib';
import pg from 'pg';
import { deadLetterQueueName, parkedQueueName } from '@board/service-kit';
import { CONSUMER_BINDINGS } from '@board/service-kit/contracts';
import { TcpProxy } from '../../service-kit/dist/testing/tcp-proxy';
import { BoardClient } from '../../stack/dist/board-client';
import { removeNamespace } from '../../stack/dist/cleanup';
import { loadCompose } from '../../stack/dist/compose';
import { DEFAULT_LOCAL_SERVERS, planStack, type LocalServers, type StackPlan } from '../../stack/dist/plan';
import { freePortOffset } from '../../stack/dist/ports';
import { ROOT, startStack, type RunningStack } from '../../stack/dist/stack';

export type ServerName = keyof LocalServers;

/** Every port a stack with two replicas of each service takes (replica 2 listens 10 above the first). */
const STACK_PORTS = [3000, 3001, 3002, 3003, 3004, 3010, 3011, 3012, 3013, 3014, 8080, 8081, 8443];

export const ADMIN_PASSWORD = 'chaos-admin-password';

/**
 * The whole stack (every service as a Node process, plus nginx) in a namespace of its own, with a
 * TCP proxy between the services and each shared server, so that a scenario can make PostgreSQL,
 * Redis or RabbitMQ unreachable for the stack alone. Everything it starts, it stops.
 */
export interface ChaosStack {
  stack: RunningStack;
  namespace: string;
  /** The TCP proxies in front of the servers the scenario makes unreachable (the others are reached directly). */
  proxies: Partial<Record<ServerName, TcpProxy>>;
  /** The public API through nginx at https://127.0.0.1:<port>, trusting only the stack's certificate. */
  client: BoardClient;
  adminEmail: string;
  /** The service databases on the real server (not through the proxy), for checking state. */
  database(service: 'auth' | 'users' | 'messages'): pg.Pool;
  /** Processes that died without being told to, each started again as compose's restart policy would. */
  crashes: Crash[];
  /** Says that `name` (its current process) is about to be killed on purpose: no crash, no restart by the watch. */
  expectExit(name: string): void;
  stop(): Promise<void>;
}

export interface Crash {
  name: string;
  /** When the watch saw it gone. */
  at: string;
  /** The end of its log: what it said as it died. */
  lastLines: string[];
  /** When it was ready again after the watch restarted it (null: it never was). */
  restartedAt: string | null;
}

/** How often the watch looks for processes that died. */
const CRASH_POLL_MS = 250;

/** Stacks running now, so that an interrupted run still stops what it started. */
const running = new Set<ChaosStack>();

export async function stopRunningStacks(): Promise<void> {
  await Promise.all([...running].map((chaos) => chaos.stop()));
}

export interface ChaosStackOptions {
  /** Replicas per compose service. */
  scale?: Record<string, number>;
  /** The servers to put a TCP proxy in front of: the ones the scenario will cut. */
  proxied?: readonly ServerName[];
}

export async function startChaosStack(label: string, options: ChaosStackOptions = {}): Promise<ChaosStack> {
  const { scale, proxied = [] } = options;
  const namespace = `chaos_${label.replace(/[^a-z0-9]/g, '')}_${randomBytes(3).toString('hex')}`;
  const adminEmail = `admin-${namespace}@example.com`;
  const proxies: Partial<Record<ServerName, TcpProxy>> = {};
  for (const server of proxied) proxies[server] = await proxyFor(DEFAULT_LOCAL_SERVERS[server]);
  const stopProxies = () => Promise.all(Object.values(proxies).map((proxy) => proxy.stop()));
  const serverUrl = (server: ServerName) => proxies[server]?.urlFor(DEFAULT_LOCAL_SERVERS[server]) ?? DEFAULT_LOCAL_SERVERS[server];
  // What the namespace holds on the shared servers, known before anything is created there.
  const names = planStack(loadCompose(path.join(ROOT, 'docker-compose.yml'), process.env), { namespace, scale });
  let stack: RunningStack;
  try {
    await Promise.all(Object.values(proxies).map((proxy) => proxy.start()));
    await createDatabases(names.databases);
    stack = await startStack({
      namespace,
      portOffset: await freePortOffset(STACK_PORTS, 21_000, 300),
      scale,
      servers: { postgres: serverUrl('postgres'), redis: serverUrl('redis'), amqp: serverUrl('amqp') },
      readyTimeoutMs: 90_000,
      overrides: {
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        ADMIN_EMAIL: adminEmail,
        ADMIN_PASSWORD,
        BCRYPT_COST: '4',
        // Every request of the load comes from one address: lift the per-address budgets.
        RATE_LIMIT_MAX: '100000000',
        AUTH_RATE_LIMIT_MAX: '100000',
      },
      edge: { NGINX_AUTH_RATE: '1000r/s', NGINX_AUTH_BURST: '1000', NGINX_EVENTS_PER_IP: '1000' },
    });
  } catch (error) {
    await stopProxies();
    await removeNamespaceQuietly(names, namespace);
    throw error;
  }
  const client = new BoardClient(`https://127.0.0.1:${stack.plan.edge.httpsPort}`, { ca: stack.certificate });
  const pools = new Map<string, pg.Pool>();
  const database = (service: string) => {
    let pool = pools.get(service);
    if (!pool) {
      const url = new URL(DEFAULT_LOCAL_SERVERS.postgres);
      url.pathname = `/${service}_${namespace}`;
      pools.set(service, (pool = new pg.Pool({ connectionString: url.toString(), max: 2 })));
    }
    return pool;
  };
  let stopped: Promise<void> | undefined;
  const crashes: Crash[] = [];
  const expected = new Set<number>();
  const watch = watchForCrashes(stack, crashes, expected, () => stopped !== undefined);
  const chaos: ChaosStack = {
    stack,
    namespace,
    proxies,
    client,
    adminEmail,
    database,
    crashes,
    expectExit: (name) => expected.add(stack.pids[name]!),
    stop: () =>
      (stopped ??= (async () => {
        running.delete(chaos);
        await watch();
        await Promise.all([...pools.values()].map((pool) => pool.end()));
        await client.close();
        await stack.stop();
        await stopProxies();
        await removeNamespaceQuietly(names, namespace);
      })()),
  };
  running.add(chaos);
  return chaos;
}

/**
 * Polls the stack's processes; one that died unasked is recorded with the end of its log and
 * started again (compose runs every service `restart: unless-stopped`), so that the scenario can
 * still check what the crash cost. Returns a function that stops the watch (and waits for a
 * restart under way).
 */
function watchForCrashes(stack: RunningStack, crashes: Crash[], expected: ReadonlySet<number>, stopping: () => boolean): () => Promise<void> {
  const restarts = new Set<Promise<void>>();
  const timer = setInterval(() => {
    for (const [name, pid] of Object.entries(stack.pids)) {
      if (name === 'nginx' || isAlive(pid) || stopping() || expected.has(pid)) continue;
      if (crashes.some((crash) => crash.name === name && crash.restartedAt === null)) continue;
      const crash: Crash = { name, at: new Date().toISOString(), lastLines: logTail(stack.runDir, name, 25), restartedAt: null };
      crashes.push(crash);
      const restart = restartUntilReady(stack, name, stopping).then((ok) => {
        if (ok) crash.restartedAt = new Date().toISOString();
      });
      restarts.add(restart);
      void restart.finally(() => restarts.delete(restart));
    }
  }, CRASH_POLL_MS);
  return async () => {
    clearInterval(timer);
    await Promise.all(restarts);
  };
}

/**
 * Starts `name` again whenever it is not running, until it answers ready. (stack.restart waits
 * for readiness itself, but gives up as soon as any other process of the stack is down, so
 * readiness is checked here too.)
 */
async function restartUntilReady(stack: RunningStack, name: string, stopping: () => boolean): Promise<boolean> {
  while (!stopping()) {
    if (!isAlive(stack.pids[name]!)) await stack.restart(name).catch(() => undefined);
    if (await isReady(stack.serviceUrl(name))) return true;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return false;
}

async function isReady(serviceUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${serviceUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function logTail(runDir: string, name: string, lines: number): string[] {
  const file = path.join(runDir, 'logs', `${name}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((line) => line.slice(0, 400)) : [];
}

/** One line per crash for a scenario's failures. */
export function crashFailures(crashes: readonly Crash[]): string[] {
  return crashes.map((crash) => {
    const error = crash.lastLines.find((line) => /^\w*Error\b/.test(line));
    const emitter = crash.lastLines.find((line) => /^Emitted 'error' event on/.test(line));
    const cause = [error, emitter].filter(Boolean).join(' / ') || (crash.lastLines.at(-1) ?? '');
    return `${crash.name} crashed at ${crash.at} (${cause.trim()}); restarted ${crash.restartedAt ? `at ${crash.restartedAt}` : 'never'}`;
  });
}

const DUPLICATE_DATABASE = '42P04';

/**
 * The service databases, made before the services start, as postgres/init makes them for
 * compose. (Replicas starting together would otherwise race to create them: see the report.)
 */
async function createDatabases(databases: readonly string[]): Promise<void> {
  const url = new URL(DEFAULT_LOCAL_SERVERS.postgres);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    for (const database of databases) {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`).catch((error: { code?: string }) => {
        if (error.code !== DUPLICATE_DATABASE) throw error;
      });
    }
  } finally {
    await admin.end();
  }
}

async function proxyFor(url: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(url);
  return TcpProxy.create({ host: hostname, port: Number(port) });
}

async function removeNamespaceQuietly(plan: StackPlan, namespace: string): Promise<void> {
  try {
    await removeNamespace(plan, namespace);
  } catch (error) {
    console.error(`could not remove namespace ${namespace}:`, error);
  }
}

/**
 * Messages in every board consumer's dead-letter queue, and in its parked queue (events of a newer
 * version than it reads, which a run of one version must never make), read on the real broker.
 */
export async function deadLetters(namespace: string): Promise<Record<string, number>> {
  const connection = await amqplib.connect(DEFAULT_LOCAL_SERVERS.amqp);
  try {
    const counts: Record<string, number> = {};
    for (const consumer of Object.keys(CONSUMER_BINDINGS)) {
      for (const queue of [deadLetterQueueName(`${namespace}.${consumer}`), parkedQueueName(`${namespace}.${consumer}`)]) {
        counts[queue] = await messageCount(connection, queue);
      }
    }
    return counts;
  } finally {
    await connection.close();
  }
}

/** One line per dead-letter or parked queue that holds events. */
export function setAsideFailures(counts: Record<string, number>): string[] {
  return Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([queue, count]) => `${count} events ${queue.endsWith('.parked') ? 'parked' : 'dead-lettered'} in ${queue}`);
}

/** Messages ready in `queue`; 0 when there is no such queue (the broker closes a channel that asks, so each gets its own). */
async function messageCount(connection: amqplib.ChannelModel, queue: string): Promise<number> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    return (await channel.checkQueue(queue)).messageCount;
  } catch {
    return 0;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** Messages ready in each board consumer's main queue (what is left to consume). */
export async function queueDepths(namespace: string): Promise<Record<string, number>> {
  const connection = await amqplib.connect(DEFAULT_LOCAL_SERVERS.amqp);
  try {
    const channel = await connection.createChannel();
    const depths: Record<string, number> = {};
    for (const consumer of Object.keys(CONSUMER_BINDINGS)) {
      depths[consumer] = (await channel.checkQueue(`${namespace}.${consumer}`)).messageCount;
    }
    return depths;
  } finally {
    await connection.close();
  }
}

/**
 * Log lines worth a reader's eye from each process of the run: errors and worse
 * and anything about dead-lettering, counted, with the first few of each process kept.
 */
export function notableLogLines(runDir: string, names: readonly string[], keep = 5): Record<string, { count: number; first: string[] }> {
  const notable: Record<string, { count: number; first: string[] }> = {};
  for (const name of names) {
    const file = path.join(runDir, 'logs', `${name}.log`);
    if (!existsSync(file)) continue;
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      // pino writes level labels; a line that is not JSON is the runtime's own, e.g. a crash.
      // The suite's own health probes answer 503 while something is down: not worth a look.
      .filter((line) => /"level":"(error|fatal)"/.test(line) || /dead-letter/i.test(line) || (line !== '' && !line.startsWith('{')))
      .filter((line) => !/"url":"\/(api\/)?health/.test(line));
    if (lines.length > 0) notable[name] = { count: lines.length, first: lines.slice(0, keep).map((line) => line.slice(0, 600)) };
  }
  return notable;
}

/** Log lines of one process that match `pattern`, e.g. to show when a consumer held events. */
export function logLines(runDir: string, name: string, pattern: RegExp, keep = 5): { count: number; first: string[] } {
  const file = path.join(runDir, 'logs', `${name}.log`);
  if (!existsSync(file)) return { count: 0, first: [] };
  const lines = readFileSync(file, 'utf8').split('\n').filter((line) => pattern.test(line));
  return { count: lines.length, first: lines.slice(0, keep).map((line) => line.slice(0, 600)) };
}
