import { z } from 'zod';
import {
  amqpUrl,
  commonSettings,
  connectionPassword,
  databaseSettings,
  eventSettings,
  isProduction,
  port,
  upkeepSettings,
  redisUrl,
  secret,
  type Env,
} from '@board/service-kit';
import { USERNAME_PATTERN, isAcceptablePassword } from './domain/credential-rules';

/** bcrypt cost below which production refuses to start; tests may go lower to stay fast. */
export const PRODUCTION_MIN_BCRYPT_COST = 12;
const DAY_SECONDS = 86_400;

export const SERVICE_NAME = 'auth-service';

/** The environment auth-service reads; defaults run it against local servers in development. */
export const configShape = (env: Env) => ({
  ...commonSettings,
  ...eventSettings,
  ...upkeepSettings,
  PORT: port(3001),
  ...databaseSettings('auth'),
  REDIS_URL: redisUrl(),
  AMQP_URL: amqpUrl(),
  AMQP_PASSWORD: connectionPassword(),
  REDIS_KEY_PREFIX: z.string().default(''),

  JWT_ISSUER: z.string().min(1).default('message-board-auth'),
  JWT_AUDIENCE: z.string().min(1).default('message-board'),
  /** At most an hour: Redis revocations live that long, and must outlive every token they refuse. */
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(3_600).default(900),
  /** Absolute lifetime of a session (a refresh-token family); refreshing does not extend it. */
  REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(365 * DAY_SECONDS).default(30 * DAY_SECONDS),
  /**
   * Seconds after a refresh in which the refresh token it replaced still gives the same new one
   * (two tabs refreshing at once) rather than counting as reuse; 0 turns the window off.
   */
  REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(10),
  /**
   * Failed logins (LoginThrottle): per account and address; per account from devices that never
   * logged in to it; per device that did. Each counter lasts one window from its first failure.
   */
  LOGIN_FAILURE_WINDOW_MS: z.coerce.number().int().min(1_000).default(900_000),
  LOGIN_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(10),
  LOGIN_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(100),
  LOGIN_FAILURES_PER_DEVICE: z.coerce.number().int().min(1).default(10),
  SIGNING_KEY_ROTATION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /**
   * Seconds a new signing key is in the JWKS before it signs: must exceed the gateways'
   * JWKS_REFRESH_INTERVAL_MS, so every gateway knows a key before it meets a token signed with it.
   */
  SIGNING_KEY_PUBLISH_LEAD_SECONDS: z.coerce.number().int().min(0).max(86_400).default(600),
  /** How often each replica reloads the active signing key and rotates it when it is due. */
  SIGNING_KEY_CHECK_INTERVAL_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /** Encrypts signing keys at rest (AES-256-GCM); changing it makes stored keys unreadable. */
  KEY_ENCRYPTION_SECRET: secret(env, 'development-only-key-encryption-secret', 32),

  BCRYPT_COST: z.coerce
    .number()
    .int()
    .min(isProduction(env) ? PRODUCTION_MIN_BCRYPT_COST : 4)
    .max(15)
    .default(PRODUCTION_MIN_BCRYPT_COST),

  ADMIN_EMAIL: z
    .email()
    .transform((email) => email.toLowerCase())
    .optional(),
  ADMIN_PASSWORD: z
    .string()
    .refine(isAcceptablePassword, 'must be 8 to 72 bytes long (bcrypt ignores anything past 72 bytes)')
    .optional(),
  ADMIN_USERNAME: z.string().regex(USERNAME_PATTERN, 'must be 3 to 32 letters, digits or underscores').default('admin'),

  SESSION_CLEANUP_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
});

export type Config = z.infer<z.ZodObject<ReturnType<typeof configShape>>>;

/** What `npm run migrate` needs: the database and nothing else, so it runs without the signing-key secret. */
export const migrationConfigShape = () => ({ ...commonSettings, ...databaseSettings('auth') });
