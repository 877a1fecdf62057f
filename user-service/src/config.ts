import { z } from 'zod';
import {
  amqpUrl,
  commonSettings,
  connectionPassword,
  databaseSettings,
  eventSettings,
  port,
  upkeepSettings,
  redisUrl,
  secret,
  type Env,
} from '@board/service-kit';

export const SERVICE_NAME = 'user-service';

/** The environment user-service reads; defaults run it against local servers in development. */
export const configShape = (env: Env) => ({
  ...commonSettings,
  ...eventSettings,
  ...upkeepSettings,
  PORT: port(3002),
  ...databaseSettings('users'),
  REDIS_URL: redisUrl(),
  REDIS_KEY_PREFIX: z.string().default(''),
  AMQP_URL: amqpUrl(),
  AMQP_PASSWORD: connectionPassword(),
  /** Turns a `user` into a `member` (POST /api/users/me/membership). */
  MEMBER_PASSCODE: secret(env, 'development-passcode'),
});

export type Config = z.infer<z.ZodObject<ReturnType<typeof configShape>>>;

/** What `npm run migrate` needs: the database and nothing else, so it runs without the service's secrets. */
export const migrationConfigShape = () => ({ ...commonSettings, ...databaseSettings('users') });
