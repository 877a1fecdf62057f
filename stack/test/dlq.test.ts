import { randomUUID } from 'node:crypto';
import amqplib, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { assertConsumerQueues, createEvent, deadLetterQueueName, type Topology } from '@board/service-kit';
import { type AnyEvent } from '@board/service-kit/contracts';
import { TEST_AMQP_URL, TestWorld } from '@board/service-kit/testing';
import { listDeadLetters, replayDeadLetters, runDlq, type BrokerSettings, type Output } from '../src/dlq';

/*
 * Dead letters are made the way the kit's consumer makes them: a message taken from the consumer
 * queue and rejected, which the broker moves to `<queue>.dlq` with its x-death history.
 */
const CONSUMER = 'dlq-tool';
const RETRY_DELAYS = [1_000];

let world: TestWorld;
let topology: Topology;
let queue: string;
let dlq: string;
let settings: BrokerSettings;
let connection: ChannelModel;
let channel: Channel;

async function declareQueues(): Promise<void> {
  await assertConsumerQueues(channel, topology, queue, ['user.*'], RETRY_DELAYS);
}

beforeAll(async () => {
  world = await TestWorld.create({ redis: false, retryDelaysMs: RETRY_DELAYS });
  topology = world.topology;
  queue = world.ownQueue(CONSUMER);
  dlq = deadLetterQueueName(queue);
  settings = { url: TEST_AMQP_URL, queuePrefix: topology.queuePrefix };
  connection = await amqplib.connect(TEST_AMQP_URL);
  world.onCleanUp(() => connection.close());
  channel = await connection.createChannel();
  await declareQueues();
});

afterAll(() => world.cleanUp());

/** Three events that failed after some attempts, and a message that is no event at all. */
let events: AnyEvent[];

beforeEach(async () => {
  await declareQueues();
  await channel.purgeQueue(queue);
  await channel.purgeQueue(dlq);
  events = [
    createEvent('test', 'user.deleted', { id: randomUUID() }),
    createEvent('test', 'user.updated', { id: randomUUID(), username: 'ada', displayName: 'Ada\nLovelace' }),
    createEvent('test', 'user.deleted', { id: randomUUID() }),
  ];
  for (const event of events) {
    await deadLetter(Buffer.from(JSON.stringify(event)), { messageId: event.id, type: event.type, headers: { 'x-attempt': 5 } });
  }
  await deadLetter(Buffer.from('not json {'), {});
});

async function deadLetter(content: Buffer, options: amqplib.Options.Publish): Promise<void> {
  channel.sendToQueue(queue, content, { persistent: true, ...options });
  const message = await waitForMessage(queue);
  channel.nack(message, false, false);
}

