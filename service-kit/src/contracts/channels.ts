/**
 * Channel names, as message-service stores them and the realtime-service lets a stream subscribe
 * to them: one rule in one place, so a channel one accepts is never refused by the other.
 */
const CHANNEL_SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export const MAX_CHANNEL_NAME_LENGTH = 32;

/** Where a message goes, and what a stream follows, when the client names no channel. */
export const DEFAULT_CHANNEL = 'general';

/** A slug of at most MAX_CHANNEL_NAME_LENGTH lowercase letters, digits and single hyphens. */
export const isChannelName = (name: string): boolean => name.length <= MAX_CHANNEL_NAME_LENGTH && CHANNEL_SLUG.test(name);
