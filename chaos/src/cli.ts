/**
 * `npm run chaos [-- --scenario redis --outage-seconds 10]`: the chaos suite of issue 11 against
 * the local stack. Each scenario starts its own stack (and TCP proxies in front of PostgreSQL,
 * Redis and RabbitMQ), makes its fault under write load, checks what the API holds and what every
 * SSE client received, and removes everything it made. Prints a table per scenario and a summary,
 * writes the whole report as JSON, and exits non-zero if any scenario failed.
 */
import path from 'node:path';
import { ROOT } from '../../stack/dist/stack';
import { stopRunningStacks } from './harness';
import { parseOptions, type ChaosOptions, type ScenarioName } from './options';
import { printScenario, printSummary, writeReport, type ScenarioResult } from './report';
import { consumerKill } from './scenarios/consumer-kill';
import { postgresRestart, rabbitmqOutage, redisOutage } from './scenarios/outages';
import { replicas } from './scenarios/replicas';

const RUNNERS: Record<ScenarioName, (options: ChaosOptions) => Promise<ScenarioResult>> = {
  rabbitmq: rabbitmqOutage,
  redis: redisOutage,
  postgres: postgresRestart,
  'consumer-kill': consumerKill,
  replicas,
};

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const results: ScenarioResult[] = [];
  for (const name of options.scenarios) {
    process.stdout.write(`\n-- ${name}: starting (${new Date().toISOString()})\n`);
    const result = await RUNNERS[name](options).catch((error: unknown) => crashed(name, error));
    results.push(result);
    printScenario(result);
    // Written after each scenario, so that a long run interrupted later keeps what it measured.
    writeReport(path.resolve(ROOT, options.outDir), startedAt, options, results);
  }
  printSummary(results);
  process.stdout.write(`\nreport: ${writeReport(path.resolve(ROOT, options.outDir), startedAt, options, results)}\n`);
  return results.every((result) => result.pass) ? 0 : 1;
}

/** A scenario that could not run to its checks fails with what stopped it. */
function crashed(scenario: string, error: unknown): ScenarioResult {
  return {
    scenario,
    fault: 'did not complete',
    pass: false,
    failures: [`the scenario stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`],
    durationSeconds: 0,
    writes: { attempted: 0, succeeded: 0, failed: 0, failures: {} },
    eventsExpected: 0,
    clients: [],
    deadLetters: {},
    recoverySeconds: {},
    details: {},
    logs: {},
    logDir: '',
  };
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stdout.write(`\n${signal}: stopping what this run started...\n`);
    void stopRunningStacks().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    void stopRunningStacks().finally(() => process.exit(2));
  },
);
