import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import type { Logger } from 'pino';
import { assertBoardQueues, type Topology } from './topology';
import type { AmqpConnection } from './connection';
import type { EventEnvelope } from '../contracts/events';

export class PublisherUnavailableError extends Error {
  override name = 'PublisherUnavailableError';
}

/** The broker took the event but no queue was bound to its routing key: nobody would ever get it. */
export class UnroutableEventError extends Error {
  override name = 'UnroutableEventError';
}

/**
 * Publishes persistent events on the topic exchange and resolves only once the broker confirms
 * each. Events are published `mandatory`: one that no queue would take comes back and counts as
 * not published (the outbox keeps it), and the board's queues are declared again before the next
 * publish, so a queue deleted under a running service is back for the retry.
 */
export class EventPublisher {
  private channel: ConfirmChannel | undefined;
  /** Message ids the broker returned as unroutable, until their confirm arrives. */
  private readonly returned = new Set<string>();
  private queuesMissing = false;

  constructor(
    private readonly connection: AmqpConnection,
    private readonly topology: Topology,
    private readonly logger: Logger,
    private readonly confirmTimeoutMs = 5_000,
  ) {
    void connection.addSetup((model) => this.openChannel(model));
  }

  get isReady(): boolean {
    return this.channel !== undefined;
  }

  async publish(event: EventEnvelope): Promise<void> {
    const channel = this.channel;
    if (!channel) throw new PublisherUnavailableError('not connected to RabbitMQ');
    if (this.queuesMissing) {
      this.queuesMissing = false;
      await assertBoardQueues(channel, this.topology);
    }
    const content = Buffer.from(JSON.stringify(event));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new PublisherUnavailableError('no publisher confirm in time')), this.confirmTimeoutMs);
      channel.publish(
        this.topology.exchange,
        event.type,
        content,
        {
          persistent: true,
          mandatory: true,
          contentType: 'application/json',
          messageId: event.id,
          correlationId: event.correlationId,
          type: event.type,
          appId: event.producer,
          timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
        },
        (error) => {
          clearTimeout(timer);
          // A return arrives before the confirm of the same message.
          const unroutable = this.returned.delete(event.id);
          if (error) reject(error instanceof Error ? error : new Error(String(error)));
          else if (unroutable) reject(new UnroutableEventError(`no queue is bound to ${event.type} on ${this.topology.exchange}`));
          else resolve();
        },
      );
    });
  }

  private async openChannel(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: unknown) => this.logger.warn({ err: error }, 'publisher channel error'));
    channel.once('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      // The broker closed the channel (e.g. a publish to a deleted exchange) while the connection
      // may well stay up: make it again, so that the setup opens a new channel.
      void this.connection.reset('publisher channel closed');
    });
    channel.on('return', (message: Message) => this.onReturn(message));
    await assertBoardQueues(channel, this.topology);
    this.channel = channel;
  }

  private onReturn(message: Message): void {
    const { messageId } = message.properties as { messageId?: string };
    this.logger.warn({ eventId: messageId, type: message.fields.routingKey }, 'event returned unroutable; it stays in the outbox');
    if (messageId) this.returned.add(messageId);
    this.queuesMissing = true;
  }
}
