import sharp from 'sharp';
import { call } from './support/client';
import { becomeMember, browserForThisFile, messageWith, post, screenshot, seriousViolations, signUp, waitLive } from './support/browser';
import { login, register, uniqueName } from './support/users';

/*
 * The client's visitor view and bookmarks in a real browser (Debian's Chromium through
 * playwright-core), served by nginx over HTTPS with the whole stack behind it.
 */
jest.setTimeout(120_000);

const { tab } = browserForThisFile();

describe('the web client: visitors and bookmarks', () => {
  it('shows an avatar uploaded on the profile screen beside its author for a member, and not for a user', async () => {
    const author = await tab();
    await signUp(author.page, 'pictured');
    await author.page.getByRole('link', { name: 'Profile' }).click();
    await author.page.getByRole('heading', { name: 'Avatar' }).waitFor();
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c33' } }).png().toBuffer();
    await author.page.getByLabel(/Upload an avatar/).setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
    await author.page.getByRole('status').filter({ hasText: 'Avatar saved.' }).waitFor();
    await author.page.getByAltText('Your avatar').waitFor();
    await author.page.getByRole('link', { name: '#general' }).click();
    await waitLive(author.page);
    const body = `with a face ${uniqueName('m')}`;
    await post(author.page, body);

    const member = await tab();
    await signUp(member.page, 'looker');
    await becomeMember(member);
    const seen = messageWith(member.page, body);
    await seen.waitFor();
    await seen.locator('img.avatar').waitFor();
    expect(await seen.locator('img.avatar').getAttribute('src')).toMatch(/^blob:/);

    const user = await tab();
    await signUp(user.page, 'plain');
    const unseen = messageWith(user.page, body);
    await unseen.waitFor();
    await unseen.getByText('Author hidden').waitFor();
    expect(await unseen.locator('img').count()).toBe(0);
  });

  it('shows a visitor (no session) the board live and read-only, without authors, with a call to log in', async () => {
    const visitor = await tab();
    const streams: string[] = [];
    visitor.page.on('request', (request) => {
      if (request.url().includes('/api/events')) streams.push(request.url());
    });
    await visitor.page.goto('/');
    await visitor.page.getByRole('heading', { name: '#general' }).waitFor();
    await waitLive(visitor.page);
    expect(await visitor.page.getByLabel(/^Message to #/).count()).toBe(0);
    await visitor.page.getByRole('banner').getByRole('link', { name: 'Register' }).waitFor();

    const account = await register('visited');
    const session = await login(account.email, account.password);
    const body = `for visitors ${uniqueName('m')}`;
    expect((await call('POST', '/api/messages', { token: session.accessToken, body: { channel: 'general', body } })).status).toBe(201);
    const shown = messageWith(visitor.page, body);
    await shown.waitFor();
    await shown.getByText('Author hidden').waitFor();
    expect(await shown.getByText(account.username, { exact: false }).count()).toBe(0);
    expect(await shown.getByRole('button').count()).toBe(0);
    // Its stream bought no ticket: the visitor's view comes without one.
    expect(streams.some((url) => url.includes('/api/events/ticket'))).toBe(false);
    expect(streams.some((url) => /\/api\/events\?/.test(url) && !url.includes('ticket='))).toBe(true);
    expect(await seriousViolations(visitor.page)).toEqual([]);
    await screenshot(visitor.page, 'board-visitor');

    await visitor.page.getByRole('banner').getByRole('link', { name: 'Log in' }).click();
    await visitor.page.getByRole('heading', { name: 'Log in' }).waitFor();
  });

  it('keeps a member\'s bookmark over a reload on the Bookmarks screen, and drops it when the message is deleted', async () => {
    const member = await tab();
    await signUp(member.page, 'bookmarker');
    await becomeMember(member);
    const body = `worth keeping ${uniqueName('m')}`;
    await post(member.page, body);
    const onBoard = messageWith(member.page, body);
    await onBoard.getByRole('button', { name: 'Bookmark', exact: true }).click();
    await onBoard.getByRole('button', { name: 'Bookmarked' }).waitFor();

    await member.page.reload();
    await member.page.getByRole('link', { name: 'Bookmarks' }).click();
    await member.page.getByRole('heading', { name: 'Bookmarks' }).waitFor();
    const kept = messageWith(member.page, body);
    await kept.waitFor();
    expect(await kept.getByRole('button', { name: 'Bookmarked' }).getAttribute('aria-pressed')).toBe('true');
    expect(await seriousViolations(member.page)).toEqual([]);
    await screenshot(member.page, 'bookmarks');

    // Deleted on the board (its channel one click away), it is gone from the Bookmarks screen, and stays gone after a reload.
    await kept.getByRole('link', { name: '#general' }).click();
    await member.page.getByRole('heading', { name: '#general' }).waitFor();
    const again = messageWith(member.page, body);
    await again.getByRole('button', { name: 'Delete' }).click();
    await again.getByRole('button', { name: 'Delete this message' }).click();
    await again.waitFor({ state: 'detached' });
    await member.page.getByRole('link', { name: 'Bookmarks' }).click();
    await member.page.getByRole('heading', { name: 'Bookmarks' }).waitFor();
    await member.page.getByText('No bookmarks yet.', { exact: false }).waitFor();
    await member.page.reload();
    await member.page.getByRole('heading', { name: 'Bookmarks' }).waitFor();
    await member.page.getByText('No bookmarks yet.', { exact: false }).waitFor();
    expect(await messageWith(member.page, body).count()).toBe(0);
  });
});
