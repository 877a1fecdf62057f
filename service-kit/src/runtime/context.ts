import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What follows one unit of work (an HTTP request or a consumed event) through every await:
 * the request id that log lines carry and that events record as their correlation id.
 */
export interface WorkContext {
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<WorkContext>();

export function runInContext<T>(context: WorkContext, work: () => T): T {
  return storage.run(context, work);
}

export function currentContext(): WorkContext | undefined {
  return storage.getStore();
}
