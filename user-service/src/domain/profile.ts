import type { Identity, Role } from '@board/service-kit/contracts';

export interface Profile {
  id: string;
  email: string;
  username: string;
  displayName: string;
  role: Role;
  createdAt: Date;
  /** How many changes the profile has had (1 when registered); every user.* event carries it. */
  version: number;
}

/** The public user shape (docs/architecture.md); email only for the user themselves and admins. */
export interface UserView {
  id: string;
  email?: string;
  username: string;
  displayName: string;
  role: Role;
  createdAt: string;
}

export function presentUser(profile: Profile, viewer: Identity): UserView {
  const seesEmail = viewer.userId === profile.id || viewer.role === 'admin';
  return {
    id: profile.id,
    ...(seesEmail ? { email: profile.email } : {}),
    username: profile.username,
    displayName: profile.displayName,
    role: profile.role,
    createdAt: profile.createdAt.toISOString(),
  };
}
