import { adminSession, listChannel, newUsers, sleep } from '../board';
import { createdDelivery, deliveryProblems, waitForDelivery } from '../delivery';
import { crashFailures, deadLetters, setAsideFailures, logLines, notableLogLines, queueDepths, startChaosStack, type ServerName } from '../harness';
import { ReadLoad, startWriteLoad, summarizeWrites, succeeded, type WriteRecord } from '../load';
import type { ChaosOptions, ScenarioName } from '../options';
import { ReadinessWatch } from '../readiness';
import { seconds, type ScenarioResult } from '../report';
import { openStreams } from '../sse';

export const CHANNEL = 'chaos';

export interface OutageSpec {
  scenario: ScenarioName;
  server: ServerName;
  /** How the outage is made, for the report. */
  describe: (outageSeconds: number, rate: number) => string;
  /** Writes may fail while the server is away (PostgreSQL); otherwise every write must succeed. */
  writesMayFailDuringOutage: boolean;
  /** Also read in a loop, which must keep succeeding. */
  reads: boolean;
  /** Replicas whose readiness must go red during the outage and green after it. */
  mustTurnRed: (replica: string) => boolean;
}

/**
 * One server made unreachable for the stack (its TCP proxy stopped: every connection cut, new
 * ones refused) while the write load runs and SSE clients listen; then back. Afterwards: what
 * the writers were told against what the API holds, and what every client received.
 */
