/**
 * Gateway overhead: the same authenticated GET /api/messages, once straight to message-service
 * (with the identity headers the gateway would add) and once through the gateway (Bearer token:
 * JWT verification, revocation check, rate limit, breaker, proxy), in one run.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { removeNamespace } from '../../stack/dist/cleanup';
import { startStack } from '../../stack/dist/stack';
import { cpuDuring, localServers, type CpuGroups } from './cpu';
import { round } from './stats';

export interface LoadResult {
  path: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  /** CPU milliseconds per request, by process. */
  cpuMsPerRequest?: Record<string, number>;
}

function load(title: string, url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    autocannon({ url, headers, connections, duration: seconds }, (error, result) => {
      if (error) return reject(error);
      resolve({
        path: title,
        requestsPerSecond: round(result.requests.average, 0),
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        non2xx: result.non2xx,
      });
    });
  });
}

/** `load`, plus where the CPU went: on 2 cores every process competes, so this explains the ratio. */
async function measured(title: string, url: string, headers: Record<string, string>, connections: number, seconds: number, groups: CpuGroups) {
  const { result, cpuSeconds } = await cpuDuring(groups, () => load(title, url, headers, connections, seconds));
  const requests = result.requestsPerSecond * seconds;
  const cpuMsPerRequest = Object.fromEntries(Object.entries(cpuSeconds).map(([name, value]) => [name, round((value * 1000) / requests, 3)]));
  return { ...result, cpuMsPerRequest };
}

async function json(url: string, init: RequestInit): Promise<Record<string, unknown>> {
  const response = await fetch(url, init);
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

export async function runGateway(connections = 10, seconds = 10): Promise<LoadResult[]> {
  const namespace = `bench_${randomUUID().slice(0, 8)}`;
  const stack = await startStack({
    namespace,
    portOffset: 30_000,
    // The benchmark is one client hammering one route: lift the per-client limit out of the way.
    overrides: { LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '100000000', AUTH_RATE_LIMIT_MAX: '1000' },
  });
  try {
    const gateway = stack.serviceUrl('api-gateway');
    const email = `${namespace}@example.com`;
    const password = 'benchmark-password';
    await json(`${gateway}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, username: namespace, password }),
    });
    const login = await json(`${gateway}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const token = String(login.accessToken);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string; role: string; sid: string };
    const bearer = { authorization: `Bearer ${token}` };
    for (let index = 0; index < 50; index += 1) {
      await json(`${gateway}/api/messages`, {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'general', body: `benchmark message ${index}` }),
      });
    }
    const path = '/api/messages?channel=general&limit=20';
    const identity = { 'x-user-id': claims.sub, 'x-user-role': claims.role, 'x-session-id': claims.sid };
    // Warm both paths (JIT, pools, JWKS cache) before measuring.
    await load('warm-up', `${stack.serviceUrl('message-service')}${path}`, identity, connections, 2);
    await load('warm-up', `${gateway}${path}`, bearer, connections, 2);
    const groups: CpuGroups = {
      ...localServers,
      'message-service': () => [stack.pids['message-service']!],
      'api-gateway': () => [stack.pids['api-gateway']!],
    };
    const direct = await measured('direct to message-service', `${stack.serviceUrl('message-service')}${path}`, identity, connections, seconds, groups);
    const proxied = await measured('through the gateway', `${gateway}${path}`, bearer, connections, seconds, groups);
    // Latency without contention: one connection, so the p50 difference is the gateway's own work.
    const directAlone = await load('direct, 1 connection', `${stack.serviceUrl('message-service')}${path}`, identity, 1, seconds / 2);
    const proxiedAlone = await load('gateway, 1 connection', `${gateway}${path}`, bearer, 1, seconds / 2);
    return [direct, proxied, directAlone, proxiedAlone];
  } finally {
    await stack.stop();
    await removeNamespace(stack.plan, namespace);
  }
}
