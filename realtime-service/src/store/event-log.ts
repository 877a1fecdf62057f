import type { ChainableCommander } from 'ioredis';
import type { Redis } from '@board/service-kit';
import type { AnyEvent } from '@board/service-kit/contracts';
import { isAfter } from '../domain/stream-id';

/** How long an appended event id is remembered; RabbitMQ redelivers long before this. */
const SEEN_TTL_SECONDS = 86_400;

/**
 * Appends an event once: the SET NX marker, the XADD and the PUBLISH happen atomically, so a
 * redelivered event, or one that two competing instances both received, is appended and published
 * exactly once, and no subscriber ever sees a live event that the stream does not hold.
 * KEYS: seen marker, stream. ARGV: marker TTL, stream length, type, envelope JSON, live channel.
 */
const APPEND_SCRIPT = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return false end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'type', ARGV[3], 'event', ARGV[4])
redis.call('PUBLISH', ARGV[5], id .. '\\n' .. ARGV[4])
return id
`;

interface AppendCommand {
  appendRealtimeEvent(
    seenKey: string,
    streamKey: string,
    seenTtlSeconds: number,
    maxLength: number,
    type: string,
    envelope: string,
    liveChannel: string,
  ): Promise<string | null>;
}

/** An event as the stream holds it: its stream id and its envelope. */
export interface LoggedEvent {
  readonly id: string;
  readonly event: AnyEvent;
}

/** The bounded Redis stream every instance replays from, and the pub/sub channel it announces appends on. */
export class EventLog {
  readonly streamKey: string;
  readonly liveChannel: string;
  private readonly redis: Redis & AppendCommand;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly maxLength: number,
  ) {
    redis.defineCommand('appendRealtimeEvent', { numberOfKeys: 2, lua: APPEND_SCRIPT });
    this.redis = redis as Redis & AppendCommand;
    this.streamKey = `${prefix}events:stream`;
    this.liveChannel = `${prefix}events:live`;
  }

  /** Appends and publishes `event`; its stream id, or null when it had been appended before. */
  append(event: AnyEvent): Promise<string | null> {
    return this.redis.appendRealtimeEvent(
      `${this.prefix}rt:seen:${event.id}`,
      this.streamKey,
      SEEN_TTL_SECONDS,
      this.maxLength,
      event.type,
      JSON.stringify(event),
      this.liveChannel,
    );
  }

  /** The ids of the oldest and newest entries the stream still holds (none when it is empty). */
  async bounds(): Promise<{ first?: string; last?: string }> {
    const [first, last] = await Promise.all([
      this.redis.xrange(this.streamKey, '-', '+', 'COUNT', 1),
      this.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', 1),
    ]);
    return { first: first[0]?.[0], last: last[0]?.[0] };
  }

  /**
   * Up to `count` entries strictly after stream id `after`, oldest first, and whether the stream
   * still reached back to `after` as they were read. Trimming takes the oldest entries first, so
   * while the oldest is at or before `after` nothing after it is gone; once trimming has passed
   * it, entries between `after` and the first one read may have been lost. One transaction reads
   * both, so they describe the same moment.
   */
  async readAfter(after: string, count: number): Promise<{ entries: LoggedEvent[]; reachesBack: boolean }> {
    const [oldest, entries] = await transactionResults<[[string, string[]][], [string, string[]][]]>(
      this.redis.multi().xrange(this.streamKey, '-', '+', 'COUNT', 1).xrange(this.streamKey, `(${after}`, '+', 'COUNT', count),
    );
    const oldestId = oldest[0]?.[0];
    return {
      entries: entries.map(([id, fields]) => ({ id, event: envelopeFrom(fields) })),
      reachesBack: oldestId !== undefined && !isAfter(oldestId, after),
    };
  }
}

/** The replies of a MULTI, in order; the first failed command's error is thrown. */
async function transactionResults<Results extends unknown[]>(transaction: ChainableCommander): Promise<Results> {
  const replies = await transaction.exec();
  if (!replies) throw new Error('the Redis transaction was aborted');
  const failed = replies.find(([error]) => error);
  if (failed) throw failed[0];
  return replies.map(([, result]) => result) as Results;
}

/** Reads a message from the live channel: `<stream id>\n<envelope JSON>`. */
export function parseLiveMessage(message: string): LoggedEvent {
  const separator = message.indexOf('\n');
  return { id: message.slice(0, separator), event: parseEnvelope(message.slice(separator + 1)) };
}

/** An entry's fields come as [name, value, name, value, ...]. */
function envelopeFrom(fields: readonly string[]): AnyEvent {
  for (let index = 0; index < fields.length; index += 2) {
    if (fields[index] === 'event') return parseEnvelope(fields[index + 1] ?? '');
  }
  throw new Error('stream entry without an event');
}

// Only the consumer writes the stream, and only envelopes the kit validated against the catalog.
const parseEnvelope = (json: string): AnyEvent => JSON.parse(json) as AnyEvent;
