import { RevocationList, closeRedis, createRedis, redisReady, type Redis, type TokenStanding } from '@board/service-kit';
import { TEST_REDIS_URL, TestWorld, silentLogger, waitFor } from '@board/service-kit/testing';
import { start, type RunningService } from '../src/service';
import { SseReader } from './support/sse-reader';
import { asHeaders, someone, testConfig, waitUntilReady } from './support/harness';

/**
 * A revocation list whose answer for one session is read from Redis at once but handed over only
 * when the test says so: the moment between the stream route's check and the stream's
 * registration, when a revocation notice finds no stream to close.
 */
class HeldAnswers extends RevocationList {
  heldSession: string | undefined;
  held = false;
  private release: (() => void) | undefined;

  override async standing(sessionId: string, userId: string): Promise<TokenStanding> {
    const answer = await super.standing(sessionId, userId);
    if (sessionId !== this.heldSession) return answer;
    this.heldSession = undefined;
    this.held = true;
    await new Promise<void>((resolve) => (this.release = resolve));
    return answer;
  }

  handOver(): void {
    this.release?.();
  }
}

let world: TestWorld;
let prefix: string;
let redis: Redis;
let held: HeldAnswers;
let service: RunningService;

beforeAll(async () => {
  world = await TestWorld.create();
  prefix = world.redisPrefix;
  redis = createRedis(TEST_REDIS_URL, silentLogger(), 'revocation-race-test');
  world.onCleanUp(() => closeRedis(redis));
  await redisReady(redis);
  service = world.track(
    await start(testConfig(world), {
      revocations: (serviceRedis, servicePrefix) => (held = new HeldAnswers(serviceRedis, servicePrefix)),
    }),
  );
  await waitUntilReady(service.url);
});

afterAll(() => world.cleanUp());

describe('a session revoked while its stream is being opened', () => {
  it('When the revocation lands between the check and the registration, Then the stream still closes', async () => {
    const identity = someone('member');
    held.heldSession = identity.sessionId;
    const opening = SseReader.open(`${service.url}/api/events?channels=general`, asHeaders(identity));
    await waitFor(() => held.held, { what: 'the route to have checked the session' });

    // Announced now, the notice finds no stream of this session to close.
    await new RevocationList(redis, prefix).revokeSessions([identity.sessionId]);
    held.handOver();

    const reader = await opening;
    expect(reader.status).toBe(200);
    await reader.waitForEnd(3_000);
  });
});
