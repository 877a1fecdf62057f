import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Queryable } from '../postgres/pool';
import type { AmqpConnection } from '../events/connection';

/** A readiness check resolves when its dependency answers and rejects (with why) when it does not. */
export type ReadinessCheck = () => Promise<unknown>;
export type ReadinessChecks = Readonly<Record<string, ReadinessCheck>>;

export interface HealthOptions {
  checks: ReadinessChecks;
  /** True while the process drains for shutdown: it stays live but stops being ready. */
  isDraining?: () => boolean;
  timeoutMs?: number;
}

/**
 * The readiness checks of the dependencies services share, so that every service reports a
 * dependency as down for the same reason. (Not to be confused with `redisReady`, which waits for a
 * client to connect at start.)
 */
export const checks = {
  /** PostgreSQL answers a query through the pool, so a pool that cannot get a connection fails. */
  postgres: (pool: Queryable): ReadinessCheck => () => pool.query('SELECT 1'),
  /** Redis answers a PING; the kit's clients fail fast while it is away instead of queueing. */
  redis: (redis: Pick<Redis, 'ping'>): ReadinessCheck => () => redis.ping(),
  /**
   * The connection to RabbitMQ is up. It reconnects by itself, so this only reports and never
   * dials: while the broker is away the service is unready (events wait in the outbox).
   */
  rabbitmq: (
    connection: Pick<AmqpConnection, 'isConnected'>,
    parts: { publisher?: { isReady: boolean }; consumer?: { isConsuming: boolean } } = {},
  ): ReadinessCheck => async () => {
    if (!connection.isConnected) throw new Error('not connected to RabbitMQ');
    if (parts.publisher && !parts.publisher.isReady) throw new Error('the publisher channel is not open');
    if (parts.consumer && !parts.consumer.isConsuming) throw new Error('not consuming events');
  },
} as const;

export type CheckResult = { status: 'ok' } | { status: 'failed'; error: string };

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return { status: 'ok' };
  } catch (error) {
    return { status: 'failed', error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(checks: ReadinessChecks, timeoutMs = 2_000) {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => runCheck(checks[name]!, timeoutMs)));
  const byName = Object.fromEntries(names.map((name, index) => [name, results[index]!]));
  return { ready: results.every((result) => result.status === 'ok'), checks: byName };
}

/** GET /health/live (the process runs) and GET /health/ready (its own dependencies answer). */
export function healthRouter({ checks, isDraining = () => false, timeoutMs }: HealthOptions): Router {
  const router = Router();
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req, res) => {
    if (isDraining()) {
      res.status(503).json({ status: 'draining', checks: {} });
      return;
    }
    const { ready, checks: results } = await checkReadiness(checks, timeoutMs);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'unavailable', checks: results });
  });
  return router;
}
