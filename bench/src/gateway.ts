/**
 * Gateway overhead: the same authenticated GET /api/messages, once straight to message-service
 * (with the identity headers the gateway would add) and once through the gateway (Bearer token:
 * JWT verification, revocation check, rate limit, breaker, proxy), in one run.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import autocannon from 'autocannon';
import { removeNamespace } from '../../stack/dist/cleanup';
import { startStack } from '../../stack/dist/stack';
import { cpuDuring, localServers, type CpuGroups } from './cpu';
import { percentile, round } from './stats';

export interface LoadResult {
  path: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  /** CPU milliseconds per request, by process. */
  cpuMsPerRequest: Record<string, number>;
}

export interface LatencyResult {
  path: string;
  p50Ms: number;
  p99Ms: number;
}

export interface GatewayRound {
  direct: LoadResult;
  proxied: LoadResult;
  /** Through the gateway, as a share of direct. */
  ratio: number;
}

export interface GatewayBenchmark {
  rounds: GatewayRound[];
  medianRatio: number;
  latency: { direct: LatencyResult; proxied: LatencyResult; addedP50Ms: number };
}

/** Who sends the load: one set of headers, or several that each connection takes in turn (several users). */
export type Callers = Record<string, string> | Record<string, string>[];

export function load(url: string, callers: Callers, connections: number, seconds: number): Promise<autocannon.Result> {
  const options: autocannon.Options = Array.isArray(callers)
    ? { url, connections, duration: seconds, requests: callers.map((headers) => ({ method: 'GET', headers })) }
    : { url, headers: callers, connections, duration: seconds };
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** Throughput with where the CPU went: on 2 cores every process competes, so this explains the ratio. */
export async function measured(title: string, url: string, callers: Callers, connections: number, seconds: number, groups: CpuGroups): Promise<LoadResult> {
  const { result, cpuSeconds } = await cpuDuring(groups, () => load(url, callers, connections, seconds));
  const requests = result.requests.total;
  return {
    path: title,
    requestsPerSecond: round(result.requests.average, 0),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    cpuMsPerRequest: Object.fromEntries(Object.entries(cpuSeconds).map(([name, value]) => [name, round((value * 1000) / requests, 3)])),
  };
}

/**
 * Latency without contention: one request at a time on one keep-alive connection, timed to the
 * microsecond (autocannon's histogram counts whole milliseconds, too coarse for a 2 ms target).
 */
async function sequentialLatency(title: string, url: string, headers: Record<string, string>, requests: number): Promise<LatencyResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  try {
    for (let index = 0; index < requests; index += 1) {
      const startedAt = process.hrtime.bigint();
      const status = await new Promise<number>((resolve, reject) => {
        http
          .get(url, { headers, agent }, (response) => {
            response.resume();
            response.once('end', () => resolve(response.statusCode ?? 0));
          })
          .once('error', reject);
      });
      if (status !== 200) throw new Error(`${title}: answered ${status}`);
      samples.push(Number(process.hrtime.bigint() - startedAt) / 1e6);
    }
  } finally {
    agent.destroy();
  }
  samples.sort((a, b) => a - b);
  return { path: title, p50Ms: round(percentile(samples, 50), 2), p99Ms: round(percentile(samples, 99), 2) };
}

export async function json(url: string, init: RequestInit): Promise<Record<string, unknown>> {
  const response = await fetch(url, init);
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

export const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);

/**
 * Direct and through-the-gateway runs alternate, round after round, and the ratio is taken per
 * round: the speed of a shared 2-core machine drifts over a minute, and a ratio of two runs made
 * at different moments would measure the drift as much as the gateway.
 */
export async function runGateway({ connections = 10, seconds = 5, rounds = 7, latencySamples = 2_000 } = {}): Promise<GatewayBenchmark> {
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
    const directUrl = `${stack.serviceUrl('message-service')}${path}`;
    const proxiedUrl = `${gateway}${path}`;
    // What the gateway would add: the same request, straight to the service.
    const identity = { 'x-user-id': claims.sub, 'x-user-role': claims.role, 'x-session-id': claims.sid };
    // Warm both paths (JIT, pools, JWKS cache) before measuring.
    await load(directUrl, identity, connections, 3);
    await load(proxiedUrl, bearer, connections, 3);
    const groups: CpuGroups = {
      ...localServers,
      'message-service': () => [stack.pids['message-service']!],
      'api-gateway': () => [stack.pids['api-gateway']!],
    };
    const results: GatewayRound[] = [];
    for (let index = 0; index < rounds; index += 1) {
      const direct = await measured(`direct, round ${index + 1}`, directUrl, identity, connections, seconds, groups);
      const proxied = await measured(`gateway, round ${index + 1}`, proxiedUrl, bearer, connections, seconds, groups);
      results.push({ direct, proxied, ratio: round((proxied.requestsPerSecond / direct.requestsPerSecond) * 100) });
    }
    const direct = await sequentialLatency('direct, 1 connection', directUrl, identity, latencySamples);
    const proxied = await sequentialLatency('gateway, 1 connection', proxiedUrl, bearer, latencySamples);
    return {
      rounds: results,
      medianRatio: median(results.map((result) => result.ratio)),
      latency: { direct, proxied, addedP50Ms: round(proxied.p50Ms - direct.p50Ms, 2) },
    };
  } finally {
    await stack.stop();
    await removeNamespace(stack.plan, namespace);
  }
}
