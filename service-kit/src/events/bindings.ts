/**
 * Every consumer on the board and the routing keys its queue binds: the one place the broker's
 * topology is written down. Every service declares all of it when it connects (see
 * assertBoardQueues), so an event published before its consumer ever ran, such as the seeded
 * admin's user.registered on a first start, waits in that consumer's queue instead of being
 * dropped by the exchange.
 */
export const CONSUMER_BINDINGS = {
  'auth-service': ['user.deleted', 'user.role_changed'],
  'user-service': ['user.registered'],
  'message-service': ['user.registered', 'user.updated', 'user.deleted'],
  'realtime-service': ['message.*', 'user.*'],
} as const satisfies Record<string, readonly string[]>;

export type BoardConsumer = keyof typeof CONSUMER_BINDINGS;
