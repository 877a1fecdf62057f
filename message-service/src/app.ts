import type { Express } from 'express';
import { createHttpApp, type Logger, type ReadinessChecks, type ServiceMetrics } from '@board/service-kit';
import type { MessageBoard } from './domain/board';
import { messagesRouter } from './routes/messages';

export interface AppDependencies {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: ReadinessChecks;
  board: MessageBoard;
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
    routes: messagesRouter(deps.board),
  });
}
