import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dumpAll, restoreDump, type RabbitMqManagement } from '../src/logical';
import { rabbitMqServerMissing, startScratchRabbitMq, type ScratchRabbitMq } from './support/scratch-rabbitmq';

/**
 * RabbitMQ's definitions go with each dump, through the management API, and come back with the
 * restore: on a broker node of the test's own (the shared broker runs without the management
 * plugin, and its definitions are other tests' business).
 */
const missing = rabbitMqServerMissing();
const describeIfBroker = missing ? describe.skip : describe;
if (missing) console.warn(`skipping RabbitMQ definitions: ${missing}`);

describeIfBroker('RabbitMQ definitions with the logical dumps', () => {
  let broker: ScratchRabbitMq;
  let management: RabbitMqManagement;
  let root: string;

  const api = async (method: string, url: string, body?: unknown, credentials = management) => {
    const response = await fetch(`${broker.managementUrl}/api${url}`, {
      method,
      headers: { authorization: `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };

  beforeAll(async () => {
    broker = await startScratchRabbitMq();
    management = { url: broker.managementUrl, user: broker.user, password: broker.password };
    root = mkdtempSync(path.join(tmpdir(), 'rabbitmq-definitions-'));
  }, 90_000);

  afterAll(async () => {
    await broker?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('exports the vhost, user, exchange, queue and binding, and imports them again after they were deleted', async () => {
    expect((await api('PUT', '/vhosts/board')).status).toBe(201);
    expect((await api('PUT', '/users/board', { password: 'board-password', tags: 'management' })).status).toBe(201);
    expect((await api('PUT', '/permissions/board/board', { configure: '.*', write: '.*', read: '.*' })).status).toBe(201);
    expect((await api('PUT', '/exchanges/board/domain.events', { type: 'topic', durable: true })).status).toBe(201);
    expect((await api('PUT', '/queues/board/message-service', { durable: true, arguments: { 'x-queue-type': 'quorum' } })).status).toBe(201);
    expect((await api('POST', '/bindings/board/e/domain.events/q/message-service', { routing_key: 'user.deleted' })).status).toBe(201);

    const manifest = await dumpAll({ root, databases: [], postgres: { host: '/nonexistent', port: 5432, user: 'unused' }, rabbitmq: management });
    expect(manifest.rabbitmq?.bytes).toBeGreaterThan(0);

    expect((await api('DELETE', '/vhosts/board')).status).toBe(204);
    expect((await api('DELETE', '/users/board')).status).toBe(204);
    expect((await api('GET', '/exchanges/board/domain.events')).status).toBe(404);

    await restoreDump({ root, id: manifest.id, postgres: { host: '/nonexistent', port: 5432, user: 'unused' }, rabbitmq: management });

    const exchange = await api('GET', '/exchanges/board/domain.events');
    expect(exchange).toMatchObject({ status: 200, body: { type: 'topic', durable: true } });
    expect(await api('GET', '/queues/board/message-service')).toMatchObject({ status: 200, body: { durable: true, arguments: { 'x-queue-type': 'quorum' } } });
    const bindings = await api('GET', '/bindings/board/e/domain.events/q/message-service');
    expect((bindings.body as { routing_key: string }[]).map((binding) => binding.routing_key)).toEqual(['user.deleted']);
    // The user came back with its password (the hash is in the definitions) and its permissions.
    expect(await api('GET', '/whoami', undefined, { url: '', user: 'board', password: 'board-password' })).toMatchObject({ status: 200, body: { name: 'board' } });
    expect(await api('GET', '/permissions/board/board')).toMatchObject({ status: 200, body: { configure: '.*', write: '.*', read: '.*' } });
  }, 60_000);
});
