import type { Role } from '@board/service-kit/contracts';

/**
 * The board always keeps an admin: demoting or deleting (`nextRole` null) the only admin is
 * refused. `adminIds` are every current admin, read under lock by the caller.
 */
export function leavesNoAdmin(
  target: { id: string; role: Role },
  nextRole: Role | null,
  adminIds: readonly string[],
): boolean {
  if (target.role !== 'admin' || nextRole === 'admin') return false;
  return !adminIds.some((id) => id !== target.id);
}
