import { avatarUrl, type Identity, type Role } from '@board/service-kit/contracts';

export interface Profile {
  id: string;
  email: string;
  username: string;
  displayName: string;
  role: Role;
  createdAt: Date;
  /** How many changes the profile has had (1 when registered); every user.* event carries it. */
  version: number;
  /** The profile version that set the current avatar (its URL carries it); null when there is none. */
  avatarVersion: number | null;
  /** When the gateway last saw the user (to the minute); null before the first time. */
  lastActiveAt: Date | null;
}

/** The profile's versioned avatar URL, null when it has none. */
export const avatarUrlOf = (profile: Pick<Profile, 'id' | 'avatarVersion'>): string | null =>
  profile.avatarVersion === null ? null : avatarUrl(profile.id, profile.avatarVersion);

/**
 * The public user shape (docs/architecture.md); email and lastActiveAt only for the user
 * themselves and admins.
 */
export interface UserView {
  id: string;
  email?: string;
  username: string;
  displayName: string;
  role: Role;
  avatarUrl: string | null;
  createdAt: string;
  lastActiveAt?: string | null;
}

export function presentUser(profile: Profile, viewer: Identity): UserView {
  const seesPrivate = viewer.userId === profile.id || viewer.role === 'admin';
  return {
    id: profile.id,
    ...(seesPrivate ? { email: profile.email } : {}),
    username: profile.username,
    displayName: profile.displayName,
    role: profile.role,
    avatarUrl: avatarUrlOf(profile),
    createdAt: profile.createdAt.toISOString(),
    ...(seesPrivate ? { lastActiveAt: profile.lastActiveAt?.toISOString() ?? null } : {}),
  };
}
