import type { Express } from 'express';
import { createHttpApp, type ReadinessChecks, type ServiceMetrics } from '@board/service-kit';
import { eventsRouter, type EventsRouteDeps } from './routes/events';

export interface AppDeps extends EventsRouteDeps {
  metrics: ServiceMetrics;
  readiness: ReadinessChecks;
  isDraining: () => boolean;
  trustProxyHops: number;
}

export function createApp(deps: AppDeps): Express {
  return createHttpApp({
    logger: deps.logger,
    metrics: deps.metrics,
    readiness: deps.readiness,
    isDraining: deps.isDraining,
    trustProxyHops: deps.trustProxyHops,
    routes: eventsRouter(deps),
  });
}
