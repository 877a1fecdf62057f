import { randomUUID } from 'node:crypto';
import { forbidden, found, pageFrom, unauthorized, type Counter, type Database, type PagePosition } from '@board/service-kit';
import { type Identity } from '@board/service-kit/contracts';
import { deleteMessage, insertMessage, lockMessage, pageOfChannel, updateBody } from '../data/messages';
import { holdUserForPosting, isDeletedUser } from '../data/deleted-users';
import { mayDelete, mayEdit, messageEventData, type StoredMessage } from './message';

export interface BoardOptions {
  db: Database;
  messagesPosted: Counter;
}

/**
 * Messages: every change happens in a transaction that also records the event describing it, so
 * live clients hear of exactly the changes that committed.
 */
export class MessageBoard {
  constructor(private readonly options: BoardOptions) {}

  async page(
    channel: string,
    before: PagePosition | undefined,
    limit: number,
  ): Promise<{ messages: StoredMessage[]; nextCursor: string | null }> {
    const { rows, nextCursor } = pageFrom(await pageOfChannel(this.options.db, channel, before, limit + 1), limit);
    return { messages: rows, nextCursor };
  }

  async post(author: Identity, channel: string, body: string): Promise<StoredMessage> {
    const message = await this.options.db.transaction(async (tx) => {
      // A post that passed the gateway just before its author was deleted: the deletion waits for
      // it (and then removes it), or it sees the deletion and is refused; never a message left behind.
      await holdUserForPosting(tx, author.userId);
      if (await isDeletedUser(tx, author.userId)) throw unauthorized('The account no longer exists', 'SESSION_REVOKED');
      const created = await insertMessage(tx, { id: randomUUID(), channel, authorId: author.userId, body });
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
      const edited = found(await updateBody(tx, id, body), 'message');
      await tx.recordEvent('message.updated', messageEventData(edited), edited.version);
      return edited;
    });
  }

  async remove(id: string, remover: Identity): Promise<void> {
    await this.options.db.transaction(async (tx) => {
      const message = found(await lockMessage(tx, id), 'message');
      if (!mayDelete(message, remover)) throw forbidden('Only the author or an admin may delete a message');
      const deleted = found(await deleteMessage(tx, id), 'message');
      await tx.recordEvent('message.deleted', { id, channel: deleted.channel }, deleted.version);
    });
  }
}
