import type { BoardClient } from '../../../stack/dist/board-client';
import { adminSession, listChannel, newUsers, sleep, type Session } from '../board';
import { createdDelivery, deliveryProblems, waitForDelivery } from '../delivery';
import { crashFailures, deadLetters, setAsideFailures, notableLogLines, queueDepths, startChaosStack, type ChaosStack } from '../harness';
import { errorCode, startWriteLoad, summarizeWrites, succeeded, type WriteRecord } from '../load';
import type { ChaosOptions } from '../options';
import { seconds, type ScenarioResult } from '../report';
import { ResumingStream } from '../sse';
import { CHANNEL } from './outage';

const SERVICES = ['api-gateway', 'auth-service', 'user-service', 'message-service', 'realtime-service'];

/** The life of one message: created, edited `edits` times, then deleted or not. */
interface Sequence {
  index: number;
  writer: Session;
  bodies: string[];
  deleted: boolean;
  id?: string;
  /** Every step answered 2xx: the API must then hold exactly the last state. */
  allSucceeded: boolean;
  steps: (number | string)[];
}

/** The message's state as last seen: deleted, or its body. */
type FinalState = { deleted: true } | { deleted: false; body: string };

/**
 * Two replicas of every service. Many messages live through create/edit/delete sequences at once
 * (each sequence's steps in order, the sequences interleaved) under the write load. Every stream's
 * last word on each message must be the message's final state in the API.
 */
export async function replicas(options: ChaosOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const chaos = await startChaosStack('replicas', { scale: Object.fromEntries(SERVICES.map((service) => [service, 2])) });
  const { client, stack } = chaos;
  const streams: ResumingStream[] = [];
  try {
    const admin = await adminSession(client, chaos.adminEmail);
    const writers = await newUsers(client, 'writer', options.writers);
    const listeners = await newUsers(client, 'listener', Math.min(options.clients, 4));
    const placement = await openOnBothRealtimes(chaos, listeners, options.clients, streams);

    const load = startWriteLoad({ client, writers, channel: CHANNEL, label: `${chaos.namespace} write` }, options, 120);
    const sequences = planSequences(options.sequences, writers);
    const sequencesStarted = Date.now();
    await runAll(sequences, options.concurrency, (sequence) => runSequence(client, sequence, options.requestTimeoutSeconds * 1_000));
    const sequencesEnded = Date.now();
    const records = await load.stop();

    const bySuccess = new Map(records.filter(succeeded).map((record) => [record.messageId!, record]));
    const created = sequences.filter((sequence) => sequence.id !== undefined);
    const drainDeadline = Date.now() + options.drainSeconds * 1_000;
    const stored = await listChannel(client, admin, CHANNEL);
    const byBody = new Map(records.map((record) => [record.body, record]));
    const writes = new Map<string, WriteRecord>();
    for (const message of stored.values()) {
      const record = byBody.get(message.body);
      if (record) writes.set(message.id, record);
    }
    const finalStates = new Map<string, FinalState>(
      created.map((sequence) => {
        const message = stored.get(sequence.id!);
        return [sequence.id!, message ? { deleted: false, body: message.body } : { deleted: true }];
      }),
    );
    const expectedCreated = new Set([...stored.keys(), ...created.map((sequence) => sequence.id!), ...bySuccess.keys()]);
    const deliveredAt = await waitForDelivery(streams, expectedCreated, writes, Math.max(5_000, drainDeadline - Date.now()));
    const settledAt = await waitForFinalStates(streams, finalStates, Math.max(5_000, drainDeadline - Date.now()));
    await sleep(1_000);

    const clients = streams.map((stream) => createdDelivery(stream, expectedCreated, writes));
    const lastStates = streams.map((stream) => ({ client: stream.name, ...compareLastStates(stream, finalStates, sequences) }));
    const apiMismatches = created.filter((sequence) => sequence.allSucceeded && !apiMatches(sequence, finalStates.get(sequence.id!)!));
    const stepFailures = sequences.flatMap((sequence) => sequence.steps.filter((step) => typeof step !== 'number' || step >= 300));
    const writeSummary = summarizeWrites(records);
    const dead = await deadLetters(chaos.namespace);

    const failures: string[] = [];
    if (writeSummary.failed > 0) failures.push(`${writeSummary.failed} of ${writeSummary.attempted} background writes failed (${JSON.stringify(writeSummary.failures)})`);
    if (stepFailures.length > 0) failures.push(`${stepFailures.length} create/edit/delete steps failed (${JSON.stringify(countOf(stepFailures))})`);
    if (apiMismatches.length > 0) failures.push(`${apiMismatches.length} messages whose every step succeeded are not in their last state in the API`);
    for (const state of lastStates) {
      if (state.wrongLast > 0) {
        failures.push(
          `${state.client}: for ${state.wrongLast} of ${finalStates.size} messages the stream's last event is not the final state ` +
            `(${state.endedNotDeleted} deleted ones last seen as not deleted, ${state.staleBody} with an older body, ${state.noEvent} with no event)`,
        );
      }
    }
    failures.push(...deliveryProblems(clients));
    if (deliveredAt === undefined) failures.push(`not every message.created had reached every client ${options.drainSeconds} s after the load stopped`);
    failures.push(...setAsideFailures(dead));
    failures.push(...crashFailures(chaos.crashes));

    const names = stack.plan.services.map((service) => service.name);
    return {
      scenario: 'replicas',
      fault: `two replicas of every service; ${options.sequences} create/edit/delete sequences (${options.concurrency} at a time) under ${options.rate} writes/s`,
      pass: failures.length === 0,
      failures,
      durationSeconds: seconds(Date.now() - started)!,
      writes: summarizeWrites([...records, ...sequences.flatMap((sequence) => sequence.steps.map((step) => stepRecord(step)))]),
      eventsExpected: expectedCreated.size,
      clients,
      deadLetters: dead,
      recoverySeconds: {
        'all created delivered': deliveredAt === undefined ? null : seconds(deliveredAt - sequencesEnded),
        'every stream at final state': settledAt === undefined ? null : seconds(settledAt - sequencesEnded),
      },
      details: {
        crashes: chaos.crashes,
        streamsPerRealtimeReplica: placement,
        sequences: {
          count: sequences.length,
          created: created.length,
          deletedInTheEnd: [...finalStates.values()].filter((state) => state.deleted).length,
          steps: sequences.reduce((total, sequence) => total + sequence.steps.length, 0),
          failedSteps: stepFailures.length,
          seconds: seconds(sequencesEnded - sequencesStarted),
        },
        backgroundWrites: writeSummary,
        apiMismatches: apiMismatches.length,
        lastStates,
        queueDepthsAtEnd: await queueDepths(chaos.namespace),
      },
      logs: notableLogLines(stack.runDir, [...names, 'nginx']),
      logDir: `${stack.runDir}/logs`,
    };
  } finally {
    await Promise.all(streams.map((stream) => stream.close()));
    await chaos.stop();
  }
}

