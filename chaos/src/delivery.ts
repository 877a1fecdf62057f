import { sleep } from './board';
import type { WriteRecord } from './load';
import type { ReceivedEvent, ResumingStream } from './sse';

/** What one SSE client got of the events it should have had. */
export interface ClientDelivery {
  client: string;
  connects: number;
  refused: Record<string, number>;
  resyncs: number;
  expected: number;
  delivered: number;
  /** Expected events it never got, those a `resync` told it to reload for excepted. */
  missing: number;
  /** Expected events it did not get, for messages committed before a `resync` it received (it reloads them). */
  coveredByResync: number;
  /** Extra copies of events it had already got. */
  duplicated: number;
  /** Events for messages that do not exist (a write that never committed). */
  unexpected: number;
}

/** How many message.created events each message id had on the stream. */
export function createdCounts(stream: ResumingStream): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of stream.events) {
    if (event.type === 'message.created' && event.subject) counts.set(event.subject, (counts.get(event.subject) ?? 0) + 1);
  }
  return counts;
}

/** No event on any stream for this long while some are still missing: they are not coming (longer than a consumer's longest backoff, 30 s). */
const GIVE_UP_AFTER_QUIET_MS = 45_000;

/**
 * Waits until every stream has a message.created for every expected id (or a resync that covers
 * it); the time they all had them, or undefined if `timeoutMs` passed first or the streams went
 * quiet with events still missing.
 */
export async function waitForDelivery(
  streams: readonly ResumingStream[],
  expected: ReadonlySet<string>,
  writes: ReadonlyMap<string, WriteRecord>,
  timeoutMs: number,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  const received = () => streams.reduce((total, stream) => total + stream.events.length, 0);
  let lastCount = received();
  let quietSince = Date.now();
  for (;;) {
    const complete = streams.every((stream) => {
      const counts = createdCounts(stream);
      const resyncAt = lastResync(stream);
      return [...expected].every((id) => counts.has(id) || isCoveredByResync(writes.get(id), resyncAt));
    });
    if (complete) return Date.now();
    const count = received();
    if (count !== lastCount) [lastCount, quietSince] = [count, Date.now()];
    if (Date.now() > deadline || Date.now() - quietSince > GIVE_UP_AFTER_QUIET_MS) return undefined;
    await sleep(250);
  }
}

const lastResync = (stream: ResumingStream) => stream.resyncs.at(-1)?.at;

/** A client told to resync reloads from the API: a message committed before then is in what it reloads. */
const isCoveredByResync = (write: WriteRecord | undefined, resyncAt: number | undefined) =>
  resyncAt !== undefined && write !== undefined && write.startedAt <= resyncAt;

/** message.created delivery to one client, against the messages that exist. */
export function createdDelivery(stream: ResumingStream, expected: ReadonlySet<string>, writes: ReadonlyMap<string, WriteRecord>): ClientDelivery {
  const resyncAt = lastResync(stream);
  return keyedDelivery(
    stream,
    new Set([...expected].map((id) => `message.created ${id}`)),
    (key) => isCoveredByResync(writes.get(key.slice('message.created '.length)), resyncAt),
  );
}

/**
 * What an event is, as far as counting goes: its type and subject, and for changes the value it
 * carries (each rename and edit in the scenarios sets a value of its own).
 */
export function eventKey(event: ReceivedEvent): string | undefined {
  if (!event.subject) return undefined;
  switch (event.type) {
    case 'message.updated':
      return `${event.type} ${event.subject} ${event.body}`;
    case 'user.updated':
      return `${event.type} ${event.subject} ${event.displayName}`;
    default:
      return `${event.type} ${event.subject}`;
  }
}

/** Delivery to one client of the events `expected` names (by eventKey); other kinds of event are not counted. */
export function keyedDelivery(stream: ResumingStream, expected: ReadonlySet<string>, covered: (key: string) => boolean = () => false): ClientDelivery {
  const kinds = new Set([...expected].map((key) => key.split(' ')[0]!));
  const counts = new Map<string, number>();
  for (const event of stream.events) {
    const key = eventKey(event);
    if (key && kinds.has(event.type)) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let missing = 0;
  let coveredByResync = 0;
  for (const key of expected) {
    if (counts.has(key)) continue;
    if (covered(key)) coveredByResync += 1;
    else missing += 1;
  }
  let duplicated = 0;
  let unexpected = 0;
  for (const [key, count] of counts) {
    duplicated += count - 1;
    if (!expected.has(key)) unexpected += 1;
  }
  return {
    client: stream.name,
    connects: stream.connects,
    refused: stream.refused,
    resyncs: stream.resyncs.length,
    expected: expected.size,
    delivered: [...expected].filter((key) => counts.has(key)).length,
    missing,
    coveredByResync,
    duplicated,
    unexpected,
  };
}

/** Problems in the deliveries, one line each; empty when every client got everything once. */
export function deliveryProblems(deliveries: readonly ClientDelivery[]): string[] {
  const problems: string[] = [];
  for (const delivery of deliveries) {
    if (delivery.missing > 0) problems.push(`${delivery.client} missed ${delivery.missing} of ${delivery.expected} events (no resync covered them)`);
    if (delivery.duplicated > 0) problems.push(`${delivery.client} got ${delivery.duplicated} duplicate events`);
    if (delivery.unexpected > 0) problems.push(`${delivery.client} got ${delivery.unexpected} events for changes that were never made (no such message, rename or edit)`);
  }
  return problems;
}
