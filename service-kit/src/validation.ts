import type { Request, RequestHandler } from 'express';
import { matchedData, validationResult, type ValidationChain } from 'express-validator';
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
