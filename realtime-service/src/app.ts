import type { Express } from 'express';
import { createHttpApp, type HttpAppBasics } from '@board/service-kit';
import { eventsRouter, type EventsRouteDeps } from './routes/events';

export interface AppDeps extends EventsRouteDeps, HttpAppBasics {}

export function createApp(deps: AppDeps): Express {
  return createHttpApp({ ...deps, routes: eventsRouter(deps) });
}
