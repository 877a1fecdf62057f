import { useState, type FormEvent } from 'react';
import { errorText } from '../../api/errors';
import type { Message, User } from '../../api/types';
import { ConfirmButton } from '../../app/ConfirmButton';
import { link } from '../../app/router';
import { Avatar } from '../../app/Avatar';

export interface MessageActions {
  edit: (id: string, body: string) => Promise<void>;
  remove: (id: string) => Promise<void>;
  /** Like (true) or take the like back (false). */
  like: (id: string, liked: boolean) => Promise<void>;
  /** Bookmark (true) or remove the bookmark (false); members and admins. */
  bookmark?: (message: Message, on: boolean) => Promise<void>;
}

const time = (iso: string) => new Date(iso).toLocaleString();

/** The author as the API gave it: none (hidden from this caller), not known yet, or named. */
function AuthorLine({ message }: { message: Message }) {
  if (message.author === null) return <span className="author hidden-author">Author hidden</span>;
  if (message.author.displayName === null) return <span className="author">Unknown author</span>;
  return (
    <span className="author">
      {message.author.avatarUrl && <Avatar url={message.author.avatarUrl} size={24} />} {message.author.displayName} <span className="username">@{message.author.username}</span>
    </span>
  );
}

/** One message; a visitor (no `user`, no `actions`) reads it and its like count only. */
export function MessageItem({
  message,
  user,
  actions,
  bookmarked = false,
  showChannel = false,
}: {
  message: Message;
  user: User | undefined;
  actions: MessageActions | undefined;
  bookmarked?: boolean;
  /** Outside its channel (the bookmarks screen): a link to the channel it is in. */
  showChannel?: boolean;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.body);
  const [error, setError] = useState<string | undefined>();
  const own = user !== undefined && actions !== undefined && message.author?.id === user.id;
  const mayDelete = actions !== undefined && (own || user?.role === 'admin');
  // Members and admins like; a user and a visitor see the count.
  const mayLike = actions !== undefined && user !== undefined && user.role !== 'user';
  const liked = message.likedByMe === true;
  const mayBookmark = mayLike && actions?.bookmark !== undefined;
  const toggleBookmark = async () => {
    try {
      await actions?.bookmark?.(message, !bookmarked);
      setError(undefined);
    } catch (caught) {
      setError(errorText(caught));
    }
  };
  const toggleLike = async () => {
    try {
      await actions?.like(message.id, !liked);
    } catch (caught) {
      setError(errorText(caught));
    }
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await actions?.edit(message.id, draft);
      setEditing(false);
      setError(undefined);
    } catch (caught) {
      setError(errorText(caught));
    }
  };
  const remove = async () => {
    try {
      await actions?.remove(message.id);
    } catch (caught) {
      setError(errorText(caught));
    }
  };

  return (
    <article className="message" aria-labelledby={`m-${message.id}-meta`} data-message-id={message.id}>
      <header id={`m-${message.id}-meta`}>
        {showChannel && (
          <>
            <a href={`/c/${message.channel}`} onClick={link(`/c/${message.channel}`)}>
              #{message.channel}
            </a>{' '}
          </>
        )}
        <AuthorLine message={message} />{' '}
        <time dateTime={message.createdAt}>{time(message.createdAt)}</time>
        {message.editedAt && <span className="edited"> (edited)</span>}
      </header>
      {editing ? (
        <form onSubmit={(e) => void save(e)}>
          <label htmlFor={`edit-${message.id}`}>Edit message</label>
          <textarea id={`edit-${message.id}`} value={draft} maxLength={2000} required onChange={(e) => setDraft(e.target.value)} />
          <button type="submit">Save</button>{' '}
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        // Text only: React escapes it; nothing a message says is ever markup.
        <p className="body">{message.body}</p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {!editing && (
        <div className="actions">
          {mayLike ? (
            <button type="button" aria-pressed={liked} onClick={() => void toggleLike()}>
              {liked ? 'Liked' : 'Like'} · {message.likeCount}
            </button>
          ) : (
            message.likeCount > 0 && <span className="likes">{message.likeCount === 1 ? '1 like' : `${message.likeCount} likes`}</span>
          )}{' '}
          {mayBookmark && (
            <button type="button" aria-pressed={bookmarked} onClick={() => void toggleBookmark()}>
              {bookmarked ? 'Bookmarked' : 'Bookmark'}
            </button>
          )}{' '}
          {own && (
            <button
              type="button"
              onClick={() => {
                setDraft(message.body);
                setEditing(true);
              }}
            >
              Edit
            </button>
          )}{' '}
          {mayDelete && <ConfirmButton label="Delete" confirmLabel="Delete this message" onConfirm={() => void remove()} />}
        </div>
      )}
    </article>
  );
}
