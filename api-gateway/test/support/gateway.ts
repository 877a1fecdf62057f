import { parseConfig, type Env } from '@board/service-kit';
import { TestWorld, silentLogger } from '@board/service-kit/testing';
import { configShape } from '../../src/config';
import { start, type RunningService, type StartOptions } from '../../src/service';

/** A test world for the gateway: a Redis key prefix of the test file's own; no database, no broker. */
export const createGatewayWorld = (): Promise<TestWorld> => TestWorld.create({ broker: false });

/** Starts a gateway in `world` (stopped at its clean-up); `env` adds to or overrides the world's environment. */
export async function startGateway(world: TestWorld, env: Env = {}, options: StartOptions = {}): Promise<RunningService> {
  return world.track(await start(parseConfig(configShape, world.env(env)), { logger: silentLogger(), ...options }));
}

/** The value of one series in the Prometheus text format, e.g. metric('circuit_breaker_state', 'upstream="user"'). */
export function metricValue(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && candidate.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
