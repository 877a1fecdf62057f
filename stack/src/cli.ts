import { parseArgs } from 'node:util';
import { parseScale } from './plan';
import { startStack } from './stack';

/**
 * `npm run stack [-- --logs] [-- --scale api-gateway=2,realtime-service=2]`: the whole stack as
 * local processes (every service + nginx), with the environment and ports of docker-compose.yml.
 * Ctrl-C stops everything it started.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { logs: { type: 'boolean', default: false }, scale: { type: 'string', default: '' } } });
  const stack = await startStack({ echoLogs: values.logs, scale: parseScale(values.scale) });
  const lines = stack.plan.services.map((service) => `  ${service.name.padEnd(17)} http://127.0.0.1:${service.port}`);
  process.stdout.write(
    `\nThe stack is up.\n  the board         ${stack.baseUrl}/ (web/dist)\n  public API        ${stack.baseUrl}/api (self-signed certificate: ${stack.runDir}/certs/tls.crt)\n${lines.join('\n')}\n  logs              ${stack.runDir}/logs\nCtrl-C stops it.\n`,
  );
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping...\n');
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
