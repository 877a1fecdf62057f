import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { assertExchange, type Topology } from './topology';
import type { AmqpConnection } from './connection';
import type { EventEnvelope } from './catalog';

export class PublisherUnavailableError extends Error {
  override name = 'PublisherUnavailableError';
}

/** Publishes persistent events on the topic exchange and resolves only once the broker confirms each. */
export class EventPublisher {
  private channel: ConfirmChannel | undefined;

  constructor(
    connection: AmqpConnection,
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
    const content = Buffer.from(JSON.stringify(event));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new PublisherUnavailableError('no publisher confirm in time')), this.confirmTimeoutMs);
      channel.publish(
        this.topology.exchange,
        event.type,
        content,
        {
          persistent: true,
          contentType: 'application/json',
          messageId: event.id,
          correlationId: event.correlationId,
          type: event.type,
          appId: event.producer,
          timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
        },
        (error) => {
          clearTimeout(timer);
          if (error) reject(error instanceof Error ? error : new Error(String(error)));
          else resolve();
        },
      );
    });
  }

  private async openChannel(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: unknown) => this.logger.warn({ err: error }, 'publisher channel error'));
    channel.once('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    await assertExchange(channel, this.topology);
    this.channel = channel;
  }
}
