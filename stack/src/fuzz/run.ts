import fc from 'fast-check';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Agent } from 'undici';
import { DOCUMENT, loadOperations, type Operation, type Schema } from './document';
import { caseArbitrary, resolveCase, type FuzzCase, type Resolved } from './requests';
import { describeChange, diff, pendingEvents, snapshot, unexplained, type RowChange, type Snapshot } from './snapshot';
import { EdgeTransport, type WireResponse } from './transport';
import { World } from './world';

export interface FuzzTarget {
  baseUrl: string;
  certificate: string;
  namespace: string;
  databases: readonly string[];
  admin: { email: string; password: string };
  memberPasscode: string;
  /** The stack's processes: every one must still be alive at the end. */
  pids: Record<string, number>;
  /** Every service replica's own URL: each must still answer ready at the end. */
  serviceUrls: Record<string, string>;
  /** See Allowances.strangers: `ignored` when other tests use the stack at the same time. */
  strangers: 'forbidden' | 'ignored';
}

export interface FuzzOptions {
  seed: number;
  /** Generated requests per operation. */
  runsPerOperation: number;
  /** Only the operations whose id contains this (e.g. `POST /api/messages`). */
  only?: string;
  /** Requests per second to /api/auth/, under nginx's per-address limit there (10/s, burst 50). */
  authRequestsPerSecond?: number;
  log?: (line: string) => void;
}

export interface Failure {
  kind: string;
  operation: string;
  detail: string;
  request: string;
  response: string;
  case: FuzzCase;
}

export interface FuzzReport {
  seed: number;
  durationMs: number;
  requests: number;
  /** Fixture, renewal and ticket requests around the fuzz ones. */
  setupRequests: number;
  statuses: Record<string, number>;
  perOperation: Record<string, { requests: number; statuses: Record<string, number> }>;
  transports: Record<string, number>;
  /** Statuses by caller and credential (`user real`, `visitor forged`...). */
  byCredential: Record<string, Record<string, number>>;
  failures: Failure[];
  unexplainedChanges: string[];
  /** Row changes the run's callers were allowed to make, counted by table. */
  allowedChanges: Record<string, number>;
  /** Answers the document does not list for the operation (not failures: the lead's to judge). */
  undocumented: Record<string, number>;
  health: string[];
  notes: string[];
}

const ERROR_SCHEMA_FALLBACK: Schema = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message', 'requestId'], properties: { code: { type: 'string' }, message: { type: 'string' }, requestId: { type: 'string' } } } },
};

/**
 * The fuzz suite against a running stack: fixtures, a snapshot of every database, `runsPerOperation`
 * generated requests for every operation of docs/openapi.yaml (seeded), the properties checked on
 * every answer, then the snapshot again and the stack's health.
 */
