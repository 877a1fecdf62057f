import {
  RevocationList,
  RevocationMirror,
  checks,
  openRedis,
  runEvery,
  startService,
  type Logger,
  type Redis,
  type StartedService,
} from '@board/service-kit';
import { createApp } from './app';
import { FailOpenRevocationCheck } from './auth/revocations';
import { TokenVerifier } from './auth/token-verifier';
import { SERVICE_NAME, type Config } from './config';
import { createRateLimits } from './limits/rate-limits';
import { createGatewayMetrics, type GatewayMetrics } from './metrics';
import { OutageReporter } from './outage';
import { Upstream } from './proxy/upstream';
import type { UpstreamName } from './routes';


const JWKS_FETCH_TIMEOUT_MS = 3_000;

export interface StartOptions {
  logger?: Logger;
  /** How long start() waits for Redis before serving without it (limits and revocation fail as documented). */
  redisStartupWaitMs?: number;
}

export interface RunningService extends StartedService {
  redis: Redis;
  upstreams: Readonly<Record<UpstreamName, Upstream>>;
}

export function start(config: Config, options: StartOptions = {}): Promise<RunningService> {
  return startService({ name: SERVICE_NAME, config, logger: options.logger }, async ({ logger, metrics, lifecycle }) => {
    const gatewayMetrics = createGatewayMetrics(metrics.registry);

    // Every Redis call sits on the request path; a Redis that stops answering must count as down
    // (and fail open or fall back) rather than hold requests.
    const redis = await openRedis({
      url: config.REDIS_URL,
      logger,
      lifecycle,
      name: SERVICE_NAME,
      commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
      startupWaitMs: options.redisStartupWaitMs ?? 3_000,
    });

    // Revocations are checked on every request: from memory, kept in step by the notices.
    const subscriber = await openRedis({ url: config.REDIS_URL, logger, lifecycle, name: `${SERVICE_NAME}-subscriber` });
    const revocationList = new RevocationList(redis, config.REDIS_KEY_PREFIX);
    const revocations = new RevocationMirror({
      list: revocationList,
      // What the mirror does not know while out of step is asked of Redis, failing open.
      fallback: new FailOpenRevocationCheck(
        revocationList,
        new OutageReporter(logger, gatewayMetrics.redisFailures.labels('revocation'), {
          what: 'revocation check',
          meanwhile: 'verified tokens are accepted unless revoked before the outage',
        }),
      ),
      subscriber,
      logger,
      onSyncChange: (synced) => gatewayMetrics.revocationMirrorSynced.set(synced ? 1 : 0),
    });
    revocations.start();
    lifecycle.onStop('revocation-mirror', () => revocations.stop());

    const upstreams = createUpstreams(config, gatewayMetrics, logger);
    lifecycle.onStop('upstreams', () => Object.values(upstreams).forEach((upstream) => upstream.close()));
    const rateLimits = createRateLimits({ config, redis, logger, metrics: gatewayMetrics });
    lifecycle.onStop('rate-limits', () => rateLimits.shutdown());

    const verifier = new TokenVerifier({
      jwksUri: new URL('/api/auth/.well-known/jwks.json', config.AUTH_SERVICE_URL[0]).toString(),
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      cacheMaxAgeMs: config.JWKS_CACHE_MAX_AGE_MS,
      jwksRequestsPerMinute: config.JWKS_REQUESTS_PER_MINUTE,
      fetchTimeoutMs: JWKS_FETCH_TIMEOUT_MS,
    });
    // A failed read keeps the keys known so far.
    runEvery({ name: 'jwks-refresh', everyMs: config.JWKS_REFRESH_INTERVAL_MS, task: () => verifier.refreshKeys(), logger, lifecycle });

    const app = createApp({
      logger,
      metrics,
      readiness: { redis: checks.redis(redis) },
      isDraining: () => lifecycle.isShuttingDown,
      trustProxyHops: config.TRUST_PROXY_HOPS,
      corsOrigins: config.CORS_ORIGINS,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      healthCheckTimeoutMs: config.HEALTH_CHECK_TIMEOUT_MS,
      upstreams,
      rateLimits,
      authentication: {
        verifier,
        revocations,
        rejections: gatewayMetrics.authRejections,
        publicRead: config.PUBLIC_READ,
      },
    });
    return { app, exposed: { redis, upstreams } };
  });
}

function createUpstreams(config: Config, metrics: GatewayMetrics, logger: Logger): Record<UpstreamName, Upstream> {
  const upstream = (name: UpstreamName, urls: readonly string[], timeoutMs: number | undefined) =>
    new Upstream(
      {
        name,
        urls,
        timeoutMs: timeoutMs ?? config.UPSTREAM_TIMEOUT_MS,
        resetTimeoutMs: config.BREAKER_RESET_MS,
        errorThresholdPercentage: config.BREAKER_ERROR_THRESHOLD_PERCENT,
        volumeThreshold: config.BREAKER_VOLUME_THRESHOLD,
        rollingWindowMs: config.BREAKER_WINDOW_MS,
      },
      metrics,
      logger,
    );
  return {
    auth: upstream('auth', config.AUTH_SERVICE_URL, config.AUTH_SERVICE_TIMEOUT_MS),
    user: upstream('user', config.USER_SERVICE_URL, config.USER_SERVICE_TIMEOUT_MS),
    message: upstream('message', config.MESSAGE_SERVICE_URL, config.MESSAGE_SERVICE_TIMEOUT_MS),
    realtime: upstream('realtime', config.REALTIME_SERVICE_URL, config.REALTIME_SERVICE_TIMEOUT_MS),
  };
}
