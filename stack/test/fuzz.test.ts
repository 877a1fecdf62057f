import fc from 'fast-check';
import { loadOperations } from '../src/fuzz/document';
import { caseArbitrary, resolveCase } from '../src/fuzz/requests';
import { validate } from '../src/fuzz/run';
import { diff, unexplained, type Allowances, type Snapshot } from '../src/fuzz/snapshot';
import { forgedTokens } from '../src/fuzz/tokens';
import type { Transport, WireRequest } from '../src/fuzz/transport';
import { World, type Account } from '../src/fuzz/world';

type Row = Record<string, unknown>;
const table = (rows: Row[], key: string) => new Map(rows.map((row) => [String(row[key]), { key: String(row[key]), row, text: JSON.stringify(row) }]));

const victim = '11111111-1111-4111-8111-111111111111';
const fuzzer = '22222222-2222-4222-8222-222222222222';
const stranger = '33333333-3333-4333-8333-333333333333';
const newcomer = '44444444-4444-4444-8444-444444444444';

const before: Snapshot = new Map([
  ['auth.credentials', table([{ user_id: victim, role: 'user' }, { user_id: fuzzer, role: 'user' }, { user_id: stranger, role: 'user' }], 'user_id')],
  ['auth.sessions', table([{ id: 's1', user_id: victim, revoked_at: null }], 'id')],
  ['messages.messages', table([{ id: 'm1', author_id: victim, body: 'hello' }, { id: 'm2', author_id: fuzzer, body: 'mine' }], 'id')],
  ['auth.signing_keys', table([{ kid: 'k1', retired_at: null }], 'kid')],
]);

const allowances = (overrides: Partial<Allowances> = {}): Allowances => ({
  fuzzOwned: new Set([fuzzer]),
  adminTargets: new Set(),
  adminDeletedMessages: new Set(),
  bystanders: new Set([victim]),
  strangers: 'forbidden',
  ...overrides,
});

const changed = (edit: (after: Snapshot) => void): Snapshot => {
  const after: Snapshot = new Map([...before].map(([name, rows]) => [name, new Map(rows)]));
  edit(after);
  return after;
};

describe('the fuzz database verdict', () => {
  it('flags a victim’s row changed, naming the table, key and owner', () => {
    const after = changed((snapshot) => snapshot.get('messages.messages')!.set('m1', { key: 'm1', row: { id: 'm1', author_id: victim, body: 'defaced' }, text: 'x' }));
    expect(unexplained(diff(before, after), allowances())).toEqual([
      expect.objectContaining({ table: 'messages.messages', key: 'm1', kind: 'updated', owner: victim }),
    ]);
  });

  it('allows what the fuzzing callers do to themselves, newcomers’ rows, and an admin’s moderation', () => {
    const after = changed((snapshot) => {
      snapshot.get('messages.messages')!.delete('m2');
      snapshot.get('auth.credentials')!.set(newcomer, { key: newcomer, row: { user_id: newcomer, role: 'user' }, text: 'n' });
      snapshot.get('messages.messages')!.set('m3', { key: 'm3', row: { id: 'm3', author_id: newcomer, body: 'hi' }, text: 'm3' });
      snapshot.get('messages.messages')!.delete('m1');
    });
    expect(unexplained(diff(before, after), allowances({ adminDeletedMessages: new Set(['m1']) }))).toEqual([]);
    expect(unexplained(diff(before, after), allowances())).toEqual([expect.objectContaining({ key: 'm1', kind: 'deleted' })]);
  });

  it('flags rows nobody owns (signing keys), and strangers’ rows only when the stack is the run’s own', () => {
    const after = changed((snapshot) => {
      snapshot.get('auth.signing_keys')!.set('k2', { key: 'k2', row: { kid: 'k2', retired_at: null }, text: 'k2' });
      snapshot.get('auth.credentials')!.set(stranger, { key: stranger, row: { user_id: stranger, role: 'admin' }, text: 'admin' });
    });
    expect(unexplained(diff(before, after), allowances()).map((change) => change.table).sort()).toEqual(['auth.credentials', 'auth.signing_keys']);
    expect(unexplained(diff(before, after), allowances({ strangers: 'ignored' })).map((change) => change.table)).toEqual(['auth.signing_keys']);
  });
});

describe('the error shape check', () => {
  const schema = {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'object', required: ['code', 'message', 'requestId'], properties: { code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' }, message: { type: 'string' } } } },
  };
  it.each([
    [{ error: { code: 'NOT_FOUND', message: 'x', requestId: 'r' } }, []],
    [{ error: { code: 'not found', message: 'x', requestId: 'r' } }, ['.error.code "not found" does not match ^[A-Z][A-Z0-9_]*$']],
    [{ error: { code: 'X', message: 1 } }, ['.error.requestId is missing', '.error.message is integer, not string']],
    [{ message: 'Bad Request' }, ['.error is missing']],
    ['text', ['(root) is string, not object']],
  ])('%j', (body, problems) => {
    expect(validate(schema, body, '')).toEqual(problems);
  });
});

/** Answers every request 200 `{}`: enough for resolving cases that need a fresh ticket. */
class NullTransport implements Transport {
  sent: WireRequest[] = [];
  send(request: WireRequest) {
    this.sent.push(request);
    return Promise.resolve({ status: 200, headers: {}, setCookies: [], body: Buffer.from('{"ticket":"t"}'), streamed: false });
  }
  close() {
    return Promise.resolve();
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const token = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ sub: fuzzer, role: 'user', sid: 's9' })}.c2ln`;
const account = (id: string, role: string): Account => ({
  id,
  email: `${role}@example.com`,
  username: role,
  password: 'pw-123456789',
  accessToken: token,
  cookies: 'refresh_token=r; csrf_token=c',
  csrfToken: 'c',
  sessionId: 's9',
  role,
  messageIds: ['m2'],
  issuedAt: Date.now(),
});

describe('the request generator', () => {
  it('makes requests for every operation of the document, as client requests and as raw bytes', async () => {
    const world = new World(new NullTransport(), { email: 'admin@example.com', password: 'x' }, 'passcode');
    world.callers.user = account(fuzzer, 'user');
    world.callers.member = account(fuzzer, 'member');
    world.callers.admin = account(stranger, 'admin');
    world.victims.push({ id: victim, email: 'v@example.com', username: 'v', sessionId: 's1', messageIds: ['m1'] });
    world.moderated.push({ id: newcomer, email: 'm@example.com', username: 'm', sessionId: 's2', messageIds: ['m4'] });
    world.forged = forgedTokens(token, [], victim);
    const operations = await loadOperations();
    const transports = new Set<string>();
    for (const operation of operations) {
      for (const fuzzCase of fc.sample(caseArbitrary(operation, world), { numRuns: 3, seed: 7 })) {
        const resolved = await resolveCase(fuzzCase, operation, world);
        transports.add(resolved.wire.transport);
        expect(resolved.wire.target.startsWith(operation.route.replace(/\{.*$/, '').replace(/\/$/, ''))).toBe(true);
      }
    }
    expect([...transports].sort()).toEqual(['client', 'raw']);
  });
});
