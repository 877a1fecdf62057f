import type { AnyEvent, HandlerOutcome } from '@board/service-kit';
import type { EventLog } from '../store/event-log';

/** The consumer's handler: every domain event goes into the replay stream and out to every instance, once. */
export function recordInStream(eventLog: EventLog) {
  return async (event: AnyEvent): Promise<HandlerOutcome> => ((await eventLog.append(event)) === null ? 'duplicate' : 'handled');
}
