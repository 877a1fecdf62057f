import { randomInt } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { removeNamespace } from '../cleanup';
import { ROOT } from '../stack';
import { startTestStack, type TestStack } from '../test-stack';
import { loadOperations } from './document';
import { formatReport, fuzz, passed } from './run';

const USAGE = `Usage: npm run fuzz [-- --seed N] [--requests N] [--operation "POST /api/messages"]

Starts the whole stack as the end-to-end suite does (its own namespace and ports), and sends
generated requests built from docs/openapi.yaml through nginx: every operation, by every kind of
caller, with hostile values, encodings, headers and credentials. Fails on any 5xx, any error answer
not in the error shape, any forged credential that gets through, any database row changed that the
caller was not allowed to change, or a stack that is not healthy at the end.
  --seed       replay a run (the seed is printed at the start)
  --requests   at least this many requests in all, spread over the operations (default 1200)
  --operation  only the operations whose "METHOD /path" contains this
FUZZ_TRACE=1 in the environment prints every request and its status as it goes.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { seed: { type: 'string' }, requests: { type: 'string', default: '1200' }, operation: { type: 'string' }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed);
  const requests = Number(values.requests);
  if (!Number.isInteger(seed) || !(requests > 0)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const operations = (await loadOperations()).filter((operation) => !values.operation || operation.id.includes(values.operation));
  const runsPerOperation = Math.max(1, Math.ceil(requests / Math.max(1, operations.length)));
  process.stdout.write(`fuzz seed ${seed} (replay: npm run fuzz -- --seed ${seed}); ${runsPerOperation} requests per operation, ${operations.length} operations\n`);
  process.stdout.write('starting the stack...\n');
  const test = await startTestStack('fuzz');
  running = test;
  try {
    const report = await fuzz(
      {
        baseUrl: test.stack.baseUrl,
        certificate: test.stack.certificate,
        namespace: test.namespace,
        databases: test.stack.plan.databases,
        admin: test.admin,
        memberPasscode: test.memberPasscode,
        pids: test.stack.pids,
        serviceUrls: Object.fromEntries(test.stack.plan.services.map((service) => [service.name, test.stack.serviceUrl(service.name)])),
        strangers: 'forbidden',
      },
      { seed, runsPerOperation, only: values.operation, authRequestsPerSecond: 8, log: (line) => process.stdout.write(`${line}\n`) },
    );
    process.stdout.write(`\n${formatReport(report)}\n`);
    const dir = path.join(ROOT, '.run', 'fuzz');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `report-${seed}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2));
    process.stdout.write(`\nreport: ${file}\nlogs: ${test.stack.runDir}/logs\n${passed(report) ? 'PASS' : `FAIL (replay: npm run fuzz -- --seed ${seed})`}\n`);
    return passed(report) ? 0 : 1;
  } finally {
    await stop();
  }
}

let running: TestStack | undefined;
async function stop(): Promise<void> {
  const test = running;
  running = undefined;
  if (!test) return;
  await test.stack.stop();
  await removeNamespace(test.stack.plan, test.namespace);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stdout.write(`\n${signal}: stopping the stack...\n`);
    void stop().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    if (error instanceof Error && error.cause) console.error('caused by:', error.cause);
    void stop().finally(() => process.exit(2));
  },
);
