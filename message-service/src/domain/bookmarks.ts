import { notFound, pageFrom, type Database, type PagePosition } from '@board/service-kit';
import { type Identity } from '@board/service-kit/contracts';
import { addBookmark, holdMessage, pageOfBookmarks, removeBookmark } from '../data/bookmarks';
import { refuseDeletedUser } from './writers';
import type { StoredMessage } from './message';

/** Each member's bookmarked messages. A deleted message leaves every list with its bookmarks. */
export class Bookmarks {
  constructor(private readonly db: Database) {}

  /** Bookmarks the message (again: no change); 404 when there is no such message. */
  async add(owner: Identity, messageId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await refuseDeletedUser(tx, owner);
      // Held, so that a deletion cannot slip in between and make the insert break its foreign key.
      if (!(await holdMessage(tx, messageId))) throw notFound('No such message');
      await addBookmark(tx, owner.userId, messageId);
    });
  }

  /** Removes the caller's bookmark of the message, if any; nobody else's can be named. */
  async remove(owner: Identity, messageId: string): Promise<void> {
    await removeBookmark(this.db, owner.userId, messageId);
  }

  async page(
    owner: Identity,
    before: PagePosition | undefined,
    limit: number,
  ): Promise<{ messages: StoredMessage[]; nextCursor: string | null }> {
    const { rows, nextCursor } = pageFrom(await pageOfBookmarks(this.db, owner.userId, before, limit + 1), limit);
    return { messages: rows, nextCursor };
  }
}
