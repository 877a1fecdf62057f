import type { BoardClient } from '../../stack/dist/board-client';
import type { Session } from './board';

export interface WriteRecord {
  body: string;
  startedAt: number;
  endedAt: number;
  /** The HTTP status, or the error code when there was no answer. */
  outcome: number | string;
  messageId?: string;
}

export interface WriteLoadOptions {
  client: BoardClient;
  writers: readonly Session[];
  channel: string;
  /** Put in every body, so a run's messages are told apart from any other's. */
  label: string;
  ratePerSecond: number;
  /** Hard bounds: the load stops at whichever comes first. */
  maxWrites: number;
  maxSeconds: number;
  timeoutMs: number;
}

/** Requests in flight at most; past it, the load waits rather than pile up sockets (counted as `held`). */
const MAX_IN_FLIGHT = 400;

export const succeeded = (record: WriteRecord) => typeof record.outcome === 'number' && record.outcome >= 200 && record.outcome < 300;

/**
 * Open-loop write load: POST /api/messages at a steady rate through nginx, spread over several
 * users, whatever the answers take (a slow stack does not slow the load down, as real users do
 * not wait for each other). Every write has a unique body, so the checks can find it afterwards.
 */
/** What every scenario's write load takes from the run: the rate and the per-request timeout. */
export interface LoadSettings {
  rate: number;
  requestTimeoutSeconds: number;
}

/** A scenario's write load, started: `settings.rate` writes a second for at most `seconds`. */
export function startWriteLoad(
  target: Pick<WriteLoadOptions, 'client' | 'writers' | 'channel' | 'label'>,
  settings: LoadSettings,
  seconds: number,
): WriteLoad {
  const load = new WriteLoad({
    ...target,
    ratePerSecond: settings.rate,
    maxWrites: Math.ceil(settings.rate * seconds),
    maxSeconds: seconds,
    timeoutMs: settings.requestTimeoutSeconds * 1_000,
  });
  load.start();
  return load;
}

export class WriteLoad {
  readonly records: WriteRecord[] = [];
  /** Ticks when the in-flight bound held a write back, and when that first and last happened. */
  held = 0;
  heldFrom: number | undefined;
  heldUntil: number | undefined;
  private issued = 0;
  private inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private finished: Promise<void> | undefined;
  private finish: (() => void) | undefined;

  constructor(private readonly options: WriteLoadOptions) {}

  start(): void {
    this.startedAt = Date.now();
    this.finished = new Promise((resolve) => (this.finish = resolve));
    this.timer = setInterval(() => this.tick(), 10);
  }

  /** Stops issuing writes and waits for the ones in flight. */
  async stop(): Promise<WriteRecord[]> {
    clearInterval(this.timer);
    this.finish?.();
    await Promise.all(this.inFlight);
    return this.records;
  }

  /** Resolves when a bound stopped the load by itself (or stop() was called). */
  done(): Promise<void> {
    return this.finished ?? Promise.resolve();
  }

  private tick(): void {
    const { ratePerSecond, maxWrites, maxSeconds } = this.options;
    const elapsed = Date.now() - this.startedAt;
    if (this.issued >= maxWrites || elapsed >= maxSeconds * 1_000) {
      clearInterval(this.timer);
      this.finish?.();
      return;
    }
    const due = Math.min(maxWrites, Math.floor((elapsed * ratePerSecond) / 1_000) + 1) - this.issued;
    for (let index = 0; index < due; index += 1) {
      if (this.inFlight.size >= MAX_IN_FLIGHT) {
        this.held += 1;
        this.heldFrom ??= Date.now();
        this.heldUntil = Date.now();
        return;
      }
      const write = this.write(this.issued);
      this.issued += 1;
      this.inFlight.add(write);
      void write.finally(() => this.inFlight.delete(write));
    }
  }

  private async write(sequence: number): Promise<void> {
    const { client, writers, channel, label, timeoutMs } = this.options;
    const writer = writers[sequence % writers.length]!;
    const body = `${label} #${sequence}`;
    const record: WriteRecord = { body, startedAt: Date.now(), endedAt: 0, outcome: 'pending' };
    this.records.push(record);
    try {
      const response = await client.api('/api/messages', {
        method: 'POST',
        headers: { authorization: `Bearer ${writer.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel, body }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      record.outcome = response.status;
      if (succeeded(record)) record.messageId = (JSON.parse(text) as { message: { id: string } }).message.id;
    } catch (error) {
      record.outcome = errorCode(error);
    }
    record.endedAt = Date.now();
  }
}

/** A short name for a failed request: the socket error code, or the error's name (TimeoutError). */
export function errorCode(error: unknown): string {
  const { cause, code, name } = error as { cause?: { code?: string }; code?: string; name?: string };
  return cause?.code ?? code ?? name ?? 'error';
}

export interface WriteSummary {
  attempted: number;
  succeeded: number;
  failed: number;
  /** Failed writes by status or error. */
  failures: Record<string, number>;
  /** Time to an answer (any answer), as the client saw it, in milliseconds. */
  latencyMs?: { p50: number; p99: number; max: number };
}

export function summarizeWrites(records: readonly WriteRecord[]): WriteSummary {
  const failures: Record<string, number> = {};
  for (const record of records) if (!succeeded(record)) failures[record.outcome] = (failures[record.outcome] ?? 0) + 1;
  const ok = records.filter(succeeded).length;
  const latencies = records.filter((record) => record.endedAt > 0 && record.startedAt > 0).map((record) => record.endedAt - record.startedAt);
  latencies.sort((a, b) => a - b);
  const at = (share: number) => latencies[Math.min(latencies.length - 1, Math.ceil(share * latencies.length) - 1)]!;
  return {
    attempted: records.length,
    succeeded: ok,
    failed: records.length - ok,
    failures,
    ...(latencies.length > 0 ? { latencyMs: { p50: at(0.5), p99: at(0.99), max: latencies.at(-1)! } } : {}),
  };
}

/** A steady loop of reads (GET /api/messages) while the fault lasts: does the API keep serving? */
export class ReadLoad {
  readonly outcomes: (number | string)[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: BoardClient,
    private readonly reader: Session,
    private readonly channel: string,
    private readonly everyMs: number,
    private readonly timeoutMs: number,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<WriteSummary> {
    this.running = false;
    await this.loop;
    const failures: Record<string, number> = {};
    for (const outcome of this.outcomes) if (outcome !== 200) failures[outcome] = (failures[outcome] ?? 0) + 1;
    const ok = this.outcomes.filter((outcome) => outcome === 200).length;
    return { attempted: this.outcomes.length, succeeded: ok, failed: this.outcomes.length - ok, failures };
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      try {
        const response = await this.client.api(`/api/messages?channel=${this.channel}&limit=20`, {
          headers: { authorization: `Bearer ${this.reader.token}` },
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        await response.text();
        this.outcomes.push(response.status);
      } catch (error) {
        this.outcomes.push(errorCode(error));
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, this.everyMs - (Date.now() - started))));
    }
  }
}
