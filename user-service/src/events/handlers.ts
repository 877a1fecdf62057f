import { type Database, type HandlerOutcome } from '@board/service-kit';
import { CONSUMER_BINDINGS, type AnyEvent } from '@board/service-kit/contracts';
import { insertProfile } from '../data/profiles';

export const CONSUMER = 'user-service';
export const CONSUMED_EVENTS = CONSUMER_BINDINGS[CONSUMER];

/**
 * Creates the profile of a newly registered account. The event id is claimed in the same
 * transaction, so a redelivery changes nothing, even after the profile was edited or deleted.
 */
export function eventHandler(db: Database): (event: AnyEvent) => Promise<HandlerOutcome> {
  return async (event) => {
    if (event.type !== 'user.registered') return 'ignored';
    const { id, email, username, displayName, role } = event.data;
    return db.transaction(async (tx) => {
      if (!(await tx.claimEvent(CONSUMER, event.id))) return 'duplicate';
      // A second registration event for the same account (a replayed outbox row) keeps the first profile.
      return (await insertProfile(tx, { id, email, username, displayName, role })) ? 'handled' : 'duplicate';
    });
  };
}