export async function fuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const dispatcher = new Agent({ connect: { ca: target.certificate }, keepAliveTimeout: 2_000, connections: 4 });
  const transport = new EdgeTransport(target.baseUrl, dispatcher, target.certificate, options.authRequestsPerSecond ?? 6);
  const report: FuzzReport = {
    seed: options.seed,
    durationMs: 0,
    requests: 0,
    setupRequests: 0,
    statuses: {},
    perOperation: {},
    transports: {},
    byCredential: {},
    failures: [],
    unexplainedChanges: [],
    allowedChanges: {},
    undocumented: {},
    health: [],
    notes: [],
  };
  try {
    const operations = (await loadOperations()).filter((operation) => !options.only || operation.id.includes(options.only));
    if (operations.length === 0) throw new Error(`no operation matches ${options.only}`);
    const errorSchema = (((await SwaggerParser.dereference(DOCUMENT)) as { components?: { schemas?: Record<string, Schema> } }).components?.schemas?.Error ??
      ERROR_SCHEMA_FALLBACK) as Schema;
    const documented = await documentedStatuses();

    const world = new World(transport, target.admin, target.memberPasscode);
    log(`fixtures: callers, victims, moderated users, dead credentials`);
    await world.populate();
    const bystanders = new Set([...world.victims, ...world.moderated].map((person) => person.id));
    const adminTargets = new Set<string>();
    const adminDeletedMessages = new Set<string>();
    const allowances = { fuzzOwned: world.fuzzOwned, adminTargets, adminDeletedMessages, bystanders, strangers: target.strangers };
    // What settling waits for: the rows the verdict is about (all of them when the stack is the run's own).
    const relevant = (change: RowChange) => target.strangers === 'forbidden' || change.owner === undefined || bystanders.has(change.owner) || world.fuzzOwned.has(change.owner);
    const before = await settledSnapshot(target, relevant);
    log(`snapshot before: ${[...before.values()].reduce((sum, rows) => sum + rows.size, 0)} rows in ${before.size} tables`);

    const check = checker(errorSchema);

    for (const [index, operation] of operations.entries()) {
      const stats = (report.perOperation[operation.id] = { requests: 0, statuses: {} as Record<string, number> });
      const property = fc.asyncProperty(caseArbitrary(operation, world), async (fuzzCase) => {
        await world.keepFresh();
        const resolved = await resolveCase(fuzzCase, operation, world);
        report.requests += 1;
        stats.requests += 1;
        report.transports[resolved.wire.transport] = (report.transports[resolved.wire.transport] ?? 0) + 1;
        let response: WireResponse;
        try {
          if (process.env.FUZZ_TRACE) log(`-> ${resolved.wire.transport} ${operation.id} ${resolved.wire.target.slice(0, 120)} ${fuzzCase.raw ?? ''}`);
          response = await transport.send(resolved.wire);
          if (process.env.FUZZ_TRACE) log(`<- ${response.status}`);
        } catch (error) {
          count(report.statuses, 'no answer');
          count(stats.statuses, 'no answer');
          report.failures.push(failure('no answer', operation, fuzzCase, resolved, String(error)));
          return;
        }
        count(report.statuses, String(response.status));
        count(stats.statuses, String(response.status));
        count((report.byCredential[`${fuzzCase.caller} ${fuzzCase.credential.kind}`] ??= {}), String(response.status));
        if (!documented.get(operation.id)?.has(String(response.status)) && !GLOBAL_STATUSES.has(response.status)) count(report.undocumented, `${operation.id} ${response.status}`);
        for (const problem of check(operation, fuzzCase, resolved, response)) report.failures.push(failure(problem, operation, fuzzCase, resolved, describeResponse(response)));
        await afterAnswer(operation, fuzzCase, resolved, response, world, { adminTargets, adminDeletedMessages }, report.notes);
      });
      const opStarted = Date.now();
      await fc.assert(property, { seed: options.seed + index, numRuns: options.runsPerOperation, endOnFailure: true });
      log(`${operation.id.padEnd(40)} ${String(stats.requests).padStart(5)} requests ${((Date.now() - opStarted) / 1_000).toFixed(1).padStart(5)} s  ${histogram(stats.statuses)}`);
    }

    const after = await settledSnapshot(target, relevant);
    const changes = diff(before, after);
    const bad = unexplained(changes, allowances);
    report.unexplainedChanges = bad.map(describeChange);
    for (const change of changes.filter((candidate) => !bad.includes(candidate))) count(report.allowedChanges, `${change.table} ${change.kind}`);
    report.health = [...world.serverErrors.map((error) => `a bookkeeping request: ${error}`), ...(await healthProblems(transport, target))];
    report.setupRequests = world.setupRequests;
  } finally {
    await dispatcher.close();
    report.durationMs = Date.now() - started;
  }
  return report;
}

/** Any route may also answer these (the document's description: gateway and edge answers). */
const GLOBAL_STATUSES = new Set([400, 401, 405, 408, 411, 413, 414, 415, 429, 431, 501, 502, 503, 504, 505]);

async function documentedStatuses(): Promise<Map<string, Set<string>>> {
  const document = (await SwaggerParser.parse(DOCUMENT)) as unknown as { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> };
  const statuses = new Map<string, Set<string>>();
  for (const [route, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (typeof operation === 'object' && operation && 'responses' in operation) statuses.set(`${method.toUpperCase()} ${route}`, new Set(Object.keys(operation.responses ?? {})));
    }
  }
  return statuses;
}

