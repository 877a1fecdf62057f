/** `npm run bench [gateway|activity|sse|sse-edge|web]`: the benchmarks, one after the other, with their targets. */
import { runActivity } from './activity';
import { runGateway } from './gateway';
import { runEdgeFanout } from './sse-edge';
import { runFanout } from './sse-fanout';
import { table } from './stats';
import { FIRST_LOAD_BUDGET_KB, firstLoadJs, runWebLatency } from './web';

async function main(): Promise<void> {
  const only = process.argv[2];
  if (!only || only === 'gateway') {
    process.stdout.write('\nGateway overhead: authenticated GET /api/messages (20 messages), direct vs through the gateway\n');
    const { rounds, medianRatio, latency } = await runGateway();
    const runs = rounds.flatMap(({ direct, proxied }) => [direct, proxied]);
    process.stdout.write(`10 connections, direct and gateway alternating:\n${table(runs.map(({ cpuMsPerRequest: _cpu, ...row }) => row))}\n`);
    process.stdout.write(`CPU ms per request:\n${table(runs.map((run) => ({ path: run.path, ...run.cpuMsPerRequest })))}\n`);
    process.stdout.write(`1 connection, one request at a time:\n${table([latency.direct, latency.proxied].map((row) => ({ ...row })))}\n`);
    process.stdout.write(
      `through/direct: throughput ${medianRatio}% (median of ${rounds.map((item) => `${item.ratio}%`).join(', ')}); ` +
        `p50 +${latency.addedP50Ms} ms at 1 connection\n`,
    );
    process.stdout.write('target: at least 60% of direct throughput, under 2 ms added at p50\n');
  }
  if (!only || only === 'activity') {
    process.stdout.write('\nActivity marking: GET /api/messages from 20 users, direct, through a marking gateway and through one with ACTIVITY_MARKING=false\n');
    const { markNs, rounds, median, writes } = await runActivity();
    const runs = rounds.flatMap(({ direct, marking, quiet }) => [direct, marking, quiet]);
    process.stdout.write(`10 connections:\n${table(runs.map(({ cpuMsPerRequest: _cpu, ...row }) => row))}\n`);
    process.stdout.write(`CPU ms per request:\n${table(runs.map((run) => ({ path: run.path, ...run.cpuMsPerRequest })))}\n`);
    process.stdout.write(
      `through/direct: marking ${median.markingRatio}%, quiet ${median.quietRatio}%; marking/quiet ${median.markingVsQuiet}% ` +
        `(medians; per round ${rounds.map((item) => `${item.markingVsQuiet}%`).join(', ')})\n`,
    );
    process.stdout.write(`${table([{ ...writes }])}\n`);
    process.stdout.write(
      `~${writes.requests} requests from ${writes.users} users in ${writes.minutes} min -> ${writes.counted} activity writes ` +
        `(${writes.rowUpdates} profile row updates in PostgreSQL); bound: ${writes.bound}, one per user per started minute\n`,
    );
    process.stdout.write(`marking on the request path, user already marked this minute: ${markNs} ns per request (in process)\n`);
    process.stdout.write('target: writes <= bound; marking/quiet about 100% (no drop in the gateway ratio)\n');
  }
  if (!only || only === 'sse') {
    process.stdout.write('\nSSE fan-out: one realtime-service instance, one message.created event, N clients\n');
    const results = await runFanout([1_000, 10_000]);
    process.stdout.write(`${table(results.map((result) => ({ ...result })))}\n`);
    process.stdout.write('target at 10,000 clients: p99 < 250 ms, heap per idle connection < 20 KB\n');
  }
  if (!only || only === 'sse-edge') {
    process.stdout.write('\nSSE fan-out through the edge: HTTPS to nginx, two gateways, two realtime instances, N clients\n');
    const results = await runEdgeFanout([1_000, 10_000]);
    process.stdout.write(`${table(results.map((result) => ({ ...result })))}\n`);
    process.stdout.write('memory: resident set of nginx, the gateways and the realtime instances together, per stream\n');
  }
  if (!only || only === 'web') {
    process.stdout.write('\nWeb client: first-load JavaScript, and post -> other browser (two Chromium contexts through nginx)\n');
    const js = firstLoadJs();
    process.stdout.write(`first-load JS: ${js.gzipKb} KB gzipped (${js.rawKb} KB raw, ${js.files} file(s)); budget ${FIRST_LOAD_BUDGET_KB} KB\n`);
    const latency = await runWebLatency(50);
    process.stdout.write(`post -> other browser over ${latency.posts} posts: p50 ${latency.p50Ms} ms, p95 ${latency.p95Ms} ms, max ${latency.maxMs} ms\n`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
