import { Counter, Gauge, Histogram, type Registry } from '@board/service-kit';

/** Why this service ended a stream itself. */
export type CloseReason = 'slow_client' | 'user_deleted' | 'revoked' | 'role_lowered' | 'live_feed_lost' | 'replay_failed';

/** Why a reconnecting client was told to reload instead of getting a replay. */
export type ResyncReason = 'malformed_id' | 'too_old' | 'unknown_id';

export interface RealtimeMetrics {
  readonly connections: Gauge;
  readonly delivered: Counter<'type'>;
  readonly closed: Counter<'reason'>;
  readonly resyncs: Counter<'reason'>;
  readonly replays: Counter;
  readonly fanoutLatency: Histogram;
}

export function createRealtimeMetrics(registry: Registry): RealtimeMetrics {
  const registers = [registry];
  return {
    connections: new Gauge({ name: 'sse_connections', help: 'Open SSE streams on this instance', registers }),
    delivered: new Counter({
      name: 'sse_events_delivered_total',
      help: 'Event frames written to SSE streams (live and replayed), by event type',
      labelNames: ['type'] as const,
      registers,
    }),
    closed: new Counter({
      name: 'sse_clients_dropped_total',
      help: 'SSE streams this instance ended itself, by reason (slow_client: its buffer passed the bound)',
      labelNames: ['reason'] as const,
      registers,
    }),
    resyncs: new Counter({
      name: 'sse_resyncs_total',
      help: 'Reconnecting clients told to reload instead of replaying, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    replays: new Counter({
      name: 'sse_replays_total',
      help: 'Reconnecting clients brought up to date from the event log (the others resynced, see sse_resyncs_total)',
      registers,
    }),
    fanoutLatency: new Histogram({
      name: 'sse_fanout_latency_seconds',
      help: 'From the append to the Redis stream until this instance wrote the event to its last recipient',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
}