/** The properties every answer must have; returns what is wrong with this one. */
function checker(errorSchema: Schema) {
  return (operation: Operation, fuzzCase: FuzzCase, resolved: Resolved, response: WireResponse): string[] => {
    const problems: string[] = [];
    if (response.status >= 500) problems.push(`answered ${response.status}`);
    if (response.status >= 400) {
      const type = response.headers['content-type'] ?? '';
      let body: unknown;
      try {
        body = JSON.parse(response.body.toString('utf8'));
      } catch {
        body = undefined;
      }
      if (!/^application\/json\b/.test(type) || body === undefined) {
        problems.push(`error answer ${response.status} is not JSON (content type ${type || 'none'}, ${response.body.length} bytes)`);
      } else {
        const mismatches = validate(errorSchema, body, '');
        if (mismatches.length > 0) problems.push(`error answer ${response.status} is not in the error shape: ${mismatches.join('; ')}`);
      }
    }
    // Identity comes only from a real credential: a forged, replayed or absent one never gets through.
    // Logout with a refresh cookie is idempotent by design: a dead or unknown one answers 204 and
    // ends nothing (the database check holds it to that).
    const idempotentLogout = operation.id === 'POST /api/auth/logout' && fuzzCase.cookies !== 'none';
    const refusedCredential = ['none', 'forged', 'replayed'].includes(fuzzCase.credential.kind) && !['own', 'rotated'].includes(fuzzCase.cookies) && !idempotentLogout;
    if (!operation.public && !resolved.authentic && refusedCredential && response.status < 400) {
      problems.push(`accepted ${fuzzCase.credential.kind === 'forged' ? `a forged token (${fuzzCase.credential.label})` : `credential "${fuzzCase.credential.kind}"`} with ${response.status}`);
    }
    return problems;
  };
}

const safeDecode = (value: string) => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

const SESSION_ENDING = new Set(['POST /api/auth/logout', 'POST /api/auth/logout-all', 'DELETE /api/auth/sessions/{id}', 'DELETE /api/users/me']);

/** Keeps the world in step with what a request did: rotated cookies, ended sessions, admin actions. */
async function afterAnswer(
  operation: Operation,
  fuzzCase: FuzzCase,
  resolved: Resolved,
  response: WireResponse,
  world: World,
  admin: { adminTargets: Set<string>; adminDeletedMessages: Set<string> },
  notes: string[],
): Promise<void> {
  const account = fuzzCase.caller === 'visitor' ? undefined : world.callers[fuzzCase.caller];
  const ok = response.status >= 200 && response.status < 300;
  const targetId = safeDecode(resolved.pathValues.id ?? '').toLowerCase();
  if (fuzzCase.caller === 'admin' && ok && resolved.authentic) {
    if (operation.id === 'DELETE /api/users/{id}' || operation.id === 'PATCH /api/users/{id}/role') admin.adminTargets.add(targetId);
    if (operation.id === 'DELETE /api/messages/{id}') admin.adminDeletedMessages.add(targetId);
  }
  // A session-ending answer ends the caller's session whichever spelling of its token got through.
  if (account && ok && SESSION_ENDING.has(operation.id) && (operation.id !== 'DELETE /api/auth/sessions/{id}' || targetId === account.sessionId)) {
    return world.renew(fuzzCase.caller, operation.id === 'DELETE /api/users/me' ? 'account' : 'login');
  }
  // Requests without the caller's real credentials (forged ones, someone's dead cookies) change nothing of the caller's.
  if (!account || !resolved.authentic) {
    if (account && ok && fuzzCase.cookies.startsWith('own') && operation.id === 'POST /api/auth/refresh') notes.push(`refresh accepted cookies without the right CSRF header (${fuzzCase.cookies})`);
    return;
  }
  if (ok) {
    switch (operation.id) {
      case 'POST /api/auth/refresh': {
        const body = JSON.parse(response.body.toString('utf8')) as { accessToken: string };
        Object.assign(account, World.cookiesOf(response.setCookies), { accessToken: body.accessToken, issuedAt: Date.now() });
        return;
      }
      case 'POST /api/auth/password':
        account.password = String((resolved.sentBody as { newPassword?: unknown }).newPassword);
        return;
      case 'POST /api/messages': {
        const body = JSON.parse(response.body.toString('utf8')) as { message?: { id?: string } };
        if (body.message?.id) account.messageIds.push(body.message.id);
        return;
      }
      default:
        return;
    }
  }
  const code = /"code":"([A-Z_]+)"/.exec(response.body.toString('utf8'))?.[1];
  if (response.status === 401 && fuzzCase.credential.kind === 'real' && operation.security.includes('bearer') && ['SESSION_REVOKED', 'INVALID_TOKEN', 'TOKEN_EXPIRED'].includes(code ?? '')) {
    notes.push(`${fuzzCase.caller}'s live session was refused on ${operation.id} (${response.body.toString('utf8').slice(0, 120)}); logged in again`);
    await world.renew(fuzzCase.caller, 'login');
  }
}

