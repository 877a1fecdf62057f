import { brotliCompressSync, constants, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { anyJson, hostileString, hostileValue, INJECTIONS, percentEncode, UNICODE, validObject, validValue, type Hints } from './arbitraries';
import type { Operation, Parameter, Schema } from './document';
import type { WireRequest } from './transport';
import { CALLERS, type Account, type CallerName, type World } from './world';

/** A value only known when the request is sent (the caller's current session, a fresh ticket). */
export interface Ref {
  ref: 'ownUser' | 'ownSession' | 'ownMessage' | 'ownPassword' | 'freshTicket';
}
const isRef = (value: unknown): value is Ref => typeof value === 'object' && value !== null && 'ref' in value && Object.keys(value).length === 1;

export type Credential =
  | { kind: 'real' }
  | { kind: 'none' }
  | { kind: 'forged'; label: string }
  | { kind: 'replayed' }
  /** A malformed Authorization header; `{token}` stands for the caller's real token. */
  | { kind: 'header'; value: string };

/** Cookies for the refresh-cookie routes. */
export type Cookies = 'none' | 'own' | 'own-without-csrf' | 'own-wrong-csrf' | 'rotated' | 'logged-out' | 'forged' | 'junk';

export type Body =
  | { kind: 'json'; value: unknown }
  /** Exact bytes (latin1 string, one char per byte). */
  | { kind: 'bytes'; bytes: string; label: string };

export interface BodyFraming {
  contentType: string | null;
  /** Content-Encoding, applied to the bytes when it is a real coding (gzip, deflate, br). */
  encoding: string | null;
  /** Re-encode the JSON text in this charset (the content type then says so). */
  charset: 'utf-8' | 'utf-16le' | 'latin1' | null;
}

/** One generated request, as data: shrinkable and printable; resolved against the world when sent. */
export interface FuzzCase {
  operation: string;
  caller: CallerName;
  credential: Credential;
  cookies: Cookies;
  /** Path parameters: already encoded segments, or references. */
  path: Record<string, string | Ref>;
  /** Query pairs, already encoded; a name may repeat. */
  query: [string, string | Ref][];
  body?: Body;
  framing: BodyFraming;
  headers: [string, string][];
  /** Sent as raw bytes with this mutation of the request's framing. */
  raw?: RawMutation;
}

export const RAW_MUTATIONS = [
  'header injection (CRLF)',
  'NUL in a header',
  'bare LF line endings',
  'raw UTF-8 in the target',
  'invalid UTF-8 in the target',
  'Content-Length and chunked',
  'two Content-Lengths',
  'bad chunk size',
  'absolute-form target',
  'HTTP/1.0 without Host',
  'lower-case method',
  'PUT',
  'TRACE',
  'PROPFIND',
  'huge header',
  'obsolete line folding',
] as const;
export type RawMutation = (typeof RAW_MUTATIONS)[number];

/** What the runner needs to know about a case to judge its answer. */
export interface Resolved {
  wire: WireRequest;
  /** The caller's account when the request carries its real, live credentials. */
  authentic: Account | undefined;
  /** A rotated refresh token may legitimately still work for 10 s (the two-tabs grace window). */
  graceful: boolean;
  /** The JSON body as sent, for the runner's bookkeeping (new passwords, ids). */
  sentBody: unknown;
  /** Path parameters as sent (encoded). */
  pathValues: Record<string, string>;
}

/** Header bytes undici refuses to send (controls, anything past ASCII): such requests go raw. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this finds
const RAW_ONLY = /[\u0000-\u001f\u007f-\uffff]/;
/** Headers undici will not send (it handles these itself). */
const CLIENT_REFUSES = new Set(['expect', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade']);

/** The arbitrary of fuzz cases for one operation. */
export function caseArbitrary(operation: Operation, world: World): fc.Arbitrary<FuzzCase> {
  return fc.constantFrom(...CALLERS).chain((caller) =>
    fc.record({
      operation: fc.constant(operation.id),
      caller: fc.constant(caller),
      credential: credentialArbitrary(caller, world),
      cookies: cookiesArbitrary(operation),
      path: pathArbitrary(operation, caller, world),
      query: queryArbitrary(operation, caller, world),
      body: bodyArbitrary(operation, caller, world),
      framing: framingArbitrary(),
      headers: headersArbitrary(world),
      // About one request in seven goes out as raw bytes with a framing mutation.
      raw: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...RAW_MUTATIONS) }),
    }),
  ) as fc.Arbitrary<FuzzCase>;
}

