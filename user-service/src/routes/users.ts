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
import { AVATAR_MEDIA_TYPE } from '../domain/avatar-image';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, avatarVersionQuery, passcodeField, roleField } from './validators';

/** A versioned avatar URL never changes what it shows; the image is a signed-in user's to fetch, so no shared cache keeps it. */
const CACHE_VERSIONED = 'private, max-age=31536000, immutable';
/** Without the current version in the URL, a cache must ask again each time (If-None-Match makes that a 304). */
const CACHE_UNVERSIONED = 'private, no-cache';

const avatarEtag = (version: number) => `"avatar-v${version}"`;

/** If-None-Match holds this ETag (or `*`); weak comparison, as RFC 9110 asks for GET. */
function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  return ifNoneMatch.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

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

  // The body arrives as bytes (app.ts mounts the raw parser for this route only).
  router.put('/api/users/me/avatar', async (req, res) => {
    const caller = callerOf(req);
    const upload = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const declaredType = req.headers['content-type']!.split(';')[0]!.trim().toLowerCase();
    res.json({ user: presentUser(await directory.setAvatar(caller.userId, upload, declaredType), caller) });
  });

  router.delete('/api/users/me/avatar', async (req, res) => {
    await directory.removeAvatar(callerOf(req).userId);
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

  router.get('/api/users/:id/avatar', validate(uuidParam(), avatarVersionQuery()), async (req, res) => {
    const { id, v } = validated<{ id: string; v?: number }>(req);
    const current = await directory.avatarVersion(id);
    if (current !== undefined && etagMatches(req.headers['if-none-match'], avatarEtag(current))) {
      res.set({ ETag: avatarEtag(current), 'Cache-Control': v === current ? CACHE_VERSIONED : CACHE_UNVERSIONED }).status(304).end();
      return;
    }
    const avatar = await directory.avatar(id);
    res.set({
      'Content-Type': AVATAR_MEDIA_TYPE,
      ETag: avatarEtag(avatar.version),
      'Cache-Control': v === avatar.version ? CACHE_VERSIONED : CACHE_UNVERSIONED,
    });
    res.end(avatar.image);
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
