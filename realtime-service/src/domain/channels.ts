import { DEFAULT_CHANNEL, isChannelName } from '@board/service-kit/contracts';

export const MAX_CHANNELS_PER_STREAM = 10;
/** A stream that names no channels follows the one a message without a channel goes to. */
export const DEFAULT_CHANNELS = DEFAULT_CHANNEL;

/** The distinct channels of a comma-separated list, or undefined when any name is invalid or there are too many. */
export function parseChannelList(list: string): string[] | undefined {
  const channels = [...new Set(list.split(','))];
  if (channels.length > MAX_CHANNELS_PER_STREAM || !channels.every(isChannelName)) return undefined;
  return channels;
}
