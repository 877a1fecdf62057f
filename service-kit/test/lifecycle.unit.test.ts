import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { closeServer, Lifecycle, listen } from '../src/runtime/lifecycle';
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

describe('listen', () => {
  /** One request as raw bytes; the answer as text, read until the server closes. */
  const raw = (port: number, request: Buffer) =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });

  it.each([
    ['bytes outside ASCII in the target', Buffer.concat([Buffer.from('GET /api/x'), Buffer.from([0xff, 0xc0, 0xaf]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]), 400, 'BAD_REQUEST'],
    ['a header too large', Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`), 431, 'REQUEST_HEADER_TOO_LARGE'],
  ])('answers what the HTTP parser refuses (%s) in the error shape', async (_label, request, status, code) => {
    const server = await listen((_req, res) => res.end('ok'), 0, '127.0.0.1');
    try {
      const answer = await raw((server.address() as AddressInfo).port, request);
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      expect(head.toLowerCase()).toContain('content-type: application/json');
      expect(JSON.parse(body)).toEqual({ error: { code, message: expect.any(String), requestId: expect.stringMatching(/^[A-Za-z0-9-]{1,64}$/) } });
    } finally {
      await closeServer(server);
    }
  });
});