async function waitForMessage(name: string): Promise<GetMessage> {
  for (let tries = 0; tries < 100; tries += 1) {
    const message = await channel.get(name, { noAck: false });
    if (message) return message;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no message in ${name}`);
}

/** Every message in `name`, taken off it. */
async function drain(name: string): Promise<GetMessage[]> {
  const messages: GetMessage[] = [];
  for (;;) {
    const message = await channel.get(name, { noAck: true });
    if (!message) return messages;
    messages.push(message);
  }
}

/** Both of the CLI's outputs into one list, in the order written. */
const collect = (lines: string[]): Output => ({ out: (line) => lines.push(line), err: (line) => lines.push(line) });

const eventIdOf = (message: GetMessage) => (message.content.toString().startsWith('{') ? (JSON.parse(message.content.toString()) as { id: string }).id : message.content.toString());
const ids = () => [...events.map((event) => event.id), 'not json {'];

describe('npm run dlq -- list', () => {
  it('describes every dead letter and leaves them all in place, in their order', async () => {
    const letters = await listDeadLetters(settings, CONSUMER);
    expect(letters.map(({ eventId, type, occurredAt, attempt }) => ({ eventId, type, occurredAt, attempt }))).toEqual([
      ...events.map((event) => ({ eventId: event.id, type: event.type, occurredAt: event.occurredAt, attempt: 5 })),
      { eventId: undefined, type: undefined, occurredAt: undefined, attempt: undefined },
    ]);
    for (const letter of letters) {
      expect(letter.deaths).toEqual([{ reason: 'rejected', queue, count: 1, time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
    }
    expect(letters[1]!.excerpt).toBe(JSON.stringify(events[1]!.data));
    expect(letters[3]!.excerpt).toBe('not json {');
    expect(await listDeadLetters(settings, CONSUMER)).toEqual(letters);
    expect((await drain(dlq)).map(eventIdOf)).toEqual(ids());
  });

  it('prints one entry per message, with its data on one line, reading the broker settings as the services do', async () => {
    const lines: string[] = [];
    const url = new URL(TEST_AMQP_URL);
    const password = decodeURIComponent(url.password);
    url.password = 'not-the-password';
    const env = { AMQP_URL: url.toString(), AMQP_PASSWORD: password, EVENTS_QUEUE_PREFIX: topology.queuePrefix };
    expect(await runDlq(['list', CONSUMER], env, collect(lines))).toBe(0);
    const output = lines.join('\n');
    for (const event of events) expect(output).toContain(`${event.id}  ${event.type}  occurred ${event.occurredAt}  attempt 5  rejected from ${queue} x1 at `);
    expect(output).toContain('"displayName":"Ada\\nLovelace"');
    expect(output).toContain('(no event id)  (no type)');
    expect(lines.at(-1)).toBe(`4 dead-lettered messages in ${dlq}, left in place`);
    expect(output.split('\n')).toHaveLength(2 * 4 + 1);
    expect(await channel.checkQueue(dlq)).toMatchObject({ messageCount: 4 });
  });

  it('refuses bad usage and a queue the broker does not have, touching nothing', async () => {
    const lines: string[] = [];
    const env = { EVENTS_QUEUE_PREFIX: topology.queuePrefix, AMQP_URL: TEST_AMQP_URL };
    expect(await runDlq(['list'], env, collect(lines))).toBe(2);
    expect(await runDlq(['drop', CONSUMER], env, collect(lines))).toBe(2);
    expect(await runDlq(['list', `${CONSUMER}.dlq`], env, collect(lines))).toBe(2);
    expect(lines.join('\n')).toContain(`name the consumer queue (${CONSUMER}), not its dead-letter queue`);
    expect(await runDlq(['list', CONSUMER], { ...env, AMQP_URL: 'http://nowhere' }, collect(lines))).toBe(2);
    expect(lines.at(-1)).toContain('AMQP_URL');
    await expect(runDlq(['replay', 'no-such-consumer'], env, collect([]))).rejects.toThrow(
      `no queue named ${topology.queuePrefix}no-such-consumer on the broker`,
    );
    expect(await channel.checkQueue(dlq)).toMatchObject({ messageCount: 4 });
  });
});

describe('npm run dlq -- replay', () => {
  it('moves one event back to its queue with a fresh attempt count, leaving the others in order', async () => {
    const lines: string[] = [];
    const env = { AMQP_URL: TEST_AMQP_URL, EVENTS_QUEUE_PREFIX: topology.queuePrefix };
    expect(await runDlq(['replay', CONSUMER, '--id', events[1]!.id], env, collect(lines))).toBe(0);
    expect(lines).toEqual([`replayed ${events[1]!.id} user.updated`, `1 message moved from ${dlq} back to ${queue}`]);

    const [replayed, ...more] = await drain(queue);
    expect(more).toEqual([]);
    expect(JSON.parse(replayed!.content.toString())).toEqual(events[1]);
    expect(replayed!.properties).toMatchObject({ messageId: events[1]!.id, type: 'user.updated', deliveryMode: 2 });
    expect(replayed!.properties.headers).toEqual({});
    expect((await drain(dlq)).map(eventIdOf)).toEqual([events[0]!.id, events[2]!.id, 'not json {']);
  });

  it('says so when no message has that event id', async () => {
    const lines: string[] = [];
    const env = { AMQP_URL: TEST_AMQP_URL, EVENTS_QUEUE_PREFIX: topology.queuePrefix };
    expect(await runDlq(['replay', CONSUMER, '--id', randomUUID()], env, collect(lines))).toBe(1);
    expect(lines.at(-1)).toMatch(/^no message of event /);
    expect((await drain(dlq)).map(eventIdOf)).toEqual(ids());
  });

  it('moves every message back, in order', async () => {
    expect(await replayDeadLetters(settings, CONSUMER)).toBe(4);
    expect(await channel.checkQueue(dlq)).toMatchObject({ messageCount: 0 });
    const replayed = await drain(queue);
    expect(replayed.map(eventIdOf)).toEqual(ids());
    for (const message of replayed) expect(message.properties.headers).toEqual({});
  });

  it('loses and duplicates nothing when its connection dies halfway', async () => {
    const proxy = await world.proxy(TEST_AMQP_URL);
    try {
      const cutAfterFirst = replayDeadLetters({ ...settings, url: proxy.urlFor(TEST_AMQP_URL) }, CONSUMER, { onReplayed: () => proxy.stop() });
      await expect(cutAfterFirst).rejects.toThrow();
    } finally {
      await proxy.stop();
    }
    expect((await drain(queue)).map(eventIdOf)).toEqual([events[0]!.id]);
    expect((await drain(dlq)).map(eventIdOf)).toEqual(ids().slice(1));
  });

  it('keeps a message in the dead-letter queue when the broker cannot route it back', async () => {
    const replayed: string[] = [];
    const deleteQueueAfterFirst = replayDeadLetters(settings, CONSUMER, {
      onReplayed: async (letter) => {
        replayed.push(letter.eventId!);
        await channel.deleteQueue(queue);
      },
    });
    await expect(deleteQueueAfterFirst).rejects.toThrow(`the broker could not route the message back to ${queue}`);
    expect(replayed).toEqual([events[0]!.id]);
    expect((await drain(dlq)).map(eventIdOf)).toEqual(ids().slice(1));
  });
});
