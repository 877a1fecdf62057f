import { body, query } from 'express-validator';
import { MAX_CHANNEL_NAME_LENGTH, isChannelName } from '@board/service-kit/contracts';

const MAX_BODY_CHARACTERS = 2_000;

/** Messages per page when the caller names no limit, and the most it may ask for. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

const CHANNEL_RULE = `must be a slug of at most ${MAX_CHANNEL_NAME_LENGTH} lowercase letters, digits and single hyphens`;

export const channelQuery = () =>
  query('channel').optional().isString().withMessage('must be a single channel').bail().custom(isChannelName).withMessage(CHANNEL_RULE);

export const channelBody = () =>
  body('channel').optional().isString().withMessage('must be a string').bail().custom(isChannelName).withMessage(CHANNEL_RULE);

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

