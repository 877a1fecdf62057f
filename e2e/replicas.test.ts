import { randomBytes } from 'node:crypto';
import { call, environment } from './support/client';
import { Stream } from './support/stream';
import { eventually, newMember, newUser, register, type Session } from './support/users';

/**
 * The stack runs two gateways behind nginx and two realtime instances behind the gateways, as the
 * production file does: what must hold across replicas, seen from outside.
 */
describe('replicas behind nginx', () => {
  const gateways = ['api-gateway', 'api-gateway-2'];
  const realtimes = ['realtime-service', 'realtime-service-2'];

  /** The sum of one metric's series on one replica, optionally only those whose labels contain `labels`. */
  async function metric(replica: string, name: string, labels = ''): Promise<number> {
    const text = await (await fetch(`${environment.serviceUrls[replica]}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(labels))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  }

  const loginRequests = (replica: string) => metric(replica, 'http_request_duration_seconds_count', 'method="POST",route="/api/auth"');

  it('When failed logins for one account arrive through both gateways, Then the per-account limit holds for their sum', async () => {
    const { email } = await register('target');
    const before = await Promise.all(gateways.map(loginRequests));
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 14; attempt += 1) {
      statuses.push((await call('POST', '/api/auth/login', { body: { email, password: `wrong-${attempt}` } })).status);
    }
    const after = await Promise.all(gateways.map(loginRequests));
    // Both gateways answered some of them: the limit is shared, not per replica.
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429, 429, 429]);
  });

  it('When streams land on different realtime instances, Then each gets every event exactly once', async () => {
    const channel = `replicas-${randomBytes(3).toString('hex')}`;
    const [author, reader] = await Promise.all([newUser('author'), newMember('reader')]);
    const streams: Stream[] = [];
    try {
      const before = await Promise.all(realtimes.map((replica) => metric(replica, 'sse_connections')));
      // The gateways take the realtime instances in turn; open streams until both hold some.
      await eventually(async () => {
        streams.push(await Stream.open(reader.accessToken, channel));
        const now = await Promise.all(realtimes.map((replica) => metric(replica, 'sse_connections')));
        return now.every((connections, index) => connections > before[index]!);
      }, 'streams on both realtime instances');

      const posted: string[] = [];
      for (let index = 0; index < 5; index += 1) {
        const response = await call<{ message: { id: string } }>('POST', '/api/messages', { token: author.accessToken, body: { channel, body: `m${index}` } });
        expect(response.status).toBe(201);
        posted.push(response.body.message.id);
      }
      for (const stream of streams) {
        await eventually(async () => posted.every((id) => stream.events.some((event) => event.data.id === id)), 'every message on every stream');
      }
      // A moment for any duplicate to arrive before counting.
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const stream of streams) {
        const created = stream.events.filter((event) => event.type === 'message.created').map((event) => event.data.id);
        expect(created).toEqual(posted);
      }
    } finally {
      streams.forEach((stream) => stream.close());
    }
  });

  it('When a gateway replica is killed, Then idempotent requests through nginx still all succeed', async () => {
    const session: Session = await newUser('survivor');
    const read = () => call('GET', '/api/messages?channel=general&limit=5', { token: session.accessToken });
    expect((await read()).status).toBe(200);
    process.kill(environment.pids['api-gateway-2']!, 'SIGKILL');
    try {
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 30; attempt += 1) statuses.push((await read()).status);
      expect(statuses).toEqual(Array(30).fill(200));
    } finally {
      const restarted = await fetch(`${environment.controlUrl}/restart/api-gateway-2`, { method: 'POST' });
      expect(restarted.status).toBe(204);
    }
    expect((await read()).status).toBe(200);
  });
});
