import { body, query } from 'express-validator';
import { ROLES } from '@board/service-kit/contracts';

/** Users per page of GET /api/users when the caller names no limit, and the most it may ask for. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

export const passcodeField = () =>
  body('passcode').isString().withMessage('must be a string').bail().isLength({ min: 1, max: 256 }).withMessage('must be 1 to 256 characters');

export const roleField = () =>
  body('role').isString().withMessage('must be a string').bail().isIn(ROLES).withMessage(`must be one of ${ROLES.join(', ')}`);

/** The version in an avatar URL (`?v=`), optional: without it the answer is never cached for long. */
export const avatarVersionQuery = () => query('v').optional().isInt({ min: 1 }).withMessage('must be a positive integer').bail().toInt();
