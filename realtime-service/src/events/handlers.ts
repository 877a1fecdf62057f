import type { HandlerOutcome } from '@board/service-kit';
import { CONSUMER_BINDINGS, type AnyEvent } from '@board/service-kit/contracts';
import type { EventLog } from '../store/event-log';

/** The consumer's name, and (with the topology prefix) its queue's. */
export const CONSUMER = 'realtime-service';
export const CONSUMED_EVENTS = CONSUMER_BINDINGS[CONSUMER];

/** The consumer's handler: every domain event goes into the replay stream and out to every instance, once. */
export function eventHandler(eventLog: EventLog) {
  return async (event: AnyEvent): Promise<HandlerOutcome> => ((await eventLog.append(event)) === null ? 'duplicate' : 'handled');
}
