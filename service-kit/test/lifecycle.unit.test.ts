import { Lifecycle } from '../src/runtime/lifecycle';
import { silentLogger } from '../src/testing';

describe('Lifecycle', () => {
  it('stops in reverse order of registration', async () => {
    const order: string[] = [];
    const lifecycle = new Lifecycle(silentLogger(), 1_000);
    lifecycle.onStop('pool', () => void order.push('pool'));
    lifecycle.onStop('consumer', async () => void order.push('consumer'));
    lifecycle.onStop('http', () => void order.push('http'));
    await lifecycle.shutdown();
    expect(order).toEqual(['http', 'consumer', 'pool']);
    expect(lifecycle.isShuttingDown).toBe(true);
  });

  it('gives up on a stuck step at the deadline and still stops the rest', async () => {
    const stopped: string[] = [];
    const lifecycle = new Lifecycle(silentLogger(), 200);
    lifecycle.onStop('pool', () => void stopped.push('pool'));
    lifecycle.onStop('stuck', () => new Promise<void>(() => undefined));
    const started = Date.now();
    await expect(lifecycle.shutdown()).rejects.toThrow('shutdown was not clean');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(stopped).toEqual(['pool']);
  });

  it('runs once however often it is asked', async () => {
    let calls = 0;
    const lifecycle = new Lifecycle(silentLogger());
    lifecycle.onStop('x', () => void (calls += 1));
    await Promise.all([lifecycle.shutdown(), lifecycle.shutdown()]);
    expect(calls).toBe(1);
  });
});
