import { z } from 'zod';
import { commonSettings, port, redisUrl } from '@board/service-kit';

export const SERVICE_NAME = 'api-gateway';

/**
 * One upstream service: a URL, or several comma-separated URLs of its replicas, which the gateway
 * takes in turn (where no DNS name stands for all of them, as in the local runner's replicas).
 */
const serviceUrls = (fallback: string) =>
  z
    .string()
    .transform((value, context) => {
      const urls = value
        .split(',')
        .map((url) => url.trim())
        .filter((url) => url.length > 0);
      if (urls.length === 0) context.addIssue({ code: 'custom', message: 'must name at least one URL' });
      for (const url of urls) {
        if (!isHttpUrl(url)) context.addIssue({ code: 'custom', message: `"${url}" is not an http:// or https:// URL` });
      }
      return urls;
    })
    .default([fallback]);

function isHttpUrl(value: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
const positiveInt = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
const optionalPositiveInt = () => z.coerce.number().int().min(1).optional();

/** Comma-separated exact origins (`https://board.example.com`); empty means no cross-origin access. */
const originList = z
  .string()
  .transform((value, context) => {
    const origins = value
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin.length > 0);
    for (const origin of origins) {
      if (!isOrigin(origin)) context.addIssue({ code: 'custom', message: `"${origin}" is not an origin like https://example.com` });
    }
    return origins;
  })
  .default([]);

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** The environment the gateway reads; defaults run it against local services in development. */
export const configShape = () => ({
  ...commonSettings,
  PORT: port(3000),
  REDIS_URL: redisUrl(),
  REDIS_KEY_PREFIX: z.string().default(''),
  /** How long a Redis command may take before the request path treats Redis as unavailable. */
  REDIS_COMMAND_TIMEOUT_MS: positiveInt(500),

  AUTH_SERVICE_URL: serviceUrls('http://127.0.0.1:3001'),
  USER_SERVICE_URL: serviceUrls('http://127.0.0.1:3002'),
  MESSAGE_SERVICE_URL: serviceUrls('http://127.0.0.1:3003'),
  REALTIME_SERVICE_URL: serviceUrls('http://127.0.0.1:3004'),

  JWT_ISSUER: z.string().min(1).default('message-board-auth'),
  JWT_AUDIENCE: z.string().min(1).default('message-board'),
  /** How long a fetched signing key is trusted before the JWKS is read again. */
  JWKS_CACHE_MAX_AGE_MS: positiveInt(600_000),
  /** How often the whole JWKS is read, so a newly published key is known before tokens use it. */
  JWKS_REFRESH_INTERVAL_MS: positiveInt(60_000),
  /** JWKS fetches per minute at most: bounds the refetches that tokens with made-up `kid`s can cause. */
  JWKS_REQUESTS_PER_MINUTE: positiveInt(10),

  /**
   * Whether visitors (no token) may read messages and channels and watch the event stream, with
   * authors hidden; when false, those need an account (401), the stream a ticket or a token.
   */
  PUBLIC_READ: z.stringbool().default(true),

  CORS_ORIGINS: originList,
  BODY_LIMIT_BYTES: positiveInt(1_048_576),

  RATE_LIMIT_WINDOW_MS: positiveInt(60_000),
  RATE_LIMIT_MAX: positiveInt(600),
  AUTH_RATE_LIMIT_WINDOW_MS: positiveInt(900_000),
  /** Login and register attempts per client IP per window. */
  AUTH_RATE_LIMIT_MAX: positiveInt(20),

  /** Time an upstream has to send its response headers; each upstream may override it. */
  UPSTREAM_TIMEOUT_MS: positiveInt(10_000),
  AUTH_SERVICE_TIMEOUT_MS: optionalPositiveInt(),
  USER_SERVICE_TIMEOUT_MS: optionalPositiveInt(),
  MESSAGE_SERVICE_TIMEOUT_MS: optionalPositiveInt(),
  REALTIME_SERVICE_TIMEOUT_MS: optionalPositiveInt(),
  /** How long an open breaker fails fast before it lets one probe request through. */
  BREAKER_RESET_MS: positiveInt(10_000),
  BREAKER_ERROR_THRESHOLD_PERCENT: z.coerce.number().int().min(1).max(100).default(50),
  /** Requests within the rolling window before the error rate may open a breaker. */
  BREAKER_VOLUME_THRESHOLD: positiveInt(10),
  BREAKER_WINDOW_MS: positiveInt(10_000),
  HEALTH_CHECK_TIMEOUT_MS: positiveInt(2_000),
});

export type Config = z.infer<z.ZodObject<ReturnType<typeof configShape>>>;
