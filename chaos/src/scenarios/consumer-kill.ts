import type pg from 'pg';
import type { BoardClient } from '../../../stack/dist/board-client';
import { adminSession, eventually, listChannel, newUsers, register, sleep, type Session } from '../board';
import { deliveryProblems, keyedDelivery, type ClientDelivery } from '../delivery';
import { crashFailures, deadLetters, setAsideFailures, isAlive, notableLogLines, queueDepths, startChaosStack, type ChaosStack } from '../harness';
import { errorCode, startWriteLoad, summarizeWrites, succeeded, type WriteRecord } from '../load';
import type { ChaosOptions } from '../options';
import { seconds, type ScenarioResult } from '../report';
import { openStreams, type ResumingStream } from '../sse';
import { CHANNEL } from './outage';

/** The consumer is killed once it has handled this share of the burst: mid-batch, with more queued behind. */
const KILL_AT_SHARE = 0.3;

/** What one kill did: when, how far into the burst, and how long until the consumer had caught up. */
interface KillRecord {
  replica: string;
  burstEvents: number;
  /** Events of the burst the consumer had handled (committed) when it was killed. */
  handledAtKill: number;
  /** Messages ready in its queue right after the kill (the unacknowledged ones went back there). */
  queuedAfterKill: number;
  /** Events of the burst handled in the end: exactly burstEvents when every event is applied once. */
  handledInTheEnd: number;
  pausedAt: number;
  killedAt: number;
  readyAgainAt: number;
  caughtUpAt: number | undefined;
}

interface Burst {
  replica: 'user-service' | 'message-service';
  /** The database holding the consumer's processed_events, and the producer's outbox. */
  consumerDatabase: 'users' | 'messages';
  producerDatabase: 'auth' | 'users';
  /** Makes the events; resolves with how many the consumer must handle. */
  run: () => Promise<number>;
}

/**
 * A consumer SIGKILLed while a burst of events flows to it, then restarted: user-service during
 * a burst of registrations (it creates the profiles), then message-service during a burst of
 * renames and account deletions (it renames authors, deletes their messages and announces each).
 * To make sure the kill lands mid-batch, the consumer is paused (SIGSTOP) while the burst is
 * produced, so a backlog waits for it, then resumed and killed once it has handled part of it.
 * Afterwards: every event applied exactly once, counted in the state it leaves.
 */
