import type { ChannelModel, ConfirmChannel as Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { sharedMetric } from '../runtime/metrics';
import { runInContext } from '../runtime/context';
import { EVENT_VERSION, PoisonMessageError, parseEventMessage, type AnyEvent } from '../contracts/events';
import type { AmqpConnection } from './connection';
import { isDependencyFailure } from './dependency-failure';
import { assertConsumerQueues, parkedQueueName, retryQueueName, type Topology } from './topology';

/** What a handler did with an event; 'duplicate' when it had already been handled. */
export type HandlerOutcome = 'handled' | 'duplicate' | 'ignored';

export interface ConsumerOptions {
  connection: AmqpConnection;
  topology: Topology;
  /** Full queue name (see queueName). */
  queue: string;
  /** Routing keys to bind, e.g. ['user.registered', 'message.*']. */
  routingKeys: readonly string[];
  handle: (event: AnyEvent) => Promise<HandlerOutcome | void>;
  logger: Logger;
  registry?: Registry;
  prefetch?: number;
  /** Attempts before a failing event is dead-lettered (an unreachable dependency spends none). */
  maxAttempts?: number;
  /** Wait before attempt n+1 is retryDelaysMs[n-1] (the last value repeats). */
  retryDelaysMs?: readonly number[];
  /** First and longest wait between tries while a dependency is unreachable (doubling in between). */
  dependencyBackoffMs?: { initial: number; max: number };
}

const ATTEMPT_HEADER = 'x-attempt';
const DEPENDENCY_BACKOFF_MS = { initial: 250, max: 30_000 };

/**
 * Consumes domain events from the consumer's own durable queue. Each message is acknowledged on
 * the channel that delivered it, after the handler (and its transaction) finished. Messages are
 * handled one at a time in delivery order.
 *
 * Two kinds of failure are told apart. When a dependency is unreachable (PostgreSQL or Redis
 * down, a connection cut), the event is not at fault: the consumer keeps it and tries it again
 * with backoff, without limit, and takes nothing else meanwhile, so an outage of any length
 * loses nothing and reorders nothing. Any other failure goes to a delay queue and comes back;
 * after maxAttempts, or at once when it can never succeed (poison), it is rejected into
 * `<queue>.dlq`.
 */
export class EventConsumer {
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly log: Logger;
  private readonly maxAttempts: number;
  private readonly retryDelaysMs: readonly number[];
  private readonly outcomes: Counter<'type' | 'outcome'>;
  private readonly duration: Histogram<'type'>;
  private readonly waiting: Gauge;
  private readonly backoff: { initial: number; max: number };
  /** Ends the current wait for a dependency early (on stop). */
  private wake: (() => void) | undefined;

  constructor(private readonly options: ConsumerOptions) {
    this.log = options.logger.child({ component: 'consumer', queue: options.queue });
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retryDelaysMs = options.retryDelaysMs ?? [1_000, 5_000, 30_000];
    this.backoff = options.dependencyBackoffMs ?? DEPENDENCY_BACKOFF_MS;
    this.outcomes = sharedMetric(options.registry, 'events_consumed_total', (registers) =>
      new Counter({
        name: 'events_consumed_total',
        help: 'Domain events taken from the queue, by outcome',
        labelNames: ['type', 'outcome'] as const,
        registers,
      }),
    );
    this.duration = sharedMetric(options.registry, 'event_handling_duration_seconds', (registers) =>
      new Histogram({
        name: 'event_handling_duration_seconds',
        help: 'Time to handle one domain event',
        labelNames: ['type'] as const,
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
        registers,
      }),
    );
    this.waiting = sharedMetric(options.registry, 'events_consumer_waiting_for_dependency', (registers) =>
      new Gauge({
        name: 'events_consumer_waiting_for_dependency',
        help: '1 while the consumer holds an event because a dependency it needs is unreachable',
        registers,
      }),
    );
  }

  /** True while a channel is subscribed to the queue (for readiness). */
  get isConsuming(): boolean {
    return this.consumerTag !== undefined;
  }

  /** Starts consuming now if connected and again after every reconnect. */
  async start(): Promise<void> {
    await this.options.connection.addSetup((model) => this.subscribe(model));
  }

  /** Stops taking new messages and waits for the one being handled to be acknowledged. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    const { channel, consumerTag } = this;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
    await this.inFlight;
    this.channel = undefined;
    this.consumerTag = undefined;
    await channel?.close().catch(() => undefined);
  }

  private async subscribe(model: ChannelModel): Promise<void> {
    if (this.stopped) return;
    const { topology, queue, routingKeys, prefetch } = this.options;
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: unknown) => this.log.warn({ err: error }, 'consumer channel error'));
    channel.once('close', () => this.lost(channel, 'consumer channel closed'));
    await assertConsumerQueues(channel, topology, queue, routingKeys, this.retryDelaysMs);
    await this.unpark(channel);
    await channel.prefetch(prefetch ?? 20);
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (!message) {
        // Cancelled by the broker (the queue was deleted): subscribe again, declaring it anew.
        this.lost(channel, 'consumer cancelled by the broker');
        return;
      }
      this.inFlight = this.inFlight.then(() => this.process(channel, message));
    });
    this.channel = channel;
    this.consumerTag = consumerTag;
  }

  /** This channel no longer delivers: unless stopping, the connection is made again and with it the subscription. */
  private lost(channel: Channel, reason: string): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.consumerTag = undefined;
    if (!this.stopped) void this.options.connection.reset(reason);
  }

  private async process(channel: Channel, message: ConsumeMessage): Promise<void> {
    let parsed;
    try {
      parsed = parseEventMessage(message.content);
    } catch (error) {
      this.log.error({ err: error, messageId: message.properties.messageId }, 'poison message; dead-lettering');
      this.outcomes.inc({ type: message.fields.routingKey, outcome: 'dead_lettered' });
      this.settle(channel, message, 'reject');
      return;
    }
    if (parsed.kind === 'newer-version') {
      this.log.warn({ type: parsed.type, eventId: parsed.id, version: parsed.version }, 'event of a newer version; parking it for a newer consumer');
      this.outcomes.inc({ type: parsed.type, outcome: 'parked' });
      await this.park(channel, message);
      return;
    }
    if (parsed.kind === 'unknown-type') {
      this.log.warn({ type: parsed.type, eventId: parsed.id }, 'event type unknown to this version; skipping');
      this.outcomes.inc({ type: parsed.type, outcome: 'ignored' });
      this.settle(channel, message, 'ack');
      return;
    }
    const { event } = parsed;
    await runInContext({ requestId: event.correlationId }, () => this.handle(channel, message, event));
  }

  private async handle(channel: Channel, message: ConsumeMessage, event: AnyEvent): Promise<void> {
    for (let tries = 0; ; tries += 1) {
      const stopTimer = this.duration.startTimer({ type: event.type });
      try {
        const outcome = (await this.options.handle(event)) ?? 'handled';
        stopTimer();
        if (tries > 0) this.log.info({ eventId: event.id, type: event.type, tries }, 'dependency back; event handled');
        this.waiting.set(0);
        this.outcomes.inc({ type: event.type, outcome });
        this.log.debug({ eventId: event.id, type: event.type, outcome }, 'event handled');
        this.settle(channel, message, 'ack');
        return;
      } catch (error) {
        if (error instanceof PoisonMessageError || !isDependencyFailure(error)) {
          await this.failed(channel, message, event, error);
          return;
        }
        // Left unacknowledged on stop: the broker hands it to the next consumer.
        if (this.stopped) return;
        if (tries === 0) this.log.warn({ err: error, eventId: event.id, type: event.type }, 'a dependency is unreachable; holding the event until it is back');
        this.waiting.set(1);
        this.outcomes.inc({ type: event.type, outcome: 'dependency_unavailable' });
        await this.pause(Math.min(this.backoff.max, this.backoff.initial * 2 ** tries));
        if (this.stopped) return;
      }
    }
  }

  /** The event itself failed: retried through a delay queue, dead-lettered once out of attempts. */
  private async failed(channel: Channel, message: ConsumeMessage, event: AnyEvent, error: unknown): Promise<void> {
    this.waiting.set(0);
    const attempt = Number(message.properties.headers?.[ATTEMPT_HEADER] ?? 1);
    if (error instanceof PoisonMessageError || attempt >= this.maxAttempts) {
      this.log.error({ err: error, eventId: event.id, type: event.type, attempt }, 'event failed for good; dead-lettering');
      this.outcomes.inc({ type: event.type, outcome: 'dead_lettered' });
      this.settle(channel, message, 'reject');
      return;
    }
    this.log.warn({ err: error, eventId: event.id, type: event.type, attempt }, 'event failed; will retry');
    this.outcomes.inc({ type: event.type, outcome: 'retried' });
    await this.retryLater(channel, message, attempt);
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
  }

  /** Moves the message to `<queue>.parked` (confirmed first, then acked: never lost, at worst kept twice). */
  private async park(channel: Channel, message: ConsumeMessage): Promise<void> {
    try {
      channel.sendToQueue(parkedQueueName(this.options.queue), message.content, message.properties);
      await channel.waitForConfirms();
      this.settle(channel, message, 'ack');
    } catch (error) {
      this.log.warn({ err: error }, 'could not park an event; it will be redelivered');
    }
  }

  /**
   * Gives back to the main queue what an older consumer parked and this one can read. Runs on
   * every connection, so a rolling deploy's newer replicas pick up what the older ones set aside.
   */
  private async unpark(channel: Channel): Promise<void> {
    const parked = parkedQueueName(this.options.queue);
    const { messageCount } = await channel.checkQueue(parked);
    for (let index = 0; index < messageCount; index += 1) {
      const message = await channel.get(parked, { noAck: false });
      if (!message) return;
      if (envelopeVersion(message.content) > EVENT_VERSION) {
        channel.nack(message, false, true);
        return;
      }
      channel.sendToQueue(this.options.queue, message.content, message.properties);
      await channel.waitForConfirms();
      channel.ack(message);
      this.log.info({ eventId: message.properties.messageId }, 'took back a parked event');
    }
  }

  /** Parks a copy in the delay queue for this attempt, then acks the original (confirmed first, so nothing is lost). */
  private async retryLater(channel: Channel, message: ConsumeMessage, attempt: number): Promise<void> {
    const delayMs = this.retryDelaysMs[Math.min(attempt - 1, this.retryDelaysMs.length - 1)] ?? 1_000;
    try {
      channel.sendToQueue(retryQueueName(this.options.queue, delayMs), message.content, {
        ...message.properties,
        headers: { ...message.properties.headers, [ATTEMPT_HEADER]: attempt + 1 },
      });
      await channel.waitForConfirms();
      this.settle(channel, message, 'ack');
    } catch (error) {
      // The channel is gone: the broker redelivers the original, so nothing is lost.
      this.log.warn({ err: error }, 'could not schedule a retry');
    }
  }

  private settle(channel: Channel, message: ConsumeMessage, how: 'ack' | 'reject'): void {
    try {
      if (how === 'ack') channel.ack(message);
      else channel.nack(message, false, false);
    } catch (error) {
      // Acks belong to the channel that delivered; if it closed, the broker redelivers and the
      // idempotent handler sees a duplicate.
      this.log.warn({ err: error }, 'could not settle message; it will be redelivered');
    }
  }
}

/** The envelope version of a message body; 0 when it cannot be read (the main queue sorts that out). */
function envelopeVersion(body: Buffer): number {
  try {
    const { version } = JSON.parse(body.toString('utf8')) as { version?: unknown };
    return typeof version === 'number' ? version : 0;
  } catch {
    return 0;
  }
}