/** The databases once every event is out and the consumers are done: two equal snapshots in a row. */
async function settledSnapshot(target: FuzzTarget, relevant: (change: RowChange) => boolean): Promise<Snapshot> {
  const deadline = Date.now() + 30_000;
  let previous: Snapshot | undefined;
  for (;;) {
    // Other tests' events may keep an outbox busy; only the run's own stack must drain.
    if (target.strangers === 'ignored' || (await pendingEvents(target.databases)) === 0) {
      const current = await snapshot(target.databases, target.namespace);
      if (previous && !diff(previous, current).some(relevant)) return current;
      previous = current;
    }
    if (Date.now() > deadline) throw new Error('the databases did not settle within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function healthProblems(transport: EdgeTransport, { pids, serviceUrls }: FuzzTarget): Promise<string[]> {
  const problems: string[] = [];
  try {
    const health = await transport.send({ transport: 'client', method: 'GET', target: '/api/health', headers: [] });
    if (health.status !== 200) problems.push(`GET /api/health answered ${health.status}: ${health.body.toString('utf8').slice(0, 300)}`);
  } catch (error) {
    problems.push(`GET /api/health did not answer: ${String(error)}`);
  }
  for (const [name, url] of Object.entries(serviceUrls)) {
    const ready = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) }).then(
      async (response) => (await response.arrayBuffer(), response.status),
      (error: unknown) => String(error),
    );
    if (ready !== 200) problems.push(`${name} is not ready: ${ready}`);
  }
  for (const [name, pid] of Object.entries(pids)) {
    try {
      process.kill(pid, 0);
    } catch {
      problems.push(`${name} (pid ${pid}) is no longer running`);
    }
  }
  return problems;
}

/** A JSON value against the schema subset the document uses; returns what does not match. */
export function validate(schema: Schema, value: unknown, at: string): string[] {
  const where = at || '(root)';
  if (schema.const !== undefined && value !== schema.const) return [`${where} is not ${JSON.stringify(schema.const)}`];
  if (schema.enum && !schema.enum.includes(value)) return [`${where} is not one of ${JSON.stringify(schema.enum)}`];
  const types = schema.type === undefined ? undefined : Array.isArray(schema.type) ? schema.type : [schema.type];
  const typeOf = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (types && !types.includes(typeOf) && !(typeOf === 'integer' && types.includes('number'))) return [`${where} is ${typeOf}, not ${types.join(' or ')}`];
  const problems: string[] = [];
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) problems.push(`${where} ${JSON.stringify(value)} does not match ${schema.pattern}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push(`${where} is longer than ${schema.maxLength}`);
  }
  if (Array.isArray(value) && schema.items) value.forEach((item, index) => problems.push(...validate(schema.items!, item, `${at}[${index}]`)));
  if (typeOf === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in object)) problems.push(`${at}.${key} is missing`);
    for (const [key, item] of Object.entries(object)) {
      const property = schema.properties?.[key];
      if (property) problems.push(...validate(property, item, `${at}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${at}.${key} is not allowed`);
    }
  }
  return problems;
}

const count = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

export const histogram = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}:${value}`)
    .join(' ');

