import { DEFAULT_CHANNEL, MAX_CHANNEL_NAME_LENGTH, isChannelName } from '@board/service-kit/contracts';

export const MAX_CHANNELS_PER_STREAM = 10;
/**
 * The longest list of MAX_CHANNELS_PER_STREAM names with commas between. Repeated names count
 * once, so without this a list could be as long as the URL the edge lets through.
 */
export const MAX_CHANNEL_LIST_LENGTH = MAX_CHANNELS_PER_STREAM * (MAX_CHANNEL_NAME_LENGTH + 1) - 1;
/** A stream that names no channels follows the one a message without a channel goes to. */
export const DEFAULT_CHANNELS = DEFAULT_CHANNEL;

/** The distinct channels of a comma-separated list, or undefined when any name is invalid or there are too many. */
export function parseChannelList(list: string): string[] | undefined {
  const channels = [...new Set(list.split(','))];
  if (channels.length > MAX_CHANNELS_PER_STREAM || !channels.every(isChannelName)) return undefined;
  return channels;
}
