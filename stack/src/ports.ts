import net from 'node:net';

const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

/**
 * An offset, a multiple of 100 from `from` (at most `count` steps on), at which every one of
 * `ports` is free on 127.0.0.1: where a second stack (tests, the image replay) can run beside
 * the first.
 */
export async function freePortOffset(ports: readonly number[], from: number, count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const offset = from + Math.floor(Math.random() * count) * 100;
    if ((await Promise.all(ports.map((port) => isFree(port + offset)))).every(Boolean)) return offset;
  }
  throw new Error(`no offset from ${from} at which ports ${ports.join(', ')} are all free`);
}
