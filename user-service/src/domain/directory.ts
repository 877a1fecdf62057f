import {
  AppError,
  conflict,
  encodeCursor,
  notFound,
  type Counter,
  type Database,
  type Logger,
  type PagePosition,
  type RevocationList,
  type Role,
} from '@board/service-kit';
import {
  deleteProfile,
  findProfile,
  listProfiles,
  lockAdminIds,
  lockProfile,
  updateDisplayName,
  updateRole,
} from '../data/profiles';
import { passcodeMatches } from './passcode';
import type { Profile } from './profile';
import { leavesNoAdmin } from './roles';

export interface DirectoryOptions {
  db: Database;
  revocations: RevocationList;
  memberPasscode: string;
  membershipRequests: Counter<'outcome'>;
  logger: Logger;
}

const lastAdmin = () => conflict('The last admin cannot give up the admin role or be deleted', 'LAST_ADMIN');

/**
 * Profiles and roles: every change happens in a transaction that also records the event
 * describing it, so the rest of the board hears of exactly the changes that committed.
 */
export class Directory {
  constructor(private readonly options: DirectoryOptions) {}

  async get(id: string): Promise<Profile> {
    return found(await findProfile(this.options.db, id));
  }

  async list(after: PagePosition | undefined, limit: number): Promise<{ profiles: Profile[]; nextCursor: string | null }> {
    // One row more than asked tells whether another page exists without a second query.
    const rows = await listProfiles(this.options.db, after, limit + 1);
    const profiles = rows.slice(0, limit);
    const last = profiles.at(-1);
    const nextCursor = rows.length > limit && last ? encodeCursor({ createdAt: last.sortTime, id: last.id }) : null;
    return { profiles, nextCursor };
  }

  async changeDisplayName(id: string, displayName: string): Promise<Profile> {
    return this.options.db.transaction(async (tx) => {
      const profile = found(await lockProfile(tx, id));
      if (profile.displayName === displayName) return profile;
      const updated = found(await updateDisplayName(tx, id, displayName));
      await tx.recordEvent('user.updated', { id, username: updated.username, displayName });
      return updated;
    });
  }

  /** Makes a `user` a `member` when the passcode is right; members and admins stay as they are. */
  async becomeMember(id: string, passcode: string): Promise<Profile> {
    if (!passcodeMatches(passcode, this.options.memberPasscode)) {
      this.options.membershipRequests.inc({ outcome: 'wrong_passcode' });
      throw new AppError(403, 'WRONG_PASSCODE', 'The passcode is not right');
    }
    const { profile, outcome } = await this.options.db.transaction(async (tx) => {
      const current = found(await lockProfile(tx, id));
      if (current.role !== 'user') return { profile: current, outcome: 'unchanged' as const };
      const member = found(await updateRole(tx, id, 'member'));
      await tx.recordEvent('user.role_changed', { id, role: 'member', previousRole: 'user' });
      return { profile: member, outcome: 'granted' as const };
    });
    this.options.membershipRequests.inc({ outcome });
    return profile;
  }

  async changeRole(id: string, role: Role): Promise<Profile> {
    return this.options.db.transaction(async (tx) => {
      // Admins first, in id order, then the target: every role change and deletion takes its
      // locks in the same order, so they queue instead of deadlocking.
      const adminIds = await lockAdminIds(tx);
      const target = found(await lockProfile(tx, id));
      if (target.role === role) return target;
      if (leavesNoAdmin(target, role, adminIds)) throw lastAdmin();
      const updated = found(await updateRole(tx, id, role));
      await tx.recordEvent('user.role_changed', { id, role, previousRole: target.role });
      return updated;
    });
  }

  /**
   * Deletes the profile and announces it (the other services remove what belongs to the user),
   * then revokes the user at once so the gateway stops accepting their tokens before the event
   * has gone round.
   */
  async delete(id: string): Promise<void> {
    await this.options.db.transaction(async (tx) => {
      const adminIds = await lockAdminIds(tx);
      const target = found(await lockProfile(tx, id));
      if (leavesNoAdmin(target, null, adminIds)) throw lastAdmin();
      await deleteProfile(tx, id);
      await tx.recordEvent('user.deleted', { id });
    });
    try {
      await this.options.revocations.revokeUser(id);
    } catch (error) {
      // The deletion stands: auth-service revokes the user's sessions when user.deleted reaches it.
      this.options.logger.warn({ err: error, userId: id }, 'could not revoke a deleted user in Redis');
    }
  }
}

/** The profile, or a 404 when there is none. */
function found(profile: Profile | undefined): Profile {
  if (!profile) throw notFound('No such user');
  return profile;
}