function credentialArbitrary(caller: CallerName, world: World): fc.Arbitrary<Credential> {
  const bad: fc.Arbitrary<Credential>[] = [
    fc.constantFrom(...world.forged.map((forged) => forged.label)).map((label) => ({ kind: 'forged' as const, label })),
    fc.constant({ kind: 'replayed' as const }),
    fc
      .constantFrom(
        'Bearer',
        'Bearer ',
        'bearer {token}',
        'Bearer  {token}',
        'Bearer {token} {token}',
        'Basic YWRtaW46YWRtaW4=',
        'Token {token}',
        '{token}',
        'Bearer {token}\u0000',
        'Bearer ' + 'A'.repeat(9_000),
        'Bearer null',
      )
      .map((value) => ({ kind: 'header' as const, value })),
  ];
  if (caller === 'visitor') return fc.oneof(fc.constant({ kind: 'none' as const }), ...bad);
  return fc.oneof({ weight: 10, arbitrary: fc.constant({ kind: 'real' as const }) }, { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) }, ...bad.map((arbitrary) => ({ weight: 1, arbitrary })));
}

function cookiesArbitrary(operation: Operation): fc.Arbitrary<Cookies> {
  if (operation.security.includes('refreshCookie')) {
    return fc.constantFrom<Cookies>('own', 'own', 'own-without-csrf', 'own-wrong-csrf', 'rotated', 'logged-out', 'forged', 'junk', 'none');
  }
  return fc.constantFrom<Cookies>('none', 'none', 'none', 'none', 'junk', 'own');
}

/** Ids of people the caller may act on with real ids (see World: admins act on moderated users only). */
function idHints(operation: Operation, caller: CallerName, world: World): { users: string[]; messages: string[]; sessions: string[] } {
  const adminActs = caller === 'admin' && operation.method !== 'GET';
  const victims = adminActs && operation.method === 'DELETE' ? [] : world.victims;
  const others = [...victims, ...world.moderated];
  return {
    users: adminActs ? world.moderated.map((person) => person.id) : others.map((person) => person.id),
    messages: (adminActs && operation.method === 'DELETE' ? world.moderated : others).flatMap((person) => person.messageIds),
    sessions: others.map((person) => person.sessionId),
  };
}

