import {
  AppError,
  conflict,
  forbidden,
  found,
  pageFrom,
  type Counter,
  type Database,
  type FailureLimit,
  type Logger,
  type PagePosition,
  type RevocationList,
  type Transaction,
} from '@board/service-kit';
import { type Role } from '@board/service-kit/contracts';
import {
  deleteProfile,
  findProfile,
  listProfiles,
  lockAdminIds,
  lockProfile,
  updateAvatarVersion,
  updateDisplayName,
  updateRole,
} from '../data/profiles';
import { deleteAvatarImage, findAvatar, findAvatarVersion, upsertAvatarImage, type StoredAvatar } from '../data/avatars';
import { normalizeAvatar } from './avatar-image';
import { passcodeMatches } from './passcode';
import { avatarUrlOf, type Profile } from './profile';
import { leavesNoAdmin } from './roles';

export interface DirectoryOptions {
  db: Database;
  revocations: RevocationList;
  memberPasscode: string;
  /** Wrong passcodes per user: the passcode cannot be guessed at the gateway's general rate. */
  passcodeFailures: FailureLimit;
  membershipRequests: Counter<'outcome'>;
  logger: Logger;
}

const lastAdmin = () => conflict('The last admin cannot give up the admin role or be deleted', 'LAST_ADMIN');
/** The caller's token said admin, but the caller is an admin no more. */
const noLongerAdmin = () => forbidden('You are no longer an admin');

/**
 * Profiles and roles: every change happens in a transaction that also records the event
 * describing it, so the rest of the board hears of exactly the changes that committed.
 */
export class Directory {
  constructor(private readonly options: DirectoryOptions) {}

  async get(id: string): Promise<Profile> {
    return found(await findProfile(this.options.db, id), 'user');
  }

  async list(after: PagePosition | undefined, limit: number): Promise<{ profiles: Profile[]; nextCursor: string | null }> {
    const { rows, nextCursor } = pageFrom(await listProfiles(this.options.db, after, limit + 1), limit);
    return { profiles: rows, nextCursor };
  }

  async changeDisplayName(id: string, displayName: string): Promise<Profile> {
    return this.options.db.transaction(async (tx) => {
      const profile = found(await lockProfile(tx, id), 'user');
      if (profile.displayName === displayName) return profile;
      const updated = found(await updateDisplayName(tx, id, displayName), 'user');
      await this.announceUpdate(tx, updated);
      return updated;
    });
  }

  /** Re-encodes the upload (before any transaction: it takes a while) and makes it the user's avatar, at a new URL. */
  async setAvatar(id: string, upload: Buffer, declaredType: string): Promise<Profile> {
    const image = await normalizeAvatar(upload, declaredType);
    return this.options.db.transaction(async (tx) => {
      found(await lockProfile(tx, id), 'user');
      const updated = found(await updateAvatarVersion(tx, id, true), 'user');
      await upsertAvatarImage(tx, id, image);
      await this.announceUpdate(tx, updated);
      return updated;
    });
  }

  /** Removes the user's avatar; without one, nothing changes. */
  async removeAvatar(id: string): Promise<Profile> {
    return this.options.db.transaction(async (tx) => {
      const profile = found(await lockProfile(tx, id), 'user');
      if (profile.avatarVersion === null) return profile;
      await deleteAvatarImage(tx, id);
      const updated = found(await updateAvatarVersion(tx, id, false), 'user');
      await this.announceUpdate(tx, updated);
      return updated;
    });
  }

  /** The avatar's current version, undefined when the user has none (or does not exist). */
  avatarVersion(id: string): Promise<number | undefined> {
    return findAvatarVersion(this.options.db, id);
  }

  async avatar(id: string): Promise<StoredAvatar> {
    return found(await findAvatar(this.options.db, id), 'avatar');
  }

