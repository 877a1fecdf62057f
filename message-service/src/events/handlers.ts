import { type Database, type HandlerOutcome } from '@board/service-kit';
import { CONSUMER_BINDINGS, PoisonMessageError, type AnyEvent } from '@board/service-kit/contracts';
import { deleteAuthor, insertAuthor, upsertAuthor } from '../data/authors';
import { holdUserForDeletion, recordDeletedUser } from '../data/deleted-users';
import { removeBookmarksBy } from '../data/bookmarks';
import { countRemoved } from '../data/channels';
import { removeLikesBy } from '../data/likes';
import { deleteMessagesBy } from '../data/messages';

export const CONSUMER = 'message-service';
export const CONSUMED_EVENTS = CONSUMER_BINDINGS[CONSUMER];

/**
 * Keeps authors' names current and removes a deleted user's messages, likes and bookmarks,
 * announcing each removed message and each changed like count so live clients follow. The event id is claimed in the same transaction as the change, so a
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
          const names = { id, username, displayName, asOf: occurredAt(event), version: event.aggregateVersion ?? null };
          await (event.type === 'user.registered' ? insertAuthor(tx, names) : upsertAuthor(tx, names));
          return 'handled';
        }
        case 'user.deleted': {
          // Waits for the user's writes in flight, so that what they wrote goes too.
          await holdUserForDeletion(tx, event.data.id);
          await recordDeletedUser(tx, event.data.id);
          // Likes and bookmarks of these messages go with them (foreign keys).
          const removed = await deleteMessagesBy(tx, event.data.id);
          await countRemoved(tx, removed.map(({ channel }) => channel));
          for (const { id, channel, version } of removed) await tx.recordEvent('message.deleted', { id, channel }, version);
          for (const { id, channel, likeCount, version } of await removeLikesBy(tx, event.data.id)) {
            await tx.recordEvent('message.likes_changed', { id, channel, likeCount }, version);
          }
          await removeBookmarksBy(tx, event.data.id);
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
