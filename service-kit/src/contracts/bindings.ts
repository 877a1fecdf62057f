/**
 * Every consumer on the board and the routing keys its queue binds: the one place the broker's
 * topology is written down. Every service declares all of it when it connects (see
 * assertBoardQueues), so an event published before its consumer ever ran, such as the seeded
 * admin's user.registered on a first start, waits in that consumer's queue instead of being
 * dropped by the exchange.
 */
export const CONSUMER_BINDINGS = {
  'auth-service': ['user.deleted', 'user.role_changed', 'session.revoked'],
  'user-service': ['user.registered'],
  'message-service': ['user.registered', 'user.updated', 'user.deleted'],
  'realtime-service': ['message.*', 'user.*'],
} as const satisfies Record<string, readonly string[]>;

export type BoardConsumer = keyof typeof CONSUMER_BINDINGS;

/**
 * Queues where only one consumer at a time may take messages, whatever the replicas: the
 * realtime-service appends each event to the replay stream, whose order is the order every client
 * sees, so two instances taking turns must not interleave a message's created, edited and deleted.
 * The others apply state and drop stale updates themselves.
 */
export const SINGLE_ACTIVE_CONSUMERS: ReadonlySet<string> = new Set<BoardConsumer>(['realtime-service']);
