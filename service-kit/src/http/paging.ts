import { query, type ValidationChain } from 'express-validator';
import { isUuid } from '../contracts/ids';

/**
 * Where a page of a keyset-paginated listing (a channel's messages, the user directory) ends: the
 * sort key (created_at, id) of its last row. The time is kept as the text PostgreSQL wrote, to the
 * microsecond; a JS Date would round it to milliseconds and the next page would repeat or skip
 * rows created within the same millisecond.
 */
export interface PagePosition {
  createdAt: string;
  id: string;
}

/**
 * The SQL that selects `column` (a timestamptz) as a cursor carries it: UTC, to the microsecond,
 * in exactly the form decodeCursor accepts. Listings select their rows' sort time with it.
 */
export const sortTimeSql = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const SORT_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;

export function encodeCursor(position: PagePosition): string {
  return Buffer.from(`${position.createdAt} ${position.id}`, 'utf8').toString('base64url');
}

/** A listed row with its sort time, as sortTimeSql selected it. */
export interface PagedRow {
  id: string;
  sortTime: string;
}

/**
 * A page out of the `limit + 1` rows a listing fetched: one row more than asked tells whether
 * another page exists without a second query; the cursor points past the page's last row.
 */
export function pageFrom<Row extends PagedRow>(rows: readonly Row[], limit: number): { rows: Row[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.sortTime, id: last.id }) : null };
}

/**
 * The position a cursor names, or undefined when it is not one this API gave out. Node's base64
 * decoder skips characters it does not know (padding, spaces, anything), so a cursor is also held
 * to being exactly the encoding of what it decodes to: every cursor accepted is one of the 86
 * characters that encodeCursor writes.
 */
export function decodeCursor(cursor: string): PagePosition | undefined {
  const [createdAt, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split(' ');
  if (createdAt === undefined || id === undefined || rest.length > 0) return undefined;
  if (!isCalendarTime(createdAt) || !isStoredId(id)) return undefined;
  const position = { createdAt, id };
  return encodeCursor(position) === cursor ? position : undefined;
}

/** A well-formed time that exists on the calendar, so PostgreSQL will not refuse it (no 30 February). */
function isCalendarTime(text: string): boolean {
  const match = SORT_TIME.exec(text);
  if (!match) return false;
  const wholeSeconds = `${text.slice(0, 19)}.000Z`;
  const parsed = new Date(wholeSeconds);
  return Number(match[1]) >= 1 && !Number.isNaN(parsed.getTime()) && parsed.toISOString() === wholeSeconds;
}

/** A cursor carries the id as PostgreSQL writes a uuid, in lower case; any other spelling was not given out. */
const isStoredId = (id: string): boolean => isUuid(id) && id === id.toLowerCase();

/**
 * A cursor query parameter (`before`, `after`): a previous page's nextCursor, decoded into the
 * position the handler reads.
 */
export const cursorQuery = (name: string): ValidationChain =>
  query(name)
    .optional()
    .isString()
    .withMessage('must be a single cursor')
    .bail()
    .custom((value: string) => decodeCursor(value) !== undefined)
    .withMessage('is not a cursor this API gave out')
    .bail()
    .customSanitizer((value: string) => decodeCursor(value));

/** `limit`: a positive integer; more than `max` is served as `max`. */
export const limitQuery = (max: number): ValidationChain =>
  query('limit')
    .optional()
    .isString()
    .withMessage('must be a single number')
    .bail()
    .isInt({ min: 1 })
    .withMessage('must be a positive integer')
    .bail()
    .toInt()
    .customSanitizer((value: number) => Math.min(value, max));
