/** `npm run bench`: the benchmarks, one after the other, with their targets. */
import { runFanout } from './sse-fanout';
import { table } from './stats';

async function main(): Promise<void> {
  const only = process.argv[2];
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
