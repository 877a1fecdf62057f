import { unauthorized, type Transaction } from '@board/service-kit';
import { type Identity } from '@board/service-kit/contracts';
import { holdUserForWriting, isDeletedUser } from '../data/deleted-users';

/**
 * A write that passed the gateway just before its author was deleted: the deletion waits for it
 * (and then removes what it wrote), or it sees the deletion and is refused; never a message, like
 * or bookmark left behind.
 */
export async function refuseDeletedUser(tx: Transaction, caller: Identity): Promise<void> {
  await holdUserForWriting(tx, caller.userId);
  if (await isDeletedUser(tx, caller.userId)) throw unauthorized('The account no longer exists', 'SESSION_REVOKED');
}
