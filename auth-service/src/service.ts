import { hkdfSync } from 'node:crypto';
import path from 'node:path';
import {
  FailureLimit,
  RevocationList,
  checks,
  openRedis,
  runEvery,
  openDatabase,
  startMessaging,
  startService,
  startUpkeep,
  type EventServiceStartOptions,
  type Logger,
  type Redis,
  type Messaging,
  type StartedService,
} from '@board/service-kit';
import { createApp } from './app';
import { SERVICE_NAME, type Config } from './config';
import { AccessTokenIssuer } from './domain/access-tokens';
import { Accounts } from './domain/accounts';
import { seedAdmin } from './domain/admin-seed';
import { PasswordHasher } from './domain/passwords';
import { SessionRevocations } from './domain/revocations';
import { sessionCleanup } from './domain/session-cleanup';
import { LoginThrottle } from './domain/login-throttle';
import { SessionManager } from './domain/sessions';
import { SigningKeys } from './domain/signing-keys';
import { CONSUMED_EVENTS, CONSUMER, eventHandler } from './events/handlers';
import { createAuthMetrics } from './metrics';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');
const REDIS_STARTUP_WAIT_MS = 5_000;
/** Wrong old passwords per user on a password change: 5 in 15 minutes. */
const PASSWORD_CHANGE_FAILURES = { max: 5, windowMs: 900_000 };

const deriveKey = (secret: string, purpose: string) => Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), purpose, 32));

export type StartOptions = EventServiceStartOptions;

export interface RunningService extends StartedService {
  pool: Awaited<ReturnType<typeof openDatabase>>;
  messaging: Messaging;
  keys: SigningKeys;
}

function loginThrottle(config: Config, redis: Redis, logger: Logger): LoginThrottle {
  const limit = (name: string, max: number) =>
    new FailureLimit(redis, `${config.REDIS_KEY_PREFIX}fail:login-${name}:`, { max, windowMs: config.LOGIN_FAILURE_WINDOW_MS }, logger);
  return new LoginThrottle(
    {
      perAddress: limit('address', config.LOGIN_FAILURES_PER_ADDRESS),
      perAccount: limit('account', config.LOGIN_FAILURES_PER_ACCOUNT),
      perDevice: limit('device', config.LOGIN_FAILURES_PER_DEVICE),
    },
    deriveKey(config.KEY_ENCRYPTION_SECRET, 'auth-service device tokens'),
  );
}

/** Wires auth-service to its real dependencies and starts listening. */
export function start(config: Config, options: StartOptions = {}): Promise<RunningService> {
  return startService({ name: SERVICE_NAME, config, logger: options.logger }, async (parts) => {
    const { logger, metrics, lifecycle } = parts;
    const authMetrics = createAuthMetrics(metrics.registry);
    const pool = await openDatabase({ config, migrationsDir: MIGRATIONS_DIR, logger, lifecycle });

    // Revocations are best effort on the request path, so a Redis outage does not stop the start.
    const redis = await openRedis({ url: config.REDIS_URL, logger, lifecycle, name: SERVICE_NAME, startupWaitMs: REDIS_STARTUP_WAIT_MS });
    const revocationList = new RevocationList(redis, config.REDIS_KEY_PREFIX);

    const messaging = await startMessaging(parts, {
      service: SERVICE_NAME,
      config,
      pool,
      outboxPollIntervalMs: options.outboxPollIntervalMs,
      consume: {
        consumer: CONSUMER,
        routingKeys: CONSUMED_EVENTS,
        handle: (db) => eventHandler({ db, revocations: revocationList, metrics: authMetrics }),
        retryDelaysMs: options.retryDelaysMs,
      },
    });
    const { db, connection } = messaging;

    const keys = new SigningKeys({
      db,
      encryptionSecret: config.KEY_ENCRYPTION_SECRET,
      rotationDays: config.SIGNING_KEY_ROTATION_DAYS,
      publishLeadSeconds: config.SIGNING_KEY_PUBLISH_LEAD_SECONDS,
      // A replica may sign with a key for up to one check interval after another retired it.
      retentionSeconds: config.ACCESS_TOKEN_TTL_SECONDS + Math.ceil(config.SIGNING_KEY_CHECK_INTERVAL_MS / 1000),
      logger,
      rotations: authMetrics.signingKeyRotations,
    });
    await keys.refresh();

    const hasher = await PasswordHasher.create(config.BCRYPT_COST, authMetrics.bcryptDuration);
    const revocations = new SessionRevocations(revocationList, authMetrics, logger);
    const accounts = new Accounts({
      db,
      hasher,
      revocations,
      metrics: authMetrics,
      passwordChangeFailures: new FailureLimit(redis, `${config.REDIS_KEY_PREFIX}fail:password-change:`, PASSWORD_CHANGE_FAILURES, logger),
    });
    const sessions = new SessionManager({
      db,
      hasher,
      revocations,
      metrics: authMetrics,
      issuer: new AccessTokenIssuer(keys, {
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      }),
      sessionLifetimeSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      successorKey: deriveKey(config.KEY_ENCRYPTION_SECRET, 'auth-service refresh-token successors'),
      reuseGraceMs: config.REFRESH_REUSE_GRACE_SECONDS * 1_000,
      loginThrottle: loginThrottle(config, redis, logger),
    });

    if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
      await seedAdmin(db, accounts, { email: config.ADMIN_EMAIL, username: config.ADMIN_USERNAME, password: config.ADMIN_PASSWORD }, logger);
    } else if (config.ADMIN_EMAIL || config.ADMIN_PASSWORD) {
      logger.warn('set both ADMIN_EMAIL and ADMIN_PASSWORD to seed the admin account; skipping');
    }

    runEvery({ name: 'signing-key-check', everyMs: config.SIGNING_KEY_CHECK_INTERVAL_MS, task: () => keys.refresh(), logger, lifecycle });
    const upkeep = startUpkeep(parts, { service: SERVICE_NAME, pool, config });
    upkeep.schedule(sessionCleanup(config.SESSION_CLEANUP_INTERVAL_MS));

    const app = createApp({
      logger,
      metrics,
      readiness: { postgres: checks.postgres(pool), redis: checks.redis(redis), rabbitmq: checks.rabbitmq(connection, messaging) },
      isDraining: () => lifecycle.isShuttingDown,
      trustProxyHops: config.TRUST_PROXY_HOPS,
      accounts,
      sessions,
      keys,
    });
    return { app, exposed: { pool, messaging, keys } };
  });
}