function pathArbitrary(operation: Operation, caller: CallerName, world: World): fc.Arbitrary<Record<string, string | Ref>> {
  const params = operation.parameters.filter((parameter) => parameter.in === 'path');
  const ids = idHints(operation, caller, world);
  const known = operation.route.startsWith('/api/messages') ? ids.messages : operation.route.startsWith('/api/auth/sessions') ? ids.sessions : ids.users;
  const own: Ref['ref'] = operation.route.startsWith('/api/messages') ? 'ownMessage' : operation.route.startsWith('/api/auth/sessions') ? 'ownSession' : 'ownUser';
  // An admin never demotes or deletes itself: the run needs its admin.
  const ownAllowed = caller !== 'visitor' && !(caller === 'admin' && operation.route.startsWith('/api/users/') && operation.method !== 'GET');
  const segment = (parameter: Parameter): fc.Arbitrary<string | Ref> =>
    fc.oneof(
      { weight: 4, arbitrary: known.length > 0 ? fc.constantFrom(...known) : fc.uuid() },
      { weight: ownAllowed ? 3 : 0, arbitrary: fc.constant<Ref>({ ref: own }) },
      { weight: 2, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: fc.constantFrom(...known, '00000000-0000-0000-0000-000000000000').map((id) => id.toUpperCase()) },
      { weight: 3, arbitrary: hostileValue(parameter.schema).map((value) => percentEncode(typeof value === 'string' ? value : JSON.stringify(value) ?? 'undefined')) },
      { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%00', '%C0%AF', '%FF', '..%2F..%2Fusers', '%2e%2e', '.', '..', ';', 'a;b=c', '%252e') },
    );
  return fc.record(Object.fromEntries(params.map((parameter) => [parameter.name, segment(parameter)])));
}

function queryArbitrary(operation: Operation, caller: CallerName, world: World): fc.Arbitrary<[string, string | Ref][]> {
  const params = operation.parameters.filter((parameter) => parameter.in === 'query');
  const hints: Hints = {
    channel: fc.constantFrom(world.channel, 'general'),
    channels: fc.constantFrom(world.channel, 'general', `general,${world.channel}`, Array.from({ length: 11 }, (_, index) => `c${index}`).join(',')),
    ticket: caller === 'visitor' ? fc.constant(world.replayed.usedTicket) : fc.constantFrom<string | Ref>({ ref: 'freshTicket' }, world.replayed.usedTicket),
  };
  const one = (parameter: Parameter): fc.Arbitrary<[string, string | Ref][]> => {
    const name = percentEncode(parameter.name);
    const valid = validValue(parameter.schema, parameter.name, hints).map((value): [string, string | Ref][] => [[name, isRef(value) ? value : percentEncode(String(value))]]);
    const hostile = hostileValue(parameter.schema).map((value): [string, string][] => [[name, percentEncode(typeof value === 'string' ? value : JSON.stringify(value) ?? '')]]);
    return fc.oneof(
      { weight: 2, arbitrary: fc.constant<[string, string | Ref][]>([]) },
      { weight: 4, arbitrary: valid },
      { weight: 3, arbitrary: hostile },
      { weight: 1, arbitrary: fc.tuple(valid, hostile).map(([a, b]) => [...a, ...b]) },
      { weight: 1, arbitrary: hostile.map((pairs) => [[`${name}[$gt]`, pairs[0]?.[1] ?? ''], [`${name}[]`, '1']] as [string, string][]) },
      { weight: 1, arbitrary: fc.constant([[name, '']] as [string, string][]) },
    );
  };
  const extra = fc.oneof(
    { weight: 5, arbitrary: fc.constant([] as [string, string][]) },
    { weight: 1, arbitrary: fc.tuple(hostileString(), hostileString()).map(([key, value]) => [[percentEncode(key), percentEncode(value)]] as [string, string][]) },
    { weight: 1, arbitrary: fc.constantFrom<[string, string][]>([['__proto__[role]', 'admin']], [['constructor[prototype][role]', 'admin']], [['role', 'admin']]) },
  );
  return fc.tuple(...params.map(one), extra).map((parts) => parts.flat());
}

function bodyHints(operation: Operation, caller: CallerName, world: World): Hints {
  const people = [...world.victims, ...world.moderated];
  const email = fc.oneof(
    fc.constantFrom(...people.map((person) => person.email)),
    fc.constantFrom(...people.map((person) => ` ${person.email.toUpperCase()} `)),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }).map((local) => `${local.replace(/[^a-z0-9]/gi, 'x')}.${Date.now().toString(36)}@example.com`),
  );
  return {
    email,
    username: fc.oneof(
      fc.constantFrom(...people.map((person) => person.username), ...people.map((person) => person.username.toUpperCase())),
      fc.stringMatching(/^[a-z0-9_]{3,20}$/),
    ),
    password: fc.oneof(fc.string({ minLength: 8, maxLength: 30 }), fc.constantFrom('é'.repeat(40), 'x'.repeat(72), 'x'.repeat(73), '😀'.repeat(18), 'password\u0000tail')),
    newPassword: fc.string({ minLength: 8, maxLength: 30 }),
    // The admin's password stays the one the run logs in with.
    oldPassword: caller === 'admin' || caller === 'visitor' ? fc.string({ minLength: 1, maxLength: 20 }) : fc.constant<Ref>({ ref: 'ownPassword' }),
    channel: fc.constantFrom(world.channel, 'general'),
    displayName: fc.oneof(fc.string({ minLength: 1, maxLength: 64 }), fc.constantFrom(...UNICODE)),
    body: fc.oneof(fc.string({ minLength: 1, maxLength: 200 }), fc.constantFrom(...INJECTIONS, ...UNICODE)),
  };
}

