/** `npm run bench`: the benchmarks, one after the other, with their targets. */
import { runGateway } from './gateway';
import { runFanout } from './sse-fanout';
import { round, table } from './stats';

async function main(): Promise<void> {
  const only = process.argv[2];
  if (!only || only === 'gateway') {
    process.stdout.write('\nGateway overhead: authenticated GET /api/messages (20 messages), direct vs through the gateway\n');
    const [direct, proxied, directAlone, proxiedAlone] = await runGateway();
    const rows = [direct!, proxied!, directAlone!, proxiedAlone!].map(({ cpuMsPerRequest: _cpu, ...row }) => row);
    process.stdout.write(`${table(rows)}\n`);
    process.stdout.write('CPU ms per request (10 connections):\n');
    process.stdout.write(`${table([direct!, proxied!].map((result) => ({ path: result.path, ...result.cpuMsPerRequest })))}\n`);
    process.stdout.write(
      `through/direct: throughput ${round((proxied!.requestsPerSecond / direct!.requestsPerSecond) * 100)}% at 10 connections; ` +
        `p50 +${round(proxiedAlone!.p50Ms - directAlone!.p50Ms, 2)} ms at 1 connection, +${round(proxied!.p50Ms - direct!.p50Ms, 2)} ms at 10\n`,
    );
    process.stdout.write('target: at least 60% of direct throughput, under 2 ms added at p50\n');
  }
  if (!only || only === 'sse') {
    process.stdout.write('\nSSE fan-out: one realtime-service instance, one message.created event, N clients\n');
    const results = await runFanout([1_000, 10_000]);
    process.stdout.write(`${table(results.map((result) => ({ ...result })))}\n`);
    process.stdout.write('target at 10,000 clients: p99 < 250 ms, heap per idle connection < 20 KB\n');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
