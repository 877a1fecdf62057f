import { body, param, query } from 'express-validator';
import { decodeCursor } from '../domain/cursor';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

/** `after`: a cursor from a previous page's nextCursor, decoded into a position. */
export const afterCursorQuery = () =>
  query('after')
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
