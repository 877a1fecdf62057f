import { seesAuthors, type AnyEvent, type Role } from '@board/service-kit/contracts';

/**
 * What decides which events a stream receives and how they look. A visitor (no account) has no
 * user id and the `user` role: no author but their own, and they own nothing.
 */
export interface Recipient {
  readonly userId: string | undefined;
  readonly role: Role;
  readonly channels: readonly string[];
}

/** A visitor's view is a `user`'s. */
export const VISITOR_ROLE: Role = 'user';

/** How an event is rendered for a recipient: as it is, or with the author removed. */
export type View = 'full' | 'anonymous';

/**
 * The rules of docs/architecture.md "Who receives what": the view a recipient gets of `event`,
 * or undefined when the event is not for them.
 */
export function viewFor(event: AnyEvent, recipient: Recipient): View | undefined {
  switch (event.type) {
    case 'message.created':
    case 'message.updated':
      if (!recipient.channels.includes(event.data.channel)) return undefined;
      return seesAuthors(recipient.role) || event.data.authorId === recipient.userId ? 'full' : 'anonymous';
    // Neither carries an author: every stream of the channel, a visitor's too, gets them.
    case 'message.deleted':
    case 'message.likes_changed':
      return recipient.channels.includes(event.data.channel) ? 'full' : undefined;
    case 'user.role_changed':
      return event.data.id === recipient.userId ? 'full' : undefined;
    case 'user.updated':
      return seesAuthors(recipient.role) ? 'full' : undefined;
    case 'user.registered':
    case 'user.deleted':
      return recipient.role === 'admin' ? 'full' : undefined;
    case 'session.revoked':
      // Internal to auth-service; the streams it ends are closed through the revocation notice.
      return undefined;
  }
}

/** The event data as `view` shows it: the anonymous view of a message has no author. */
export function dataFor(event: AnyEvent, view: View): object {
  if (view === 'full' || !('authorId' in event.data)) return event.data;
  const { authorId: _author, ...anonymous } = event.data;
  return anonymous;
}
