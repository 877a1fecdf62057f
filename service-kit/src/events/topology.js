"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.retryQueueName = exports.deadLetterQueueName = exports.queueName = exports.topologyFrom = exports.eventSettings = void 0;
exports.assertExchange = assertExchange;
exports.assertConsumerQueues = assertConsumerQueues;
const zod_1 = require("zod");
exports.eventSettings = {
    EVENTS_EXCHANGE: zod_1.z.string().min(1).default('domain.events'),
    EVENTS_QUEUE_PREFIX: zod_1.z.string().default(''),
};
const topologyFrom = (config) => ({
    exchange: config.EVENTS_EXCHANGE,
    queuePrefix: config.EVENTS_QUEUE_PREFIX,
});
exports.topologyFrom = topologyFrom;
const queueName = (topology, consumer) => `${topology.queuePrefix}${consumer}`;
exports.queueName = queueName;
const deadLetterQueueName = (queue) => `${queue}.dlq`;
exports.deadLetterQueueName = deadLetterQueueName;
const retryQueueName = (queue, delayMs) => `${queue}.retry.${delayMs}ms`;
exports.retryQueueName = retryQueueName;
async function assertExchange(channel, topology) {
    await channel.assertExchange(topology.exchange, 'topic', { durable: true });
}
/**
 * A consumer's queues: the main queue bound to its routing keys, one delay queue per retry step
 * (messages wait out the TTL there, then dead-letter back to the main queue), and `<queue>.dlq`
 * where rejected messages end up through the main queue's dead-letter settings.
 */
async function assertConsumerQueues(channel, topology, queue, routingKeys, retryDelaysMs) {
    await assertExchange(channel, topology);
    await channel.assertQueue((0, exports.deadLetterQueueName)(queue), { durable: true });
    for (const delayMs of new Set(retryDelaysMs)) {
        await channel.assertQueue((0, exports.retryQueueName)(queue, delayMs), {
            durable: true,
            arguments: { 'x-message-ttl': delayMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
        });
    }
    await channel.assertQueue(queue, {
        durable: true,
        arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': (0, exports.deadLetterQueueName)(queue) },
    });
    for (const key of routingKeys)
        await channel.bindQueue(queue, topology.exchange, key);
}
//# sourceMappingURL=topology.js.map