export async function runOutage(spec: OutageSpec, options: ChaosOptions): Promise<ScenarioResult> {
  const started = Date.now();
  const outageSeconds = options.outageSeconds[spec.scenario] ?? 10;
  const chaos = await startChaosStack(spec.scenario, { proxied: [spec.server] });
  const { client, stack } = chaos;
  const streams: Awaited<ReturnType<typeof openStreams>> = [];
  const watch = new ReadinessWatch(stack);
  try {
    const admin = await adminSession(client, chaos.adminEmail);
    const writers = await newUsers(client, 'writer', options.writers);
    const listeners = await newUsers(client, 'listener', Math.min(options.clients, 4));
    streams.push(...(await openStreams(client.baseUrl, stack.certificate, listeners.map((user) => user.token), options.clients, CHANNEL)));
    watch.start();

    const loadSeconds = options.warmupSeconds + outageSeconds + options.afterSeconds;
    const reads = spec.reads ? new ReadLoad(client, admin, CHANNEL, 100, options.requestTimeoutSeconds * 1_000) : undefined;
    const load = startWriteLoad({ client, writers, channel: CHANNEL, label: `${chaos.namespace} write` }, options, loadSeconds);
    reads?.start();
    await sleep(options.warmupSeconds * 1_000);
    const faultStart = Date.now();
    await chaos.proxies[spec.server]!.stop();
    await sleep(outageSeconds * 1_000);
    await chaos.proxies[spec.server]!.start();
    const faultEnd = Date.now();
    await load.done();
    const records = await load.stop();
    const readSummary = await reads?.stop();

    // First what the writers were told succeeded, then whatever else the API holds (a write
    // whose answer was lost may still have committed).
    const bySuccess = new Map(records.filter(succeeded).map((record) => [record.messageId!, record]));
    const drainDeadline = Date.now() + options.drainSeconds * 1_000;
    await waitForDelivery(streams, new Set(bySuccess.keys()), bySuccess, drainDeadline - Date.now());
    const stored = await listChannel(client, admin, CHANNEL);
    const byBody = new Map(records.map((record) => [record.body, record]));
    const writes = new Map<string, WriteRecord>();
    for (const message of stored.values()) {
      const record = byBody.get(message.body);
      if (record) writes.set(message.id, record);
    }
    const expected = new Set(stored.keys());
    const deliveredAt = await waitForDelivery(streams, expected, writes, Math.max(5_000, drainDeadline - Date.now()));
    // A moment for any duplicate still on its way.
    await sleep(1_000);
    await watch.stop();

    const clients = streams.map((stream) => createdDelivery(stream, expected, writes));
    const writeSummary = summarizeWrites(records);
    const lostWrites = [...bySuccess.keys()].filter((id) => !stored.has(id));
    const strangers = [...stored.values()].filter((message) => !byBody.has(message.body)).length;
    const firstOkAfter = records.find((record) => succeeded(record) && record.startedAt >= faultEnd);
    // Recovered: every replica ready and every gateway breaker closed again. From then on, every write must succeed.
    const names = stack.plan.services.map((service) => service.name);
    const recoveredAt = watch.allGreenAt([...names, ...watch.breakerNames()]);
    const failedAfterRecovery = records.filter((record) => !succeeded(record) && (recoveredAt === undefined || record.startedAt > recoveredAt));
    const failedBeforeOutage = records.filter((record) => !succeeded(record) && record.endedAt < faultStart);
    const readiness = watch.summary(faultStart, faultEnd);
    const dead = await deadLetters(chaos.namespace);

    const failures: string[] = [];
    if (!spec.writesMayFailDuringOutage && writeSummary.failed > 0) {
      failures.push(`${writeSummary.failed} of ${writeSummary.attempted} writes failed (${JSON.stringify(writeSummary.failures)})`);
    }
    if (spec.writesMayFailDuringOutage) {
      if (!firstOkAfter) failures.push('no write succeeded after the outage: the pools did not recover');
      if (recoveredAt === undefined) failures.push('the stack was not all ready (every replica, every gateway breaker closed) at the end');
      else if (failedAfterRecovery.length > 0) {
        failures.push(`${failedAfterRecovery.length} writes failed after every replica was ready and every breaker closed (${JSON.stringify(summarizeWrites(failedAfterRecovery).failures)})`);
      }
      if (failedBeforeOutage.length > 0) failures.push(`${failedBeforeOutage.length} writes failed before the outage began`);
    }
    if (readSummary && readSummary.failed > 0) failures.push(`${readSummary.failed} of ${readSummary.attempted} reads failed (${JSON.stringify(readSummary.failures)})`);
    if (lostWrites.length > 0) failures.push(`${lostWrites.length} writes answered 2xx are not in the API (half-written or lost)`);
    failures.push(...deliveryProblems(clients));
    if (deliveredAt === undefined) failures.push(`not every event had reached every client ${options.drainSeconds} s after the load stopped`);
    failures.push(...setAsideFailures(dead));
    failures.push(...crashFailures(chaos.crashes));
    for (const [replica, summary] of Object.entries(readiness)) {
      if (!spec.mustTurnRed(replica)) continue;
      if (!summary.wentRed) failures.push(`${replica}'s /health/ready never went red during the outage`);
      else if (summary.greenAfterSeconds === null) failures.push(`${replica}'s /health/ready did not go green again`);
    }

    const allGreenAt = watch.allGreenAt(names);
    return {
      scenario: spec.scenario,
      fault: spec.describe(outageSeconds, options.rate),
      pass: failures.length === 0,
      failures,
      durationSeconds: seconds(Date.now() - started)!,
      writes: writeSummary,
      reads: readSummary,
      eventsExpected: expected.size,
      clients,
      deadLetters: dead,
      recoverySeconds: {
        'all ready': allGreenAt === undefined ? null : seconds(Math.max(0, allGreenAt - faultEnd)),
        'breakers closed': recoveredAt === undefined ? null : seconds(Math.max(0, recoveredAt - faultEnd)),
        'first write ok': firstOkAfter ? seconds(firstOkAfter.endedAt - faultEnd) : null,
        'all events delivered': deliveredAt === undefined ? null : seconds(deliveredAt - faultEnd),
      },
      details: {
        crashes: chaos.crashes,
        outage: { seconds: outageSeconds, startedAt: new Date(faultStart).toISOString(), endedAt: new Date(faultEnd).toISOString() },
        // The load generator shares its process with the SSE clients: when they take a backlog, it can fall behind.
        writesHeldByInFlightBound: {
          ticks: load.held,
          fromSecondsAfterOutage: load.heldFrom === undefined ? null : seconds(load.heldFrom - faultEnd),
          untilSecondsAfterOutage: load.heldUntil === undefined ? null : seconds(load.heldUntil - faultEnd),
        },
        writesFailedAfterRecovery: failedAfterRecovery.length,
        lostWrites: lostWrites.slice(0, 20),
        storedMessages: stored.size,
        storedWithoutAWrite: strangers,
        committedWithoutA2xx: [...writes.values()].filter((record) => !succeeded(record)).length,
        readiness,
        resyncs: Object.fromEntries(streams.map((stream) => [stream.name, stream.resyncs.map((resync) => ({ at: new Date(resync.at).toISOString(), reason: resync.reason }))])),
        queueDepthsAtEnd: await queueDepths(chaos.namespace),
        consumersHolding: Object.fromEntries(names.map((name) => [name, logLines(stack.runDir, name, /holding the event/).count])),
      },
      logs: notableLogLines(stack.runDir, [...names, 'nginx']),
      logDir: `${stack.runDir}/logs`,
    };
  } finally {
    await Promise.all(streams.map((stream) => stream.close()));
    await watch.stop();
    await chaos.stop();
  }
}
