import { query } from 'express-validator';
import { MAX_CHANNEL_NAME_LENGTH } from '@board/service-kit/contracts';
import { DEFAULT_CHANNELS, MAX_CHANNEL_LIST_LENGTH, MAX_CHANNELS_PER_STREAM, parseChannelList } from '../domain/channels';

/** The query of GET /api/events. */
export const streamQueryFields = () => [
  query('channels')
    .default(DEFAULT_CHANNELS)
    .isString()
    .withMessage('must be given once')
    .bail()
    .isLength({ max: MAX_CHANNEL_LIST_LENGTH })
    .withMessage(`must be at most ${MAX_CHANNEL_LIST_LENGTH} characters`)
    .bail()
    .custom((list: string) => parseChannelList(list) !== undefined)
    .withMessage(
      `must be up to ${MAX_CHANNELS_PER_STREAM} comma-separated channel names of lowercase letters, digits and single dashes, at most ${MAX_CHANNEL_NAME_LENGTH} characters each`,
    )
    .bail()
    .customSanitizer((list: string) => parseChannelList(list)),
  query('ticket').optional().isString().withMessage('must be given once'),
  // Where a client cannot set the Last-Event-ID header (a new native EventSource), it may pass it here.
  query('lastEventId').optional().isString().withMessage('must be given once'),
];
