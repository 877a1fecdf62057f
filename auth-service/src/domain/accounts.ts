import { randomUUID } from 'node:crypto';
import type { Database, FailureLimit } from '@board/service-kit';
import type { Identity, Role } from '@board/service-kit/contracts';
import { findCredentialsById, insertCredentials, updatePasswordHash } from '../data/credentials';
import { revokeUserSessions } from '../data/sessions';
import type { AuthMetrics } from '../metrics';
import { canonical } from './credential-rules';
import type { Credentials } from './credentials';
import { emailTaken, invalidCredentials, sessionEnded, usernameTaken } from './errors';
import type { PasswordHasher } from './passwords';
import type { SessionRevocations } from './revocations';

/** A user as auth-service shows it to that user (architecture.md: public response shapes). */
export interface PublicUser {
  id: string;
  email: string;
  username: string;
  displayName: string;
  role: Role;
  createdAt: string;
}

export const publicUser = (credentials: Credentials): PublicUser => ({
  id: credentials.userId,
  email: credentials.email,
  username: credentials.username,
  displayName: credentials.displayName,
  role: credentials.role,
  createdAt: credentials.createdAt.toISOString(),
});

export interface Registration {
  email: string;
  username: string;
  password: string;
  displayName?: string;
}

export type CreateOutcome = { created: Credentials } | { taken: 'email' | 'username' };

export interface AccountsDeps {
  db: Database;
  hasher: PasswordHasher;
  revocations: SessionRevocations;
  metrics: AuthMetrics;
  /** Wrong old passwords per user on a password change: each costs a bcrypt hash, and guesses the password. */
  passwordChangeFailures: FailureLimit;
}

/** Creating accounts and changing passwords. */
export class Accounts {
  constructor(private readonly deps: AccountsDeps) {}

  async register(registration: Registration): Promise<PublicUser> {
    const outcome = await this.create(registration, 'user');
    if ('taken' in outcome) throw outcome.taken === 'email' ? emailTaken() : usernameTaken();
    return publicUser(outcome.created);
  }

  /**
   * Inserts the credentials and records user.registered in the same transaction, so the event
   * exists exactly when the account does. Hashing happens first, outside the transaction, so no
   * connection is held while bcrypt works.
   */
  async create(registration: Registration, role: Role): Promise<CreateOutcome> {
    const passwordHash = await this.deps.hasher.hash(registration.password);
    const username = canonical(registration.username);
    const outcome = await this.deps.db.transaction(async (tx) => {
      const result = await insertCredentials(tx, {
        userId: randomUUID(),
        email: canonical(registration.email),
        username,
        displayName: registration.displayName ?? registration.username,
        passwordHash,
        role,
      });
      if ('taken' in result) return result;
      const { userId: id, email, displayName } = result.inserted;
      // A new account is version 1 of the user; user-service counts on from there.
      await tx.recordEvent('user.registered', { id, email, username, displayName, role }, 1);
      return { created: result.inserted };
    });
    if ('created' in outcome) this.deps.metrics.registrations.inc();
    return outcome;
  }

  /** Needs the current password; every other session of the user is revoked. */
  async changePassword(identity: Identity, oldPassword: string, newPassword: string): Promise<void> {
    const { db, hasher, revocations, passwordChangeFailures } = this.deps;
    const credentials = await findCredentialsById(db, identity.userId);
    if (!credentials) throw sessionEnded();
    await passwordChangeFailures.check(identity.userId);
    if (!(await hasher.verify(oldPassword, credentials.passwordHash))) {
      await passwordChangeFailures.fail(identity.userId);
      throw invalidCredentials();
    }
    const passwordHash = await hasher.hash(newPassword);
    const revoked = await db.transaction(async (tx) => {
      await updatePasswordHash(tx, identity.userId, passwordHash);
      const sessionIds = await revokeUserSessions(tx, identity.userId, identity.sessionId);
      await revocations.record(tx, identity.userId, sessionIds, 'password_change');
      return sessionIds;
    });
    await revocations.announce(revoked, 'password_change');
  }
}
