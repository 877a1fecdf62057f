import { randomUUID } from 'node:crypto';
import { decodeCursor, encodeCursor } from '../src/http/paging';

// The keyset cursors of message-service (`before`) and user-service (`after`).
describe('page cursors', () => {
  it('round-trip a position to the microsecond and refuse anything else', () => {
    const position = { createdAt: '2024-05-06T07:08:09.123456Z', id: randomUUID() };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
    expect(decodeCursor('')).toBeUndefined();
    expect(decodeCursor(encodeCursor({ ...position, createdAt: '2024-04-31T00:00:00.000000Z' }))).toBeUndefined();
    expect(decodeCursor(encodeCursor({ ...position, id: `${position.id}0` }))).toBeUndefined();
  });
});

describe('listing cursors', () => {
  it('round-trips a position to the microsecond', () => {
    const position = { createdAt: '2024-05-06T07:08:09.123456Z', id: randomUUID() };
    const cursor = encodeCursor(position);
    // docs/openapi.yaml's Cursor.
    expect(cursor).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it.each([
    ['garbage', 'not a cursor'],
    ['an empty string', ''],
    ['a time without microseconds', Buffer.from(`2024-05-06T07:08:09Z ${randomUUID()}`).toString('base64url')],
    ['a day that does not exist', encodeCursor({ createdAt: '2023-02-29T00:00:00.000000Z', id: randomUUID() })],
    ['hour 24', encodeCursor({ createdAt: '2023-01-01T24:00:00.000000Z', id: randomUUID() })],
    ['year zero', encodeCursor({ createdAt: '0000-01-01T00:00:00.000000Z', id: randomUUID() })],
    ['a bad id', encodeCursor({ createdAt: '2024-05-06T07:08:09.123456Z', id: 'x' })],
    ['extra parts', Buffer.from(`2024-05-06T07:08:09.123456Z ${randomUUID()} more`).toString('base64url')],
    // Node's decoder reads each of these as the same position; only the 86 characters written are a cursor.
    ['a valid cursor with padding', `${encodeCursor({ createdAt: '2024-05-06T07:08:09.123456Z', id: randomUUID() })}==`],
    ['a valid cursor with trailing junk', `${encodeCursor({ createdAt: '2024-05-06T07:08:09.123456Z', id: randomUUID() })}${'!'.repeat(10_000)}`],
    ['a valid cursor after spaces', `  ${encodeCursor({ createdAt: '2024-05-06T07:08:09.123456Z', id: randomUUID() })}`],
  ])('refuses %s', (_label, cursor) => {
    expect(decodeCursor(cursor)).toBeUndefined();
  });
});
