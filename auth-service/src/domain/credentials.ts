import type { Role } from '@board/service-kit/contracts';

/** An account as auth-service keeps it. */
export interface Credentials {
  userId: string;
  email: string;
  username: string;
  displayName: string;
  passwordHash: string;
  role: Role;
  createdAt: Date;
}
