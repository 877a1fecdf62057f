/**
 * SSE fan-out benchmark: N concurrent SSE clients on ONE realtime-service instance, one
 * message.created event published to RabbitMQ, time until every client has it; plus heap per
 * idle connection, measured in the service process after a full GC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { createEvent, deadLetterQueueName, retryQueueName } from '@board/service-kit';
import { type EventEnvelope } from '@board/service-kit/contracts';
import { DEFAULT_LOCAL_SERVERS } from '../../stack/dist/plan';
import { percentile, round } from './stats';

interface Probe {
  child: ChildProcess;
  url: string;
  heapUsed: () => Promise<number>;
  stop: () => Promise<void>;
}

async function startProbe(env: Record<string, string>): Promise<Probe> {
  const child = fork(path.join(__dirname, 'realtime-probe.js'), [], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`realtime probe exited with ${code}`)));
    child.on('message', (message: { url?: string }) => message.url && resolve(message.url));
  });
  const heapUsed = () =>
    new Promise<number>((resolve) => {
      const onMessage = (message: { heapUsed?: number }) => {
        if (message.heapUsed === undefined) return;
        child.off('message', onMessage);
        resolve(message.heapUsed);
      };
      child.on('message', onMessage);
      child.send('heap');
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.send('stop');
    });
  return { child, url, heapUsed, stop };
}

export interface Client {
  socket: net.Socket;
  /** When this client saw the event id being waited for. */
  receivedAt?: number;
}

/** What a stream is opened on: a connected (or connecting) socket, and the request to write once it is. */
export interface StreamTarget {
  connect(): net.Socket;
  /** The socket event after which the request may be written: `connect`, or `secureConnect` for TLS. */
  readyEvent: 'connect' | 'secureConnect';
  request(index: number): string;
}

/** The event id clients are waiting for; empty while nothing is being timed. */
interface Awaited {
  id: Buffer;
}

/**
 * Opens one SSE stream with a raw socket rather than an HTTP client: with 10,000 streams in one
 * process, the HTTP client's per-chunk stream machinery would be what the benchmark measures.
 */
function openClient(target: StreamTarget, index: number, waitingFor: Awaited, onReceive: () => void): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = target.connect();
    const client: Client = { socket };
    let headersSeen = false;
    let tail: Buffer = Buffer.alloc(0);
    socket.once(target.readyEvent, () => socket.write(target.request(index)));
    socket.on('data', (chunk: Buffer) => {
      if (!headersSeen) {
        headersSeen = true;
        if (!chunk.subarray(0, 15).toString('latin1').startsWith('HTTP/1.1 200')) {
          reject(new Error(`stream answered ${chunk.subarray(0, 40).toString('latin1')}`));
          return;
        }
        resolve(client);
      }
      if (client.receivedAt !== undefined || waitingFor.id.length === 0) return;
      const text = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
      if (text.includes(waitingFor.id)) {
        client.receivedAt = performance.now();
        onReceive();
      }
      tail = text.subarray(Math.max(0, text.length - 64));
    });
    socket.once('error', reject);
  });
}

async function connectAll(target: StreamTarget, count: number, waitingFor: Awaited, onReceive: () => void): Promise<Client[]> {
  const clients: Client[] = [];
  const batch = 250;
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start);
    clients.push(...(await Promise.all(Array.from({ length: size }, (_, index) => openClient(target, start + index, waitingFor, onReceive)))));
  }
  return clients;
}

/** An SSE request as the gateway forwards it to the realtime-service: a member's identity headers. */
export function memberStreamRequest(host: string, userIds: readonly string[]): (index: number) => string {
  return (index) =>
    `GET /api/events?channels=general HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\n` +
    `x-user-id: ${userIds[index % userIds.length]}\r\nx-user-role: member\r\nx-session-id: ${randomUUID()}\r\n\r\n`;
}

export interface FanoutRun {
  target: StreamTarget;
  counts: readonly number[];
  messagesPerRun?: number;
  /** Publishes the event to the exchange the realtime-service consumes. */
  publish(event: EventEnvelope<'message.created'>): void;
  /** Bytes of memory the measured processes hold now (after a GC where it can be forced). */
  memoryUsed(): Promise<number>;
}

export interface FanoutRound {
  clients: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  allReceivedMs: number;
  memoryPerConnectionKb: number;
}

