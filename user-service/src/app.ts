import type { Express } from 'express';
import { createHttpApp, requireIdentity, type HttpAppBasics } from '@board/service-kit';
import { AVATAR_MAX_BYTES, AVATAR_UPLOAD_ROUTE, AVATAR_UPLOAD_TYPES } from '@board/service-kit/contracts';
import type { Directory } from './domain/directory';
import { usersRouter } from './routes/users';

export interface AppDeps extends HttpAppBasics {
  directory: Directory;
}

export function createApp(deps: AppDeps): Express {
  return createHttpApp({
    ...deps,
    routes: usersRouter(deps.directory),
    rawBodyRoutes: [{ ...AVATAR_UPLOAD_ROUTE, types: AVATAR_UPLOAD_TYPES, limit: AVATAR_MAX_BYTES, guards: [requireIdentity] }],
  });
}
