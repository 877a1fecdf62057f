import { seesAuthors, type EventData, type Identity } from '@board/service-kit/contracts';

export interface StoredMessage {
  id: string;
  channel: string;
  authorId: string;
  body: string;
  createdAt: Date;
  editedAt: Date | null;
  /** Null while the author's registration event has not arrived. */
  authorName: { username: string; displayName: string } | null;
  /** How many changes the message has had (1 when posted, likes included); every message.* event carries it. */
  version: number;
  likeCount: number;
  /** Whether the user it was read for likes it (false when read for nobody in particular). */
  likedByMe: boolean;
}

export interface AuthorView {
  id: string;
  username: string | null;
  displayName: string | null;
}

/** The public message shape (docs/architecture.md). The body goes out exactly as it was written. */
export interface MessageView {
  id: string;
  channel: string;
  body: string;
  createdAt: string;
  editedAt: string | null;
  author: AuthorView | null;
  likeCount: number;
  /** Only in the view of a caller with an account. */
  likedByMe?: boolean;
}

/**
 * A `user` sees who wrote their own messages only; members and admins see every author. A
 * visitor (no identity) gets the `user` view of a stranger: no author at all, and no likedByMe.
 */
export function presentMessage(message: StoredMessage, viewer: Identity | undefined): MessageView {
  const showsAuthor = viewer !== undefined && (seesAuthors(viewer.role) || message.authorId === viewer.userId);
  const view: MessageView = {
    id: message.id,
    channel: message.channel,
    body: message.body,
    createdAt: message.createdAt.toISOString(),
    editedAt: message.editedAt?.toISOString() ?? null,
    author: showsAuthor
      ? {
          id: message.authorId,
          username: message.authorName?.username ?? null,
          displayName: message.authorName?.displayName ?? null,
        }
      : null,
    likeCount: message.likeCount,
  };
  if (viewer) view.likedByMe = message.likedByMe;
  return view;
}

/** message.created / message.updated data; consumers (realtime) filter the author per recipient. */
export function messageEventData(message: StoredMessage): EventData<'message.created'> {
  return {
    id: message.id,
    channel: message.channel,
    authorId: message.authorId,
    body: message.body,
    createdAt: message.createdAt.toISOString(),
    editedAt: message.editedAt?.toISOString() ?? null,
  };
}

/** Only the author may edit a message. */
export const mayEdit = (message: StoredMessage, caller: Identity): boolean => message.authorId === caller.userId;

/** The author or an admin may delete a message. */
export const mayDelete = (message: StoredMessage, caller: Identity): boolean =>
  message.authorId === caller.userId || caller.role === 'admin';
