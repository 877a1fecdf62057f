import { ConfigError, parseConfig } from '@board/service-kit';
import { configShape } from '../src/config';

describe('gateway configuration', () => {
  it('runs against the local services with no configuration', () => {
    const config = parseConfig(configShape, {});
    expect(config).toMatchObject({
      PORT: 3000,
      AUTH_SERVICE_URL: ['http://127.0.0.1:3001'],
      USER_SERVICE_URL: ['http://127.0.0.1:3002'],
      MESSAGE_SERVICE_URL: ['http://127.0.0.1:3003'],
      REALTIME_SERVICE_URL: ['http://127.0.0.1:3004'],
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: '',
      TRUST_PROXY_HOPS: 1,
      CORS_ORIGINS: [],
      BODY_LIMIT_BYTES: 1_048_576,
      JWT_ISSUER: 'message-board-auth',
      JWT_AUDIENCE: 'message-board',
      UPSTREAM_TIMEOUT_MS: 10_000,
      BREAKER_RESET_MS: 10_000,
    });
    expect(config.MESSAGE_SERVICE_TIMEOUT_MS).toBeUndefined();
  });

  it('reads the CORS allow-list as exact origins', () => {
    const config = parseConfig(configShape, { CORS_ORIGINS: 'https://board.example.com, http://localhost:5173' });
    expect(config.CORS_ORIGINS).toEqual(['https://board.example.com', 'http://localhost:5173']);
  });

  it('reads an upstream given as several comma-separated replica URLs', () => {
    const config = parseConfig(configShape, { REALTIME_SERVICE_URL: 'http://127.0.0.1:3004, http://127.0.0.1:3014' });
    expect(config.REALTIME_SERVICE_URL).toEqual(['http://127.0.0.1:3004', 'http://127.0.0.1:3014']);
    expect(() => parseConfig(configShape, { REALTIME_SERVICE_URL: 'http://127.0.0.1:3004,ftp://x' })).toThrow(/REALTIME_SERVICE_URL/);
    expect(() => parseConfig(configShape, { REALTIME_SERVICE_URL: ' , ' })).toThrow(/REALTIME_SERVICE_URL: must name at least one URL/);
  });

  it('names each bad variable', () => {
    const problems = (() => {
      try {
        parseConfig(configShape, { CORS_ORIGINS: 'https://board.example.com/app', USER_SERVICE_URL: 'ftp://users', UPSTREAM_TIMEOUT_MS: '0' });
        return [];
      } catch (error) {
        return error instanceof ConfigError ? error.problems : [String(error)];
      }
    })();
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^USER_SERVICE_URL: /),
        expect.stringMatching(/^CORS_ORIGINS: "https:\/\/board.example.com\/app" is not an origin/),
        expect.stringMatching(/^UPSTREAM_TIMEOUT_MS: /),
      ]),
    );
  });
});
