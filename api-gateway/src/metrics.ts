import { Counter, Gauge, type Registry } from '@board/service-kit';

export interface GatewayMetrics {
  /** 0 closed, 1 half-open, 2 open. */
  readonly breakerState: Gauge<'upstream'>;
  readonly breakerEvents: Counter<'upstream' | 'event'>;
  readonly authRejections: Counter<'code'>;
  /** Redis calls on the request path that failed, by what they were for. */
  readonly redisFailures: Counter<'use'>;
  /** 1 while the in-memory revocation list is complete, 0 while revocations are asked of Redis. */
  readonly revocationMirrorSynced: Gauge;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    breakerState: new Gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open',
      labelNames: ['upstream'] as const,
      registers: [registry],
    }),
    breakerEvents: new Counter({
      name: 'circuit_breaker_events_total',
      help: 'Circuit breaker events per upstream (success, failure, timeout, reject, open, halfOpen, close)',
      labelNames: ['upstream', 'event'] as const,
      registers: [registry],
    }),
    authRejections: new Counter({
      name: 'gateway_auth_rejections_total',
      help: 'Requests refused for their credentials, by error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    redisFailures: new Counter({
      name: 'gateway_redis_failures_total',
      help: 'Redis calls on the request path that failed (the gateway kept serving), by use',
      labelNames: ['use'] as const,
      registers: [registry],
    }),
    revocationMirrorSynced: new Gauge({
      name: 'gateway_revocation_mirror_synced',
      help: '1 while the in-memory copy of the revocation list is complete, 0 while each check asks Redis',
      registers: [registry],
    }),
  };
}
