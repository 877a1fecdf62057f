import {
  RevocationList,
  checks,
  createEventIntake,
  openRedis,
  startService,
  type Logger,
  type Redis,
  type StartedService,
} from '@board/service-kit';
import { createApp } from './app';
import { SERVICE_NAME, type Config } from './config';
import { CONSUMED_EVENTS, CONSUMER, eventHandler } from './events/handlers';
import { createRealtimeMetrics } from './metrics';
import { ClientHub } from './sse/hub';
import { LiveFeed } from './sse/live-feed';
import { EventLog } from './store/event-log';
import { StreamSlots } from './store/stream-slots';
import { ResumePasses } from './store/resume-passes';
import { TicketStore } from './store/tickets';

const TICKET_TTL_MS = 30_000;

export interface StartOptions {
  logger?: Logger;
  /** How long a stream ticket lives; tests shorten it to see one expire. */
  ticketTtlMs?: number;
  /** How long a resume pass outlives its stream; tests shorten it to see one lapse. */
  resumeLeaseMs?: number;
  /** Replaces the revocation list built on this service's Redis (tests time its answers). */
  revocations?: (redis: Redis, prefix: string) => RevocationList;
}

export interface RunningService extends StartedService {
  /** The replay stream, for tests that append directly. */
  eventLog: EventLog;
}

export function start(config: Config, options: StartOptions = {}): Promise<RunningService> {
  const prefix = config.REDIS_KEY_PREFIX;
  return startService({ name: SERVICE_NAME, config, logger: options.logger }, async (parts) => {
    const { logger, metrics, lifecycle } = parts;
    // What is registered last stops first: the consumer, then the streams, HTTP, and Redis last.
    const redis = await openRedis({ url: config.REDIS_URL, logger, lifecycle, name: SERVICE_NAME });
    const subscriber = await openRedis({ url: config.REDIS_URL, logger, lifecycle, name: `${SERVICE_NAME}-subscriber` });

    const eventLog = new EventLog(redis, prefix, config.STREAM_MAX_LENGTH);
    const revocations = options.revocations?.(redis, prefix) ?? new RevocationList(redis, prefix);
    const hub = new ClientHub({
      metrics: createRealtimeMetrics(metrics.registry),
      maxBufferBytes: config.MAX_CLIENT_BUFFER_BYTES,
      retryMs: config.SSE_RETRY_MS,
      heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    });
    const liveFeed = new LiveFeed({
      subscriber,
      liveChannel: eventLog.liveChannel,
      revocationChannel: revocations.channel,
      hub,
      logger,
    });
    liveFeed.start();

    const intake = createEventIntake(parts, {
      service: SERVICE_NAME,
      config,
      consume: { consumer: CONSUMER, routingKeys: CONSUMED_EVENTS, handle: eventHandler(eventLog) },
    });
    const slots = new StreamSlots(redis, prefix, {
      perUser: config.MAX_STREAMS_PER_USER,
      perAddress: config.MAX_STREAMS_PER_ADDRESS,
      visitorsPerAddress: config.MAX_VISITOR_STREAMS_PER_ADDRESS,
      // A few heartbeats: slots of an instance that died stop counting within that.
      leaseMs: config.HEARTBEAT_INTERVAL_MS * 3,
    });
    lifecycle.onStop('stream-slots', () => slots.stop());
    const resumePasses = new ResumePasses(redis, prefix, options.resumeLeaseMs ?? config.STREAM_RESUME_LEASE_MS);
    lifecycle.onStop('resume-passes', () => resumePasses.stop());
    const app = createApp({
      tickets: new TicketStore(redis, prefix, options.ticketTtlMs ?? TICKET_TTL_MS),
      resumePasses,
      slots,
      revocations,
      eventLog,
      hub,
      liveFeed,
      logger,
      metrics,
      trustProxyHops: config.TRUST_PROXY_HOPS,
      isDraining: () => lifecycle.isShuttingDown,
      readiness: {
        redis: checks.redis(redis),
        'redis-subscriber': async () => {
          if (!liveFeed.isSubscribed) throw new Error('not subscribed to live events');
        },
        rabbitmq: checks.rabbitmq(intake.connection, intake),
      },
    });
    const whenListening = async () => {
      lifecycle.onStop('sse-streams', () => hub.shutdown());
      await intake.start();
    };
    return { app, exposed: { eventLog }, whenListening };
  });
}
