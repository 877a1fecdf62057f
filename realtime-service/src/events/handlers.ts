import type { HandlerOutcome } from '@board/service-kit';
import type { AnyEvent } from '@board/service-kit/contracts';
import type { EventLog } from '../store/event-log';

/** The consumer's handler: every domain event goes into the replay stream and out to every instance, once. */
export function eventHandler(eventLog: EventLog) {
  return async (event: AnyEvent): Promise<HandlerOutcome> => ((await eventLog.append(event)) === null ? 'duplicate' : 'handled');
}
