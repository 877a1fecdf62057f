import { randomUUID } from 'node:crypto';
import express, { type Express, type Request, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { runInContext } from '../runtime/context';
import { AppError, errorHandler, notFoundHandler } from './errors';
import { healthRouter, type ReadinessChecks } from './health';
import { metricsEndpoint, requestMetrics, type ServiceMetrics } from '../runtime/metrics';

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTABLE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Keeps a caller's request id when it is a sane token, otherwise mints one. */
export function requestIdFor(req: Pick<Request, 'headers'>): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  return typeof incoming === 'string' && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** Takes or mints the request id, echoes it, and runs the rest of the request in its work context. */
export function requestContext(): RequestHandler {
  return (req, res, next) => {
    const requestId = requestIdFor(req);
    req.headers[REQUEST_ID_HEADER] = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    runInContext({ requestId }, next);
  };
}

/** Query values that must not reach the logs (single-use tickets are still credentials). */
const SECRET_QUERY = /([?&](?:ticket|token)=)[^&]*/g;

type LogLevel = 'info' | 'warn' | 'error';

const levelFor = (statusCode: number): LogLevel => (statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info');

/** Probes and scrapes come every few seconds and say nothing about the service's work. */
const isRoutine = (url: string) => url.startsWith('/health/') || url === '/metrics';

/**
 * One line per request once its response is done (or the client left), at a level by status,
 * carrying the request id. Nothing is built for a line the level would drop (no child logger, no
 * serialised request): this runs on every request of every service, the gateway's included.
 */
export function requestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const startedAt = performance.now();
    res.once('close', () => {
      const url = req.originalUrl;
      const level = levelFor(res.statusCode);
      if (isRoutine(url) || !logger.isLevelEnabled(level)) return;
      const line = {
        requestId: req.headers[REQUEST_ID_HEADER],
        req: { method: req.method, url: url.replace(SECRET_QUERY, '$1[redacted]'), remoteAddress: req.ip },
        res: { statusCode: res.statusCode },
        responseTime: Math.round(performance.now() - startedAt),
      };
      logger[level](line, res.writableFinished ? 'request completed' : 'client closed the connection before the response was complete');
    });
    next();
  };
}

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A request that carries a body must be application/json; anything else is a 415, not a silent
 * empty body. JSON dialects (`application/*+json`) are refused too: the routes read plain JSON,
 * and a JSON:API or merge-patch body means something else.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (METHODS_WITH_BODY.has(req.method) && hasBody && req.is('application/json') !== 'application/json') {
    next(new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json'));
    return;
  }
  next();
};

export interface HttpAppOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: ReadinessChecks;
  /** The service's routes, mounted after parsing and before the 404 and error handlers. */
  routes: Router | RequestHandler;
  isDraining?: () => boolean;
  trustProxyHops?: number;
  /** Largest accepted JSON body, in bytes or a bytes string like '100kb'. */
  jsonLimit?: string | number;
  /** False leaves request bodies unread, for an app that streams them on (the gateway). */
  parseBodies?: boolean;
}

/** What every service's app is built with besides its own routes (all of it given, nothing left to defaults). */
export type HttpAppBasics = Required<Omit<HttpAppOptions, 'routes' | 'jsonLimit' | 'parseBodies'>>;

/**
 * The Express app every service shares: request id and logging, metrics, health, security
 * headers, JSON parsing with the right 4xx for bad bodies, and the one error shape.
 */
export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxyHops ?? 1);
  app.use(requestContext());
  app.use(requestLogger(options.logger));
  app.use(requestMetrics(options.metrics));
  app.use(helmet());
  app.get('/metrics', metricsEndpoint(options.metrics));
  app.use(healthRouter({ checks: options.readiness, isDraining: options.isDraining }));
  if (options.parseBodies !== false) {
    app.use(requireJsonBody);
    app.use(express.json({ limit: options.jsonLimit ?? '64kb', type: 'application/json' }));
  }
  app.use(options.routes);
  app.use(notFoundHandler);
  app.use(errorHandler(options.logger));
  return app;
}
