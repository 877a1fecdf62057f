import { parseArgs } from 'node:util';
import amqplib, { type ConfirmChannel, type GetMessage, type MessageProperties } from 'amqplib';
import {
  ConfigError,
  amqpCredentials,
  amqpUrl,
  connectionPassword,
  deadLetterQueueName,
  eventSettings,
  parseConfig,
  type Env,
} from '@board/service-kit';

const USAGE = `Usage: npm run dlq -- list <queue>
       npm run dlq -- replay <queue> [--id <eventId>]

Dead-lettered events of a consumer queue (e.g. realtime-service), kept in <queue>.dlq.
  list    prints each one (event id, type, when it occurred, why it was dead-lettered, its data)
          and leaves them all in place
  replay  moves them back to <queue> to be handled again, each confirmed by the broker before it
          leaves the dead-letter queue; --id moves only the one with that event id
Environment: AMQP_URL (default amqp://guest:guest@127.0.0.1:5672), AMQP_PASSWORD,
EVENTS_QUEUE_PREFIX (as the services have them).`;

/** The kit consumer's count of attempts spent on a message (service-kit events/consumer.ts). */
const ATTEMPT_HEADER = 'x-attempt';
/** Headers the broker adds when it dead-letters a message; a replayed message starts afresh. */
const DEATH_HEADERS = ['x-death', 'x-first-death-reason', 'x-first-death-queue', 'x-first-death-exchange', 'x-last-death-reason', 'x-last-death-queue', 'x-last-death-exchange'];
const EXCERPT_LENGTH = 120;

const dlqConfigShape = {
  AMQP_URL: amqpUrl(),
  AMQP_PASSWORD: connectionPassword(),
  EVENTS_QUEUE_PREFIX: eventSettings.EVENTS_QUEUE_PREFIX,
};

export interface BrokerSettings {
  url: string;
  password?: string;
  queuePrefix: string;
}

function brokerSettingsFrom(env: Env): BrokerSettings {
  const config = parseConfig(dlqConfigShape, env);
  return { url: config.AMQP_URL, password: config.AMQP_PASSWORD, queuePrefix: config.EVENTS_QUEUE_PREFIX };
}

/** One dead-lettered message as the broker holds it; fields the body lacks are undefined. */
export interface DeadLetter {
  eventId?: string;
  type?: string;
  occurredAt?: string;
  attempt?: number;
  /** The broker's x-death entries, most recent first. */
  deaths: { reason: string; queue: string; count: number; time?: string }[];
  /** The event's data (or the whole body when it is no event), on one line. */
  excerpt: string;
}

export class DeadLetterError extends Error {
  override name = 'DeadLetterError';
}

/**
 * Every message in `<queue>.dlq`, left in place: each is taken unacknowledged and all of them are
 * released together at the end, which puts them back where they were (a requeue of one at a time
 * would hand the same message out again and again).
 */
export async function listDeadLetters(settings: BrokerSettings, queue: string): Promise<DeadLetter[]> {
  return withChannel(settings, async (channel) => {
    const dlq = deadLetterQueueName(fullName(settings, queue));
    const { messageCount } = await expectQueue(channel, dlq, settings);
    const letters: DeadLetter[] = [];
    try {
      while (letters.length < messageCount) {
        const message = await channel.get(dlq, { noAck: false });
        if (!message) break;
        letters.push(readLetter(message));
      }
    } finally {
      releaseHeld(channel);
    }
    return letters;
  });
}

export interface ReplayOptions {
  /** Replays only the messages of this event id. */
  eventId?: string;
  /** Told after each message is back on the queue and gone from the dead-letter queue. */
  onReplayed?: (letter: DeadLetter) => Promise<void> | void;
}

/**
 * Moves the messages of `<queue>.dlq` back to `<queue>`, with the kit's attempt count and the
 * broker's dead-letter history reset. Each is republished `mandatory` and confirmed before it is
 * acknowledged from the dead-letter queue, and that ack is seen taken before the next message, so
 * a run that dies halfway loses nothing: what was not confirmed is still in the dead-letter queue,
 * and at most the one message in flight is in both (its event id makes the consumer's claim drop
 * the second copy). The messages there when it starts are each replayed at most once, even if
 * dead-lettered again meanwhile. Returns how many were replayed.
 */
