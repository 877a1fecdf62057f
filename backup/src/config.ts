import { z } from 'zod';
import { commonSettings, connectionPassword, port, urlWithScheme } from '@board/service-kit';
import { parseDailyTime } from './schedule';

export const SERVICE_NAME = 'backup';

const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item !== ''))
  .refine((items) => items.length > 0, 'must name at least one');

const count = (fallback: number) => z.coerce.number().int().min(0).max(1000).default(fallback);

/** The environment the backup service and its CLI read; libpq's own names for the PostgreSQL connection. */
export const configShape = {
  LOG_LEVEL: commonSettings.LOG_LEVEL,
  SHUTDOWN_TIMEOUT_MS: commonSettings.SHUTDOWN_TIMEOUT_MS,
  HOST: commonSettings.HOST,
  /** Where Prometheus scrapes /metrics. */
  PORT: port(9300),
  /** The directory of the logical dumps, one subdirectory per dump. */
  BACKUP_DIR: z.string().min(1).default('/var/lib/board-backup'),
  BACKUP_DATABASES: list.default(['auth', 'users', 'messages']),
  /** The nightly run, HH:MM in UTC. */
  BACKUP_AT: z.string().transform((value, context) => {
    try {
      return parseDailyTime(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }).default({ hour: 2, minute: 0 }),
  BACKUP_KEEP_DAILY: count(7),
  BACKUP_KEEP_WEEKLY: count(4),
  /** A Unix socket directory (the superuser connects without a password there) or a host name. */
  PGHOST: z.string().min(1).default('/var/run/postgresql'),
  PGPORT: port(5432),
  PGUSER: z.string().min(1).default('postgres'),
  PGPASSWORD: connectionPassword(),
  /** pgBackRest's stanza; unset, there are no physical backups (logical dumps only). */
  PGBACKREST_STANZA: z.string().min(1).optional(),
  /** pgBackRest's configuration file; its default (/etc/pgbackrest/pgbackrest.conf) when unset. */
  PGBACKREST_CONFIG: z.string().min(1).optional(),
  /** RabbitMQ's management API, whose definitions go with each dump; unset, they are not exported. */
  RABBITMQ_MANAGEMENT_URL: urlWithScheme(['http', 'https']).optional(),
  RABBITMQ_USER: z.string().min(1).default('guest'),
  RABBITMQ_PASSWORD: connectionPassword(),
};

export type Config = z.infer<z.ZodObject<typeof configShape>>;
