import type { Express } from 'express';
import { createHttpApp, type Logger, type ReadinessChecks, type ServiceMetrics } from '@board/service-kit';
import type { Directory } from './domain/directory';
import { usersRouter } from './routes/users';

export interface AppDependencies {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: ReadinessChecks;
  directory: Directory;
  isDraining: () => boolean;
  trustProxyHops: number;
}

export function createApp(deps: AppDependencies): Express {
  return createHttpApp({
    logger: deps.logger,
    metrics: deps.metrics,
    readiness: deps.readiness,
    isDraining: deps.isDraining,
    trustProxyHops: deps.trustProxyHops,
    routes: usersRouter(deps.directory),
  });
}
