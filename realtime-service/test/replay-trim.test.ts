import { randomUUID } from 'node:crypto';
import { closeRedis, createEvent, createRedis, redisReady, type Redis } from '@board/service-kit';
import { type AnyEvent } from '@board/service-kit/contracts';
import { TEST_REDIS_URL, TestWorld, silentLogger, waitFor } from '@board/service-kit/testing';
import request from 'supertest';
import { isAfter } from '../src/domain/stream-id';
import { start, type RunningService } from '../src/service';
import { asHeaders, messageData, metricValue, someone, testConfig, waitUntilReady } from './support/harness';
import { SseReader } from './support/sse-reader';

/*
 * A replay reads the stream in batches (200 entries) and waits for a slow client between writes,
 * while appends keep trimming the stream. When the entries after the replay's cursor are trimmed
 * before it reads them, the client must be told to resync rather than be handed the rest with a
 * silent gap.
 */
const STREAM_MAX_LENGTH = 300;
const MISSED = 250; // more than one replay batch, fewer than the stream holds
/** Large enough that one batch is far more than the socket buffers between server and client hold. */
const BIG_BODY = 'x'.repeat(64 * 1024);

let world: TestWorld;
let redis: Redis;
let instance: RunningService;
let reader: SseReader | undefined;

beforeAll(async () => {
  world = await TestWorld.create();
  redis = createRedis(TEST_REDIS_URL, silentLogger(), 'replay-trim-test');
  world.onCleanUp(() => closeRedis(redis));
  await redisReady(redis);
  instance = world.track(await start(testConfig(world, { STREAM_MAX_LENGTH: String(STREAM_MAX_LENGTH) })));
  await waitUntilReady(instance.url);
});

afterAll(async () => {
  reader?.close();
  await world.cleanUp();
});

const message = (body = 'hello'): AnyEvent => createEvent('test-producer', 'message.created', messageData('general', randomUUID(), body));

async function append(event: AnyEvent): Promise<string> {
  const id = await instance.eventLog.append(event);
  if (id === null) throw new Error('the event was appended before');
  return id;
}

describe('a replay overtaken by trimming', () => {
  it('sends resync once the stream no longer reaches back to where the replay is, never a silent gap', async () => {
    const seen = await append(message());
    const missed: string[] = [];
    for (let index = 0; index < MISSED; index += 1) missed.push(await append(message(BIG_BODY)));

    reader = await SseReader.open(`${instance.url}/api/events`, { ...asHeaders(someone('member')), 'last-event-id': seen }, { paused: true });
    expect(reader.status).toBe(200);
    // The replay has read its first batch and is writing it to a client that reads nothing.
    await waitFor(async () => (await metricValue(instance.url, 'sse_events_delivered_total', { type: 'message.created' })) > 0, {
      what: 'the replay to begin',
    });
    // A busy board meanwhile: enough appends to trim every entry the replay has yet to read.
    let newest = '';
    for (let index = 0; index < 2 * STREAM_MAX_LENGTH; index += 1) newest = await append(message());
    expect(isAfter((await instance.eventLog.bounds()).first!, missed.at(-1)!)).toBe(true);

    reader.resume();
    const stream = reader;
    await waitFor(() => stream.frames.some((frame) => frame.event === 'resync' || frame.id === newest), {
      what: 'the replay to end',
      timeoutMs: 20_000,
    });
    const resyncAt = stream.frames.findIndex((frame) => frame.event === 'resync');
    const beforeResync = resyncAt < 0 ? stream.frames : stream.frames.slice(0, resyncAt);
    const missedReceived = beforeResync.filter((frame) => missed.includes(frame.id!)).length;
    // The replay got part of the way, then was told to resync: no event after that and no gap before it.
    expect({ missedReceived: missedReceived < MISSED, resync: stream.frames[resyncAt] }).toEqual({
      missedReceived: true,
      resync: { id: newest, event: 'resync', data: JSON.stringify({ reason: 'too_old' }) },
    });
    expect(beforeResync.map((frame) => frame.id)).toEqual(missed.slice(0, missedReceived));
    expect(stream.frames).toHaveLength(resyncAt + 1);
    // supertest closes its connection: a keep-alive fetch this late would outlive the instance by a second.
    expect((await request(instance.url).get('/metrics')).text).toMatch(/^sse_resyncs_total\{reason="too_old",[^}]*\} 1$/m);
  }, 60_000);
});
