import type { Database, Logger } from '@board/service-kit';
import { findCredentialsByEmail } from '../data/credentials';
import type { Accounts } from './accounts';

export interface AdminAccount {
  email: string;
  username: string;
  password: string;
}

/**
 * Creates the admin account unless its email exists, recording user.registered (role admin) with
 * it so user-service gives the profile the admin role too. Safe on every start and on replicas
 * starting together: the insert ignores a conflict, so only one of them creates the account.
 * An existing account is left as it is (its password and role included).
 */
export async function seedAdmin(db: Database, accounts: Accounts, admin: AdminAccount, logger: Logger): Promise<void> {
  const existing = await findCredentialsByEmail(db, admin.email);
  if (existing) {
    if (existing.role !== 'admin') logger.warn({ userId: existing.userId, role: existing.role }, 'ADMIN_EMAIL belongs to an account that is not an admin');
    return;
  }
  const outcome = await accounts.create({ ...admin, displayName: admin.username }, 'admin');
  if ('created' in outcome) logger.info({ userId: outcome.created.userId }, 'seeded the admin account');
  else if (outcome.taken === 'username') logger.warn({ username: admin.username }, 'cannot seed the admin account: ADMIN_USERNAME is taken');
}
