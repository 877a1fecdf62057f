import http from 'node:http';
import net from 'node:net';
import type { RunningStack } from '../../stack/src/stack';
import { startTestStack } from '../../stack/src/test-stack';
import { saveEnvironment } from './environment';

declare global {
  var e2eStack: RunningStack | undefined;
  var e2eControl: http.Server | undefined;
}

/**
 * Starts the whole stack once for every end-to-end test file (stack/src/test-stack.ts: every
 * service, two gateways and two realtime instances, nginx, a namespace of its own, an admin and a
 * known membership passcode).
 */
export default async function globalSetup(): Promise<void> {
  const { stack, namespace, admin, memberPasscode } = await startTestStack('e2e');
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
    databases: stack.plan.databases,
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
