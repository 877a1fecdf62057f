import { Redis } from 'ioredis';
import type { Env } from '../runtime/config';
import { queueName, type Topology } from '../events/topology';
import { TEST_AMQP_URL, deleteTopology, testTopology } from './broker';
import { createTestDatabase, type TestDatabase } from './database';
import { observeEvents, type EventObserver } from './observer';
import { TcpProxy } from './tcp-proxy';
import { TEST_REDIS_URL, uniqueSuffix } from './wait';

export interface TestWorldOptions {
  /** A database of the world's own, named after this label (`test_<label>_<suffix>`); none without it. */
  database?: string;
  /** An exchange and queue prefix on RabbitMQ, deleted with their queues at clean-up (default true). */
  broker?: boolean;
  /** A Redis key prefix, whose keys are deleted at clean-up (default true). */
  redis?: boolean;
  /** The retry delays the world's consumers use, so that their delay queues are deleted too. */
  retryDelaysMs?: readonly number[];
}

/** Anything a test starts that has to stop: a service, an observer, a proxy. */
export interface Stoppable {
  stop: () => Promise<unknown> | unknown;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'redis:': 6379, 'amqp:': 5672, 'postgres:': 5432, 'postgresql:': 5432 };

/**
 * One test file's share of the real servers: its own database, exchange and queue prefix, and
 * Redis key prefix, so files running at once never see each other's data. It stops what it was
 * given to stop (last first) and then removes all it made: queues, keys and the database.
 */
export class TestWorld {
  readonly topology: Topology = testTopology();
  readonly redisPrefix = `test:${uniqueSuffix()}:`;
  private readonly stops: Stoppable['stop'][] = [];
  private readonly queues = new Set<string>();
  private client: Redis | undefined;

  /** Use TestWorld.create(), which makes the database first. */
  constructor(
    private readonly ownDatabase: TestDatabase | undefined,
    private readonly options: TestWorldOptions,
  ) {}

  static async create<World extends TestWorld>(
    this: new (database: TestDatabase | undefined, options: TestWorldOptions) => World,
    options: TestWorldOptions = {},
  ): Promise<World> {
    const database = options.database === undefined ? undefined : await createTestDatabase(options.database);
    return new this(database, options);
  }

  get database(): TestDatabase {
    if (!this.ownDatabase) throw new Error('this test world has no database (TestWorld.create({ database: label }))');
    return this.ownDatabase;
  }

  get retryDelaysMs(): readonly number[] | undefined {
    return this.options.retryDelaysMs;
  }

  private get usesBroker(): boolean {
    return this.options.broker !== false;
  }

  private get usesRedis(): boolean {
    return this.options.redis !== false;
  }

  /**
   * The environment a service under test reads: test mode, silent logs, an ephemeral port, and
   * the world's servers and names. `overrides` win; an undefined value unsets a variable.
   */
  env(overrides: Env = {}): Env {
    return {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      PORT: '0',
      ...(this.ownDatabase ? { DATABASE_URL: this.ownDatabase.url } : {}),
      ...(this.usesRedis ? { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: this.redisPrefix } : {}),
      ...(this.usesBroker
        ? { AMQP_URL: TEST_AMQP_URL, EVENTS_EXCHANGE: this.topology.exchange, EVENTS_QUEUE_PREFIX: this.topology.queuePrefix }
        : {}),
      ...overrides,
    };
  }

  /** The world's own connection to Redis, for looking at (or writing) keys under its prefix. */
  get redis(): Redis {
    this.client ??= new Redis(TEST_REDIS_URL);
    return this.client;
  }

  /** Stops `thing` at clean-up, before whatever was tracked earlier; returns it. */
  track<Thing extends Stoppable>(thing: Thing): Thing {
    this.stops.push(() => thing.stop());
    return thing;
  }

  /** Runs `stop` at clean-up, before whatever was registered earlier. */
  onCleanUp(stop: Stoppable['stop']): void {
    this.stops.push(stop);
  }

  /** A queue of the test's own in the world's topology, deleted (with its delay and dead-letter queues) at clean-up. */
  ownQueue(name: string): string {
    const queue = queueName(this.topology, name);
    this.queues.add(queue);
    return queue;
  }

  /** Records what reaches the world's exchange, from a queue of its own; stopped at clean-up. */
  async observeEvents(options: { queue?: string; routingKeys?: readonly string[] } = {}): Promise<EventObserver> {
    const queue = this.ownQueue(options.queue ?? 'test-observer');
    return this.track(await observeEvents({ topology: this.topology, queue, routingKeys: options.routingKeys, retryDelaysMs: this.retryDelaysMs }));
  }

  /**
   * A TCP proxy to the server of `url` (TEST_REDIS_URL, TEST_AMQP_URL, a database URL), through
   * which a test can take that server away; started unless `started` is false, stopped at clean-up.
   */
  async proxy(url: string, { started = true } = {}): Promise<TcpProxy> {
    const target = new URL(url);
    const proxy = this.track(await TcpProxy.create({ host: target.hostname, port: Number(target.port || DEFAULT_PORTS[target.protocol]) }));
    if (started) await proxy.start();
    return proxy;
  }

  /** Deletes the keys under `prefix` (the world's own by default). */
  async deleteKeys(prefix: string = this.redisPrefix): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
      if (keys.length > 0) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  /**
   * Stops what was tracked, last first, then deletes the world's queues and exchange, its Redis
   * keys and its database. It goes on past a failure, and throws the first one at the end.
   */
  async cleanUp(): Promise<void> {
    const failures: unknown[] = [];
    const attempt = async (step: () => Promise<unknown> | unknown) => {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    };
    for (const stop of this.stops.splice(0).reverse()) await attempt(stop);
    if (this.usesBroker) await attempt(() => deleteTopology(this.topology, [...this.queues], this.retryDelaysMs));
    if (this.usesRedis) await attempt(() => this.deleteKeys());
    if (this.client) await attempt(() => this.client!.quit());
    this.client = undefined;
    if (this.ownDatabase) await attempt(() => this.ownDatabase!.drop());
    if (failures.length > 0) throw failures[0];
  }
}