/** Tokens and cookies shortened: the case says which credential it was. */
const shorten = (text: string) => text.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, (token) => `${token.slice(0, 12)}...`).replace(/(refresh_token=)[\w-]{20,}/g, '$1...');

function describeRequest(resolved: Resolved): string {
  const wire = resolved.wire;
  if (wire.transport === 'raw') return `raw bytes: ${JSON.stringify(shorten(wire.bytes.toString('latin1')).slice(0, 1_500))}`;
  const body = wire.body ? ` body(${wire.body.length} bytes): ${JSON.stringify(wire.body.toString('latin1').slice(0, 600))}` : '';
  return `${wire.method} ${wire.target.slice(0, 500)} headers: ${shorten(JSON.stringify(wire.headers.map(([name, value]) => [name, value.slice(0, 300)])))}${body}`;
}

function describeResponse(response: WireResponse): string {
  const headers = ['content-type', 'server', 'x-request-id', 'connection'].map((name) => `${name}: ${response.headers[name] ?? '-'}`).join(', ');
  return `${response.status} (${headers}) body: ${JSON.stringify(response.body.toString('utf8').slice(0, 500))}`;
}

function failure(kind: string, operation: Operation, fuzzCase: FuzzCase, resolved: Resolved, response: string): Failure {
  return { kind: kind.replace(/:.*/, ''), operation: operation.id, detail: kind, request: describeRequest(resolved), response, case: fuzzCase };
}

/** The report as lines for a terminal or a test failure. */
export function formatReport(report: FuzzReport): string {
  const lines = [
    `seed ${report.seed}: ${report.requests} fuzz requests over ${Object.keys(report.perOperation).length} operations in ${(report.durationMs / 1_000).toFixed(1)} s (+${report.setupRequests} fixture and bookkeeping requests)`,
    `statuses: ${histogram(report.statuses)}`,
    `transports: ${histogram(report.transports)}`,
    'by caller and credential:',
    ...Object.entries(report.byCredential)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, statuses]) => `  ${key.padEnd(18)} ${histogram(statuses)}`),
    'by operation:',
    ...Object.entries(report.perOperation).map(([id, stats]) => `  ${id.padEnd(40)} ${String(stats.requests).padStart(5)}  ${histogram(stats.statuses)}`),
    `allowed database changes: ${histogram(report.allowedChanges) || 'none'}`,
  ];
  if (Object.keys(report.undocumented).length > 0) lines.push(`answers the document does not list: ${histogram(report.undocumented)}`);
  for (const note of new Set(report.notes)) lines.push(`note: ${note}`);
  if (report.failures.length > 0) {
    lines.push(`FAILURES (${report.failures.length}):`);
    const seen = new Map<string, number>();
    for (const item of report.failures) {
      const key = `${item.operation} ${item.detail.slice(0, 80)}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (seen.get(key)! > 2) continue;
      lines.push(`- ${item.operation}: ${item.detail}\n    request: ${item.request}\n    response: ${item.response}\n    case: ${shorten(JSON.stringify(item.case)).slice(0, 1_000)}`);
    }
    for (const [key, times] of seen) if (times > 2) lines.push(`  (${times} times in all: ${key})`);
  }
  if (report.unexplainedChanges.length > 0) lines.push(`UNEXPLAINED DATABASE CHANGES (${report.unexplainedChanges.length}):`, ...report.unexplainedChanges.map((change) => `- ${change}`));
  if (report.health.length > 0) lines.push('STACK NOT HEALTHY AFTER THE RUN:', ...report.health.map((problem) => `- ${problem}`));
  return lines.join('\n');
}

export const passed = (report: FuzzReport) => report.failures.length === 0 && report.unexplainedChanges.length === 0 && report.health.length === 0;

export type { RowChange };
