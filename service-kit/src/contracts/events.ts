import { z } from 'zod';
import { ROLES } from './roles';

const role = z.enum(ROLES);
const messageData = z.object({
  id: z.uuid(),
  channel: z.string(),
  authorId: z.uuid(),
  body: z.string(),
  createdAt: z.string(),
  editedAt: z.string().nullable(),
});

/** Every domain event and the shape of its data: the contract between producers and consumers. */
export const EVENT_SCHEMAS = {
  'user.registered': z.object({
    id: z.uuid(),
    email: z.string(),
    username: z.string(),
    displayName: z.string(),
    role,
  }),
  'user.updated': z.object({ id: z.uuid(), username: z.string(), displayName: z.string() }),
  'user.role_changed': z.object({ id: z.uuid(), role, previousRole: role }),
  'user.deleted': z.object({ id: z.uuid() }),
  /**
   * auth-service ended sessions (logout, a revoked device, a password change, a replayed refresh
   * token). It consumes this itself to write the revocation to Redis: recorded in the transaction
   * that ends the sessions, so a Redis outage delays the revocation at the gateways, never drops it.
   */
  'session.revoked': z.object({ userId: z.uuid(), sessionIds: z.array(z.uuid()).min(1), reason: z.string() }),
  'message.created': messageData,
  'message.updated': messageData,
  'message.deleted': z.object({ id: z.uuid(), channel: z.string() }),
  /** Someone liked or unliked a message; carries no author and no liker, so every role may see it. */
  'message.likes_changed': z.object({ id: z.uuid(), channel: z.string(), likeCount: z.number().int().nonnegative() }),
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
export type EventData<T extends EventType> = z.infer<(typeof EVENT_SCHEMAS)[T]>;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];
export const EVENT_VERSION = 1;

export interface EventEnvelope<T extends EventType = EventType> {
  id: string;
  type: T;
  version: number;
  occurredAt: string;
  producer: string;
  correlationId: string;
  /**
   * How many changes the aggregate the event is about (a user, a message) has had, this one
   * included: 1 when it was created. Consumers that apply state keep the highest they saw, so an
   * event that arrives late (a retry, a redelivery) cannot undo a later one; producers' clocks are
   * never compared. Absent on events that are about no single stored aggregate.
   */
  aggregateVersion?: number;
  data: EventData<T>;
}

/** A union that narrows on `type`, for handlers that switch over several events. */
export type AnyEvent = { [T in EventType]: EventEnvelope<T> }[EventType];

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_SCHEMAS, type);
}

const envelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  producer: z.string(),
  correlationId: z.string(),
  aggregateVersion: z.number().int().positive().optional(),
  data: z.unknown(),
});

export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

export type ParsedMessage =
  | { kind: 'event'; event: AnyEvent }
  | { kind: 'unknown-type'; type: string; id: string }
  | { kind: 'newer-version'; type: string; id: string; version: number };

/**
 * Decodes a message body into a typed event. Malformed bodies and known types with bad data are
 * poison (they can never succeed); an unknown type is reported apart, as a newer producer may
 * send one, and so is an envelope of a newer version, whose data this code cannot be trusted to
 * read (during a rolling deploy, a new producer runs beside old consumers).
 */
export function parseEventMessage(body: Buffer): ParsedMessage {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new PoisonMessageError('message body is not JSON');
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) throw new PoisonMessageError(`not an event envelope: ${envelope.error.message}`);
  const { type, version } = envelope.data;
  if (version > EVENT_VERSION) return { kind: 'newer-version', type, id: envelope.data.id, version };
  if (!isEventType(type)) return { kind: 'unknown-type', type, id: envelope.data.id };
  const data = EVENT_SCHEMAS[type].safeParse(envelope.data.data);
  if (!data.success) throw new PoisonMessageError(`bad ${type} data: ${data.error.message}`);
  return { kind: 'event', event: { ...envelope.data, type, data: data.data } as AnyEvent };
}