export async function replayDeadLetters(settings: BrokerSettings, queue: string, options: ReplayOptions = {}): Promise<number> {
  return withChannel(settings, async (channel) => {
    const target = fullName(settings, queue);
    const dlq = deadLetterQueueName(target);
    await expectQueue(channel, target, settings);
    const { messageCount } = await expectQueue(channel, dlq, settings);
    // One message is in flight at a time, so a return is of the one just published.
    let returned = false;
    channel.on('return', () => (returned = true));
    let replayed = 0;
    try {
      for (let index = 0; index < messageCount; index += 1) {
        const message = await channel.get(dlq, { noAck: false });
        if (!message) break;
        const letter = readLetter(message);
        if (options.eventId !== undefined && letter.eventId !== options.eventId) continue; // held until the end
        returned = false;
        channel.sendToQueue(target, message.content, replayProperties(message));
        await channel.waitForConfirms();
        if (returned) throw new DeadLetterError(`the broker could not route the message back to ${target}; it stays in the dead-letter queue`);
        channel.ack(message);
        // An ack has no answer; a round trip on the same channel shows the broker has taken it.
        await channel.checkQueue(dlq);
        replayed += 1;
        await options.onReplayed?.(letter);
      }
    } finally {
      releaseHeld(channel);
    }
    return replayed;
  });
}

/** The message's own properties, without the attempt count and the dead-letter history. */
function replayProperties(message: GetMessage): amqplib.Options.Publish {
  const { headers, ...properties } = message.properties;
  const fresh = Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => name !== ATTEMPT_HEADER && !DEATH_HEADERS.includes(name)));
  return { ...definedProperties(properties), headers: fresh, mandatory: true, persistent: true };
}

/** amqplib hands every property back, unset ones as undefined; republishing takes only the set ones. */
const definedProperties = (properties: Omit<MessageProperties, 'headers'>) =>
  Object.fromEntries(Object.entries(properties).filter(([, value]) => value !== undefined));

/** Puts back every message taken and not acknowledged, in its place; nothing to do once the channel is gone. */
function releaseHeld(channel: ConfirmChannel): void {
  try {
    channel.nackAll(true);
  } catch {
    // The broker requeued them when the channel closed.
  }
}

async function expectQueue(channel: ConfirmChannel, queue: string, settings: BrokerSettings) {
  try {
    return await channel.checkQueue(queue);
  } catch {
    throw new DeadLetterError(`no queue named ${queue} on the broker (EVENTS_QUEUE_PREFIX is "${settings.queuePrefix}")`);
  }
}

const fullName = (settings: BrokerSettings, queue: string) => `${settings.queuePrefix}${queue}`;

