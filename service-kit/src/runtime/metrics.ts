import type { Request, RequestHandler, Response } from 'express';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The metric named `name` on `registry`, created by `create` the first time. Components that
 * may exist more than once per process (two consumers in one service) share one series family
 * instead of failing with "already registered".
 */
export function sharedMetric<M>(registry: Registry | undefined, name: string, create: (registers: Registry[]) => M): M {
  if (!registry) return create([]);
  return (registry.getSingleMetric(name) as M | undefined) ?? create([registry]);
}

export interface ServiceMetrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
}

/**
 * One registry per app instance (never prom-client's global one), so several apps can live in one
 * test process. Every series carries a `service` label.
 */
export function createMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by route pattern',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return { registry, httpRequestDuration };
}

/**
 * The label for a request: a handler may name it (`res.locals.routeLabel`, e.g. the gateway's
 * upstream), otherwise the matched Express pattern; never the raw URL, which would explode the
 * number of series.
 */
export function routeLabel(req: Request, res: Response): string {
  const named: unknown = res.locals.routeLabel;
  if (typeof named === 'string') return named;
  const pattern: unknown = req.route?.path;
  if (typeof pattern === 'string') return `${req.baseUrl}${pattern}`;
  return 'unmatched';
}

/** Times every request; a streaming route opts out with `res.locals.skipRequestMetrics = true`. */
export function requestMetrics(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const stopTimer = metrics.httpRequestDuration.startTimer();
    res.once('finish', () => {
      if (res.locals.skipRequestMetrics === true) return;
      stopTimer({ method: req.method, route: routeLabel(req, res), status_code: String(res.statusCode) });
    });
    next();
  };
}

export function metricsEndpoint(metrics: ServiceMetrics): RequestHandler {
  return async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  };
}
