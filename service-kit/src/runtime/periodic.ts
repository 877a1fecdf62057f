import type { Logger } from 'pino';
import type { Lifecycle } from './lifecycle';

export interface PeriodicTaskOptions {
  name: string;
  everyMs: number;
  task: () => Promise<void>;
  logger: Logger;
  lifecycle: Lifecycle;
}

/**
 * Runs `task` every `everyMs` in this replica, never two runs at once; it stops with the service
 * (waiting for a run in progress). A failed run is logged and the next one comes on schedule. The
 * timer does not keep the process alive. Work that one replica of all should do is Upkeep's.
 */
export function runEvery({ name, everyMs, task, logger, lifecycle }: PeriodicTaskOptions): void {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = task()
      .catch((error: unknown) => logger.warn({ err: error, task: name }, 'periodic task failed'))
      .finally(() => {
        running = undefined;
      });
  }, everyMs);
  timer.unref();
  lifecycle.onStop(name, async () => {
    clearInterval(timer);
    await running;
  });
}
