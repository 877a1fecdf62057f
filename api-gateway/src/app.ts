import cors from 'cors';
import { Router, type Express, type Request, type RequestHandler } from 'express';
import { createHttpApp, type HttpAppBasics } from '@board/service-kit';
import { markActivity, type ActivityMarker } from './activity';
import { authenticate, type AuthenticateDeps } from './auth/authenticate';
import { bufferRequestBody, hasChunkedBody, rejectOversizedBody } from './body';
import type { RateLimits } from './limits/rate-limits';
import { setForwardedHeaders, stripClientIdentity } from './proxy/forwarding';
import type { Upstream } from './proxy/upstream';
import { upstreamHealth } from './proxy/upstream-health';
import { bodyLimitOf, isCredentialAttempt, isEventStream, routeFamilyOf, routingPath, type UpstreamName } from './routes';

export interface AppDeps extends HttpAppBasics {
  corsOrigins: readonly string[];
  bodyLimitBytes: number;
  healthCheckTimeoutMs: number;
  upstreams: Readonly<Record<UpstreamName, Upstream>>;
  rateLimits: RateLimits;
  authentication: AuthenticateDeps;
  /** Marks signed-in callers active; absent when ACTIVITY_MARKING is off. */
  activity?: ActivityMarker;
}

const HEALTH_PATH = '/api/health';

/**
 * The gateway's Express app: the kit's request id, logging, metrics, health and error shape, but
 * no body parser (bodies stream to the upstreams untouched), then the /api pipeline.
 */
export function createApp(deps: AppDeps): Express {
  return createHttpApp({ ...deps, routes: apiPipeline(deps), parseBodies: false });
}

/** Every step a request to /api takes, cheapest refusals first; the proxy last. */
function apiPipeline(deps: AppDeps): Router {
  const { bodyLimitBytes, rateLimits } = deps;
  const limitFor = (req: Request) => bodyLimitOf(req, bodyLimitBytes);
  const router = Router();
  router.use(classifyRoute);
  router.use(stripClientIdentity);
  router.use(
    cors({
      origin: [...deps.corsOrigins],
      credentials: true,
      maxAge: 600,
      exposedHeaders: ['x-request-id', 'RateLimit', 'RateLimit-Policy', 'Retry-After'],
    }),
  );
  router.use(rateLimits.perClient);
  router.use(rejectOversizedBody(limitFor));
  router.use(onlyFor(isCredentialRequest, credentialChecks(deps)));
  router.use(authenticate(deps.authentication));
  if (deps.activity) router.use(markActivity(deps.activity));
  // After authentication, so that only callers with a token can make the gateway hold a body.
  router.use(bufferRequestBody(limitFor, hasChunkedBody));
  router.use(setForwardedHeaders);
  router.get(HEALTH_PATH, upstreamHealth(Object.values(deps.upstreams), deps.healthCheckTimeoutMs));
  router.use(forwardToUpstream(deps.upstreams));
  return router;
}

/**
 * The stricter limit on login and register, behind one cheap test so that the other requests
 * (nearly all of them) skip it. Failed logins per account are auth-service's (LoginThrottle): only
 * it knows which devices logged in before.
 */
const credentialChecks = ({ rateLimits }: AppDeps): RequestHandler => rateLimits.credentialsPerClient;

const isCredentialRequest = (req: Request): boolean => isCredentialAttempt(req.method, routingPath(req));

function onlyFor(applies: (req: Request) => boolean, handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (applies(req)) handler(req, res, next);
    else next();
  };
}

/** Names the request's route family for metrics; anything that is no /api route skips to the 404. */
const classifyRoute: RequestHandler = (req, res, next) => {
  const path = routingPath(req);
  if (path === HEALTH_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
    res.locals.routeLabel = HEALTH_PATH;
    next();
    return;
  }
  const family = routeFamilyOf(path);
  if (!family) {
    next('router');
    return;
  }
  res.locals.routeLabel = family.prefix;
  // An event stream lasts as long as the client stays; its duration would drown the histogram.
  if (isEventStream(req.method, path)) res.locals.skipRequestMetrics = true;
  next();
};

function forwardToUpstream(upstreams: Readonly<Record<UpstreamName, Upstream>>): RequestHandler {
  return (req, res, next) => {
    const family = routeFamilyOf(routingPath(req));
    if (!family) {
      next();
      return;
    }
    return upstreams[family.upstream].forward(req, res, next);
  };
}
