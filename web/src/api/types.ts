/** The shapes of docs/openapi.yaml that the client reads. */

export type Role = 'user' | 'member' | 'admin';

export interface User {
  id: string;
  email?: string;
  username: string;
  displayName: string;
  role: Role;
  createdAt: string;
  /** Versioned (a new upload is a new URL); null when the user has none. */
  avatarUrl?: string | null;
  /** Shown to the user and to admins only; null before the first recorded activity. */
  lastActiveAt?: string | null;
}

export interface Author {
  id: string;
  /** null while the author's registration has not reached the message service yet. */
  username: string | null;
  displayName: string | null;
  /** Only where the API shows the author (members and admins). */
  avatarUrl?: string | null;
}

export interface Message {
  id: string;
  channel: string;
  body: string;
  createdAt: string;
  editedAt: string | null;
  /** null when the API hides the author from this caller: shown as the API says, never inferred. */
  author: Author | null;
  likeCount: number;
  /** Whether the caller likes it; absent for a visitor. */
  likedByMe?: boolean;
}

export interface ChannelSummary {
  name: string;
  messageCount: number;
  lastMessageAt: string;
}

export interface MessagePage {
  messages: Message[];
  nextCursor: string | null;
}

export interface UserPage {
  users: User[];
  nextCursor: string | null;
}

export interface Session {
  id: string;
  userAgent: string | null;
  ip: string | null;
  createdAt: string;
  lastUsedAt: string;
  current: boolean;
}

export interface TokenIssued {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: User;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: { field?: string; message: string }[]; requestId: string };
}