  /** user.updated carries what other services copy of a profile: names and the avatar's URL. */
  private async announceUpdate(tx: Transaction, profile: Profile): Promise<void> {
    const { id, username, displayName } = profile;
    await tx.recordEvent('user.updated', { id, username, displayName, avatarUrl: avatarUrlOf(profile) }, profile.version);
  }

  /** Makes a `user` a `member` when the passcode is right; members and admins stay as they are. */
  async becomeMember(id: string, passcode: string): Promise<Profile> {
    await this.options.passcodeFailures.check(id);
    if (!passcodeMatches(passcode, this.options.memberPasscode)) {
      this.options.membershipRequests.inc({ outcome: 'wrong_passcode' });
      await this.options.passcodeFailures.fail(id);
      throw new AppError(403, 'WRONG_PASSCODE', 'The passcode is not right');
    }
    const { profile, outcome, event } = await this.options.db.transaction(async (tx) => {
      const current = found(await lockProfile(tx, id), 'user');
      if (current.role !== 'user') return { profile: current, outcome: 'unchanged' as const };
      const member = found(await updateRole(tx, id, 'member'), 'user');
      const recorded = await tx.recordEvent('user.role_changed', { id, role: 'member', previousRole: 'user' }, member.version);
      return { profile: member, outcome: 'granted' as const, event: recorded };
    });
    this.options.membershipRequests.inc({ outcome });
    if (event) await this.announceRole(profile);
    return profile;
  }

  /** An admin (`adminId`, who must still be one) gives user `id` a role. */
  async changeRole(adminId: string, id: string, role: Role): Promise<Profile> {
    const { profile, event } = await this.options.db.transaction(async (tx) => {
      // Admins first, in id order, then the target: every role change and deletion takes its
      // locks in the same order, so they queue instead of deadlocking.
      const adminIds = await lockAdminIds(tx);
      if (!adminIds.includes(adminId)) throw noLongerAdmin();
      const target = found(await lockProfile(tx, id), 'user');
      if (target.role === role) return { profile: target };
      if (leavesNoAdmin(target, role, adminIds)) throw lastAdmin();
      const updated = found(await updateRole(tx, id, role), 'user');
      return { profile: updated, event: await tx.recordEvent('user.role_changed', { id, role, previousRole: target.role }, updated.version) };
    });
    if (event) await this.announceRole(profile);
    return profile;
  }

  /**
   * Tells the gateways and the realtime-service at once, so tokens issued before the change act
   * with the new role from now on (a demoted admin loses the rights this instant). If Redis is
   * away the change still stands: auth-service records it too when the event reaches it.
   */
  private async announceRole(changed: Profile): Promise<void> {
    try {
      await this.options.revocations.recordRole({ userId: changed.id, role: changed.role, version: changed.version });
    } catch (error) {
      this.options.logger.warn({ err: error, userId: changed.id }, 'could not record a role change in Redis');
    }
  }

  /**
   * Deletes the profile and announces it (the other services remove what belongs to the user),
   * then revokes the user at once so the gateway stops accepting their tokens before the event
   * has gone round. An admin deleting someone else (`byAdmin`) must still be an admin.
   */
  async delete(id: string, options: { byAdmin?: string } = {}): Promise<void> {
    await this.options.db.transaction(async (tx) => {
      const adminIds = await lockAdminIds(tx);
      if (options.byAdmin !== undefined && !adminIds.includes(options.byAdmin)) throw noLongerAdmin();
      const target = found(await lockProfile(tx, id), 'user');
      if (leavesNoAdmin(target, null, adminIds)) throw lastAdmin();
      await tx.recordEvent('user.deleted', { id }, await deleteProfile(tx, id));
    });
    try {
      await this.options.revocations.revokeUser(id);
    } catch (error) {
      // The deletion stands: auth-service revokes the user's sessions when user.deleted reaches it.
      this.options.logger.warn({ err: error, userId: id }, 'could not revoke a deleted user in Redis');
    }
  }
}
