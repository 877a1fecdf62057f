import type { Channel } from 'amqplib';
import { z } from 'zod';
/**
 * Names on the broker. Production uses the defaults; tests give each run its own exchange and
 * queue prefix so that concurrent runs on one broker never see each other's events.
 */
export interface Topology {
    exchange: string;
    queuePrefix: string;
}
export declare const eventSettings: {
    EVENTS_EXCHANGE: z.ZodDefault<z.ZodString>;
    EVENTS_QUEUE_PREFIX: z.ZodDefault<z.ZodString>;
};
export declare const topologyFrom: (config: {
    EVENTS_EXCHANGE: string;
    EVENTS_QUEUE_PREFIX: string;
}) => Topology;
export declare const queueName: (topology: Topology, consumer: string) => string;
export declare const deadLetterQueueName: (queue: string) => string;
export declare const retryQueueName: (queue: string, delayMs: number) => string;
export declare function assertExchange(channel: Channel, topology: Topology): Promise<void>;
/**
 * A consumer's queues: the main queue bound to its routing keys, one delay queue per retry step
 * (messages wait out the TTL there, then dead-letter back to the main queue), and `<queue>.dlq`
 * where rejected messages end up through the main queue's dead-letter settings.
 */
export declare function assertConsumerQueues(channel: Channel, topology: Topology, queue: string, routingKeys: readonly string[], retryDelaysMs: readonly number[]): Promise<void>;
