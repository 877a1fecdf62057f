import { randomUUID } from 'node:crypto';
import { PoisonMessageError, parseEventMessage } from '../src/contracts/events';
import { createEvent } from '../src/events/envelope';
import { runInContext } from '../src/runtime/context';

const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('domain event envelope', () => {
  it('carries the request id as correlation id', () => {
    const event = runInContext({ requestId: 'req-123' }, () => createEvent('auth-service', 'user.deleted', { id: randomUUID() }));
    expect(event).toMatchObject({ type: 'user.deleted', version: 1, producer: 'auth-service', correlationId: 'req-123' });
    expect(Date.parse(event.occurredAt)).not.toBeNaN();
  });

  it('round-trips through parseEventMessage', () => {
    const event = createEvent('message-service', 'message.deleted', { id: randomUUID(), channel: 'general' });
    expect(parseEventMessage(body(event))).toEqual({ kind: 'event', event });
  });

  it.each([
    ['not JSON', Buffer.from('{nope')],
    ['not an envelope', body({ hello: 'world' })],
    ['bad data for a known type', body({ ...createEvent('x', 'user.deleted', { id: randomUUID() }), data: { id: 42 } })],
  ])('rejects %s as poison', (_label, content) => {
    expect(() => parseEventMessage(content)).toThrow(PoisonMessageError);
  });

  it('reports an unknown type apart instead of calling it poison', () => {
    const event = { ...createEvent('x', 'user.deleted', { id: randomUUID() }), type: 'user.teleported' };
    expect(parseEventMessage(body(event))).toEqual({ kind: 'unknown-type', type: 'user.teleported', id: event.id });
  });
});
