import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { deadLetterQueueName, parkedQueueName, retryQueueName } from '@board/service-kit';
import { DEFAULT_LOCAL_SERVERS } from './plan';
import type { StackPlan } from './plan';

/** The retry delays the services' consumers use (service-kit defaults). */
const RETRY_DELAYS_MS = [1_000, 5_000, 30_000];

/**
 * Removes what an isolated run (tests, benchmarks) left on the shared servers: its databases,
 * its Redis keys, its queues and exchange. Call after the stack stopped.
 */
export async function removeNamespace(plan: StackPlan, namespace: string): Promise<void> {
  const servers = DEFAULT_LOCAL_SERVERS;
  const adminUrl = new URL(servers.postgres);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  for (const database of plan.databases) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
  await admin.end();

  const redis = new Redis(servers.redis);
  const keys = await redis.keys(`${namespace}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();

  const connection = await amqplib.connect(servers.amqp);
  const channel = await connection.createChannel();
  // Replicas of a service share its queue.
  for (const service of new Set(plan.services.map((replica) => replica.service))) {
    const queue = `${namespace}.${service}`;
    for (const name of [queue, deadLetterQueueName(queue), parkedQueueName(queue), ...RETRY_DELAYS_MS.map((delay) => retryQueueName(queue, delay))]) {
      await channel.deleteQueue(name);
    }
  }
  await channel.deleteExchange(`${namespace}.domain.events`);
  await connection.close();
}
