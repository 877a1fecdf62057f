import { type Database, type HandlerOutcome } from '@board/service-kit';
import { CONSUMER_BINDINGS, PoisonMessageError, type AnyEvent } from '@board/service-kit/contracts';
import { deleteAuthor, insertAuthor, upsertAuthor } from '../data/authors';
import { holdUserForDeletion, recordDeletedUser } from '../data/deleted-users';
import { deleteMessagesBy } from '../data/messages';

export const CONSUMER = 'message-service';
export const CONSUMED_EVENTS = CONSUMER_BINDINGS[CONSUMER];

/**
 * Keeps authors' names current and removes a deleted user's messages, announcing each removal so
 * live clients drop it. The event id is claimed in the same transaction as the change, so a
 * redelivered event changes nothing and publishes nothing.
 */
export function eventHandler(db: Database): (event: AnyEvent) => Promise<HandlerOutcome> {
  return async (event) => {
    if (!isConsumed(event)) return 'ignored';
    return db.transaction(async (tx) => {
      if (!(await tx.claimEvent(CONSUMER, event.id))) return 'duplicate';
      switch (event.type) {
        case 'user.registered':
        case 'user.updated': {
          const { id, username, displayName } = event.data;
          const avatarUrl = event.type === 'user.updated' ? event.data.avatarUrl : undefined;
          const names = { id, username, displayName, avatarUrl, asOf: occurredAt(event), version: event.aggregateVersion ?? null };
          await (event.type === 'user.registered' ? insertAuthor(tx, names) : upsertAuthor(tx, names));
          return 'handled';
        }
        case 'user.deleted': {
          // Waits for the user's posts in flight, so that their messages go too.
          await holdUserForDeletion(tx, event.data.id);
          await recordDeletedUser(tx, event.data.id);
          const removed = await deleteMessagesBy(tx, event.data.id);
          for (const { id, channel, version } of removed) await tx.recordEvent('message.deleted', { id, channel }, version);
          await deleteAuthor(tx, event.data.id);
          return 'handled';
        }
      }
    });
  };
}

type ConsumedEvent = Extract<AnyEvent, { type: (typeof CONSUMED_EVENTS)[number] }>;

const isConsumed = (event: AnyEvent): event is ConsumedEvent => (CONSUMED_EVENTS as readonly string[]).includes(event.type);

/** The event's time, which orders updates to the same author; an event without a real one can never be applied. */
function occurredAt(event: AnyEvent): string {
  const time = new Date(event.occurredAt);
  if (Number.isNaN(time.getTime())) throw new PoisonMessageError(`${event.type} ${event.id} has no valid occurredAt`);
  return time.toISOString();
}
