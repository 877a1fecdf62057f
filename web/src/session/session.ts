import { ApiError, TOKEN_REFUSED } from '../api/errors';
import type { Role, TokenIssued, User } from '../api/types';

export type SessionState =
  | { status: 'restoring' }
  | { status: 'signedIn'; user: User }
  | { status: 'signedOut'; reason?: 'logged_out' | 'ended' };

interface Token {
  value: string;
  expiresAt: number;
  user: User;
}

/** What tabs of this browser tell each other (same origin, so the same refresh cookie: one session). */
type TabMessage = { type: 'token'; token: Token } | { type: 'signed-out'; reason: 'logged_out' | 'ended' };

export interface SessionDeps {
  fetch: typeof fetch;
  /** Web Locks: one refresh at a time across the tabs. Absent: one at a time in this tab only. */
  locks?: Pick<LockManager, 'request'>;
  /** Tells the other tabs of a new token or the end of the session; absent in a lone tab. */
  channel?: BroadcastChannel;
  cookies: () => string;
  now: () => number;
}

const REFRESH_LOCK = 'board-session-refresh';
/** Refreshes after a role change before giving up on seeing it (about 8 s in all). */
const RELOAD_ATTEMPTS = 8;

/** Outcome of a refresh: a token, the server's "no" (log in again), or no answer (try later). */
type RefreshOutcome = 'ok' | 'refused' | 'failed';

/**
 * The session of this browser tab. The access token lives in this object only (never in
 * storage); a page load restores it from the refresh cookie, a timer renews it before it
 * expires, and a request refused for its token is retried once after a refresh. Refreshes are
 * serialised across concurrent requests (one promise) and across tabs (a Web Lock), so the
 * rotating refresh cookie is never presented twice at once.
 */
