/**
 * SSE fan-out through the edge: N clients over HTTPS to nginx (the shipped nginx.conf), through
 * two gateway replicas to two realtime instances, as the production stack runs. One event is
 * published to RabbitMQ; the time until every client has it is measured, and the memory the
 * streams add to nginx, the gateways and the realtime instances together (resident set sizes).
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import tls from 'node:tls';
import amqplib from 'amqplib';
import { removeNamespace } from '../../stack/dist/cleanup';
import { DEFAULT_LOCAL_SERVERS } from '../../stack/dist/plan';
import { startStack } from '../../stack/dist/stack';
import { measureFanout, type FanoutRound } from './sse-fanout';

const USERS = 10;

/** Resident memory of a process and of its children (nginx's workers), in bytes. */
function residentBytes(pid: number): number {
  try {
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    return rss + children.reduce((sum, child) => sum + residentBytes(child), 0);
  } catch {
    return 0;
  }
}

async function json(url: string, init: RequestInit): Promise<Record<string, unknown>> {
  const response = await fetch(url, init);
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${init.method} ${url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Registers and logs in a few users straight at the gateway; their tokens open the streams. */
async function accessTokens(gateway: string, namespace: string): Promise<string[]> {
  const tokens: string[] = [];
  for (let index = 0; index < USERS; index += 1) {
    const email = `${namespace}-${index}@example.com`;
    const password = 'benchmark-password';
    const headers = { 'content-type': 'application/json' };
    await json(`${gateway}/api/auth/register`, { method: 'POST', headers, body: JSON.stringify({ email, username: `${namespace}_${index}`, password }) });
    const login = await json(`${gateway}/api/auth/login`, { method: 'POST', headers, body: JSON.stringify({ email, password }) });
    tokens.push(String(login.accessToken));
  }
  return tokens;
}

export async function runEdgeFanout(counts: readonly number[], messagesPerRun = 5): Promise<FanoutRound[]> {
  const namespace = `bench_${randomUUID().slice(0, 8)}`;
  const stack = await startStack({
    namespace,
    portOffset: 31_000,
    scale: { 'api-gateway': 2, 'realtime-service': 2 },
    // Every stream comes from one address here: lift the per-client limits out of the way.
    overrides: {
      LOG_LEVEL: 'warn',
      RATE_LIMIT_MAX: '100000000',
      AUTH_RATE_LIMIT_MAX: '1000',
      BCRYPT_COST: '4',
      NODE_ENV: 'test',
      MAX_STREAMS_PER_USER: '1000000',
      MAX_STREAMS_PER_ADDRESS: '1000000',
    },
    // And nginx's per-address stream cap, a first line against one client opening thousands.
    edge: { NGINX_EVENTS_PER_IP: '20000' },
  });
  const connection = await amqplib.connect(DEFAULT_LOCAL_SERVERS.amqp);
  const channel = await connection.createConfirmChannel();
  const exchange = `${namespace}.domain.events`;
  try {
    const tokens = await accessTokens(stack.serviceUrl('api-gateway'), namespace);
    const measured = Object.entries(stack.pids)
      .filter(([name]) => name === 'nginx' || name.startsWith('api-gateway') || name.startsWith('realtime-service'))
      .map(([, pid]) => pid);
    const port = stack.plan.edge.httpsPort;
    return await measureFanout({
      target: {
        connect: () => tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: stack.certificate }),
        readyEvent: 'secureConnect',
        request: (index) =>
          `GET /api/events?channels=general HTTP/1.1\r\nHost: localhost:${port}\r\nAccept: text/event-stream\r\n` +
          `Authorization: Bearer ${tokens[index % tokens.length]}\r\n\r\n`,
      },
      counts,
      messagesPerRun,
      publish: (event) => channel.publish(exchange, event.type, Buffer.from(JSON.stringify(event)), { persistent: true }),
      memoryUsed: async () => measured.reduce((sum, pid) => sum + residentBytes(pid), 0),
    });
  } finally {
    await connection.close();
    await stack.stop();
    await removeNamespace(stack.plan, namespace);
  }
}
