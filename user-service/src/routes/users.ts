import { Router } from 'express';
import {
  callerOf,
  cursorQuery,
  displayNameField,
  limitQuery,
  onlyFields,
  requireIdentity,
  requireRole,
  uuidParam,
  validate,
  validated,
  type PagePosition,
} from '@board/service-kit';
import type { Role } from '@board/service-kit/contracts';
import type { Directory } from '../domain/directory';
import { presentUser } from '../domain/profile';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, passcodeField, roleField } from './validators';

/** /api/users: every route needs the gateway's identity; listing and managing others needs admin. */
export function usersRouter(directory: Directory): Router {
  const router = Router();
  router.use('/api/users', requireIdentity);

  router.get('/api/users/me', async (req, res) => {
    const caller = callerOf(req);
    res.json({ user: presentUser(await directory.get(caller.userId), caller) });
  });

  router.patch('/api/users/me', validate(onlyFields('displayName'), displayNameField()), async (req, res) => {
    const caller = callerOf(req);
    const { displayName } = validated<{ displayName: string }>(req);
    res.json({ user: presentUser(await directory.changeDisplayName(caller.userId, displayName), caller) });
  });

  router.delete('/api/users/me', async (req, res) => {
    await directory.delete(callerOf(req).userId);
    res.status(204).end();
  });

  router.post('/api/users/me/membership', validate(onlyFields('passcode'), passcodeField()), async (req, res) => {
    const caller = callerOf(req);
    const { passcode } = validated<{ passcode: string }>(req);
    res.json({ user: presentUser(await directory.becomeMember(caller.userId, passcode), caller) });
  });

  router.get('/api/users', requireRole('admin'), validate(cursorQuery('after'), limitQuery(MAX_PAGE_SIZE)), async (req, res) => {
    const caller = callerOf(req);
    const { after, limit = DEFAULT_PAGE_SIZE } = validated<{ after?: PagePosition; limit?: number }>(req);
    const page = await directory.list(after, limit);
    res.json({ users: page.profiles.map((profile) => presentUser(profile, caller)), nextCursor: page.nextCursor });
  });

  router.get('/api/users/:id', validate(uuidParam()), async (req, res) => {
    const caller = callerOf(req);
    const { id } = validated<{ id: string }>(req);
    res.json({ user: presentUser(await directory.get(id), caller) });
  });

  router.patch('/api/users/:id/role', requireRole('admin'), validate(uuidParam(), onlyFields('role'), roleField()), async (req, res) => {
    const caller = callerOf(req);
    const { id, role } = validated<{ id: string; role: Role }>(req);
    res.json({ user: presentUser(await directory.changeRole(caller.userId, id, role), caller) });
  });

  router.delete('/api/users/:id', requireRole('admin'), validate(uuidParam()), async (req, res) => {
    const { id } = validated<{ id: string }>(req);
    await directory.delete(id, { byAdmin: callerOf(req).userId });
    res.status(204).end();
  });

  return router;
}