const MALFORMED = [
  '{"body": "unterminated',
  '{',
  '{"a":1,}',
  "{'single': 'quotes'}",
  '{"body": "x"} trailing',
  '/* comment */ {"body": "x"}',
  '{"body": NaN}',
  '{"body": 1e999999}',
  '{"channel": "general", "channel": ["dup"], "body": "x", "body": {"$gt": ""}}',
  '{"__proto__": {"role": "admin"}, "body": "x", "displayName": "x", "passcode": "x", "role": "admin"}',
  '{"constructor": {"prototype": {"role": "admin"}}}',
  '',
  ' ',
  'null',
  'true',
  '"a string"',
  '12345',
  '[]',
  '[{"body": "x"}]',
];

/** Bytes no JSON encoder makes: invalid UTF-8 inside strings, CESU-8 surrogates, overlong forms, a BOM. */
const BYTES: { label: string; bytes: string }[] = [
  { label: 'invalid UTF-8 in a string', bytes: '{"body":"\xff\xfe\xfd","displayName":"\xc3\x28","email":"a\x80@example.com","password":"\xf8\x88\x80\x80\x80xxxxxx"}' },
  { label: 'lone surrogate as UTF-8 bytes', bytes: '{"body":"\xed\xa0\x80","displayName":"\xed\xbf\xbf","passcode":"\xed\xa0\x80"}' },
  { label: 'overlong slash', bytes: '{"body":"\xc0\xaf..\xc0\xafetc","channel":"\xc0\xae\xc0\xae"}' },
  { label: 'UTF-8 BOM', bytes: '\xef\xbb\xbf{"body":"bom","displayName":"bom","passcode":"bom"}' },
  { label: 'NUL bytes', bytes: '{"body":"a\x00b","displayName":"\x00","passcode":"\x00"}' },
  { label: 'escaped NUL and lone surrogates', bytes: '{"body":"a\\u0000b","displayName":"\\ud800","email":"\\u0000@example.com","username":"ab\\u0000c","password":"\\udfff\\ud800xxxxxx","passcode":"\\u0000","role":"admin\\u0000"}' },
  { label: 'deeply nested arrays', bytes: `${'['.repeat(20_000)}${']'.repeat(20_000)}` },
  { label: 'deeply nested objects', bytes: `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}` },
  { label: 'many keys', bytes: `{${Array.from({ length: 20_000 }, (_, index) => `"k${index}":${index}`).join(',')}}` },
];

function bodyArbitrary(operation: Operation, caller: CallerName, world: World): fc.Arbitrary<Body | undefined> {
  const schema: Schema = operation.body ?? { type: 'object', properties: {} };
  const hints = bodyHints(operation, caller, world);
  const valid = validObject(schema, hints);
  const keys = Object.keys(schema.properties ?? {});
  const json = (arbitrary: fc.Arbitrary<unknown>) => arbitrary.map((value): Body => ({ kind: 'json', value }));
  const mutated = keys.length === 0
    ? valid
    : fc.tuple(valid, fc.constantFrom(...keys)).chain(([object, key]) =>
        hostileValue(schema.properties![key]!).map((value) => ({ ...object, [key]: value })),
      );
  const missing = keys.length === 0 ? valid : fc.tuple(valid, fc.constantFrom(...keys)).map(([object, key]) => Object.fromEntries(Object.entries(object).filter(([name]) => name !== key)));
  const extra = fc.tuple(valid, fc.constantFrom('role', 'id', 'userId', 'authorId', 'author', 'createdAt', 'isAdmin', 'email', 'sessionId', '$where'), anyJson()).map(
    ([object, key, value]) => ({ ...object, [key]: key === 'role' ? 'admin' : value }),
  );
  const withBody = operation.body !== undefined;
  return fc.oneof(
    { weight: withBody ? 4 : 0, arbitrary: json(valid) },
    { weight: withBody ? 4 : 0, arbitrary: json(mutated) },
    { weight: withBody ? 1 : 0, arbitrary: json(missing) },
    { weight: withBody ? 1 : 0, arbitrary: json(extra) },
    { weight: 1, arbitrary: json(anyJson()) },
    { weight: 1, arbitrary: fc.constantFrom(...MALFORMED).map((text): Body => ({ kind: 'bytes', bytes: Buffer.from(text, 'utf8').toString('latin1'), label: 'malformed JSON' })) },
    { weight: 2, arbitrary: fc.constantFrom(...BYTES).map((entry): Body => ({ kind: 'bytes', ...entry })) },
    { weight: withBody ? 1 : 4, arbitrary: fc.constant(undefined) },
  );
}

