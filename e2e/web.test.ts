import { api, call, environment } from './support/client';
import { becomeMember, browserForThisFile, logIn, messageWith, post, screenshot, seriousViolations, signUp, waitLive } from './support/browser';
import { login, register, uniqueName } from './support/users';

/*
 * The web client in a real browser (Debian's Chromium through playwright-core), served by nginx
 * over HTTPS with the rest of the stack behind it. Each context is a device of its own.
 */
jest.setTimeout(120_000);

const { tab } = browserForThisFile();

describe('the web client', () => {
  it('is served by nginx: the client at /, hashed assets immutable, index.html no-cache, a strict CSP, no fallback for /api/', async () => {
    const index = await api('/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await index.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await api(asset!);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('application/javascript');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    for (const route of ['/login', '/c/random', '/sessions', '/bookmarks']) expect((await api(route)).headers.get('content-type')).toMatch(/^text\/html/);
    for (const path of ['/api/nope', '/api/', '/assets/missing.js', '/x.html']) {
      const response = await api(path);
      expect([path, response.status, response.headers.get('content-type')]).toEqual([path, 404, expect.stringMatching(/^application\/json/)]);
    }
  });

  it('registers, keeps the session over a reload (token in memory only), and shows a post live in another browser with authors as the API decides and likes counted live', async () => {
    const user = await tab();
    const member = await tab();
    const writer = await signUp(user.page, 'webuser');
    const reader = await signUp(member.page, 'webmember');
    // Nothing of the session is in storage: the access token lives in the page's memory only.
    const stored = () => {
      const { localStorage, sessionStorage } = globalThis as unknown as Record<'localStorage' | 'sessionStorage', { length: number }>;
      return localStorage.length + sessionStorage.length;
    };
    expect(await user.page.evaluate(stored)).toBe(0);
    await user.page.reload();
    await user.page.getByRole('heading', { name: '#general' }).waitFor();
    await waitLive(user.page);
    await becomeMember(member);

    const fromUser = `hello from ${writer.username}`;
    await post(user.page, fromUser);
    // The member sees it live, with its author.
    const seen = messageWith(member.page, fromUser);
    await seen.waitFor();
    await seen.getByText(writer.displayName).waitFor();

    // The member likes it; the user's page shows the count live (users see counts, not a button).
    await seen.getByRole('button', { name: 'Like · 0' }).click();
    await seen.getByRole('button', { name: 'Liked · 1' }).waitFor();
    await messageWith(user.page, fromUser).getByText('1 like', { exact: true }).waitFor();

    const fromMember = `hello from ${reader.username}`;
    await post(member.page, fromMember);
    const hidden = messageWith(user.page, fromMember);
    await hidden.waitFor();
    expect(await hidden.getByText('Author hidden').count()).toBe(1);
    expect(await hidden.getByText(reader.displayName).count()).toBe(0);
    await screenshot(member.page, 'board-member');
    await screenshot(user.page, 'board-user');
  });

  it('refreshes one tab at a time: tabs of one browser that load together never present the refresh cookie at once, and share the token', async () => {
    const first = await tab();
    await signUp(first.page, 'tabs');
    const spans: { start: number; end: number; status: number }[] = [];
    first.context.on('request', (request) => {
      if (!request.url().endsWith('/api/auth/refresh')) return;
      const start = Date.now();
      void request.response().then(async (response) => {
        await response?.finished();
        spans.push({ start, end: Date.now(), status: response?.status() ?? 0 });
      });
    });
    const pages = [first.page, ...(await Promise.all([1, 2].map(() => first.context.newPage())))];
    // Three tabs restore the session at the same moment (a reload and two new ones).
    await Promise.all(pages.map((page, index) => (index === 0 ? page.reload() : page.goto('/'))));
    // Every tab has a session that works: its stream opened with a ticket its token bought.
    for (const page of pages) await waitLive(page);
    await new Promise((r) => setTimeout(r, 1_000));
    // A tab that waited for the lock while another refreshed takes the token that tab announced,
    // so three tabs refresh at most three times, and usually once.
    expect(spans.length).toBeGreaterThanOrEqual(1);
    expect(spans.length).toBeLessThanOrEqual(3);
    expect(spans.every((span) => span.status === 200)).toBe(true);
    const ordered = [...spans].sort((a, b) => a.start - b.start);
    // The Web Lock: each refresh starts after the one before it has its answer.
    for (let index = 1; index < ordered.length; index += 1) expect(ordered[index]!.start).toBeGreaterThanOrEqual(ordered[index - 1]!.end - 5);
    for (const page of pages.slice(1)) await page.close();
  });

  it('never runs what a message says: posted <img onerror> and <script> stay text, in the poster\'s page and live in another', async () => {
    const poster = await tab();
    const watcher = await tab();
    await signUp(poster.page, 'xsspost');
    await signUp(watcher.page, 'xsswatch');
    await waitLive(watcher.page);
    const img = `<img src=x onerror="document.title='pwned';window.__pwned=1">`;
    const script = `<script>document.title='pwned';window.__pwned=2</script>`;
    await post(poster.page, img);
    await post(poster.page, script);
    for (const page of [poster.page, watcher.page]) {
      await messageWith(page, script).waitFor();
      expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.title()).toBe('Message board');
      expect(await page.getByRole('feed').locator('img, script').count()).toBe(0);
    }
  });

  it('ends a device logged out from another on its next action', async () => {
    const first = await tab();
    const second = await tab();
    const account = await signUp(first.page, 'devices');
    await logIn(second.page, account.email, account.password);
    await second.page.getByRole('link', { name: 'Sessions' }).click();
    const other = second.page.getByRole('row').filter({ hasNot: second.page.getByText('(this device)') }).filter({ has: second.page.getByRole('button') });
    await other.getByRole('button', { name: 'Log out this device' }).click();
    await other.getByRole('button', { name: /^Log out / }).click();
    await second.page.getByRole('row').filter({ has: second.page.getByRole('button', { name: 'Log out this device' }) }).waitFor({ state: 'detached' });
    await screenshot(second.page, 'sessions');
    // The first device's next action finds its session over and lands on the login screen.
    await first.page.getByLabel(/^Message to #/).fill('after the logout');
    await first.page.getByRole('button', { name: 'Post' }).click();
    await first.page.getByRole('heading', { name: 'Log in' }).waitFor();
    await first.page.getByText('Your session has ended').waitFor();
  });

  it('catches up without a reload after every realtime-service replica restarted mid-session, with no duplicate', async () => {
    const watcher = await tab();
    await signUp(watcher.page, 'restart');
    await waitLive(watcher.page);
    const account = await register('restartpost');
    const poster = await login(account.email, account.password);
    const send = async (body: string) =>
      expect((await call('POST', '/api/messages', { token: poster.accessToken, body: { channel: 'general', body } })).status).toBe(201);
    const before = `before the restart ${uniqueName('m')}`;
    await send(before);
    await messageWith(watcher.page, before).waitFor();
    const during = `while realtime was down ${uniqueName('m')}`;

    const replicas = Object.keys(environment.serviceUrls).filter((name) => /^realtime-service(-\d+)?$/.test(name));
    expect(replicas.length).toBeGreaterThan(0);
    const control = (action: string, name: string) => fetch(`${environment.controlUrl}/${action}/${name}`, { method: 'POST' });
    try {
      for (const name of replicas) expect((await control('stop', name)).status).toBe(204);
      // Posted while no realtime instance runs: the event waits in RabbitMQ for the restarted ones.
      await send(during);
    } finally {
      // Whatever happened, the files after this one meet the whole stack.
      for (const name of replicas) await control('restart', name);
    }
    await messageWith(watcher.page, during).waitFor({ timeout: 60_000 });
    await waitLive(watcher.page);
    const after = `after the restart ${uniqueName('m')}`;
    await send(after);
    await messageWith(watcher.page, after).waitFor();
    for (const body of [before, during, after]) expect(await messageWith(watcher.page, body).count()).toBe(1);
  });

  it("resumes through the browser's own EventSource reconnect (the resume cookie, no new ticket) when the server ends a stream", async () => {
    const member = await tab();
    const account = await signUp(member.page, 'native');
    await becomeMember(member);
    const { id } = await login(account.email, account.password);
    const poster = await register('nativeposter');
    const posterSession = await login(poster.email, poster.password);
    const send = async (body: string) =>
      expect((await call('POST', '/api/messages', { token: posterSession.accessToken, body: { channel: 'general', body } })).status).toBe(201);
    const seen = `seen before ${uniqueName('m')}`;
    await send(seen);
    await messageWith(member.page, seen).getByText(poster.username, { exact: false }).waitFor();

    const tickets: string[] = [];
    const reconnects: { headers: Promise<Record<string, string>>; status: Promise<number | undefined> }[] = [];
    member.page.on('request', (request) => {
      if (request.url().includes('/api/events/ticket')) tickets.push(request.url());
      else if (request.url().includes('/api/events?')) {
        reconnects.push({ headers: request.allHeaders(), status: request.response().then((response) => response?.status()) });
      }
    });
    // A demotion ends the member's stream at once (role_lowered); the browser reconnects by itself.
    const admin = await login(environment.admin.email, environment.admin.password);
    expect((await call('PATCH', `/api/users/${id}/role`, { token: admin.accessToken, body: { role: 'user' } })).status).toBe(200);
    await member.page.getByTestId('role').filter({ hasText: 'user' }).waitFor({ timeout: 30_000 });
    for (let waited = 0; reconnects.length === 0 && waited < 20_000; waited += 200) await new Promise((r) => setTimeout(r, 200));
    expect(reconnects.length).toBeGreaterThan(0);
    expect(await reconnects[0]!.status).toBe(200);
    // The same URL (its ticket spent), with the id of the last event seen and the resume cookie.
    const headers = await reconnects[0]!.headers;
    expect(headers['last-event-id']).toMatch(/^\d+-\d+$/);
    expect(headers.cookie).toMatch(/(?:^|; )sse_resume=[A-Za-z0-9_-]{43}(?:;|$)/);
    await waitLive(member.page);

    const after = `after the demotion ${uniqueName('m')}`;
    await send(after);
    const shown = messageWith(member.page, after);
    await shown.waitFor();
    await shown.getByText('Author hidden').waitFor();
    // The reconnect was the browser's own, on the resume cookie: the client asked for no ticket.
    expect(tickets).toEqual([]);
  });

  it('removes the messages of a user an admin deletes from the other page, live', async () => {
    const admin = await tab();
    const watcher = await tab();
    await logIn(admin.page, environment.admin.email, environment.admin.password);
    await signUp(watcher.page, 'deleted');
    await waitLive(watcher.page);
    const doomed = await register('doomed');
    const session = await login(doomed.email, doomed.password);
    const body = `soon gone ${uniqueName('m')}`;
    expect((await call('POST', '/api/messages', { token: session.accessToken, body: { channel: 'general', body } })).status).toBe(201);
    await messageWith(watcher.page, body).waitFor();

    await admin.page.getByRole('link', { name: 'Admin' }).click();
    const row = admin.page.getByRole('row').filter({ hasText: `@${doomed.username}` });
    await row.getByRole('button', { name: `Delete @${doomed.username}` }).click();
    await row.getByRole('button', { name: `Delete @${doomed.username} and their messages` }).click();
    await row.waitFor({ state: 'detached' });
    await screenshot(admin.page, 'admin');
    await messageWith(watcher.page, body).waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('works from the keyboard alone: the skip link, posting with Ctrl+Enter, deleting with two presses', async () => {
    const keys = await tab();
    await signUp(keys.page, 'keys');
    await waitLive(keys.page);
    const page = keys.page;
    const focused = () => page.evaluate(() => {
      const active = (globalThis as unknown as { document: { activeElement: { id?: string; textContent?: string | null; tagName: string } | null } }).document.activeElement;
      return active ? `${active.tagName.toLowerCase()}#${active.id ?? ''}:${(active.textContent ?? '').trim()}` : '';
    });
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('a#:Skip to content');
    // Tab until the composer has focus (a bounded walk through the page's controls).
    for (let step = 0; step < 20 && !(await focused()).startsWith('textarea#composer'); step += 1) await page.keyboard.press('Tab');
    expect(await focused()).toMatch(/^textarea#composer/);
    const body = `typed ${uniqueName('k')}`;
    await page.keyboard.type(body);
    await page.keyboard.press('Control+Enter');
    const mine = messageWith(page, body);
    await mine.waitFor();
    await mine.getByRole('button', { name: 'Delete' }).focus();
    await page.keyboard.press('Enter');
    // The confirmation takes the focus; Enter confirms.
    expect(await focused()).toMatch(/^button#:Delete this message/);
    await page.keyboard.press('Enter');
    await mine.waitFor({ state: 'detached' });
  });

  it('has no serious or critical accessibility violation on any screen (axe-core)', async () => {
    const visitor = await tab();
    const found: Record<string, string[]> = {};
    await visitor.page.goto('/login');
    await visitor.page.getByRole('heading', { name: 'Log in' }).waitFor();
    found.login = await seriousViolations(visitor.page);
    await screenshot(visitor.page, 'login');
    await visitor.page.goto('/register');
    await visitor.page.getByRole('heading', { name: 'Register' }).waitFor();
    found.register = await seriousViolations(visitor.page);
    await signUp(visitor.page, 'axe');
    await post(visitor.page, 'checking the board');
    found.board = await seriousViolations(visitor.page);
    for (const [link, heading, name] of [
      ['Become a member', 'Membership', 'membership'],
      ['Sessions', 'Sessions', 'sessions'],
      ['Profile', 'Profile', 'profile'],
    ] as const) {
      await visitor.page.getByRole('link', { name: link }).click();
      await visitor.page.getByRole('heading', { name: heading, exact: true }).waitFor();
      found[name] = await seriousViolations(visitor.page);
    }
    await screenshot(visitor.page, 'profile');
    const admin = await tab();
    await logIn(admin.page, environment.admin.email, environment.admin.password);
    await admin.page.getByRole('link', { name: 'Admin' }).click();
    await admin.page.getByRole('heading', { name: 'Users' }).waitFor();
    found.admin = await seriousViolations(admin.page);
    expect(found).toEqual({ login: [], register: [], board: [], membership: [], sessions: [], profile: [], admin: [] });
  });
});