export async function consumerKill(options: ChaosOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const chaos = await startChaosStack('consumer-kill');
  const { client, stack } = chaos;
  const streams: ResumingStream[] = [];
  try {
    const admin = await adminSession(client, chaos.adminEmail);
    const writers = await newUsers(client, 'writer', options.writers);
    const authors = await newUsers(client, 'author', options.authors);
    // Admins receive every kind of event: renames and deletions as well as messages.
    streams.push(...(await openStreams(client.baseUrl, stack.certificate, [admin.token], options.clients, CHANNEL)));
    const authored = await postAs(client, authors, options.messagesPerAuthor);

    const load = startWriteLoad({ client, writers, channel: CHANNEL, label: `${chaos.namespace} write` }, options, 300);
    await sleep(options.warmupSeconds * 1_000);

    const registered: string[] = [];
    const userServiceKill = await killMidBurst(chaos, options, {
      replica: 'user-service',
      consumerDatabase: 'users',
      producerDatabase: 'auth',
      run: async () => {
        registered.push(...(await inBatches(options.registrations, 10, (index) => register(client, `late${index}`).then((user) => user.id))));
        return registered.length;
      },
    });

    const doomed = authors.slice(0, Math.max(1, Math.floor(authors.length / 4)));
    const renamed = authors.slice(doomed.length);
    const renameFailures: (number | string)[] = [];
    const deleteFailures: (number | string)[] = [];
    const messageServiceKill = await killMidBurst(chaos, options, {
      replica: 'message-service',
      consumerDatabase: 'messages',
      producerDatabase: 'users',
      run: async () => {
        await Promise.all([
          ...renamed.map((author) => renameRepeatedly(client, author, options.renames, renameFailures)),
          ...doomed.map((author) => deleteAccount(client, author, deleteFailures)),
        ]);
        return renamed.length * options.renames + doomed.length;
      },
    });
    await sleep(options.afterSeconds * 1_000);
    const records = await load.stop();

    // The state the events left.
    const stored = await listChannel(client, admin, CHANNEL);
    const finalName = (author: Session) => `${author.username} v${options.renames}`;
    const staleNames = renamed.flatMap((author) =>
      (authored.get(author.id) ?? []).filter((id) => stored.get(id)?.authorDisplayName !== finalName(author)).map((id) => ({ id, author: author.username, shown: stored.get(id)?.authorDisplayName })),
    );
    const doomedIds = new Set(doomed.map((author) => author.id));
    const leftovers = [...stored.values()].filter((message) => message.authorId !== undefined && doomedIds.has(message.authorId));
    const doomedProfiles = await Promise.all(doomed.map(async (author) => (await client.call('GET', `/api/users/${author.id}`, { token: admin.token })).status));
    const missingProfiles = (await Promise.all(registered.map(async (id) => (await client.call('GET', `/api/users/${id}`, { token: admin.token })).status))).filter(
      (status) => status !== 200,
    ).length;
    const deletedMessageIds = doomed.flatMap((author) => authored.get(author.id) ?? []);
    const announcements = await deletionAnnouncements(chaos.database('messages'), deletedMessageIds);

    // What every client received: each message created, each deleted author's message deleted, each rename, once.
    const byBody = new Map(records.map((record) => [record.body, record]));
    const writes = new Map<string, WriteRecord>();
    for (const message of stored.values()) {
      const record = byBody.get(message.body);
      if (record) writes.set(message.id, record);
    }
    const createdIds = new Set([...stored.keys(), ...records.filter(succeeded).map((record) => record.messageId!), ...deletedMessageIds]);
    const expected = new Set([
      ...[...createdIds].map((id) => `message.created ${id}`),
      ...deletedMessageIds.map((id) => `message.deleted ${id}`),
      ...renamed.flatMap((author) => Array.from({ length: options.renames }, (_, step) => `user.updated ${author.id} ${author.username} v${step + 1}`)),
    ]);
    await waitForKeys(streams, expected, options.drainSeconds * 1_000);
    await sleep(1_000);
    const clients: ClientDelivery[] = streams.map((stream) => keyedDelivery(stream, expected));

    const windows = [userServiceKill, messageServiceKill].map((kill) => ({ from: kill.pausedAt, to: kill.readyAgainAt }));
    const inWindow = (record: WriteRecord) => windows.some((window) => record.endedAt >= window.from && record.startedAt <= window.to + 5_000);
    const writeSummary = summarizeWrites(records);
    const failedOutsideKills = records.filter((record) => !succeeded(record) && !inWindow(record));
    const lostWrites = records.filter((record) => succeeded(record) && !stored.has(record.messageId!));
    const dead = await deadLetters(chaos.namespace);

    const failures: string[] = [];
    for (const kill of [userServiceKill, messageServiceKill]) {
      if (kill.handledAtKill >= kill.burstEvents) failures.push(`${kill.replica} had handled the whole burst before the kill: the kill was not mid-batch`);
      if (kill.handledInTheEnd !== kill.burstEvents) {
        failures.push(`${kill.replica} handled ${kill.handledInTheEnd} of the ${kill.burstEvents} events of its burst (exactly once means all of them, once)`);
      }
      if (kill.caughtUpAt === undefined) failures.push(`${kill.replica} had not caught up ${options.drainSeconds} s after its restart`);
    }
    if (missingProfiles > 0) failures.push(`${missingProfiles} of ${registered.length} users registered during the user-service kill have no profile`);
    if (staleNames.length > 0) failures.push(`${staleNames.length} messages of renamed authors do not show the author's last display name`);
    if (leftovers.length > 0) failures.push(`${leftovers.length} messages of deleted users are still there`);
    const profilesLeft = doomedProfiles.filter((status) => status !== 404).length;
    if (profilesLeft > 0) failures.push(`${profilesLeft} deleted users' profiles still answer (not 404)`);
    if (announcements.missing > 0 || announcements.repeated > 0) {
      failures.push(`message.deleted in message-service's outbox: ${announcements.missing} removed messages never announced, ${announcements.repeated} announced more than once`);
    }
    if (renameFailures.length + deleteFailures.length > 0) {
      failures.push(`burst requests failed: renames ${JSON.stringify(renameFailures)}, deletions ${JSON.stringify(deleteFailures)}`);
    }
    if (failedOutsideKills.length > 0) failures.push(`${failedOutsideKills.length} writes failed outside the kill windows (${JSON.stringify(summarizeWrites(failedOutsideKills).failures)})`);
    if (lostWrites.length > 0) failures.push(`${lostWrites.length} writes answered 2xx are not in the API`);
    failures.push(...deliveryProblems(clients));
    failures.push(...setAsideFailures(dead));
    failures.push(...crashFailures(chaos.crashes));

    const names = stack.plan.services.map((service) => service.name);
    const killSummary = (kill: KillRecord) => ({
      ...kill,
      pausedAt: new Date(kill.pausedAt).toISOString(),
      killedAt: new Date(kill.killedAt).toISOString(),
      restartSeconds: seconds(kill.readyAgainAt - kill.killedAt),
      caughtUpSecondsAfterRestart: kill.caughtUpAt === undefined ? null : seconds(kill.caughtUpAt - kill.readyAgainAt),
      readyAgainAt: new Date(kill.readyAgainAt).toISOString(),
      caughtUpAt: kill.caughtUpAt === undefined ? null : new Date(kill.caughtUpAt).toISOString(),
    });
    return {
      scenario: 'consumer-kill',
      fault:
        `SIGKILL user-service mid-burst of ${options.registrations} registrations, then message-service mid-burst of ` +
        `${renamed.length * options.renames} renames and ${doomed.length} account deletions (${deletedMessageIds.length} messages), under ${options.rate} writes/s`,
      pass: failures.length === 0,
      failures,
      durationSeconds: seconds(Date.now() - started)!,
      writes: writeSummary,
      eventsExpected: expected.size,
      clients,
      deadLetters: dead,
      recoverySeconds: {
        'user-service caught up': userServiceKill.caughtUpAt === undefined ? null : seconds(userServiceKill.caughtUpAt - userServiceKill.killedAt),
        'message-service caught up': messageServiceKill.caughtUpAt === undefined ? null : seconds(messageServiceKill.caughtUpAt - messageServiceKill.killedAt),
      },
      details: {
        crashes: chaos.crashes,
        kills: [killSummary(userServiceKill), killSummary(messageServiceKill)],
        registeredDuringKill: registered.length,
        missingProfiles,
        renamedAuthors: renamed.length,
        renamesEach: options.renames,
        staleNames: staleNames.slice(0, 20),
        deletedAuthors: doomed.length,
        deletedMessages: deletedMessageIds.length,
        leftovers: leftovers.length,
        deletedProfilesStatus: countOf(doomedProfiles),
        deletionAnnouncements: announcements,
        writesFailedInKillWindows: writeSummary.failed - failedOutsideKills.length,
        queueDepthsAtEnd: await queueDepths(chaos.namespace),
        // Redelivered events the restarted consumers recognised as already handled.
        duplicatesRecognised: Object.fromEntries(
          await Promise.all(['user-service', 'message-service'].map(async (name) => [name, await metricSum(stack.serviceUrl(name), 'events_consumed_total', 'outcome="duplicate"')] as const)),
        ),
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
 * Pauses the consumer, produces the burst (its events wait in the queue), resumes it and SIGKILLs
 * it once it has handled KILL_AT_SHARE of them, restarts it and waits until it has handled all.
 */
async function killMidBurst(chaos: ChaosStack, options: ChaosOptions, burst: Burst): Promise<KillRecord> {
  const { stack } = chaos;
  const consumerDb = chaos.database(burst.consumerDatabase);
  await settled(chaos, burst);
  const baseline = await handledCount(consumerDb, burst.replica);
  const pid = stack.pids[burst.replica]!;
  const pausedAt = Date.now();
  process.kill(pid, 'SIGSTOP');
  let burstEvents: number;
  try {
    burstEvents = await burst.run();
    // Every event of the burst is on the broker before the consumer comes back.
    await eventually(async () => ((await unpublished(chaos.database(burst.producerDatabase))) === 0 ? true : undefined), 'the burst published', 30_000, 50);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const killAt = baseline + Math.max(1, Math.floor(burstEvents * KILL_AT_SHARE));
  await eventually(async () => ((await handledCount(consumerDb, burst.replica)) >= killAt ? true : undefined), `${burst.replica} handling the burst`, 60_000, 5);
  chaos.expectExit(burst.replica);
  process.kill(pid, 'SIGKILL');
  const killedAt = Date.now();
  const handledAtKill = (await handledCount(consumerDb, burst.replica)) - baseline;
  await eventually(async () => (isAlive(pid) ? undefined : true), `${burst.replica} to exit`, 10_000, 20);
  // The broker requeues what the dead consumer held once it sees the connection gone.
  await sleep(500);
  const queuedAfterKill = (await queueDepths(chaos.namespace))[burst.replica] ?? 0;
  await stack.restart(burst.replica);
  const readyAgainAt = Date.now();
  const target = baseline + burstEvents;
  const caughtUpAt = await eventually(
    async () => ((await handledCount(consumerDb, burst.replica)) >= target ? Date.now() : undefined),
    `${burst.replica} catching up`,
    options.drainSeconds * 1_000,
    100,
  ).catch(() => undefined);
  // A little longer, so that a second application of an event would show in the count.
  await sleep(1_000);
  const handledInTheEnd = (await handledCount(consumerDb, burst.replica)) - baseline;
  return { replica: burst.replica, burstEvents, handledAtKill, queuedAfterKill, handledInTheEnd, pausedAt, killedAt, readyAgainAt, caughtUpAt };
}

/** Events the consumer recorded as handled (one processed_events row each; a duplicate adds none). */
async function handledCount(db: pg.Pool, consumer: string): Promise<number> {
  const { rows } = await db.query<{ count: string }>('SELECT count(*) FROM processed_events WHERE consumer = $1', [consumer]);
  return Number(rows[0]!.count);
}

async function unpublished(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ count: string }>('SELECT count(*) FROM outbox WHERE published_at IS NULL');
  return Number(rows[0]!.count);
}

/**
 * Waits until the consumer has nothing left to do: nothing ready in its queue, nothing unpublished
 * in any producer's outbox, and its handled count still for half a second.
 */
async function settled(chaos: ChaosStack, burst: Burst): Promise<void> {
  const consumerDb = chaos.database(burst.consumerDatabase);
  let previous = -1;
  await eventually(
    async () => {
      const depth = (await queueDepths(chaos.namespace))[burst.replica] ?? 0;
      const pending = await Promise.all((['auth', 'users', 'messages'] as const).map((name) => unpublished(chaos.database(name))));
      const handled = await handledCount(consumerDb, burst.replica);
      const still = handled === previous;
      previous = handled;
      return depth === 0 && pending.every((count) => count === 0) && still ? true : undefined;
    },
    `${burst.replica} to settle`,
    60_000,
    500,
  );
}

/** How many times message-service announced each removed message (from its outbox, published or not). */
async function deletionAnnouncements(db: pg.Pool, messageIds: readonly string[]): Promise<{ expected: number; missing: number; repeated: number }> {
  const { rows } = await db.query<{ id: string; count: string }>(
    `SELECT envelope->'data'->>'id' AS id, count(*) FROM outbox WHERE type = 'message.deleted' AND envelope->'data'->>'id' = ANY($1) GROUP BY 1`,
    [messageIds],
  );
  const counts = new Map(rows.map((row) => [row.id, Number(row.count)]));
  return {
    expected: messageIds.length,
    missing: messageIds.filter((id) => !counts.has(id)).length,
    repeated: [...counts.values()].filter((count) => count > 1).length,
  };
}

/** Each author posts `count` messages; their ids by author. */
async function postAs(client: BoardClient, authors: readonly Session[], count: number): Promise<Map<string, string[]>> {
  const byAuthor = new Map<string, string[]>();
  await Promise.all(
    authors.map(async (author) => {
      const ids: string[] = [];
      for (let index = 0; index < count; index += 1) {
        const response = await client.call<{ message: { id: string } }>('POST', '/api/messages', {
          token: author.token,
          body: { channel: CHANNEL, body: `${author.username} message ${index}` },
        });
        if (response.status !== 201) throw new Error(`posting as ${author.username}: ${response.status} ${JSON.stringify(response.body)}`);
        ids.push(response.body.message.id);
      }
      byAuthor.set(author.id, ids);
    }),
  );
  return byAuthor;
}

/** Renames the author `times` times in a row: `<username> v1` ... `<username> v<times>`. */
async function renameRepeatedly(client: BoardClient, author: Session, times: number, failures: (number | string)[]): Promise<void> {
  for (let step = 1; step <= times; step += 1) {
    const response = await client.call('PATCH', '/api/users/me', { token: author.token, body: { displayName: `${author.username} v${step}` } }).catch((error: unknown) => ({ status: errorCode(error) }));
    if (response.status !== 200) failures.push(response.status);
  }
}

async function deleteAccount(client: BoardClient, author: Session, failures: (number | string)[]): Promise<void> {
  const response = await client.call('DELETE', '/api/users/me', { token: author.token }).catch((error: unknown) => ({ status: errorCode(error) }));
  if (response.status !== 204) failures.push(response.status);
}

async function inBatches<T>(count: number, size: number, make: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += size) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, index) => make(start + index)))));
  }
  return results;
}

/** Waits until every stream has every expected event, or until the streams went quiet or the time is up. */
async function waitForKeys(streams: readonly ResumingStream[], expected: ReadonlySet<string>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastCount = -1;
  let quietSince = Date.now();
  for (;;) {
    if (streams.every((stream) => keyedDelivery(stream, expected).missing === 0)) return;
    const count = streams.reduce((total, stream) => total + stream.events.length, 0);
    if (count !== lastCount) [lastCount, quietSince] = [count, Date.now()];
    if (Date.now() > deadline || Date.now() - quietSince > 10_000) return;
    await sleep(250);
  }
}

/** The sum of a metric's series whose labels contain `labels`. */
async function metricSum(serviceUrl: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(labels))
    .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

const countOf = (items: readonly (number | string)[]) =>
  items.reduce<Record<string, number>>((counts, item) => ({ ...counts, [item]: (counts[item] ?? 0) + 1 }), {});