function framingArbitrary(): fc.Arbitrary<BodyFraming> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant<BodyFraming>({ contentType: 'application/json', encoding: null, charset: null }) },
    {
      weight: 3,
      arbitrary: fc.record({
        contentType: fc.constantFrom<string | null>(
          null,
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=xyz',
          'application/xml',
          'APPLICATION/JSON',
          'application/json; charset=utf-8',
          'application/json; charset=bogus-9',
          'application/json; charset=koi8-r',
          'application/merge-patch+json',
          'application/json, text/html',
          'application/json\u0000',
          '*/*',
        ),
        encoding: fc.constantFrom<string | null>(null, 'gzip', 'deflate', 'br', 'x-unknown', 'identity', 'gzip, gzip'),
        charset: fc.constantFrom<BodyFraming['charset']>(null, 'utf-16le', 'latin1'),
      }),
    },
  );
}

function headersArbitrary(world: World): fc.Arbitrary<[string, string][]> {
  const victim = world.victims[0]!;
  const adminId = world.callers.admin!.id;
  const spoofs: [string, string][][] = [
    // A whole identity, as the gateway would vouch for it: services must never see it from a client.
    [['x-user-id', victim.id], ['x-user-role', 'admin'], ['x-session-id', victim.sessionId]],
    [['x-user-id', adminId], ['x-user-role', 'admin'], ['x-session-id', victim.sessionId]],
    [['X-User-Role', 'admin']],
    [['x-user-id', victim.id]],
    [['x-session-id', victim.sessionId]],
    [['x-user-email', victim.email]],
    [['x-forwarded-for', '127.0.0.1']],
    [['x-forwarded-for', '10.0.0.1, 203.0.113.9']],
    [['x-real-ip', '127.0.0.1']],
    [['forwarded', 'for=127.0.0.1;proto=https']],
    [['x-forwarded-host', 'evil.example'], ['x-forwarded-proto', 'http']],
    [['x-original-url', '/api/users'], ['x-rewrite-url', '/api/users']],
    [['x-http-method-override', 'DELETE']],
    [['x-request-id', "'; DROP TABLE messages; --"]],
    [['x-request-id', 'a'.repeat(200)]],
    [['x-csrf-token', 'forged-csrf']],
    [['origin', 'https://evil.example']],
    [['accept-encoding', 'gzip, br']],
    [['accept', 'text/html']],
    [['user-agent', `<script>${'x'.repeat(1_000)}`]],
    [['last-event-id', '99999999999999999999-0']],
    [['last-event-id', "' OR 1=1 --"]],
    [['expect', '100-continue']],
    [['cookie', 'refresh_token=../../etc/passwd; csrf_token=%00']],
  ];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant<[string, string][]>([]) },
    { weight: 3, arbitrary: fc.subarray(spoofs, { minLength: 1, maxLength: 3 }).map((groups) => groups.flat()) },
  );
}

