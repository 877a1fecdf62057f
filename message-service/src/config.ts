import type { z } from 'zod';
import { amqpUrl, commonSettings, connectionPassword, databaseSettings, eventSettings, port, upkeepSettings } from '@board/service-kit';

export const SERVICE_NAME = 'message-service';

/** The environment message-service reads; defaults run it against local servers in development. */
export const configShape = () => ({
  ...commonSettings,
  ...eventSettings,
  ...upkeepSettings,
  PORT: port(3003),
  ...databaseSettings('messages'),
  AMQP_URL: amqpUrl(),
  AMQP_PASSWORD: connectionPassword(),
});

export type Config = z.infer<z.ZodObject<ReturnType<typeof configShape>>>;

/** What `npm run migrate` needs: the database and nothing else, so it runs without the service's secrets. */
export const migrationConfigShape = () => ({ ...commonSettings, ...databaseSettings('messages') });
