import { parseArgs } from 'node:util';

export const SCENARIOS = ['rabbitmq', 'redis', 'postgres', 'consumer-kill', 'replicas'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** How long each outage lasts when --outage-seconds does not say (issue 11: 30 s, 90 s; ~10 s for a PostgreSQL restart). */
const DEFAULT_OUTAGE_SECONDS: Partial<Record<ScenarioName, number>> = { rabbitmq: 30, redis: 90, postgres: 10 };

export interface ChaosOptions {
  scenarios: ScenarioName[];
  /** Outage length per scenario, in seconds. */
  outageSeconds: Partial<Record<ScenarioName, number>>;
  /** Writes per second of the background load (POST /api/messages through nginx). */
  rate: number;
  /** Users the load is spread over. */
  writers: number;
  /** SSE clients per scenario. */
  clients: number;
  /** Load before the fault, and after it ends, in seconds. */
  warmupSeconds: number;
  afterSeconds: number;
  /** The longest wait for the stack to deliver and settle once the load stopped, in seconds. */
  drainSeconds: number;
  /** A write with no answer after this many seconds counts as failed. */
  requestTimeoutSeconds: number;
  /** consumer-kill: authors, each posting `messagesPerAuthor` and renaming themselves `renames` times. */
  authors: number;
  messagesPerAuthor: number;
  renames: number;
  /** consumer-kill: registrations in the burst that user-service consumes. */
  registrations: number;
  /** replicas: messages, each a create/edit/delete sequence of its own, and how many run at once. */
  sequences: number;
  concurrency: number;
  /** Where the JSON report goes (a directory; the file is named after the start time). */
  outDir: string;
}

const USAGE = `npm run chaos -- [options]
  --scenario <name>          ${SCENARIOS.join(' | ')} (repeatable or comma-separated; default: all)
  --outage-seconds <s>       length of every outage (default: rabbitmq 30, redis 90, postgres 10)
  --rate <writes/s>          background write load (default 100)
  --writers <n>              users the load is spread over (default 10)
  --clients <n>              SSE clients per scenario (default 4)
  --warmup-seconds <s>       load before the fault (default 5)
  --after-seconds <s>        load after the fault ends (default 10)
  --drain-seconds <s>        longest wait for delivery once the load stopped (default 90)
  --request-timeout-seconds <s>  a write unanswered this long has failed (default 15)
  --authors <n> --messages-per-author <n> --renames <n> --registrations <n>   consumer-kill sizes (16, 10, 20, 60)
  --sequences <n>            replicas: create/edit/delete sequences (default 300)
  --concurrency <n>          replicas: sequences in flight at once (default 40)
  --out <dir>                where the JSON report goes (default .run/chaos)`;

export function parseOptions(argv: readonly string[]): ChaosOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      scenario: { type: 'string', multiple: true },
      'outage-seconds': { type: 'string' },
      rate: { type: 'string', default: '100' },
      writers: { type: 'string', default: '10' },
      clients: { type: 'string', default: '4' },
      'warmup-seconds': { type: 'string', default: '5' },
      'after-seconds': { type: 'string', default: '10' },
      'drain-seconds': { type: 'string', default: '90' },
      'request-timeout-seconds': { type: 'string', default: '15' },
      authors: { type: 'string', default: '16' },
      'messages-per-author': { type: 'string', default: '10' },
      renames: { type: 'string', default: '20' },
      registrations: { type: 'string', default: '60' },
      sequences: { type: 'string', default: '300' },
      concurrency: { type: 'string', default: '40' },
      out: { type: 'string', default: '.run/chaos' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const scenarios = (values.scenario ?? [...SCENARIOS]).flatMap((item) => item.split(',')).map((item) => item.trim());
  for (const name of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--scenario: "${name}" is not one of ${SCENARIOS.join(', ')}\n${USAGE}`);
  }
  const outage = values['outage-seconds'] === undefined ? undefined : number('--outage-seconds', values['outage-seconds'], 1, 600);
  const outageSeconds = Object.fromEntries(Object.entries(DEFAULT_OUTAGE_SECONDS).map(([name, seconds]) => [name, outage ?? seconds]));
  return {
    scenarios: [...new Set(scenarios)] as ScenarioName[],
    outageSeconds,
    rate: number('--rate', values.rate, 1, 500),
    writers: number('--writers', values.writers, 1, 100),
    clients: number('--clients', values.clients, 1, 50),
    warmupSeconds: number('--warmup-seconds', values['warmup-seconds'], 0, 600),
    afterSeconds: number('--after-seconds', values['after-seconds'], 0, 600),
    drainSeconds: number('--drain-seconds', values['drain-seconds'], 1, 600),
    requestTimeoutSeconds: number('--request-timeout-seconds', values['request-timeout-seconds'], 1, 120),
    authors: number('--authors', values.authors, 2, 200),
    messagesPerAuthor: number('--messages-per-author', values['messages-per-author'], 1, 200),
    renames: number('--renames', values.renames, 1, 200),
    registrations: number('--registrations', values.registrations, 1, 1_000),
    sequences: number('--sequences', values.sequences, 1, 5_000),
    concurrency: number('--concurrency', values.concurrency, 1, 500),
    outDir: values.out,
  };
}

function number(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${flag}: "${text}" is not a number from ${min} to ${max}\n${USAGE}`);
  return value;
}
