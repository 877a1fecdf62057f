/** Channel names are slugs, as message-service accepts them. */
const CHANNEL_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MAX_CHANNEL_NAME_LENGTH = 32;
export const MAX_CHANNELS_PER_STREAM = 10;
export const DEFAULT_CHANNELS = 'general';

export const isChannelName = (name: string): boolean => name.length <= MAX_CHANNEL_NAME_LENGTH && CHANNEL_NAME.test(name);

/** The distinct channels of a comma-separated list, or undefined when any name is invalid or there are too many. */
export function parseChannelList(list: string): string[] | undefined {
  const channels = [...new Set(list.split(','))];
  if (channels.length > MAX_CHANNELS_PER_STREAM || !channels.every(isChannelName)) return undefined;
  return channels;
}
