import amqplib, { type ChannelModel } from 'amqplib';
import type { Logger } from 'pino';

export type ConnectionSetup = (connection: ChannelModel) => Promise<void>;

/**
 * PLAIN credentials for the user named in `url` with `password`, which then never goes through URL
 * parsing; undefined without a password, so amqplib takes both from the URL (guest without a user).
 */
export function amqpCredentials(url: string, password: string | undefined): ReturnType<typeof amqplib.credentials.plain> | undefined {
  if (password === undefined) return undefined;
  const username = decodeURIComponent(new URL(url).username);
  return amqplib.credentials.plain(username || 'guest', password);
}

export interface AmqpConnectionOptions {
  url: string;
  /** The broker password, given apart from the URL so it may hold any character (AMQP_PASSWORD). */
  password?: string;
  logger: Logger;
  /** Shown in the RabbitMQ management UI. */
  name: string;
  reconnectDelayMs?: { initial: number; max: number };
}

/**
 * A RabbitMQ connection that keeps itself up: it connects in the background, reconnects with
 * backoff when the broker goes away, and re-runs every registered setup (topology, channels,
 * consumers) on each new connection. amqplib does not reconnect on its own; a wrapper such as
 * amqp-connection-manager would, but it acknowledges on whichever channel is current, which after
 * a reconnect can acknowledge the wrong delivery tag. Here each consumer acks on its own channel.
 */
export class AmqpConnection {
  private connection: ChannelModel | undefined;
  private readonly setups: ConnectionSetup[] = [];
  private stopping = false;
  private started = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private readonly waiters = new Set<() => void>();
  private readonly delays: { initial: number; max: number };
  private readonly log: Logger;

  constructor(private readonly options: AmqpConnectionOptions) {
    this.delays = options.reconnectDelayMs ?? { initial: 250, max: 5_000 };
    this.log = options.logger.child({ component: 'amqp' });
  }

  get isConnected(): boolean {
    return this.connection !== undefined;
  }

  /** Starts connecting in the background; never throws (a down broker is retried, not fatal). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.connect();
  }

  /** Runs `setup` on every connection from now on, and at once if already connected. */
  async addSetup(setup: ConnectionSetup): Promise<void> {
    this.setups.push(setup);
    if (this.connection) await setup(this.connection);
  }

  /** Resolves true once connected, false if `timeoutMs` passes first. */
  waitForConnection(timeoutMs: number): Promise<boolean> {
    if (this.connection) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(this.connection !== undefined);
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  /**
   * Drops the connection so that it is made again and every setup runs anew: for a channel that
   * the broker closed (or a consumer it cancelled) while the connection itself stayed up, which
   * nothing else would ever reopen.
   */
  async reset(reason: string): Promise<void> {
    const connection = this.connection;
    if (!connection || this.stopping) return;
    this.log.warn({ reason }, 'resetting the RabbitMQ connection');
    await connection.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopping) return;
    let connection: ChannelModel;
    try {
      connection = await amqplib.connect(this.options.url, {
        clientProperties: { connection_name: this.options.name },
        timeout: 5_000,
        credentials: amqpCredentials(this.options.url, this.options.password),
      });
    } catch (error) {
      this.scheduleReconnect(error);
      return;
    }
    if (this.stopping) {
      await connection.close().catch(() => undefined);
      return;
    }
    connection.on('error', (error: unknown) => this.log.warn({ err: error }, 'RabbitMQ connection error'));
    connection.once('close', () => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      if (!this.stopping) this.scheduleReconnect(new Error('connection closed'));
    });
    try {
      for (const setup of this.setups) await setup(connection);
    } catch (error) {
      this.log.error({ err: error }, 'RabbitMQ setup failed; reconnecting');
      await connection.close().catch(() => undefined);
      this.scheduleReconnect(error);
      return;
    }
    if (this.stopping) {
      // close() ran while the setups did: this connection must not outlive it.
      await connection.close().catch(() => undefined);
      return;
    }
    this.connection = connection;
    this.attempt = 0;
    this.log.info('connected to RabbitMQ');
    for (const waiter of [...this.waiters]) waiter();
  }

  private scheduleReconnect(reason: unknown): void {
    if (this.stopping || this.retryTimer) return;
    const delay = Math.min(this.delays.max, this.delays.initial * 2 ** this.attempt);
    this.attempt += 1;
    this.log.warn({ err: reason, retryInMs: delay, attempt: this.attempt }, 'RabbitMQ unavailable; will retry');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
  }
}
