import { randomUUID } from 'node:crypto';
import { forbidden, found, pageFrom, type Counter, type Database, type PagePosition } from '@board/service-kit';
import { type Identity } from '@board/service-kit/contracts';
import { countPosted, countRemoved, listChannels, type ChannelSummary } from '../data/channels';
import { addLike, adjustLikeCount, removeLike } from '../data/likes';
import { deleteMessage, insertMessage, lockMessage, pageOfChannel, readMessage, updateBody } from '../data/messages';
import { mayDelete, mayEdit, messageEventData, type StoredMessage } from './message';
import { refuseDeletedUser } from './writers';

export interface BoardOptions {
  db: Database;
  messagesPosted: Counter;
}

/** The most channels GET /api/channels lists (the most recently active). */
export const MAX_CHANNELS_LISTED = 100;

/**
 * Messages: every change happens in a transaction that also records the event describing it, so
 * live clients hear of exactly the changes that committed.
 */
export class MessageBoard {
  constructor(private readonly options: BoardOptions) {}

  /** A page of `channel` as `viewer` sees it (undefined: a visitor). */
  async page(
    channel: string,
    viewer: Identity | undefined,
    before: PagePosition | undefined,
    limit: number,
  ): Promise<{ messages: StoredMessage[]; nextCursor: string | null }> {
    const rows = await pageOfChannel(this.options.db, channel, viewer?.userId ?? null, before, limit + 1);
    const { rows: messages, nextCursor } = pageFrom(rows, limit);
    return { messages, nextCursor };
  }

  async channels(): Promise<ChannelSummary[]> {
    return listChannels(this.options.db, MAX_CHANNELS_LISTED);
  }

  async post(author: Identity, channel: string, body: string): Promise<StoredMessage> {
    const message = await this.options.db.transaction(async (tx) => {
      await refuseDeletedUser(tx, author);
      const created = await insertMessage(tx, { id: randomUUID(), channel, authorId: author.userId, body });
      await countPosted(tx, created.channel, created.createdAt);
      await tx.recordEvent('message.created', messageEventData(created), created.version);
      return created;
    });
    this.options.messagesPosted.inc();
    return message;
  }

  async edit(id: string, editor: Identity, body: string): Promise<StoredMessage> {
    return this.options.db.transaction(async (tx) => {
      const message = found(await lockMessage(tx, id), 'message');
      if (!mayEdit(message, editor)) throw forbidden('Only the author may edit a message');
      const edited = found(await updateBody(tx, id, body, editor.userId), 'message');
      await tx.recordEvent('message.updated', messageEventData(edited), edited.version);
      return edited;
    });
  }

  async remove(id: string, remover: Identity): Promise<void> {
    await this.options.db.transaction(async (tx) => {
      const message = found(await lockMessage(tx, id), 'message');
      if (!mayDelete(message, remover)) throw forbidden('Only the author or an admin may delete a message');
      // Its likes and bookmarks go with it (foreign keys).
      const deleted = found(await deleteMessage(tx, id), 'message');
      await countRemoved(tx, [deleted.channel]);
      await tx.recordEvent('message.deleted', { id, channel: deleted.channel }, deleted.version);
    });
  }

  /** Likes the message (again: no change); returns it as the liker sees it. */
  async like(id: string, liker: Identity): Promise<StoredMessage> {
    return this.changeLike(id, liker, 'like');
  }

  /** Takes the like back (none: no change); returns the message as the caller sees it. */
  async unlike(id: string, liker: Identity): Promise<StoredMessage> {
    return this.changeLike(id, liker, 'unlike');
  }

  /**
   * The message's row lock orders every like of it, so the count moves by exactly one per like
   * that was not there (or unlike that was), however many arrive at once; only a change is
   * announced.
   */
  private async changeLike(id: string, caller: Identity, change: 'like' | 'unlike'): Promise<StoredMessage> {
    return this.options.db.transaction(async (tx) => {
      await refuseDeletedUser(tx, caller);
      found(await lockMessage(tx, id), 'message');
      const changed = change === 'like' ? await addLike(tx, id, caller.userId) : await removeLike(tx, id, caller.userId);
      if (changed) {
        const counted = found(await adjustLikeCount(tx, id, change === 'like' ? 1 : -1), 'message');
        await tx.recordEvent('message.likes_changed', { id, channel: counted.channel, likeCount: counted.likeCount }, counted.version);
      }
      return found(await readMessage(tx, id, caller.userId), 'message');
    });
  }
}
