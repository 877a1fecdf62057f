import { randomUUID } from 'node:crypto';
import { createEvent, parseConfig, type Env, type Topology } from '@board/service-kit';
import { identityHeaders, type EventData, type EventType, type Identity, type Role } from '@board/service-kit/contracts';
import { publishRaw, waitFor, type TestWorld } from '@board/service-kit/testing';
import { configShape, type Config } from '../../src/config';

/** realtime-service's configuration in `world` (its Redis prefix, exchange and queue prefix). */
export const testConfig = (world: TestWorld, overrides: Env = {}): Config => parseConfig(configShape, world.env(overrides));

/** Resolves once the instance answers ready: subscribed to live events and consuming. */
export function waitUntilReady(url: string): Promise<true> {
  return waitFor(async () => (await fetch(`${url}/health/ready`)).status === 200, { what: `${url} to be ready` });
}

export const someone = (role: Role, userId: string = randomUUID()): Identity => ({ userId, role, sessionId: randomUUID() });

export const asHeaders = (identity: Identity) => identityHeaders(identity);

/** Publishes a domain event on the test exchange, as its producer would; resolves with the envelope. */
export async function publish<T extends EventType>(topology: Topology, type: T, data: EventData<T>) {
  const event = createEvent('test-producer', type, data);
  await publishRaw(topology, type, event);
  return event;
}

export function messageData(channel: string, authorId: string, body = 'hello'): EventData<'message.created'> {
  return { id: randomUUID(), channel, authorId, body, createdAt: new Date().toISOString(), editedAt: null };
}

/** The sum of a metric's samples on an instance whose labels include `labels`. */
export async function metricValue(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    if (wanted.every((label) => (match[2] ?? '').split(',').includes(label))) sum += Number(match[3]);
  }
  return sum;
}
