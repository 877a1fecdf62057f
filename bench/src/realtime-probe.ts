/**
 * Runs one realtime-service instance for the fan-out benchmark, in a process of its own started
 * with --expose-gc, and answers heap questions over IPC so that memory per connection is measured
 * on the server alone (after a full GC), not on the benchmark's clients.
 */
import { parseConfig } from '@board/service-kit';
import { configShape } from '@board/realtime-service/dist/config';
import { start } from '@board/realtime-service/dist/service';

async function main(): Promise<void> {
  const service = await start(parseConfig(configShape, process.env));
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (message: unknown) => {
    if (message === 'heap') {
      gc?.();
      gc?.();
      process.send?.({ heapUsed: process.memoryUsage().heapUsed });
    }
    if (message === 'stop') void service.stop().then(() => process.exit(0));
  });
  process.send?.({ url: service.url });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
