import { z } from 'zod';
import { amqpUrl, commonSettings, connectionPassword, eventSettings, port, redisUrl } from '@board/service-kit';

export const SERVICE_NAME = 'realtime-service';

/** The environment realtime-service reads; defaults run it against local servers in development. */
export const configShape = () => ({
  ...commonSettings,
  ...eventSettings,
  PORT: port(3004),
  REDIS_URL: redisUrl(),
  /** Put before every Redis key and channel this service uses, e.g. to share one Redis. */
  REDIS_KEY_PREFIX: z.string().default(''),
  AMQP_URL: amqpUrl(),
  AMQP_PASSWORD: connectionPassword(),
  /** About how many events the replay stream keeps (trimmed approximately, by whole nodes). */
  STREAM_MAX_LENGTH: z.coerce.number().int().min(100).max(1_000_000).default(10_000),
  HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(1_000).max(60_000).default(15_000),
  /** A client whose unsent output passes this is dropped rather than buffered without bound. */
  MAX_CLIENT_BUFFER_BYTES: z.coerce.number().int().min(16_384).max(16_777_216).default(262_144),
  /** Open streams one user may hold across every instance; one more is 429. */
  MAX_STREAMS_PER_USER: z.coerce.number().int().min(1).max(1_000_000).default(20),
  /** Open streams one client address may hold across every instance (visitors included; offices share addresses). */
  MAX_STREAMS_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /** Open visitor streams (no account) one client address may hold, counted within MAX_STREAMS_PER_ADDRESS too. */
  MAX_VISITOR_STREAMS_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(20),
  /** The reconnection delay announced to clients (the SSE `retry:` field). */
  SSE_RETRY_MS: z.coerce.number().int().min(500).max(60_000).default(3_000),
  /**
   * How long a stream's resume pass (the cookie that lets a browser's own EventSource reconnect)
   * outlives the stream: the window for the native reconnect after a drop or a restart.
   */
  STREAM_RESUME_LEASE_MS: z.coerce.number().int().min(5_000).max(600_000).default(60_000),
});

export type Config = z.infer<z.ZodObject<ReturnType<typeof configShape>>>;
