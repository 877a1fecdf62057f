/*
 * The board's own contract, shared by every service: roles, the identity the gateway vouches
 * for, channel names, and the domain events (their schemas, the envelope, and which consumer
 * binds which). Infrastructure lives in the kit's main entry point.
 */
export { ROLES, isRole, lowerRole, seesAuthors, type Role } from './roles';
export { IDENTITY_HEADERS, identityFromHeaders, identityHeaders, sendsIdentity, type Identity } from './identity';
export { isUuid } from './ids';
export { DEFAULT_CHANNEL, MAX_CHANNEL_NAME_LENGTH, isChannelName } from './channels';
export {
  EVENT_SCHEMAS,
  EVENT_TYPES,
  EVENT_VERSION,
  PoisonMessageError,
  isEventType,
  parseEventMessage,
  type AnyEvent,
  type EventData,
  type EventEnvelope,
  type EventType,
  type ParsedMessage,
} from './events';
export { CONSUMER_BINDINGS, SINGLE_ACTIVE_CONSUMERS, type BoardConsumer } from './bindings';
