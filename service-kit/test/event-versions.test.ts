import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { EVENT_VERSION, type AnyEvent } from '../src/contracts/events';
import { createEvent } from '../src/events/envelope';
import { deadLetterQueueName, parkedQueueName, queueName, type Topology } from '../src/events/topology';
import { TEST_AMQP_URL, deleteTopology, observeEvents, peekQueue, publishRaw, testTopology, waitFor } from '../src/testing';

const CONSUMER = 'versions';
let topology: Topology;
let handled: readonly AnyEvent[] = [];
const started: { close: () => Promise<void> }[] = [];

beforeEach(() => {
  topology = testTopology();
  handled = [];
});

afterEach(async () => {
  for (const resource of started.splice(0).reverse()) await resource.close();
  await deleteTopology(topology, [queueName(topology, CONSUMER)]);
});

/** A consumer of the test's queue that records what it handles. */
async function startConsumer(): Promise<void> {
  const observer = await observeEvents({ topology, queue: queueName(topology, CONSUMER), routingKeys: ['user.*'] });
  started.push({ close: () => observer.stop() });
  handled = observer.events;
}

const queue = () => queueName(topology, CONSUMER);

describe('events of another envelope version', () => {
  it('When an event of a newer version arrives, Then it is parked, neither handled as the old version nor dead-lettered', async () => {
    await startConsumer();
    const newer = { ...createEvent('newer-producer', 'user.deleted', { id: randomUUID() }), version: EVENT_VERSION + 1 };
    const current = createEvent('kit-test', 'user.deleted', { id: randomUUID() });
    await publishRaw(topology, newer.type, newer);
    await publishRaw(topology, current.type, current);

    await waitFor(() => handled.some((event) => event.id === current.id), { what: 'the current event behind it' });
    expect(handled.map((event) => event.id)).toEqual([current.id]);
    const parked = await waitFor(async () => {
      const bodies = await peekQueue(parkedQueueName(queue()));
      return bodies.length === 1 ? bodies : undefined;
    }, { what: 'the parked event' });
    expect(JSON.parse(parked[0]!)).toMatchObject({ id: newer.id, version: EVENT_VERSION + 1 });
    expect(await peekQueue(deadLetterQueueName(queue()))).toEqual([]);
  });

  it('When a consumer that reads the parked version starts, Then it takes the parked events back and handles them', async () => {
    await startConsumer();
    for (const resource of started.splice(0).reverse()) await resource.close();
    // What an older replica set aside during a rolling deploy, now readable.
    const setAside = createEvent('kit-test', 'user.deleted', { id: randomUUID() });
    const stillNewer = { ...createEvent('newer-producer', 'user.deleted', { id: randomUUID() }), version: EVENT_VERSION + 1 };
    const connection = await amqplib.connect(TEST_AMQP_URL);
    const channel = await connection.createConfirmChannel();
    for (const event of [setAside, stillNewer]) channel.sendToQueue(parkedQueueName(queue()), Buffer.from(JSON.stringify(event)), { persistent: true, messageId: event.id });
    await channel.waitForConfirms();
    await connection.close();

    await startConsumer();
    await waitFor(() => handled.some((event) => event.id === setAside.id), { what: 'the parked event, handled' });
    const left = await peekQueue(parkedQueueName(queue()));
    expect(left.map((body) => (JSON.parse(body) as { id: string }).id)).toEqual([stillNewer.id]);
  });
});
