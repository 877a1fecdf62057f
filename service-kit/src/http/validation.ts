import type { Request, RequestHandler } from 'express';
import { body, matchedData, param, validationResult, type ValidationChain } from 'express-validator';
import { isUuid } from '../contracts/ids';
import { validationFailed } from './errors';

/**
 * Runs express-validator chains and turns failures into one 400 VALIDATION_FAILED listing each
 * field, so every route reports bad input the same way.
 */
export function validate(...chains: ValidationChain[]): RequestHandler {
  return async (req, _res, next) => {
    for (const chain of chains) await chain.run(req);
    const result = validationResult(req);
    if (result.isEmpty()) {
      next();
      return;
    }
    const details = result.array({ onlyFirstError: true }).map((error) =>
      error.type === 'field'
        ? { field: error.path, location: error.location, message: String(error.msg) }
        : { message: String(error.msg) },
    );
    next(validationFailed(details));
  };
}

/** The validated and sanitised values, and only those. */
export function validated<T>(req: Request): T {
  return matchedData(req, { includeOptionals: false }) as T;
}

/** A UUID route parameter, lower-cased so that it compares equal to the ids the services store. */
export const uuidParam = (name = 'id'): ValidationChain =>
  param(name)
    .custom((value: string) => isUuid(value))
    .withMessage('must be a UUID')
    .toLowerCase();

/** A JSON object body carrying no fields but `allowed`: a misspelt or read-only field is an error, not silently dropped. */
export const onlyFields = (...allowed: string[]): ValidationChain =>
  body().custom((value: unknown) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`The body must be a JSON object with ${allowed.join(', ')}`);
    }
    const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
    if (unknown.length > 0) throw new Error(`Unknown or read-only fields: ${unknown.join(', ')}`);
    return true;
  });

export const DISPLAY_NAME_MAX = 64;

/**
 * Format characters (Unicode Cf): bidi embeddings, overrides, isolates and marks, zero-width
 * spaces and joiners, the BOM, soft hyphens, tag characters. Invisible in a name, yet they can
 * reorder what is shown around it or make two names look alike, so they are taken out.
 */
const FORMAT_CHARACTERS = /\p{Cf}/gu;
/** C0 and C1 control characters: nothing a name should hold (and PostgreSQL cannot store NUL). */
const CONTROL_CHARACTERS = /\p{Cc}/u;

/** A name as stored: NFC, without format characters, trimmed. */
export const cleanDisplayName = (value: string): string => value.normalize('NFC').replace(FORMAT_CHARACTERS, '').trim();

/**
 * A display name (register, profile edit), one rule for every service: 1 to DISPLAY_NAME_MAX
 * characters once cleaned (cleanDisplayName), no control characters. Names need not be unique:
 * clients show the unique username beside them.
 */
export const displayNameField = (): ValidationChain =>
  body('displayName')
    .isString()
    .withMessage('must be a string')
    .bail()
    .not()
    .matches(CONTROL_CHARACTERS)
    .withMessage('must not contain control characters')
    .bail()
    .customSanitizer(cleanDisplayName)
    .isLength({ min: 1, max: DISPLAY_NAME_MAX })
    .withMessage(`must be 1 to ${DISPLAY_NAME_MAX} visible characters`);
