import type { InfiniteData } from '@tanstack/react-query';
import type { Author, Message, MessagePage } from '../../api/types';

export type Pages = InfiniteData<MessagePage, string | undefined>;

export const messagesKey = (channel: string) => ['messages', channel] as const;

/** A message as the live stream sends it: `authorId` only when the server shows this caller the author. */
export interface LiveMessage {
  id: string;
  channel: string;
  body: string;
  createdAt: string;
  editedAt: string | null;
  authorId?: string;
}

const allMessages = (pages: Pages): Message[] => pages.pages.flatMap((page) => page.messages);

/**
 * The author of a live message. The stream names the author's id (or leaves it out, when the
 * server hides it); the names are the ones the API gave for that id, or null until a page from
 * the API brings them, as the API itself shows an author it does not know yet.
 */
export function authorOf(pages: Pages | undefined, authorId: string | undefined): { author: Author | null; known: boolean } {
  if (authorId === undefined) return { author: null, known: true };
  const seen = pages && allMessages(pages).find((message) => message.author?.id === authorId)?.author;
  return seen ? { author: seen, known: true } : { author: { id: authorId, username: null, displayName: null }, known: false };
}

const mapMessages = (pages: Pages, map: (messages: Message[], index: number) => Message[]): Pages => ({
  ...pages,
  pages: pages.pages.map((page, index) => ({ ...page, messages: map(page.messages, index) })),
});

/** A new message goes on top, once: a replayed or already fetched one changes nothing. */
export function addMessage(pages: Pages, message: Message | LiveCopy): Pages {
  if (allMessages(pages).some((existing) => existing.id === message.id)) return replaceMessage(pages, message);
  // A new message has no likes yet; whether I like it is false unless the API said otherwise.
  const added: Message = { ...message, likeCount: message.likeCount ?? 0, likedByMe: message.likedByMe ?? false };
  return mapMessages(pages, (messages, index) => (index === 0 ? [added, ...messages] : messages));
}

/**
 * An edit replaces the message where it is; an edit older than what is shown is dropped. What
 * the incoming copy does not carry (the live stream's has no likes) stays as shown.
 */
export function replaceMessage(pages: Pages, message: Message | LiveCopy): Pages {
  return mapMessages(pages, (messages) =>
    messages.map((existing) =>
      existing.id === message.id && !isOlder(message, existing)
        ? { ...existing, ...message, likeCount: message.likeCount ?? existing.likeCount, likedByMe: message.likedByMe ?? existing.likedByMe }
        : existing,
    ),
  );
}

/** A message as the live stream gives it: everything but the likes. */
export type LiveCopy = Omit<Message, 'likeCount'> & { likeCount?: number };

/** message.likes_changed: the new count; whether I like it changes only by my own hand. */
export const setLikes = (pages: Pages, id: string, likeCount: number): Pages =>
  mapMessages(pages, (messages) => messages.map((m) => (m.id === id ? { ...m, likeCount } : m)));

const isOlder = (incoming: Message | LiveCopy, shown: Message): boolean =>
  shown.editedAt !== null && (incoming.editedAt === null || incoming.editedAt < shown.editedAt);

export const removeMessage = (pages: Pages, id: string): Pages => mapMessages(pages, (messages) => messages.filter((m) => m.id !== id));

export const removeAuthor = (pages: Pages, authorId: string): Pages =>
  mapMessages(pages, (messages) => messages.filter((m) => m.author?.id !== authorId));

export const renameAuthor = (pages: Pages, author: { id: string; username: string; displayName: string }): Pages =>
  mapMessages(pages, (messages) =>
    messages.map((m) => (m.author?.id === author.id ? { ...m, author: { id: author.id, username: author.username, displayName: author.displayName } } : m)),
  );

/**
 * The newest page as the API gives it now, laid over what is shown: its messages replace theirs
 * (the API's author view wins), new ones go on top, and messages between its oldest and the top
 * that it no longer has are gone.
 */
export function mergeNewest(pages: Pages, newest: MessagePage): Pages {
  const fresh = new Map(newest.messages.map((m) => [m.id, m]));
  const oldest = newest.messages.at(-1);
  const covered = (m: Message) => newest.nextCursor === null || (oldest !== undefined && m.createdAt >= oldest.createdAt);
  const merged = mapMessages(pages, (messages) => messages.filter((m) => fresh.has(m.id) || !covered(m)).map((m) => fresh.get(m.id) ?? m));
  const shown = new Set(allMessages(merged).map((m) => m.id));
  const added = newest.messages.filter((m) => !shown.has(m.id));
  return mapMessages(merged, (messages, index) => (index === 0 ? sortNewestFirst([...added, ...messages]) : messages));
}

const sortNewestFirst = (messages: Message[]): Message[] =>
  [...messages].sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1));

export const fromLive = (live: LiveMessage, author: Author | null): LiveCopy => ({
  id: live.id,
  channel: live.channel,
  body: live.body,
  createdAt: live.createdAt,
  editedAt: live.editedAt,
  author,
});
