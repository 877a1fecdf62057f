import { z } from 'zod';

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const isProduction = (env: Env): boolean => env.NODE_ENV === 'production';

/** Settings every service reads. */
export const commonSettings = {
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How many proxies (nginx, the gateway) stand between the client and this process. */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(5).default(1),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /**
   * The address to listen on. The services trust the gateway's identity headers, so none may be
   * reachable from another machine: loopback by default, `0.0.0.0` only inside a container,
   * whose port stays on the compose network.
   */
  HOST: z.string().min(1).default('127.0.0.1'),
};

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);

/** A URL whose scheme is one of `schemes` (e.g. ['postgres', 'postgresql']); `hint` ends the error message. */
export const urlWithScheme = (schemes: readonly string[], hint = '') =>
  z.string().refine(
    (value) => {
      try {
        return schemes.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${schemes.map((scheme) => `${scheme}://`).join(' or ')}${hint}` },
  );

/** Why a URL with a password in it may not parse: `/ ? #` end the password part of a URL. */
const passwordHint = (passwordVariable: string) =>
  ` (a password with URL-reserved characters such as / ? # @ : belongs in ${passwordVariable}, not in the URL)`;

export const databaseUrl = (databaseName: string) =>
  urlWithScheme(['postgres', 'postgresql'], passwordHint('DATABASE_PASSWORD')).default(`postgres://postgres@127.0.0.1:5432/${databaseName}`);
/** DATABASE_URL (defaulting to a local database of this name) and DATABASE_PASSWORD. */
export const databaseSettings = (databaseName: string) => ({
  DATABASE_URL: databaseUrl(databaseName),
  DATABASE_PASSWORD: connectionPassword(),
});

export const redisUrl = () => urlWithScheme(['redis', 'rediss']).default('redis://127.0.0.1:6379');
export const amqpUrl = () => urlWithScheme(['amqp', 'amqps'], passwordHint('AMQP_PASSWORD')).default('amqp://guest:guest@127.0.0.1:5672');

/**
 * The password for a server whose URL is set beside it (DATABASE_PASSWORD for DATABASE_URL,
 * AMQP_PASSWORD for AMQP_URL). It reaches the client as a field of its own, never through URL
 * parsing, so it may hold any character; when set, it replaces a password in the URL.
 */
export const connectionPassword = () =>
  z
    .string()
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters (a pasted line break?)')
    .optional();

/**
 * A secret: the development default applies outside production only, so a production deployment
 * that forgets one fails at start instead of running with a well-known value.
 */
export const secret = (env: Env, developmentDefault: string, minLength = 8) => {
  const value = z.string().min(minLength, `must be at least ${minLength} characters`);
  return isProduction(env) ? value : value.default(developmentDefault);
};

/** A service's configuration shape, made from the environment (some defaults depend on NODE_ENV). */
export type ConfigShape<Shape extends z.ZodRawShape> = (env: Env) => Shape;

/** Parses the environment with the service's shape; unset and empty variables count as missing. */
export function parseConfig<Shape extends z.ZodRawShape>(configShape: ConfigShape<Shape> | Shape, env: Env): z.infer<z.ZodObject<Shape>> {
  const shape = typeof configShape === 'function' ? configShape(env) : configShape;
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = z.object(shape).safeParse(present);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const variable = issue.path.join('.') || '(environment)';
      const message = issue.code === 'invalid_type' && present[variable] === undefined ? 'is required' : issue.message;
      return `${variable}: ${message}`;
    }),
  );
}

/** parseConfig for a process entry point: a bad value prints which variable and why, then exits 1. */
export function loadConfig<Shape extends z.ZodRawShape>(configShape: ConfigShape<Shape> | Shape, env: Env = process.env): z.infer<z.ZodObject<Shape>> {
  try {
    return parseConfig(configShape, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
