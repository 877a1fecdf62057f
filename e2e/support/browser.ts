import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { environment } from './client';
import { uniqueName } from './users';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');

/** The SPKI hash of the stack's certificate: Chromium trusts exactly that key, nothing is switched off. */
function spkiHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * Debian's Chromium, headless, with nothing in the background that could reach the network.
 * Playwright gives every launch a fresh profile directory of its own.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--ignore-certificate-errors-spki-list=${spkiHash(environment.certificate)}`,
    ],
  });
}

export interface Tab {
  context: BrowserContext;
  page: Page;
  /** What the page printed to its console and any script error: a posted script must add nothing. */
  errors: string[];
}

/** A browser context of its own (its own cookies: another device) with one page on the board. */
export async function openTab(browser: Browser): Promise<Tab> {
  const context = await browser.newContext({ baseURL: environment.baseUrl, viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { context, page, errors };
}

export interface Account {
  email: string;
  username: string;
  password: string;
  displayName: string;
}

/** Registers through the register screen; the client logs in on its own and shows the board. */
export async function signUp(page: Page, label: string): Promise<Account> {
  const username = uniqueName(label);
  const account = { email: `${username}@example.com`, username, password: `pw-${username}`, displayName: `${label} ${username.slice(-4)}` };
  await page.goto('/register');
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Username').fill(account.username);
  await page.getByLabel('Display name (optional)').fill(account.displayName);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: '#general' }).waitFor();
  return account;
}

export async function logIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: '#general' }).waitFor();
}

/** Waits until the page's live stream is open. */
export const waitLive = (page: Page) => page.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor({ timeout: 15_000 });

export async function post(page: Page, body: string): Promise<void> {
  await page.getByLabel(/^Message to #/).fill(body);
  await page.getByRole('button', { name: 'Post' }).click();
  await page.getByRole('feed').getByText(body, { exact: true }).first().waitFor();
}

/** The article of the message with exactly this body. */
export const messageWith = (page: Page, body: string) =>
  page.getByRole('feed').getByRole('article').filter({ has: page.getByText(body, { exact: true }) });

/** axe-core's serious and critical violations on the page as it is now (none expected). */
export async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/**
 * One Chromium for the test file that calls this (at its top level): launched before its tests,
 * closed after them with every tab `tab()` opened.
 */
export function browserForThisFile(): { tab: () => Promise<Tab> } {
  let browser: Browser | undefined;
  const tabs: Tab[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const opened of tabs) await opened.context.close();
    await browser?.close();
  });
  return {
    tab: async () => {
      if (!browser) throw new Error('the browser is not launched yet');
      const opened = await openTab(browser);
      tabs.push(opened);
      return opened;
    },
  };
}

/** Becomes a member with the stack's passcode, then goes back to #general and waits for it to be live. */
export async function becomeMember(opened: Tab): Promise<void> {
  await opened.page.getByRole('link', { name: 'Become a member' }).click();
  await opened.page.getByLabel('Passcode').fill(environment.memberPasscode);
  await opened.page.getByRole('button', { name: 'Become a member' }).click();
  // The new role shows without logging out: the client took a token that carries it.
  await opened.page.getByTestId('role').filter({ hasText: 'member' }).waitFor();
  await opened.page.getByRole('link', { name: '#general' }).click();
  await waitLive(opened.page);
}