/** Turns a case into bytes with the world's current credentials. */
export async function resolveCase(fuzzCase: FuzzCase, operation: Operation, world: World): Promise<Resolved> {
  const account = fuzzCase.caller === 'visitor' ? undefined : world.callers[fuzzCase.caller];
  const deref = async (value: string | Ref): Promise<string> => {
    if (!isRef(value)) return value;
    switch (value.ref) {
      case 'ownUser':
        return account?.id ?? '';
      case 'ownSession':
        return account?.sessionId ?? '';
      case 'ownMessage':
        return account?.messageIds.at(-1) ?? '';
      case 'ownPassword':
        return account?.password ?? '';
      case 'freshTicket':
        return account ? encodeURIComponent(await world.ticket(account.accessToken)) : '';
    }
  };
  let path = operation.route;
  const pathValues: Record<string, string> = {};
  for (const [name, value] of Object.entries(fuzzCase.path)) path = path.replace(`{${name}}`, (pathValues[name] = await deref(value)));
  const query: string[] = [];
  for (const [name, value] of fuzzCase.query) query.push(`${name}=${await deref(value)}`);
  const target = query.length > 0 ? `${path}?${query.join('&')}` : path;

  const headers: [string, string][] = [];
  // A visitor holds no live token: its malformed headers spell a dead one.
  const token = account?.accessToken ?? world.replayed.loggedOutToken;
  let authentic: Account | undefined;
  switch (fuzzCase.credential.kind) {
    case 'real':
      if (account) headers.push(['authorization', `Bearer ${account.accessToken}`]);
      authentic = account;
      break;
    case 'forged':
      headers.push(['authorization', `Bearer ${world.forged.find((forged) => forged.label === (fuzzCase.credential as { label: string }).label)!.token}`]);
      break;
    case 'replayed':
      headers.push(['authorization', `Bearer ${world.replayed.loggedOutToken}`]);
      break;
    case 'header':
      headers.push(['authorization', fuzzCase.credential.value.replaceAll('{token}', token)]);
      break;
    case 'none':
      break;
  }
  let graceful = false;
  const cookie = (() => {
    switch (fuzzCase.cookies) {
      case 'own':
      case 'own-without-csrf':
      case 'own-wrong-csrf':
        if (!account) return undefined;
        if (fuzzCase.cookies === 'own') {
          headers.push(['x-csrf-token', account.csrfToken]);
          if (operation.security.includes('refreshCookie')) authentic ??= account;
        }
        if (fuzzCase.cookies === 'own-wrong-csrf') headers.push(['x-csrf-token', `${account.csrfToken.slice(0, -2)}xx`]);
        return account.cookies;
      case 'rotated':
        graceful = true;
        headers.push(['x-csrf-token', world.replayed.rotatedCsrf]);
        return world.replayed.rotatedCookies;
      case 'logged-out':
        headers.push(['x-csrf-token', world.replayed.loggedOutCsrf]);
        return world.replayed.loggedOutCookies;
      case 'forged':
        headers.push(['x-csrf-token', 'forged']);
        return 'refresh_token=forged.refresh.token; csrf_token=forged';
      case 'junk':
        return `refresh_token=${'%'.repeat(3)}; refresh_token=a; =; ;;; csrf_token="unterminated`;
      case 'none':
        return undefined;
    }
  })();
  if (cookie) headers.push(['cookie', cookie]);
  headers.push(...fuzzCase.headers);

  let sentBody: unknown;
  let bytes: Buffer | undefined;
  if (fuzzCase.body) {
    if (fuzzCase.body.kind === 'json') {
      sentBody = await derefDeep(fuzzCase.body.value, deref);
      const text = JSON.stringify(sentBody) ?? 'null';
      bytes = fuzzCase.framing.charset ? Buffer.from(text, fuzzCase.framing.charset === 'utf-16le' ? 'utf16le' : fuzzCase.framing.charset) : Buffer.from(text, 'utf8');
    } else {
      bytes = Buffer.from(fuzzCase.body.bytes, 'latin1');
    }
    const { contentType, encoding, charset } = fuzzCase.framing;
    if (contentType !== null) headers.push(['content-type', charset && contentType.startsWith('application/json') && !contentType.includes('charset') ? `${contentType}; charset=${charset}` : contentType]);
    if (encoding !== null) {
      headers.push(['content-encoding', encoding]);
      if (encoding === 'gzip') bytes = gzipSync(bytes);
      if (encoding === 'deflate') bytes = deflateSync(bytes);
      // Brotli's default quality takes seconds over a megabyte; the server's side is what is tested.
      if (encoding === 'br') bytes = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } });
    }
  }

  const clean = headers.every(([name, value]) => !RAW_ONLY.test(name) && !RAW_ONLY.test(value) && !CLIENT_REFUSES.has(name.toLowerCase()));
  if (fuzzCase.raw || !clean) {
    return { wire: { transport: 'raw', target, bytes: rawBytes(operation.method, target, headers, bytes, fuzzCase.raw, victimIdentity(world)) }, authentic, graceful, sentBody, pathValues };
  }
  return { wire: { transport: 'client', method: operation.method, target, headers, body: bytes }, authentic, graceful, sentBody, pathValues };
}

