import { randomBytes } from 'node:crypto';
import { decodeJwt, forgedTokens, type Jwk } from './tokens';
import type { Transport, WireResponse } from './transport';

/** Who makes a fuzz request: nobody, or a real account of that role with live tokens. */
export const CALLERS = ['visitor', 'user', 'member', 'admin'] as const;
export type CallerName = (typeof CALLERS)[number];

export interface Account {
  id: string;
  email: string;
  username: string;
  password: string;
  accessToken: string;
  /** The refresh and CSRF cookies, as a Cookie header value. */
  cookies: string;
  csrfToken: string;
  sessionId: string;
  role: string;
  messageIds: string[];
  issuedAt: number;
}

/** Someone else: an account the fuzzer knows the ids of, but holds no credentials for. */
export interface Bystander {
  id: string;
  email: string;
  username: string;
  sessionId: string;
  messageIds: string[];
}

export interface JsonAnswer<T> {
  status: number;
  body: T;
  setCookies: string[];
}

/**
 * Everything a run knows about the stack's people: the callers (with live tokens), victims (whose
 * data nothing in the run may change), moderated users (the only ones an admin's fuzz acts on
 * with real ids), and credentials gone bad (forged, logged out, rotated).
 */
export class World {
  readonly callers: Partial<Record<CallerName, Account>> = {};
  readonly victims: Bystander[] = [];
  readonly moderated: Bystander[] = [];
  forged: { label: string; token: string }[] = [];
  /** Dead credentials of the replay account: a logged-out access token and cookies, a rotated refresh cookie. */
  replayed = { loggedOutToken: '', loggedOutCookies: '', loggedOutCsrf: '', rotatedCookies: '', rotatedCsrf: '', usedTicket: '' };
  /** Ids of every account whose credentials the fuzzer holds: what they do to themselves is allowed. */
  readonly fuzzOwned = new Set<string>();
  readonly channel = `fuzz-${randomBytes(3).toString('hex')}`;
  /** Bookkeeping requests (fixtures, renewals, tickets): not part of the fuzz counts. */
  setupRequests = 0;
  /** 5xx answers to bookkeeping requests: failures of the run like any other. */
  readonly serverErrors: string[] = [];

  constructor(
    private readonly transport: Transport,
    readonly admin: { email: string; password: string },
    private readonly memberPasscode: string,
  ) {}

