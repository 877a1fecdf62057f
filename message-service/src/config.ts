import type { z } from 'zod';
import { amqpUrl, commonSettings, connectionPassword, databaseUrl, eventSettings, port } from '@board/service-kit';

export const SERVICE_NAME = 'message-service';

/** The environment message-service reads; defaults run it against local servers in development. */
export const configShape = {
  ...commonSettings,
  ...eventSettings,
  PORT: port(3003),
  DATABASE_URL: databaseUrl('messages'),
  DATABASE_PASSWORD: connectionPassword(),
  AMQP_URL: amqpUrl(),
  AMQP_PASSWORD: connectionPassword(),
};

export type Config = z.infer<z.ZodObject<typeof configShape>>;

/** What `npm run migrate` needs: the database and nothing else. */
export const migrationConfigShape = {
  ...commonSettings,
  DATABASE_URL: databaseUrl('messages'),
  DATABASE_PASSWORD: connectionPassword(),
};
