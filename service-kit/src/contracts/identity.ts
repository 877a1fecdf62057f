import { isUuid } from './ids';
import { isRole, type Role } from './roles';

/**
 * The identity headers the gateway sets after verifying an access token. Services behind the
 * gateway trust them and nothing else; the gateway strips any a client sends.
 */
export const IDENTITY_HEADERS = {
  userId: 'x-user-id',
  role: 'x-user-role',
  sessionId: 'x-session-id',
} as const;

export interface Identity {
  userId: string;
  role: Role;
  sessionId: string;
}

export function identityFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Identity | undefined {
  const userId = headers[IDENTITY_HEADERS.userId];
  const role = headers[IDENTITY_HEADERS.role];
  const sessionId = headers[IDENTITY_HEADERS.sessionId];
  if (typeof userId !== 'string' || !isUuid(userId)) return undefined;
  if (!isRole(role)) return undefined;
  if (typeof sessionId !== 'string' || !isUuid(sessionId)) return undefined;
  return { userId: userId.toLowerCase(), role, sessionId: sessionId.toLowerCase() };
}

/** Whether any identity header is there: without any, the caller is a visitor; with some, they must make an identity. */
export const sendsIdentity = (headers: Readonly<Record<string, string | string[] | undefined>>): boolean =>
  Object.values(IDENTITY_HEADERS).some((name) => headers[name] !== undefined);

export function identityHeaders(identity: Identity): Record<string, string> {
  return {
    [IDENTITY_HEADERS.userId]: identity.userId,
    [IDENTITY_HEADERS.role]: identity.role,
    [IDENTITY_HEADERS.sessionId]: identity.sessionId,
  };
}