/**
 * For each count: opens that many streams, measures the memory they added, then publishes
 * `messagesPerRun` message.created events one at a time and times their arrival at every client.
 */
export async function measureFanout({ target, counts, messagesPerRun = 5, publish, memoryUsed }: FanoutRun): Promise<FanoutRound[]> {
  // Warm the code paths (JIT, lazy modules) so the baseline memory is not flattered.
  const warmUp = await connectAll(target, 200, { id: Buffer.alloc(0) }, () => undefined);
  for (const client of warmUp) client.socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 500));

  const results: FanoutRound[] = [];
  for (const count of counts) {
    const baseline = await memoryUsed();
    const waitingFor: Awaited = { id: Buffer.alloc(0) };
    let received = 0;
    let allReceived: () => void = () => undefined;
    const clients = await connectAll(target, count, waitingFor, () => {
      received += 1;
      if (received === count) allReceived();
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const memoryPerConnection = ((await memoryUsed()) - baseline) / count;

    const latencies: number[] = [];
    const completions: number[] = [];
    for (let message = 0; message < messagesPerRun; message += 1) {
      for (const client of clients) delete client.receivedAt;
      received = 0;
      const event = createEvent('bench', 'message.created', {
        id: randomUUID(),
        channel: 'general',
        authorId: randomUUID(),
        body: `fan-out benchmark message ${message}`,
        createdAt: new Date().toISOString(),
        editedAt: null,
      });
      waitingFor.id = Buffer.from(event.data.id);
      const done = new Promise<void>((resolve) => (allReceived = resolve));
      const publishedAt = performance.now();
      publish(event);
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 30_000))]);
      for (const client of clients) if (client.receivedAt !== undefined) latencies.push(client.receivedAt - publishedAt);
      completions.push(received === count ? Math.max(...clients.map((client) => client.receivedAt! - publishedAt)) : Number.POSITIVE_INFINITY);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    latencies.sort((a, b) => a - b);
    results.push({
      clients: count,
      p50Ms: round(percentile(latencies, 50)),
      p99Ms: round(percentile(latencies, 99)),
      maxMs: round(latencies.at(-1) ?? Number.NaN),
      allReceivedMs: round(percentile([...completions].sort((a, b) => a - b), 50)),
      memoryPerConnectionKb: round(memoryPerConnection / 1024, 2),
    });
    for (const client of clients) client.socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return results;
}

/** N clients on ONE realtime-service instance, straight to its port; heap measured in that process. */
export async function runFanout(counts: readonly number[], messagesPerRun = 5): Promise<FanoutRound[]> {
  const namespace = `bench_${randomUUID().slice(0, 8)}`;
  const exchange = `${namespace}.domain.events`;
  const probe = await startProbe({
    PORT: '0',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    REDIS_URL: DEFAULT_LOCAL_SERVERS.redis,
    AMQP_URL: DEFAULT_LOCAL_SERVERS.amqp,
    REDIS_KEY_PREFIX: `${namespace}:`,
    EVENTS_EXCHANGE: exchange,
    EVENTS_QUEUE_PREFIX: `${namespace}.`,
    // Every client is on this machine's one address: lift the stream caps out of the way.
    MAX_STREAMS_PER_USER: '1000000',
    MAX_STREAMS_PER_ADDRESS: '1000000',
  });
  const connection = await amqplib.connect(DEFAULT_LOCAL_SERVERS.amqp);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  try {
    const { hostname, port } = new URL(probe.url);
    const users = Array.from({ length: 1_000 }, () => randomUUID());
    return await measureFanout({
      target: { connect: () => net.connect(Number(port), hostname), readyEvent: 'connect', request: memberStreamRequest(hostname, users) },
      counts,
      messagesPerRun,
      publish: (event) => channel.publish(exchange, event.type, Buffer.from(JSON.stringify(event)), { persistent: true }),
      memoryUsed: probe.heapUsed,
    });
  } finally {
    await probe.stop();
    const queue = `${namespace}.realtime-service`;
    for (const name of [queue, deadLetterQueueName(queue), ...[1_000, 5_000, 30_000].map((delay) => retryQueueName(queue, delay))]) {
      await channel.deleteQueue(name).catch(() => undefined);
    }
    await channel.deleteExchange(exchange).catch(() => undefined);
    await connection.close();
    const redis = new Redis(DEFAULT_LOCAL_SERVERS.redis);
    const keys = await redis.keys(`${namespace}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
}
