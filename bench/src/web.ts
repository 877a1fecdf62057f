/**
 * The web client: how much JavaScript a first visit loads (gzipped), and how long a post takes to
 * appear in another browser. Two Chromium contexts on the board of a stack of its own (HTTPS to
 * nginx, two gateways, two realtime instances): one posts through the page, the other's page
 * notes when the message shows up (a MutationObserver, the same system clock as this process).
 */
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Page } from 'playwright-core';
import { removeNamespace } from '../../stack/dist/cleanup';
import { startStack } from '../../stack/dist/stack';
import { percentile, round } from './stats';

const WEB_DIST = path.resolve(__dirname, '..', '..', 'web', 'dist');
export const FIRST_LOAD_BUDGET_KB = 100;

/** Every script index.html loads at once (its module and what it preloads), gzipped as a whole file each. */
export function firstLoadJs(): { files: number; rawKb: number; gzipKb: number } {
  const html = readFileSync(path.join(WEB_DIST, 'index.html'), 'utf8');
  const scripts = [...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="(\/assets\/[^"]+\.js)"/g)].map((match) => match[1]!);
  const bodies = scripts.map((file) => readFileSync(path.join(WEB_DIST, file)));
  const raw = bodies.reduce((sum, body) => sum + body.length, 0);
  const gzip = bodies.reduce((sum, body) => sum + gzipSync(body, { level: 9 }).length, 0);
  return { files: scripts.length, rawKb: round(raw / 1024), gzipKb: round(gzip / 1024) };
}

async function signUp(page: Page, name: string): Promise<void> {
  await page.goto('/register');
  await page.getByLabel('Email').fill(`${name}@example.com`);
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(`pw-${name}-benchmark`);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor({ timeout: 15_000 });
}

export async function runWebLatency(posts = 50): Promise<{ posts: number; p50Ms: number; p95Ms: number; maxMs: number }> {
  const namespace = `bench_${randomUUID().slice(0, 8)}`;
  const stack = await startStack({
    namespace,
    portOffset: 32_000,
    scale: { 'api-gateway': 2, 'realtime-service': 2 },
    overrides: { LOG_LEVEL: 'warn', NODE_ENV: 'test', BCRYPT_COST: '4', RATE_LIMIT_MAX: '1000000', AUTH_RATE_LIMIT_MAX: '1000' },
  });
  const spki = createHash('sha256').update(new X509Certificate(stack.certificate).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--ignore-certificate-errors-spki-list=${spki}`],
  });
  try {
    const [poster, watcher] = await Promise.all(
      [0, 1].map(async () => (await browser.newContext({ baseURL: stack.baseUrl })).newPage()),
    );
    await signUp(poster!, `${namespace}_a`);
    await signUp(watcher!, `${namespace}_b`);
    // The watcher's page notes the moment each message body appears in its feed.
    await watcher!.evaluate(() => {
      const seen: Record<string, number> = {};
      (globalThis as unknown as { __seen: Record<string, number> }).__seen = seen;
      const doc = (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document;
      const feed = doc.querySelector('[role=feed]') as { querySelectorAll(s: string): { textContent: string | null }[] };
      const Observer = (globalThis as unknown as { MutationObserver: new (cb: () => void) => { observe(n: unknown, o: object): void } }).MutationObserver;
      new Observer(() => {
        for (const body of feed.querySelectorAll('.body')) if (body.textContent && !(body.textContent in seen)) seen[body.textContent] = Date.now();
      }).observe(feed, { childList: true, subtree: true, characterData: true });
    });
    const latencies: number[] = [];
    for (let index = 0; index < posts; index += 1) {
      const body = `latency ${index} ${randomUUID()}`;
      await poster!.getByLabel(/^Message to #/).fill(body);
      const sent = Date.now();
      await poster!.getByRole('button', { name: 'Post' }).click();
      const handle = await watcher!.waitForFunction((text) => (globalThis as unknown as { __seen: Record<string, number> }).__seen[text], body, { timeout: 15_000 });
      latencies.push(Number(await handle.jsonValue()) - sent);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    return { posts, p50Ms: percentile(sorted, 50), p95Ms: percentile(sorted, 95), maxMs: sorted.at(-1)! };
  } finally {
    await browser.close();
    await stack.stop();
    await removeNamespace(stack.plan, namespace);
  }
}
