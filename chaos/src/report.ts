import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClientDelivery } from './delivery';
import type { WriteSummary } from './load';

/** What a scenario measured and whether it held. */
export interface ScenarioResult {
  scenario: string;
  /** What was done, in a line: the fault and the load. */
  fault: string;
  pass: boolean;
  /** Why it failed, one line per broken expectation (empty on a pass). */
  failures: string[];
  durationSeconds: number;
  writes: WriteSummary;
  reads?: WriteSummary;
  /** Events every client should have had, and per client what it got. */
  eventsExpected: number;
  clients: ClientDelivery[];
  /** Events in each dead-letter (`.dlq`) and parked (`.parked`) queue at the end. */
  deadLetters: Record<string, number>;
  /** Seconds from the end of the fault until each recovery milestone (null: never within the wait). */
  recoverySeconds: Record<string, number | null>;
  /** Scenario-specific measurements (state checks, kill timing, readiness transitions...). */
  details: Record<string, unknown>;
  /** Error-level and dead-letter log lines of the services, per process. */
  logs: Record<string, { count: number; first: string[] }>;
  logDir: string;
}

export const seconds = (ms: number | undefined) => (ms === undefined ? null : Math.round(ms / 100) / 10);

/** Prints rows as an aligned plain-text table. */
export function table(rows: Record<string, string | number>[]): string {
  const columns = Object.keys(rows[0] ?? {});
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column]).length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index]!)).join('  ');
  return [line(columns), line(widths.map((width) => '-'.repeat(width))), ...rows.map((row) => line(columns.map((column) => String(row[column]))))].join('\n');
}

const range = (values: number[]) => {
  if (values.length === 0) return '-';
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? String(low) : `${low}-${high}`;
};

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

export function summaryRow(result: ScenarioResult): Record<string, string | number> {
  const { writes, clients } = result;
  return {
    scenario: result.scenario,
    result: result.pass ? 'PASS' : 'FAIL',
    'writes ok/attempted': `${writes.succeeded}/${writes.attempted}`,
    'failed writes': writes.failed,
    'events expected': result.eventsExpected,
    'delivered per client': range(clients.map((client) => client.delivered)),
    missing: sum(clients.map((client) => client.missing)),
    duplicated: sum(clients.map((client) => client.duplicated)),
    resyncs: sum(clients.map((client) => client.resyncs)),
    'dlq + parked': sum(Object.values(result.deadLetters)),
    recovery: Object.entries(result.recoverySeconds)
      .map(([name, value]) => `${name} ${value === null ? 'never' : `${value}s`}`)
      .join(', '),
  };
}

export function clientRows(result: ScenarioResult): Record<string, string | number>[] {
  return result.clients.map((client) => ({
    client: client.client,
    connects: client.connects,
    refused: Object.entries(client.refused)
      .map(([code, count]) => `${code}x${count}`)
      .join(' ') || '-',
    expected: client.expected,
    delivered: client.delivered,
    missing: client.missing,
    'covered by resync': client.coveredByResync,
    duplicated: client.duplicated,
    unexpected: client.unexpected,
    resyncs: client.resyncs,
  }));
}

/** One scenario, as it finishes: its summary, its clients, and why it failed. */
export function printScenario(result: ScenarioResult): void {
  const out = [
    `\n== ${result.scenario}: ${result.pass ? 'PASS' : 'FAIL'} (${result.durationSeconds} s) — ${result.fault}`,
    table([summaryRow(result)]),
  ];
  if (result.reads) out.push(`reads: ${result.reads.succeeded}/${result.reads.attempted} ok${result.reads.failed ? ` (${JSON.stringify(result.reads.failures)})` : ''}`);
  if (Object.keys(result.writes.failures).length > 0) out.push(`failed writes by outcome: ${JSON.stringify(result.writes.failures)}`);
  if (result.writes.latencyMs) out.push(`write latency: p50 ${result.writes.latencyMs.p50} ms, p99 ${result.writes.latencyMs.p99} ms, max ${result.writes.latencyMs.max} ms`);
  if (result.clients.length > 0) out.push(table(clientRows(result)));
  for (const failure of result.failures) out.push(`  FAIL: ${failure}`);
  out.push(`  logs: ${result.logDir}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

export function printSummary(results: readonly ScenarioResult[]): void {
  process.stdout.write(`\n== chaos summary\n${table(results.map(summaryRow))}\n`);
  for (const result of results.filter((item) => !item.pass)) {
    process.stdout.write(`${result.scenario} failed:\n${result.failures.map((failure) => `  - ${failure}`).join('\n')}\n`);
  }
}

/** Writes the whole report as JSON; returns its path. */
export function writeReport(outDir: string, startedAt: Date, options: unknown, results: readonly ScenarioResult[]): string {
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ startedAt: startedAt.toISOString(), options, pass: results.every((result) => result.pass), results }, null, 2)}\n`);
  return file;
}
