import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, Lifecycle, listen } from './lifecycle';
import { createLogger, type Logger, type LoggerOptions } from './logger';
import { createMetrics, type ServiceMetrics } from './metrics';

/** The settings every service's start reads from its configuration. */
export interface ServiceStartConfig {
  PORT: number;
  HOST: string;
  LOG_LEVEL: LoggerOptions['level'];
  SHUTDOWN_TIMEOUT_MS: number;
}

export interface ServiceStartOptions {
  name: string;
  config: ServiceStartConfig;
  /** Replaces the logger built from LOG_LEVEL (tests capture or silence it). */
  logger?: Logger;
}

/** What every service is built around, handed to its wiring. */
export interface ServiceParts {
  logger: Logger;
  metrics: ServiceMetrics;
  lifecycle: Lifecycle;
}

/** What tests may change in the start of a service that produces and consumes events. */
export interface EventServiceStartOptions {
  /** Replaces the logger built from LOG_LEVEL (tests capture or silence it). */
  logger?: Logger;
  /** Delays between attempts at a failing event before it is dead-lettered. */
  retryDelaysMs?: readonly number[];
  outboxPollIntervalMs?: number;
}

export interface ServiceWiring<Exposed> {
  app: RequestListener;
  /** Part of the running service that tests and callers may reach, e.g. its pool. */
  exposed: Exposed;
  /**
   * Runs once the port is bound. Whatever it registers with the lifecycle stops before HTTP
   * does (e.g. long-lived streams, which would otherwise hold the server open).
   */
  whenListening?: () => Promise<void>;
}

export interface StartedService {
  url: string;
  server: Server;
  lifecycle: Lifecycle;
  /** Stops everything the start opened: HTTP first, pools last. */
  stop: () => Promise<void>;
}

/**
 * The start every service shares: the logger, metrics and lifecycle are made here, `wire` opens
 * the service's own dependencies (registering each with the lifecycle as it opens it) and builds
 * the app, which then listens on PORT. When anything fails on the way, what was opened is closed
 * again before the error is thrown, so a failed start leaves nothing running.
 */
export async function startService<Exposed extends object>(
  { name, config, logger: givenLogger }: ServiceStartOptions,
  wire: (parts: ServiceParts) => Promise<ServiceWiring<Exposed>>,
): Promise<StartedService & Exposed> {
  const logger = givenLogger ?? createLogger({ service: name, level: config.LOG_LEVEL });
  const metrics = createMetrics(name);
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  try {
    const { app, exposed, whenListening } = await wire({ logger, metrics, lifecycle });
    const server = await listen(app, config.PORT, config.HOST);
    lifecycle.onStop('http', () => closeServer(server));
    await whenListening?.();
    const { port } = server.address() as AddressInfo;
    logger.info({ port }, `${name} listening`);
    return { ...exposed, url: `http://127.0.0.1:${port}`, server, lifecycle, stop: () => lifecycle.shutdown() };
  } catch (error) {
    await lifecycle.shutdown().catch(() => undefined);
    throw error;
  }
}
