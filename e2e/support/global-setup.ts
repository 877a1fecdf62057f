import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { freePortOffset } from '../../stack/src/ports';
import { startStack, type RunningStack } from '../../stack/src/stack';
import { saveEnvironment } from './environment';

declare global {
  var e2eStack: RunningStack | undefined;
  var e2eControl: http.Server | undefined;
}

/** As the production stack runs them: every journey crosses replicas as it would there. */
export const E2E_SCALE = { 'api-gateway': 2, 'realtime-service': 2 };

/**
 * Starts the whole stack once for every end-to-end test file: built services as Node processes
 * (two gateways and two realtime instances) plus nginx, on a free port range and in a namespace
 * of its own (databases, Redis keys, exchange and queues), with an admin account and a known
 * membership passcode.
 */
export default async function globalSetup(): Promise<void> {
  const namespace = `e2e_${randomBytes(4).toString('hex')}`;
  const admin = { email: `admin-${namespace}@example.com`, password: 'admin-password-e2e' };
  const memberPasscode = 'e2e-member-passcode';
  const stack = await startStack({
    namespace,
    // Every port of the stack, the replicas' 3010 and 3014 included.
    portOffset: await freePortOffset([3000, 3001, 3002, 3003, 3004, 3010, 3014, 8080, 8081, 8443], 20_000, 360),
    scale: E2E_SCALE,
    overrides: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      MEMBER_PASSCODE: memberPasscode,
      BCRYPT_COST: '12',
      // One test client makes every request from one address: lift the per-IP budgets (the
      // per-account limit stays at its default, and a test checks it).
      RATE_LIMIT_MAX: '1000000',
      AUTH_RATE_LIMIT_MAX: '1000000',
    },
  });
  globalThis.e2eStack = stack;
  const control = await startControl(stack);
  globalThis.e2eControl = control.server;
  saveEnvironment({
    pids: stack.pids,
    controlUrl: control.url,
    baseUrl: stack.baseUrl,
    certificate: stack.certificate,
    namespace,
    admin,
    memberPasscode,
    runDir: stack.runDir,
    edgeStatusUrl: `http://127.0.0.1:${stack.plan.edge.statusPort}/stub_status`,
    serviceUrls: Object.fromEntries(stack.plan.services.map((service) => [service.name, stack.serviceUrl(service.name)])),
  });
}

/**
 * Test files run in worker processes, the stack in this one: a test that kills a replica asks
 * this endpoint to start it again, so the files after it still meet the whole stack.
 */
async function startControl(stack: RunningStack): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    const [, action, name] = /^\/(restart|stop)\/([a-z0-9-]+)$/.exec(req.url ?? '') ?? [];
    if (req.method !== 'POST' || !name) {
      res.writeHead(404).end();
      return;
    }
    (action === 'stop' ? stack.stopReplica(name) : stack.restart(name)).then(
      () => res.writeHead(204).end(),
      (error: unknown) => res.writeHead(409, { 'content-type': 'text/plain' }).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}` };
}
