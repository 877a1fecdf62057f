/**
 * Where a page of the user listing ends: the sort key (created_at, id) of its last row. The time is
 * kept as the text PostgreSQL wrote, to the microsecond; a JS Date would round it to milliseconds
 * and the next page would repeat or skip rows created within the same millisecond.
 */
export interface PagePosition {
  createdAt: string;
  id: string;
}

const SORT_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(position: PagePosition): string {
  return Buffer.from(`${position.createdAt} ${position.id}`, 'utf8').toString('base64url');
}

/** The position a cursor names, or undefined when it is not one this service gave out. */
export function decodeCursor(cursor: string): PagePosition | undefined {
  const [createdAt, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split(' ');
  if (createdAt === undefined || id === undefined || rest.length > 0) return undefined;
  if (!isCalendarTime(createdAt) || !UUID.test(id)) return undefined;
  return { createdAt, id };
}

/** A well-formed time that exists on the calendar, so PostgreSQL will not refuse it (no 30 February). */
function isCalendarTime(text: string): boolean {
  const match = SORT_TIME.exec(text);
  if (!match) return false;
  const wholeSeconds = `${text.slice(0, 19)}.000Z`;
  const parsed = new Date(wholeSeconds);
  return Number(match[1]) >= 1 && !Number.isNaN(parsed.getTime()) && parsed.toISOString() === wholeSeconds;
}
