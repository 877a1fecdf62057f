import { type Database, type HandlerOutcome, type RevocationList } from '@board/service-kit';
import { CONSUMER_BINDINGS, PoisonMessageError, type AnyEvent, type EventEnvelope } from '@board/service-kit/contracts';
import { deleteCredentials, updateRole } from '../data/credentials';
import { liveSessionIds } from '../data/sessions';
import type { AuthMetrics } from '../metrics';

/** The consumer name for claimed events, and (with the topology prefix) the queue name. */
export const CONSUMER = 'auth-service';
export const CONSUMED_EVENTS = CONSUMER_BINDINGS[CONSUMER];

export interface EventHandlerDeps {
  db: Database;
  revocations: RevocationList;
  metrics: AuthMetrics;
}

/**
 * Handles each event once: the claim and the changes commit together, so a redelivered event
 * finds its claim and changes nothing.
 */
export function eventHandler(deps: EventHandlerDeps): (event: AnyEvent) => Promise<HandlerOutcome> {
  return async (event) => {
    switch (event.type) {
      case 'user.deleted':
        return userDeleted(deps, event);
      case 'user.role_changed':
        return roleChanged(deps, event);
      case 'session.revoked':
        return sessionsRevoked(deps, event);
      default:
        return 'ignored';
    }
  };
}

/**
 * Credentials, sessions and refresh tokens go. The Redis revocation runs inside the transaction:
 * if Redis is away the transaction rolls back and the event is retried, rather than leaving
 * access tokens of a deleted user accepted with nobody left to revoke them.
 */
async function userDeleted({ db, revocations, metrics }: EventHandlerDeps, event: EventEnvelope<'user.deleted'>): Promise<HandlerOutcome> {
  const revoked = await db.transaction(async (tx) => {
    if (!(await tx.claimEvent(CONSUMER, event.id))) return undefined;
    const sessionIds = await liveSessionIds(tx, event.data.id);
    await deleteCredentials(tx, event.data.id);
    await revocations.revokeSessions(sessionIds);
    return sessionIds;
  });
  if (!revoked) return 'duplicate';
  metrics.sessionsRevoked.inc({ reason: 'user_deleted' }, revoked.length);
  return 'handled';
}

/**
 * The durable path of a revocation this service made: Redis gets it here even when it was away
 * at the moment of the logout (a Redis outage holds the event until it is back).
 */
async function sessionsRevoked({ db, revocations }: EventHandlerDeps, event: EventEnvelope<'session.revoked'>): Promise<HandlerOutcome> {
  return db.transaction(async (tx) => {
    if (!(await tx.claimEvent(CONSUMER, event.id))) return 'duplicate';
    await revocations.revokeSessions(event.data.sessionIds);
    return 'handled';
  });
}

/**
 * Tokens issued from now on (login, refresh) carry the new role. The role is also recorded in
 * Redis inside the transaction (a Redis outage holds the event): tokens this service issued with
 * the old role until now must act with the new one for as long as they live.
 */
async function roleChanged({ db, revocations }: EventHandlerDeps, event: EventEnvelope<'user.role_changed'>): Promise<HandlerOutcome> {
  const changedAt = new Date(event.occurredAt);
  if (Number.isNaN(changedAt.getTime())) throw new PoisonMessageError(`occurredAt is not a time: ${event.occurredAt}`);
  return db.transaction(async (tx) => {
    if (!(await tx.claimEvent(CONSUMER, event.id))) return 'duplicate';
    await updateRole(tx, event.data.id, event.data.role, { changedAt, version: event.aggregateVersion });
    if (event.aggregateVersion !== undefined) {
      await revocations.recordRole({ userId: event.data.id, role: event.data.role, version: event.aggregateVersion });
    }
    return 'handled';
  });
}