  async json<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; cookies?: string; headers?: Record<string, string> } = {},
  ): Promise<JsonAnswer<T>> {
    const headers: [string, string][] = Object.entries(options.headers ?? {});
    if (options.token) headers.push(['authorization', `Bearer ${options.token}`]);
    if (options.cookies) headers.push(['cookie', options.cookies]);
    if (options.body !== undefined) headers.push(['content-type', 'application/json']);
    this.setupRequests += 1;
    const response: WireResponse = await this.transport.send({
      transport: 'client',
      method,
      target: path,
      headers,
      body: options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body)),
    });
    const text = response.body.toString('utf8');
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as T, setCookies: response.setCookies };
  }

  /** Builds the fixtures; returns when every profile and message is visible. */
  async populate(): Promise<void> {
    const jwks = await this.expect<{ keys: Jwk[] }>(200, 'GET', '/api/auth/.well-known/jwks.json');
    this.callers.admin = await this.adminAccount();
    this.callers.user = await this.newAccount('fuzzuser');
    this.callers.member = await this.newAccount('fuzzmember', true);
    for (let index = 0; index < 2; index += 1) this.victims.push(await this.bystander(`victim${index}`));
    for (let index = 0; index < 2; index += 1) this.moderated.push(await this.bystander(`moderated${index}`));
    await this.makeReplayed();
    this.forged = forgedTokens(this.callers.user.accessToken, jwks.body.keys, this.victims[0]!.id);
  }

  /** A caller's credentials again after the run ended its session (logout) or its account (deletion). */
  async renew(name: CallerName, how: 'login' | 'account'): Promise<void> {
    const current = this.callers[name];
    if (!current) return;
    if (name === 'admin') {
      this.callers.admin = await this.adminAccount();
      return;
    }
    // A request the run cannot follow (its password changed in a charset the server read
    // differently, the account deleted through another spelling of its token) leaves a login
    // that fails: a new account then.
    const again = how === 'login' ? await this.login(current.email, current.password).catch(() => undefined) : undefined;
    this.callers[name] = again ? { ...again, messageIds: current.messageIds } : await this.newAccount(`fuzz${name}`, name === 'member');
  }

  /** Access tokens live 15 minutes: a long run logs its callers in again before that. */
  async keepFresh(): Promise<void> {
    for (const name of CALLERS) {
      const account = this.callers[name];
      if (account && Date.now() - account.issuedAt > 10 * 60_000) await this.renew(name, 'login');
    }
  }

  async ticket(token: string): Promise<string> {
    return (await this.expect<{ ticket: string }>(200, 'POST', '/api/events/ticket', { token })).body.ticket;
  }

  /** The Set-Cookie answers of a refresh or login, as the next request's Cookie header and CSRF value. */
  static cookiesOf(setCookies: string[]): { cookies: string; csrfToken: string } {
    const pairs = setCookies.map((line) => line.split(';')[0]!).filter((pair) => !pair.endsWith('='));
    const csrf = pairs.find((pair) => pair.startsWith('csrf_token='));
    return { cookies: pairs.join('; '), csrfToken: csrf ? decodeURIComponent(csrf.slice('csrf_token='.length)) : '' };
  }

  /**
   * A bookkeeping request that must succeed. A 5xx is recorded (the run reports it like any
   * other) and retried for a while, so that a stack that recovers does not end the run.
   */
  private async expect<T>(status: number, method: string, path: string, options: Parameters<World['json']>[2] = {}): Promise<JsonAnswer<T>> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const response = await this.json<T>(method, path, options);
      if (response.status === status) return response;
      if (response.status < 500 || Date.now() > deadline) throw new Error(`fixture ${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
      this.serverErrors.push(`${method} ${path} answered ${response.status}: ${JSON.stringify(response.body).slice(0, 300)}`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }

  private async login(email: string, password: string): Promise<Account> {
    const response = await this.expect<{ accessToken: string; user: { id: string; username: string; role: string } }>(200, 'POST', '/api/auth/login', {
      body: { email, password },
    });
    const { cookies, csrfToken } = World.cookiesOf(response.setCookies);
    const { accessToken, user } = response.body;
    const sessionId = String(decodeJwt(accessToken).claims.sid);
    this.fuzzOwned.add(user.id);
    return { id: user.id, email, username: user.username, password, accessToken, cookies, csrfToken, sessionId, role: user.role, messageIds: [], issuedAt: Date.now() };
  }

  private async register(label: string): Promise<{ email: string; password: string; username: string; id: string }> {
    const username = `${label}_${randomBytes(4).toString('hex')}`.slice(0, 32);
    const email = `${username}@example.com`;
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const response = await this.expect<{ user: { id: string } }>(201, 'POST', '/api/auth/register', { body: { email, username, password } });
    return { email, password, username, id: response.body.user.id };
  }

  private async newAccount(label: string, member = false): Promise<Account> {
    const { email, password } = await this.register(label);
    let account = await this.login(email, password);
    await this.eventually(async () => (await this.json('GET', '/api/users/me', { token: account.accessToken })).status === 200, 'a profile');
    if (member) {
      await this.expect(200, 'POST', '/api/users/me/membership', { token: account.accessToken, body: { passcode: this.memberPasscode } });
      account = await this.eventually(async () => {
        const refreshed = await this.refresh(account);
        account = refreshed;
        return refreshed.role === 'member' ? refreshed : undefined;
      }, 'the member role in a token');
    }
    const posted = await this.expect<{ message: { id: string } }>(201, 'POST', '/api/messages', {
      token: account.accessToken,
      body: { channel: this.channel, body: `${label} was here` },
    });
    account.messageIds.push(posted.body.message.id);
    return account;
  }

  async refresh(account: Account): Promise<Account> {
    const response = await this.expect<{ accessToken: string; user: { role: string } }>(200, 'POST', '/api/auth/refresh', {
      cookies: account.cookies,
      headers: { 'x-csrf-token': account.csrfToken },
    });
    return { ...account, ...World.cookiesOf(response.setCookies), accessToken: response.body.accessToken, role: response.body.user.role, issuedAt: Date.now() };
  }

  private async adminAccount(): Promise<Account> {
    const account = await this.eventually(() => this.login(this.admin.email, this.admin.password).catch(() => undefined), 'the seeded admin');
    await this.eventually(async () => (await this.json('GET', '/api/users/me', { token: account.accessToken })).status === 200, "the admin's profile");
    return account;
  }

  private async bystander(label: string): Promise<Bystander> {
    const account = await this.newAccount(label);
    this.fuzzOwned.delete(account.id);
    const second = await this.expect<{ message: { id: string } }>(201, 'POST', '/api/messages', {
      token: account.accessToken,
      body: { channel: 'general', body: `${label}: a message nobody else may change` },
    });
    return { id: account.id, email: account.email, username: account.username, sessionId: account.sessionId, messageIds: [...account.messageIds, second.body.message.id] };
  }

  private async makeReplayed(): Promise<void> {
    const { email, password } = await this.register('fuzzreplay');
    const first = await this.login(email, password);
    await this.expect(204, 'POST', '/api/auth/logout', { token: first.accessToken });
    const second = await this.login(email, password);
    const rotated = await this.refresh(second);
    await this.eventually(async () => (await this.json('GET', '/api/users/me', { token: rotated.accessToken })).status === 200, 'a profile');
    const used = await this.ticket(rotated.accessToken);
    // Redeem the ticket once, the way a stream does; the fuzz replays it.
    await this.transport.send({ transport: 'client', method: 'GET', target: `/api/events?ticket=${encodeURIComponent(used)}`, headers: [] });
    this.replayed = {
      loggedOutToken: first.accessToken,
      loggedOutCookies: first.cookies,
      loggedOutCsrf: first.csrfToken,
      rotatedCookies: second.cookies,
      rotatedCsrf: second.csrfToken,
      usedTicket: used,
    };
  }

  private async eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`fixture: timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
