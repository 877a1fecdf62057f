import type { RequestHandler } from 'express';
import type { BreakerState, Upstream } from './upstream';

export interface UpstreamHealth {
  ready: boolean;
  breaker: BreakerState;
  latencyMs?: number;
}

/**
 * GET /api/health: asks every upstream's /health/ready directly (not through its breaker, so an
 * open breaker does not hide a recovered service) and reports each breaker's state beside it.
 */
export function upstreamHealth(upstreams: readonly Upstream[], timeoutMs: number): RequestHandler {
  return async (_req, res) => {
    const results = await Promise.all(upstreams.map(async (upstream) => [upstream.name, await probe(upstream, timeoutMs)] as const));
    const ready = results.every(([, health]) => health.ready);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ok' : 'degraded', upstreams: Object.fromEntries(results) });
  };
}

/** An upstream is ready when every one of its replicas is; the latency is the slowest one's. */
async function probe(upstream: Upstream, timeoutMs: number): Promise<UpstreamHealth> {
  const started = performance.now();
  const answers = await Promise.all(upstream.urls.map((url) => isReady(url, timeoutMs)));
  if (!answers.every(Boolean)) return { ready: false, breaker: upstream.state };
  return { ready: true, breaker: upstream.state, latencyMs: Math.round(performance.now() - started) };
}

async function isReady(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(new URL('/health/ready', url), { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