/**
 * Opens `count` streams, and more (up to twice as many) until both realtime replicas hold some:
 * the gateways pick a realtime replica per stream, and the point is streams on both.
 */
async function openOnBothRealtimes(chaos: ChaosStack, listeners: readonly Session[], count: number, streams: ResumingStream[]): Promise<Record<string, number>> {
  const replicas = ['realtime-service', 'realtime-service-2'];
  const placement = async () =>
    Object.fromEntries(await Promise.all(replicas.map(async (replica) => [replica, await connections(chaos.stack.serviceUrl(replica))] as const)));
  for (let index = 0; index < count * 2; index += 1) {
    const stream = new ResumingStream(chaos.client.baseUrl, chaos.stack.certificate, `client-${index + 1}`, listeners[index % listeners.length]!.token, CHANNEL);
    await stream.open();
    streams.push(stream);
    if (streams.length >= count && Object.values(await placement()).every((open) => open > 0)) break;
  }
  return placement();
}

async function connections(serviceUrl: string): Promise<number> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const line = text.split('\n').find((item) => item.startsWith('sse_connections ') || item.startsWith('sse_connections{'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** A fixed mix, the same every run: 0-3 edits, two in five deleted. */
function planSequences(count: number, writers: readonly Session[]): Sequence[] {
  return Array.from({ length: count }, (_, index) => {
    const edits = (index * 7) % 4;
    const bodies = Array.from({ length: edits + 1 }, (_, step) => `sequence ${index} body ${step}`);
    return { index, writer: writers[index % writers.length]!, bodies, deleted: index % 5 < 2, allSucceeded: true, steps: [] };
  });
}

async function runAll<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function runSequence(client: BoardClient, sequence: Sequence, timeoutMs: number): Promise<void> {
  const step = async (method: string, path: string, body?: object): Promise<Record<string, unknown> | undefined> => {
    try {
      const response = await client.api(path, {
        method,
        headers: { authorization: `Bearer ${sequence.writer.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      sequence.steps.push(response.status);
      if (!response.ok) sequence.allSucceeded = false;
      return response.ok && text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch (error) {
      sequence.steps.push(errorCode(error));
      sequence.allSucceeded = false;
      return undefined;
    }
  };
  const createdMessage = await step('POST', '/api/messages', { channel: CHANNEL, body: sequence.bodies[0] });
  const id = (createdMessage?.message as { id?: string } | undefined)?.id;
  if (!id) return;
  sequence.id = id;
  for (const body of sequence.bodies.slice(1)) await step('PATCH', `/api/messages/${id}`, { body });
  if (sequence.deleted) await step('DELETE', `/api/messages/${id}`);
}

const apiMatches = (sequence: Sequence, state: FinalState) =>
  sequence.deleted ? state.deleted : !state.deleted && state.body === sequence.bodies.at(-1);

/** How each message's events ended on one stream, against its final state. */
function compareLastStates(stream: ResumingStream, finalStates: ReadonlyMap<string, FinalState>, sequences: readonly Sequence[]) {
  const last = new Map<string, { type: string; body?: string }>();
  const seen = new Map<string, { type: string; body?: string }[]>();
  for (const event of stream.events) {
    if (!event.subject || !finalStates.has(event.subject) || !event.type.startsWith('message.')) continue;
    last.set(event.subject, { type: event.type, body: event.body });
    seen.set(event.subject, [...(seen.get(event.subject) ?? []), { type: event.type, body: event.body }]);
  }
  let endedNotDeleted = 0;
  let staleBody = 0;
  let noEvent = 0;
  let resurrected = 0;
  for (const [id, state] of finalStates) {
    const event = last.get(id);
    if (!event) noEvent += 1;
    else if (state.deleted && event.type !== 'message.deleted') endedNotDeleted += 1;
    else if (!state.deleted && (event.type === 'message.deleted' || event.body !== state.body)) {
      if (event.type === 'message.deleted') resurrected += 1;
      else staleBody += 1;
    }
  }
  const outOfOrder = sequences.filter((sequence) => sequence.id && !inOrder(seen.get(sequence.id) ?? [], sequence)).length;
  return { wrongLast: endedNotDeleted + staleBody + noEvent + resurrected, endedNotDeleted, staleBody, noEvent, lastSeenDeletedButExists: resurrected, outOfOrder };
}

/** The stream saw the sequence's steps in the order they were made (created, each edit, deleted). */
function inOrder(events: readonly { type: string; body?: string }[], sequence: Sequence): boolean {
  let position = -1;
  for (const event of events) {
    const step = event.type === 'message.deleted' ? sequence.bodies.length : sequence.bodies.indexOf(event.body ?? '');
    if (step < position) return false;
    position = step;
  }
  return true;
}

/**
 * Waits until every stream's last event per message matches its final state; gives up early once
 * no event has arrived for a few seconds (a stream that ended wrong stays wrong).
 */
async function waitForFinalStates(streams: readonly ResumingStream[], finalStates: ReadonlyMap<string, FinalState>, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  const received = () => streams.reduce((total, stream) => total + stream.events.length, 0);
  let lastCount = received();
  let quietSince = Date.now();
  for (;;) {
    if (streams.every((stream) => compareLastStates(stream, finalStates, []).wrongLast === 0)) return Date.now();
    const count = received();
    if (count !== lastCount) [lastCount, quietSince] = [count, Date.now()];
    if (Date.now() > deadline || Date.now() - quietSince > 5_000) return undefined;
    await sleep(500);
  }
}

const countOf = (items: readonly (number | string)[]) =>
  items.reduce<Record<string, number>>((counts, item) => ({ ...counts, [item]: (counts[item] ?? 0) + 1 }), {});

const stepRecord = (outcome: number | string): WriteRecord => ({ body: '', startedAt: 0, endedAt: 0, outcome });
