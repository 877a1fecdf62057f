import { Redis, parseConfig } from '@board/service-kit';
import { TEST_REDIS_URL, silentLogger, uniqueSuffix } from '@board/service-kit/testing';
import { configShape } from '../../src/config';
import { start, type RunningService, type StartOptions } from '../../src/service';

export { TEST_REDIS_URL };

/** A Redis key prefix of this test file's own; deleteKeys removes what was written under it. */
export const testKeyPrefix = () => `test:${uniqueSuffix()}:`;

export function startGateway(env: Record<string, string>, options: StartOptions = {}): Promise<RunningService> {
  const config = parseConfig(configShape, { NODE_ENV: 'test', LOG_LEVEL: 'silent', PORT: '0', REDIS_URL: TEST_REDIS_URL, ...env });
  return start(config, { logger: silentLogger(), ...options });
}

export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    await redis.quit();
  }
}

/** The value of one series in the Prometheus text format, e.g. metric('circuit_breaker_state', 'upstream="user"'). */
export function metricValue(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && candidate.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
