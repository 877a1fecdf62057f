import { randomUUID } from 'node:crypto';
import { EVENT_VERSION, type EventData, type EventEnvelope, type EventType } from '../contracts/events';
import { currentContext } from '../runtime/context';

/** A new event of this producer, correlated with the request or event being handled. */
export function createEvent<T extends EventType>(producer: string, type: T, data: EventData<T>, aggregateVersion?: number): EventEnvelope<T> {
  const id = randomUUID();
  return {
    id,
    type,
    version: EVENT_VERSION,
    occurredAt: new Date().toISOString(),
    producer,
    correlationId: currentContext()?.requestId ?? id,
    ...(aggregateVersion === undefined ? {} : { aggregateVersion }),
    data,
  };
}