async function withChannel<T>(settings: BrokerSettings, work: (channel: ConfirmChannel) => Promise<T>): Promise<T> {
  const connection = await amqplib.connect(settings.url, {
    clientProperties: { connection_name: 'dlq' },
    timeout: 5_000,
    credentials: amqpCredentials(settings.url, settings.password),
  });
  // A channel the broker closes (a missing queue) rejects the call that caused it; the event adds nothing.
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    const result = await work(channel);
    // Closed first: amqplib may send the connection's close ahead of this channel's last acks.
    await channel.close();
    return result;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

function readLetter(message: GetMessage): DeadLetter {
  const headers = message.properties.headers ?? {};
  const body = parseBody(message.content);
  const attempt = Number(headers[ATTEMPT_HEADER]);
  return {
    eventId: stringOr(body?.id, message.properties.messageId),
    type: stringOr(body?.type, message.properties.type),
    occurredAt: stringOr(body?.occurredAt),
    attempt: Number.isInteger(attempt) ? attempt : undefined,
    deaths: deathsOf(headers['x-death']),
    excerpt: excerpt(body && 'data' in body ? JSON.stringify(body.data) : message.content.toString('utf8')),
  };
}

function parseBody(content: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(content.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function deathsOf(header: unknown): DeadLetter['deaths'] {
  if (!Array.isArray(header)) return [];
  return header.map((entry: Record<string, unknown>) => ({
    reason: String(entry.reason),
    queue: String(entry.queue),
    count: Number(entry.count),
    ...timeOf(entry.time),
  }));
}

/** amqplib hands an AMQP timestamp (seconds) over as a tagged value. */
function timeOf(value: unknown): { time?: string } {
  const seconds = typeof value === 'object' && value !== null ? Number((value as { value?: unknown }).value) : NaN;
  return Number.isFinite(seconds) ? { time: new Date(seconds * 1_000).toISOString() } : {};
}

const stringOr = (...candidates: unknown[]): string | undefined => candidates.find((value): value is string => typeof value === 'string');

function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > EXCERPT_LENGTH ? `${line.slice(0, EXCERPT_LENGTH - 1)}…` : line;
}

function formatDeadLetter(letter: DeadLetter): string {
  const why = letter.deaths.map((death) => `${death.reason} from ${death.queue} x${death.count}${death.time ? ` at ${death.time}` : ''}`);
  const fields = [
    letter.eventId ?? '(no event id)',
    letter.type ?? '(no type)',
    `occurred ${letter.occurredAt ?? 'at an unknown time'}`,
    ...(letter.attempt === undefined ? [] : [`attempt ${letter.attempt}`]),
    ...why,
  ];
  return `${fields.join('  ')}\n    ${letter.excerpt}`;
}

class UsageError extends Error {}

interface Command {
  action: 'list' | 'replay';
  queue: string;
  eventId?: string;
}

function parseCommand(argv: readonly string[]): Command {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { id: { type: 'string' } } });
  const [action, queue, ...extra] = positionals;
  if ((action !== 'list' && action !== 'replay') || !queue || extra.length > 0) throw new UsageError();
  if (action === 'list' && values.id !== undefined) throw new UsageError('--id goes with replay');
  if (queue.endsWith('.dlq')) throw new UsageError(`name the consumer queue (${queue.slice(0, -'.dlq'.length)}), not its dead-letter queue`);
  return { action, queue, eventId: values.id };
}

/** Where the CLI writes: results to `out`, usage and configuration errors to `err`. */
export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** The CLI: runs one command and returns the exit code (2 for a usage or configuration error). */
export async function runDlq(argv: readonly string[], env: Env, { out, err }: Output): Promise<number> {
  let command: Command;
  let settings: BrokerSettings;
  try {
    command = parseCommand(argv);
    settings = brokerSettingsFrom(env);
  } catch (error) {
    if (error instanceof UsageError) err(error.message ? `${error.message}\n\n${USAGE}` : USAGE);
    else if (error instanceof ConfigError) err(error.message);
    else throw error;
    return 2;
  }
  const dlq = deadLetterQueueName(fullName(settings, command.queue));
  if (command.action === 'list') {
    const letters = await listDeadLetters(settings, command.queue);
    for (const letter of letters) out(formatDeadLetter(letter));
    out(`${letters.length} dead-lettered message${letters.length === 1 ? '' : 's'} in ${dlq}, left in place`);
    return 0;
  }
  const replayed = await replayDeadLetters(settings, command.queue, {
    eventId: command.eventId,
    onReplayed: (letter) => out(`replayed ${letter.eventId ?? '(no event id)'} ${letter.type ?? ''}`.trimEnd()),
  });
  out(`${replayed} message${replayed === 1 ? '' : 's'} moved from ${dlq} back to ${fullName(settings, command.queue)}`);
  if (command.eventId !== undefined && replayed === 0) {
    err(`no message of event ${command.eventId} in ${dlq}`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  const write = (stream: NodeJS.WriteStream) => (line: string) => stream.write(`${line}\n`);
  runDlq(process.argv.slice(2), process.env, { out: write(process.stdout), err: write(process.stderr) })
    .then((code) => process.exit(code))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
