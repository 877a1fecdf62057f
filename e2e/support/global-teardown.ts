import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { DEFAULT_LOCAL_SERVERS } from '../../stack/src/plan';
import { deadLetterQueueName, retryQueueName } from '../../service-kit/src/events/topology';
import { forgetEnvironment, loadEnvironment } from './environment';

/** Queue names a consumer may have declared (its retry delays are the kit defaults). */
function consumerQueues(namespace: string, services: readonly string[]): string[] {
  return services.flatMap((service) => {
    const queue = `${namespace}.${service}`;
    return [queue, deadLetterQueueName(queue), ...[1_000, 5_000, 30_000].map((delay) => retryQueueName(queue, delay))];
  });
}

/** Stops every process the setup started (by pid) and removes the run's data from the shared servers. */
export default async function globalTeardown(): Promise<void> {
  const stack = globalThis.e2eStack;
  const { namespace } = loadEnvironment();
  await stack?.stop();
  forgetEnvironment();

  const servers = DEFAULT_LOCAL_SERVERS;
  const adminUrl = new URL(servers.postgres);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  for (const database of stack?.plan.databases ?? []) {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
  }
  await admin.end();

  const redis = new Redis(servers.redis);
  const keys = await redis.keys(`${namespace}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();

  const connection = await amqplib.connect(servers.amqp);
  const channel = await connection.createChannel();
  const services = (stack?.plan.services ?? []).map((service) => service.name);
  for (const queue of consumerQueues(namespace, services)) await channel.deleteQueue(queue);
  await channel.deleteExchange(`${namespace}.domain.events`);
  await connection.close();
}