async function derefDeep(value: unknown, deref: (ref: Ref) => Promise<string>): Promise<unknown> {
  if (isRef(value)) return deref(value);
  if (Array.isArray(value)) return Promise.all(value.map((item) => derefDeep(item, deref)));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = await derefDeep(item, deref);
    return out;
  }
  return value;
}

const victimIdentity = (world: World) => `X-User-Id: ${world.victims[0]!.id}\r\nX-User-Role: admin\r\nX-Session-Id: ${world.victims[0]!.sessionId}`;

/** The request as bytes, with one framing mutation. */
function rawBytes(method: string, target: string, headers: [string, string][], body: Buffer | undefined, mutation: RawMutation | undefined, identity: string): Buffer {
  let requestLine = `${method} ${target} HTTP/1.1`;
  let invalidTarget = false;
  let lines = [['Host', 'localhost'], ...headers, ['Connection', 'close']].map(([name, value]) => `${name}: ${value}`);
  let eol = '\r\n';
  let payload = body ?? Buffer.alloc(0);
  let length: string[] = body ? [`Content-Length: ${payload.length}`] : [];
  switch (mutation) {
    case 'header injection (CRLF)':
      lines.push(`X-Note: a\r\n${identity}`);
      break;
    case 'NUL in a header':
      lines.push('X-Note: a\u0000b');
      break;
    case 'bare LF line endings':
      eol = '\n';
      break;
    case 'raw UTF-8 in the target':
      requestLine = `${method} ${target}/\u00e9\u202e\ud83d\ude00 HTTP/1.1`;
      break;
    case 'invalid UTF-8 in the target':
      invalidTarget = true;
      break;
    case 'Content-Length and chunked':
      length = [`Content-Length: ${Math.max(0, payload.length - 1)}`, 'Transfer-Encoding: chunked'];
      payload = Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'two Content-Lengths':
      length = [`Content-Length: ${payload.length}`, `Content-Length: ${payload.length + 5}`];
      break;
    case 'bad chunk size':
      length = ['Transfer-Encoding: chunked'];
      payload = Buffer.concat([Buffer.from('zz\r\n'), payload, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'absolute-form target':
      requestLine = `${method} https://evil.example${target} HTTP/1.1`;
      break;
    case 'HTTP/1.0 without Host':
      requestLine = `${method} ${target} HTTP/1.0`;
      lines = lines.filter((line) => !line.startsWith('Host:'));
      break;
    case 'lower-case method':
      requestLine = `${method.toLowerCase()} ${target} HTTP/1.1`;
      break;
    case 'PUT':
    case 'TRACE':
    case 'PROPFIND':
      requestLine = `${mutation} ${target} HTTP/1.1`;
      break;
    case 'huge header':
      lines.push(`X-Big: ${'b'.repeat(64 * 1024)}`);
      break;
    case 'obsolete line folding':
      lines.push('X-Folded: first', ' X-User-Role: admin');
      break;
    case undefined:
      break;
  }
  const head = [...lines, ...length].join(eol) + eol + eol;
  // Bytes 0xFF 0xC0 0xAF: not UTF-8 at all, and an overlong '/'.
  const line = invalidTarget ? Buffer.concat([Buffer.from(`${method} ${target}`), Buffer.from([0xff, 0xc0, 0xaf]), Buffer.from(' HTTP/1.1')]) : Buffer.from(requestLine, 'utf8');
  return Buffer.concat([line, Buffer.from(eol), Buffer.from(head, 'utf8'), payload]);
}
