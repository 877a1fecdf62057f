import { body, type ValidationChain } from 'express-validator';
import {
  EMAIL_MAX,
  PASSWORD_MAX_BYTES,
  PASSWORD_MIN_CHARACTERS,
  USERNAME_PATTERN,
  passwordTooLong,
  passwordTooShort,
} from '../domain/credential-rules';

export const emailField = (): ValidationChain =>
  body('email')
    .isString()
    .withMessage('must be a string')
    .bail()
    .trim()
    .toLowerCase()
    .isLength({ max: EMAIL_MAX })
    .withMessage(`must be at most ${EMAIL_MAX} characters`)
    .bail()
    .isEmail()
    .withMessage('must be an email address');

/** Checked as typed; stored lower-cased, while the display name keeps the original case. */
export const usernameField = (): ValidationChain =>
  body('username')
    .isString()
    .withMessage('must be a string')
    .bail()
    .matches(USERNAME_PATTERN)
    .withMessage('must be 3 to 32 letters, digits or underscores');

/** A password being set: long enough, and short enough that bcrypt reads all of it. */
export const newPasswordField = (field: string): ValidationChain =>
  body(field)
    .isString()
    .withMessage('must be a string')
    .bail()
    .custom((value: string) => !passwordTooShort(value))
    .withMessage(`must be at least ${PASSWORD_MIN_CHARACTERS} characters`)
    .bail()
    .custom((value: string) => !passwordTooLong(value))
    .withMessage(`must be at most ${PASSWORD_MAX_BYTES} bytes`);

/** A password being checked: no policy beyond being present, so a policy change locks nobody out. */
export const presentedPasswordField = (field: string): ValidationChain =>
  body(field).isString().withMessage('must be a string').bail().notEmpty().withMessage('is required');
