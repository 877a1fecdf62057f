/** `npm run bench`: the benchmarks, one after the other, with their targets. */
import { runGateway } from './gateway';
import { runFanout } from './sse-fanout';
import { round, table } from './stats';

async function main(): Promise<void> {
  const only = process.argv[2];
  if (!only || only === 'gateway') {
    process.stdout.write('\nGateway overhead: GET /api/messages, 10 connections, 10 s each\n');
    const [direct, proxied] = await runGateway();
    process.stdout.write(`${table([direct!, proxied!].map((result) => ({ ...result })))}\n`);
    process.stdout.write(
      `through/direct: throughput ${round((proxied!.requestsPerSecond / direct!.requestsPerSecond) * 100)}%, ` +
        `p50 +${round(proxied!.p50Ms - direct!.p50Ms, 2)} ms, p99 +${round(proxied!.p99Ms - direct!.p99Ms, 2)} ms\n`,
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
