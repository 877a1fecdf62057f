import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { freePort, waitFor } from '@board/service-kit/testing';
import { ROOT } from '../src/stack';
import { startProcess, waitUntilReady, type Started } from './support/processes';

const ENTRYPOINT = path.join(ROOT, 'alertmanager', 'entrypoint.sh');
const ALERTMANAGER = 'prometheus-alertmanager';

interface RenderedConfig {
  route: { receiver: string; routes: { matchers: string[] }[] };
  inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal?: string[] }[];
  receivers: { name: string; webhook_configs?: { url: string }[]; email_configs?: Record<string, string>[] }[];
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'alertmanager-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the container's entrypoint as the image would, with `command` in place of the server. */
function entrypoint(env: Record<string, string>, command: string[] = ['true']) {
  const config = path.join(dir, `alertmanager-${Math.random().toString(36).slice(2)}.yml`);
  const result = spawnSync('sh', [ENTRYPOINT, ...command], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ALERTMANAGER_CONFIG: config, ...env },
  });
  return { ...result, config };
}

const checkConfig = (file: string) => spawnSync('amtool', ['check-config', file], { encoding: 'utf8' });
const read = (file: string) => parse(readFileSync(file, 'utf8')) as RenderedConfig;

describe('alertmanager/entrypoint.sh', () => {
  it('writes a configuration amtool accepts, with receivers that hold any character but a line break', () => {
    const env = {
      ALERT_WEBHOOK_URL: 'https://hooks.example.com/alert?token=a"b\\c$d#e: f',
      ALERT_EMAIL_TO: 'oncall@example.com',
      ALERT_EMAIL_FROM: 'alertmanager@example.com',
      ALERT_SMTP_SMARTHOST: 'smtp.example.com:587',
      ALERT_SMTP_USERNAME: 'alerts',
      ALERT_SMTP_PASSWORD: 'p"w\\/+=#@:?\'',
    };
    const rendered = entrypoint(env);
    expect(rendered.status).toBe(0);
    const check = checkConfig(rendered.config);
    expect(check.stdout + check.stderr).toMatch(/SUCCESS/);
    expect(check.status).toBe(0);
    const [oncall] = read(rendered.config).receivers;
    expect(oncall!.webhook_configs).toEqual([{ url: env.ALERT_WEBHOOK_URL, send_resolved: true }]);
    expect(oncall!.email_configs).toEqual([
      {
        to: env.ALERT_EMAIL_TO,
        from: env.ALERT_EMAIL_FROM,
        smarthost: env.ALERT_SMTP_SMARTHOST,
        auth_username: env.ALERT_SMTP_USERNAME,
        auth_password: env.ALERT_SMTP_PASSWORD,
        send_resolved: true,
      },
    ]);
  });

  it('runs with no receiver in development, saying that alerts reach nobody', () => {
    const rendered = entrypoint({});
    expect(rendered.status).toBe(0);
    expect(rendered.stderr).toMatch(/alerts reach nobody/);
    expect(checkConfig(rendered.config).status).toBe(0);
    expect(read(rendered.config).receivers).toEqual([{ name: 'oncall' }]);
  });

  it.each([
    [{ ALERT_RECEIVER_REQUIRED: 'true' }, /set ALERT_WEBHOOK_URL or ALERT_EMAIL_TO/],
    [{ ALERT_EMAIL_TO: 'oncall@example.com', ALERT_EMAIL_FROM: 'am@example.com' }, /ALERT_SMTP_SMARTHOST is required/],
    [{ ALERT_WEBHOOK_URL: 'https://a.example.com/\nroute: {}' }, /line break/],
  ])('refuses to start with %j', (env, message) => {
    const rendered = entrypoint(env, ['echo', 'started']);
    expect(rendered.status).toBe(64);
    expect(rendered.stderr).toMatch(message);
    expect(rendered.stdout).not.toContain('started');
  });

  it('configures a service\'s ServiceDown or ServiceGone to silence that service\'s SlowRequests and HighErrorRate', () => {
    const { inhibit_rules: rules } = read(entrypoint({}).config);
    expect(rules).toContainEqual({
      source_matchers: ['alertname=~"ServiceDown|ServiceGone"'],
      target_matchers: ['alertname=~"SlowRequests|HighErrorRate"'],
      equal: ['service'],
    });
  });
});

interface Notification {
  status: string;
  alerts: { status: string; labels: Record<string, string> }[];
}

describe('a real Alertmanager with the rendered configuration', () => {
  const notifications: Notification[] = [];
  let receiver: http.Server;
  let alertmanager: Started;
  let api: string;

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (req.url === '/hook') notifications.push(JSON.parse(body) as Notification);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api/v2`;
    const config = path.join(dir, 'server.yml');
    // The entrypoint itself starts the server, as in the container.
    alertmanager = startProcess('sh', [
      ENTRYPOINT,
      ALERTMANAGER,
      `--config.file=${config}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ], { PATH: process.env.PATH, ALERTMANAGER_CONFIG: config, ALERT_WEBHOOK_URL: hookUrl });
    await waitUntilReady(`http://127.0.0.1:${port}/-/ready`, alertmanager);
  });

  afterAll(async () => {
    await alertmanager?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  const post = async (alerts: { labels: Record<string, string> }[]) => {
    const response = await fetch(`${api}/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts.map((alert) => ({ ...alert, annotations: { summary: 'from the test' }, startsAt: new Date().toISOString() }))),
    });
    expect(response.status).toBe(200);
  };

  it('delivers a critical alert to the webhook from the environment', async () => {
    await post([{ labels: { alertname: 'ServiceDown', severity: 'critical', service: 'auth-service', instance: '10.0.0.3:3001' } }]);
    const delivered = await waitFor(() => notifications.find((notification) => notification.alerts.some((alert) => alert.labels.alertname === 'ServiceDown')), {
      what: `the webhook to receive ServiceDown\n${alertmanager.output()}`,
      timeoutMs: 25_000,
      intervalMs: 200,
    });
    expect(delivered.status).toBe('firing');
    expect(delivered.alerts[0]!.labels).toMatchObject({ service: 'auth-service', severity: 'critical' });
  }, 30_000);

  it('inhibits SlowRequests of the service that is down and not of another', async () => {
    await post([
      { labels: { alertname: 'ServiceDown', severity: 'critical', service: 'message-service', instance: '10.0.0.5:3003' } },
      { labels: { alertname: 'SlowRequests', severity: 'warning', service: 'message-service' } },
      { labels: { alertname: 'SlowRequests', severity: 'warning', service: 'user-service' } },
    ]);
    const slow = await waitFor(
      async () => {
        const alerts = (await (await fetch(`${api}/alerts?filter=alertname%3D%22SlowRequests%22`)).json()) as {
          labels: Record<string, string>;
          status: { state: string; inhibitedBy: string[] };
        }[];
        return alerts.length === 2 ? Object.fromEntries(alerts.map((alert) => [alert.labels.service!, alert.status])) : undefined;
      },
      { what: 'both SlowRequests alerts' },
    );
    expect(slow['message-service']).toMatchObject({ state: 'suppressed', inhibitedBy: [expect.any(String)] });
    expect(slow['user-service']).toMatchObject({ state: 'active', inhibitedBy: [] });
  });
});