export class SessionManager {
  private token: Token | undefined;
  private state: SessionState = { status: 'restoring' };
  private readonly listeners = new Set<() => void>();
  private inFlight: Promise<RefreshOutcome> | undefined;
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly deps: SessionDeps) {
    deps.channel?.addEventListener('message', (event: MessageEvent<TabMessage>) => this.onTabMessage(event.data));
  }

  getState = (): SessionState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get accessToken(): string | undefined {
    return this.token?.value;
  }

  /** On page load: the refresh cookie, if any, brings the session back. */
  async restore(): Promise<void> {
    const outcome = await this.refresh();
    if (outcome !== 'ok') this.end(undefined, false);
  }

  async login(email: string, password: string): Promise<void> {
    const response = await this.deps.fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
      credentials: 'same-origin',
    });
    if (!response.ok) throw await ApiError.from(response);
    this.adopt((await response.json()) as TokenIssued, true);
  }

  /** Ends this session on the server too; the tab is signed out whatever the server says. */
  async logout(everywhere = false): Promise<void> {
    try {
      // An expired token is renewed first: the server must end the session, not just this tab.
      await this.request(everywhere ? '/api/auth/logout-all' : '/api/auth/logout', { method: 'POST' });
    } finally {
      this.end('logged_out', true);
    }
  }

  /** The server ended this session (revoked, deleted): back to the login screen, in every tab. */
  ended(): void {
    this.end('ended', true);
  }

  /**
   * After a change to the account: a token that carries it. The auth service learns a new role
   * from an event, a moment after the user service made it; given `role`, the refresh is tried
   * again (with backoff, a few seconds at most) until the token carries that role.
   */
  async reload(role?: Role): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      const outcome = await this.refresh(true);
      if (outcome === 'refused') {
        this.ended();
        return;
      }
      if (outcome === 'failed') throw new ApiError(503, 'REFRESH_FAILED', 'Could not renew the session; try again.');
      if (role === undefined || this.token?.user.role === role || attempt >= RELOAD_ATTEMPTS) return;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** Math.min(attempt, 4)));
    }
  }

  /**
   * A request to the API with the access token. Refused for its token, it is retried once after
   * a refresh; refused again (or the refresh refused), the session is over.
   */
  async request(path: string, init: RequestInit = {}, retry = true): Promise<Response> {
    const seen = this.generation;
    const hadToken = this.token !== undefined;
    const response = await this.send(path, init);
    // A visitor's 401 (public reads off) is the answer itself: there is no session to end.
    if (response.status !== 401 || !hadToken) return response;
    const error = await ApiError.from(response.clone());
    if (!TOKEN_REFUSED.has(error.code) || !retry) return response;
    // Another request may have renewed the token while this one was out: use that one.
    const outcome = this.generation !== seen && this.token ? 'ok' : await this.refresh();
    if (outcome === 'refused') {
      this.ended();
      return response;
    }
    if (outcome === 'failed') return response;
    const again = await this.send(path, init);
    if (again.status === 401 && TOKEN_REFUSED.has((await ApiError.from(again.clone())).code)) this.ended();
    return again;
  }

  private send(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.token) headers.set('authorization', `Bearer ${this.token.value}`);
    return this.deps.fetch(path, { ...init, headers, credentials: 'same-origin' });
  }

  /** One refresh at a time: concurrent callers share it; other tabs wait for the lock. */
  refresh(force = false): Promise<RefreshOutcome> {
    if (!this.inFlight) {
      const seen = this.generation;
      const run = async (): Promise<RefreshOutcome> => {
        // A token another tab fetched while this one waited for the lock is as good as a new one.
        if (!force && this.generation !== seen && this.token && this.token.expiresAt > this.deps.now()) return 'ok';
        return this.refreshNow();
      };
      const { locks } = this.deps;
      const locked = locks ? (async (): Promise<RefreshOutcome> => await locks.request(REFRESH_LOCK, run))() : run();
      const inFlight = locked.finally(() => {
        this.inFlight = undefined;
      });
      this.inFlight = inFlight;
      return inFlight;
    }
    return this.inFlight;
  }

  private async refreshNow(): Promise<RefreshOutcome> {
    const csrf = /(?:^|;\s*)csrf_token=([^;]*)/.exec(this.deps.cookies())?.[1];
    if (!csrf) return 'refused';
    let response: Response;
    try {
      response = await this.deps.fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { 'x-csrf-token': decodeURIComponent(csrf) },
        credentials: 'same-origin',
      });
    } catch {
      return 'failed';
    }
    if (response.status === 401 || response.status === 403) return 'refused';
    if (!response.ok) return 'failed';
    this.adopt((await response.json()) as TokenIssued, true);
    return 'ok';
  }

  private adopt(issued: TokenIssued, tellTabs: boolean): void {
    this.take({ value: issued.accessToken, expiresAt: this.deps.now() + issued.expiresIn * 1_000, user: issued.user });
    if (tellTabs) this.post({ type: 'token', token: this.token as Token });
  }

  private take(token: Token): void {
    this.token = token;
    this.generation += 1;
    this.schedule(token);
    this.setState({ status: 'signedIn', user: token.user });
  }

  /** Renews ahead of expiry: a minute before, or halfway for a short-lived token. */
  private schedule(token: Token): void {
    clearTimeout(this.timer);
    const lifetime = token.expiresAt - this.deps.now();
    const delay = Math.max(lifetime / 2, lifetime - 60_000);
    this.timer = setTimeout(() => {
      void this.refresh().then((outcome) => {
        if (outcome === 'refused') this.ended();
      });
    }, delay);
  }

  private end(reason: 'logged_out' | 'ended' | undefined, tellTabs: boolean): void {
    clearTimeout(this.timer);
    const wasSignedIn = this.token !== undefined;
    this.token = undefined;
    this.generation += 1;
    this.setState(reason ? { status: 'signedOut', reason } : { status: 'signedOut' });
    if (tellTabs && wasSignedIn) this.post({ type: 'signed-out', reason: reason ?? 'ended' });
  }

  private onTabMessage(message: TabMessage): void {
    if (message.type === 'token') this.take(message.token);
    else if (this.token) this.end(message.reason, false);
  }

  private post(message: TabMessage): void {
    this.deps.channel?.postMessage(message);
  }

  private setState(state: SessionState): void {
    this.state = state;
    for (const listener of this.listeners) listener();
  }

  /** Stops the renewal timer (tests, and a page being torn down). */
  dispose(): void {
    clearTimeout(this.timer);
  }
}

/** The browser's own dependencies. */
export function browserSession(): SessionManager {
  return new SessionManager({
    fetch: (input, init) => window.fetch(input, init),
    locks: 'locks' in navigator ? navigator.locks : undefined,
    channel: 'BroadcastChannel' in window ? new BroadcastChannel('board-session') : undefined,
    cookies: () => document.cookie,
    now: () => Date.now(),
  });
}
