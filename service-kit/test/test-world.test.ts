import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { assertConsumerQueues, deadLetterQueueName, queueName, retryQueueName } from '../src/events/topology';
import { TEST_AMQP_URL, TEST_POSTGRES_URL, TEST_REDIS_URL, TestWorld } from '../src/testing';

/*
 * The world every component test stands on: what it makes must be gone after cleanUp(), or test
 * runs would fill the shared servers and could see each other's leftovers.
 */
const RETRY_DELAYS = [50];

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

/** Whether each queue exists, asked on a channel per queue (a missing queue closes the channel). */
async function queuesExist(queues: readonly string[]): Promise<boolean[]> {
  return Promise.all(queues.map((queue) => onBroker((channel) => channel.checkQueue(queue))));
}

const exchangeExists = (exchange: string) => onBroker((channel) => channel.checkExchange(exchange));

/** Whether `check` succeeds on a channel of its own. */
async function onBroker(check: (channel: amqplib.Channel) => Promise<unknown>): Promise<boolean> {
  const connection = await amqplib.connect(TEST_AMQP_URL);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await check(channel).then(
      () => true,
      () => false,
    );
  } finally {
    await connection.close().catch(() => undefined);
  }
}

describe('TestWorld', () => {
  it('gives each world names of its own and the environment a service under test reads', async () => {
    const [first, second] = await Promise.all([TestWorld.create({ database: 'kit_world_env' }), TestWorld.create()]);
    try {
      expect(first!.topology.exchange).not.toBe(second!.topology.exchange);
      expect(first!.redisPrefix).not.toBe(second!.redisPrefix);
      expect(first!.env({ PORT: '8080', LOG_LEVEL: undefined })).toEqual({
        NODE_ENV: 'test',
        LOG_LEVEL: undefined,
        PORT: '8080',
        DATABASE_URL: first!.database.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: first!.redisPrefix,
        AMQP_URL: TEST_AMQP_URL,
        EVENTS_EXCHANGE: first!.topology.exchange,
        EVENTS_QUEUE_PREFIX: first!.topology.queuePrefix,
      });
      expect(second!.env()).not.toHaveProperty('DATABASE_URL');
      expect(() => second!.database).toThrow(/no database/);
    } finally {
      await Promise.all([first!.cleanUp(), second!.cleanUp()]);
    }
  });

  it('leaves only what a world without a broker or Redis uses out of its environment', async () => {
    const world = await TestWorld.create({ broker: false, redis: false });
    expect(Object.keys(world.env())).toEqual(['NODE_ENV', 'LOG_LEVEL', 'PORT']);
    await world.cleanUp();
  });

  it('When cleaned up, Then what it started stops last first, and its database, queues and keys are gone', async () => {
    const world = await TestWorld.create({ database: 'kit_world_cleanup', retryDelaysMs: RETRY_DELAYS });
    const databaseName = world.database.name;
    // A queue of the test's own, and one a board service declares when it connects.
    const queue = world.ownQueue('world-test');
    const boardQueue = queueName(world.topology, 'auth-service');
    const connection = await amqplib.connect(TEST_AMQP_URL);
    const channel = await connection.createChannel();
    for (const name of [queue, boardQueue]) await assertConsumerQueues(channel, world.topology, name, ['user.*'], RETRY_DELAYS);
    await connection.close();
    const made = [queue, deadLetterQueueName(queue), retryQueueName(queue, RETRY_DELAYS[0]!), boardQueue, deadLetterQueueName(boardQueue)];
    expect(await queuesExist(made)).toEqual([true, true, true, true, true]);
    expect(await exchangeExists(world.topology.exchange)).toBe(true);
    await world.redis.set(`${world.redisPrefix}a`, '1');
    await world.redis.set(`${world.redisPrefix}b:c`, '2');
    const stopped: string[] = [];
    world.track({ stop: async () => void stopped.push('first') });
    world.onCleanUp(() => void stopped.push('second'));
    world.track({ stop: async () => void stopped.push('third') });

    await world.cleanUp();

    expect(stopped).toEqual(['third', 'second', 'first']);
    expect(await databaseExists(databaseName)).toBe(false);
    expect(await queuesExist(made)).toEqual([false, false, false, false, false]);
    expect(await exchangeExists(world.topology.exchange)).toBe(false);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.keys(`${world.redisPrefix}*`)).toEqual([]);
    } finally {
      await redis.quit();
    }
  });

  it('When a stop fails, Then the rest is still cleaned up and the failure is thrown', async () => {
    const world = await TestWorld.create({ database: 'kit_world_failure', broker: false });
    const databaseName = world.database.name;
    await world.redis.set(`${world.redisPrefix}left`, '1');
    let laterStopRan = false;
    world.onCleanUp(() => {
      laterStopRan = true;
    });
    world.onCleanUp(() => {
      throw new Error('could not stop');
    });

    await expect(world.cleanUp()).rejects.toThrow('could not stop');
    expect(laterStopRan).toBe(true);
    expect(await databaseExists(databaseName)).toBe(false);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.exists(`${world.redisPrefix}left`)).toBe(0);
    } finally {
      await redis.quit();
    }
  });

  it('proxies a server it can take away, and stops the proxy at clean-up', async () => {
    const world = await TestWorld.create({ broker: false, redis: false });
    const proxy = await world.proxy(TEST_REDIS_URL);
    const client = new Redis(proxy.urlFor(TEST_REDIS_URL), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
    await world.cleanUp();
    expect(proxy.isUp).toBe(false);
  });
});
