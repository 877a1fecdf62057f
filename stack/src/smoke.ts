import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BoardClient } from './board-client';

const USAGE = `Usage: npm run smoke -- <base-url> [--ca <certificate.pem> | --insecure] [--timeout <seconds>]

Walks one user's journey through the public entry (nginx, over HTTPS): register, log in, open the
event stream, post a message, and receive that message on the stream. Exits 0 when every step
worked, 1 with the step that failed otherwise.
  --ca        trust this certificate (e.g. the stack's self-signed one) and no other
  --insecure  accept any certificate
  --timeout   seconds to wait for the event (default 15)`;

interface SmokeOptions {
  baseUrl: string;
  ca?: string;
  insecure: boolean;
  timeoutMs: number;
}

function parseOptions(argv: string[]): SmokeOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ca: { type: 'string' }, insecure: { type: 'boolean', default: false }, timeout: { type: 'string', default: '15' } },
  });
  const [baseUrl, ...extra] = positionals;
  const timeoutSeconds = Number(values.timeout);
  if (!baseUrl || extra.length > 0 || !/^https?:\/\//.test(baseUrl) || !(timeoutSeconds > 0) || (values.ca && values.insecure)) {
    throw new UsageError();
  }
  return {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    ca: values.ca === undefined ? undefined : readFileSync(values.ca, 'utf8'),
    insecure: values.insecure,
    timeoutMs: timeoutSeconds * 1_000,
  };
}

class UsageError extends Error {}

/** Runs `work` as a named step: prints it, and names it in the error when it fails. */
async function step<T>(name: string, work: () => Promise<T>): Promise<T> {
  process.stdout.write(`- ${name} ... `);
  try {
    const result = await work();
    process.stdout.write('ok\n');
    return result;
  } catch (error) {
    process.stdout.write('FAILED\n');
    throw new Error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function expectStatus(what: string, response: { status: number; body: unknown }, status: number): void {
  if (response.status !== status) throw new Error(`${what} answered ${response.status} ${JSON.stringify(response.body)}`);
}

export async function smoke(options: SmokeOptions): Promise<void> {
  const client = new BoardClient(options.baseUrl, { ca: options.ca, insecure: options.insecure });
  const suffix = randomBytes(4).toString('hex');
  const user = { email: `smoke-${suffix}@example.com`, username: `smoke_${suffix}`, password: `smoke-${randomBytes(12).toString('hex')}` };
  const channel = `smoke-${suffix}`;
  let source: ReturnType<BoardClient['openEventSource']> | undefined;
  try {
    await step(`register ${user.email}`, async () => {
      expectStatus('POST /api/auth/register', await client.call('POST', '/api/auth/register', { body: user }), 201);
    });
    const token = await step('log in', async () => {
      const response = await client.call<{ accessToken: string }>('POST', '/api/auth/login', { body: { email: user.email, password: user.password } });
      expectStatus('POST /api/auth/login', response, 200);
      return response.body.accessToken;
    });
    const received = await step(`open the event stream of channel ${channel}`, async () => {
      const ticket = await client.call<{ ticket: string }>('POST', '/api/events/ticket', { token });
      expectStatus('POST /api/events/ticket', ticket, 200);
      const stream = client.openEventSource(`/api/events?ticket=${encodeURIComponent(ticket.body.ticket)}&channels=${channel}`);
      source = stream;
      const ids: string[] = [];
      stream.addEventListener('message.created', (event) => ids.push((JSON.parse(event.data) as { id: string }).id));
      await new Promise<void>((resolve, reject) => {
        stream.onopen = () => resolve();
        stream.onerror = (error) => reject(new Error(`the stream did not open: ${error.message ?? error.code}`));
      });
      return ids;
    });
    const messageId = await step('post a message', async () => {
      const response = await client.call<{ message: { id: string } }>('POST', '/api/messages', { token, body: { channel, body: `smoke test ${suffix}` } });
      expectStatus('POST /api/messages', response, 201);
      return response.body.message.id;
    });
    await step(`receive message ${messageId} on the stream`, async () => {
      const deadline = Date.now() + options.timeoutMs;
      while (!received.includes(messageId)) {
        if (Date.now() > deadline) throw new Error(`no message.created event within ${options.timeoutMs / 1_000}s`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  } finally {
    source?.close();
    await client.close();
  }
}

async function main(): Promise<void> {
  let options: SmokeOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof UsageError ? USAGE : `${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exit(2);
  }
  process.stdout.write(`Smoke journey against ${options.baseUrl}\n`);
  await smoke(options);
  process.stdout.write('The journey worked.\n');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
