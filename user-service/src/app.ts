import type { Express } from 'express';
import { createHttpApp, type HttpAppBasics } from '@board/service-kit';
import type { Directory } from './domain/directory';
import { usersRouter } from './routes/users';

export interface AppDeps extends HttpAppBasics {
  directory: Directory;
}

export function createApp(deps: AppDeps): Express {
  return createHttpApp({ ...deps, routes: usersRouter(deps.directory) });
}
