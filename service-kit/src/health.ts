import { Router } from 'express';

/** A readiness check resolves when its dependency answers and rejects (with why) when it does not. */
export type ReadinessCheck = () => Promise<unknown>;
export type ReadinessChecks = Readonly<Record<string, ReadinessCheck>>;

export interface HealthOptions {
  checks: ReadinessChecks;
  /** True while the process drains for shutdown: it stays live but stops being ready. */
  isDraining?: () => boolean;
  timeoutMs?: number;
}

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
