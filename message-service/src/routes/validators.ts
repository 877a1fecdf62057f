import { body, param, query } from 'express-validator';
import { decodeCursor } from '../domain/cursor';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CHANNEL_SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_CHANNEL_LENGTH = 32;
const MAX_BODY_CHARACTERS = 2_000;

export const DEFAULT_CHANNEL = 'general';
export const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 100;

/** A JSON object body carrying no fields but `allowed`: a misspelt or read-only field is an error, not silently dropped. */
export const onlyFields = (...allowed: string[]) =>
  body().custom((value: unknown) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`The body must be a JSON object with ${allowed.join(', ')}`);
    }
    const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
    if (unknown.length > 0) throw new Error(`Unknown or read-only fields: ${unknown.join(', ')}`);
    return true;
  });

export const idParam = () => param('id').matches(UUID).withMessage('must be a UUID').toLowerCase();

const isChannel = (value: string) => value.length <= MAX_CHANNEL_LENGTH && CHANNEL_SLUG.test(value);
const CHANNEL_RULE = `must be a slug of at most ${MAX_CHANNEL_LENGTH} lowercase letters, digits and single hyphens`;

export const channelQuery = () =>
  query('channel').optional().isString().withMessage('must be a single channel').bail().custom(isChannel).withMessage(CHANNEL_RULE);

export const channelBody = () =>
  body('channel').optional().isString().withMessage('must be a string').bail().custom(isChannel).withMessage(CHANNEL_RULE);

/**
 * A message body: kept exactly as written (clients escape it when they render), so it is checked,
 * never trimmed or escaped. Length counts characters (code points), not UTF-16 units.
 */
export const messageBody = () =>
  body('body')
    .isString()
    .withMessage('must be a string')
    .bail()
    .custom((value: string) => value.trim().length > 0)
    .withMessage('must not be blank')
    .bail()
    .custom((value: string) => [...value].length <= MAX_BODY_CHARACTERS)
    .withMessage(`must be at most ${MAX_BODY_CHARACTERS} characters`)
    .bail()
    // PostgreSQL text cannot hold NUL.
    .custom((value: string) => !value.includes('\u0000'))
    .withMessage('must not contain NUL characters');

/** `before`: a cursor from a previous page's nextCursor, decoded into a position. */
export const beforeCursorQuery = () =>
  query('before')
    .optional()
    .isString()
    .withMessage('must be a single cursor')
    .bail()
    .custom((value: string) => decodeCursor(value) !== undefined)
    .withMessage('is not a cursor this API gave out')
    .bail()
    .customSanitizer((value: string) => decodeCursor(value));

/** `limit`: a positive integer; more than the maximum is served as the maximum. */
export const limitQuery = () =>
  query('limit')
    .optional()
    .isString()
    .withMessage('must be a single number')
    .bail()
    .isInt({ min: 1 })
    .withMessage('must be a positive integer')
    .bail()
    .toInt()
    .customSanitizer((value: number) => Math.min(value, MAX_PAGE_SIZE));
