import http from 'node:http';
import { startService, type ServiceStartConfig } from '../src/runtime/service';
import { freePort, silentLogger } from '../src/testing';

const config: ServiceStartConfig = { PORT: 0, HOST: '127.0.0.1', LOG_LEVEL: 'silent', SHUTDOWN_TIMEOUT_MS: 1_000 };
const answerOk: http.RequestListener = (_req, res) => res.end('ok');

describe('startService', () => {
  it('listens, exposes what the wiring returns, and stops what it opened once HTTP has stopped', async () => {
    const stopped: string[] = [];
    const service = await startService({ name: 'test-service', config, logger: silentLogger() }, async ({ lifecycle, metrics }) => {
      lifecycle.onStop('pool', () => void stopped.push(`pool (listening: ${service.server.listening})`));
      expect(metrics.registry.getSingleMetric('http_request_duration_seconds')).toBeDefined();
      return {
        app: answerOk,
        exposed: { pool: 'the pool' },
        whenListening: async () => lifecycle.onStop('streams', () => void stopped.push(`streams (listening: ${service.server.listening})`)),
      };
    });
    expect(service.pool).toBe('the pool');
    expect(await (await fetch(service.url)).text()).toBe('ok');
    // HOST decides the interface: loopback only, not every address of the machine.
    expect(service.server.address()).toMatchObject({ address: '127.0.0.1' });
    await service.stop();
    // Streams end before HTTP stops, so they do not hold the server open; the pool after it.
    expect(stopped).toEqual(['streams (listening: true)', 'pool (listening: false)']);
  });

  it('closes what a failed start opened and leaves nothing listening', async () => {
    const stopped: string[] = [];
    await expect(
      startService({ name: 'test-service', config, logger: silentLogger() }, async ({ lifecycle }) => {
        lifecycle.onStop('pool', () => void stopped.push('pool'));
        throw new Error('migrations failed');
      }),
    ).rejects.toThrow('migrations failed');
    expect(stopped).toEqual(['pool']);
  });

  it('closes the server too when the start fails once listening', async () => {
    const port = await freePort();
    await expect(
      startService({ name: 'test-service', config: { ...config, PORT: port }, logger: silentLogger() }, async () => ({
        app: answerOk,
        exposed: {},
        whenListening: () => Promise.reject(new Error('consumer could not start')),
      })),
    ).rejects.toThrow('consumer could not start');
    await expect(fetch(`http://127.0.0.1:${port}`)).rejects.toThrow();
  });
});
