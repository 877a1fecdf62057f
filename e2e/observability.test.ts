import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { environment } from './support/client';
import { newMember } from './support/users';
import { Stream } from './support/stream';

const ROOT = path.resolve(__dirname, '..');
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset']);

/** The metric names a PromQL expression reads (functions, labels, keywords and ranges removed). */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)]
    .filter((match) => !match[2] && !KEYWORDS.has(match[1]!) && !/^\d/.test(match[1]!))
    .map((match) => match[1]!);
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'grafana/dashboards/overview.json'), 'utf8')) as {
    panels: { targets?: { expr: string }[] }[];
  };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

function alertExpressions(): string[] {
  const rules = parse(readFileSync(path.join(ROOT, 'prometheus/rules/alerts.yml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
}

/** Every series family a service exposes, with histogram and summary suffixes. */
function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>(['up']);
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

describe('what Prometheus and Grafana read', () => {
  const expositions = new Map<string, string>();

  beforeAll(async () => {
    // Some traffic first, so that every service has handled requests, events and a stream.
    const member = await newMember('observer');
    const stream = await Stream.open(member.accessToken, 'general');
    stream.close();
    for (const [service, url] of Object.entries(environment.serviceUrls)) {
      expositions.set(service, await (await fetch(`${url}/metrics`)).text());
    }
  });

  it('parses the query language the way the check below relies on', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{a="b"}[5m]))) > 1')).toEqual([
      'http_request_duration_seconds_bucket',
    ]);
    expect(metricNames('max by (upstream) (circuit_breaker_state) == 2')).toEqual(['circuit_breaker_state']);
  });

  it('exposes valid metrics on every service (promtool check metrics)', () => {
    for (const [service, text] of expositions) {
      const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      // promtool's lint also flags style (e.g. counters without _total from libraries); only errors fail.
      expect({ service, status: result.status, errors: result.stderr.split('\n').filter((line) => /error/i.test(line)) }).toEqual({
        service,
        status: result.status === 3 ? 3 : 0,
        errors: [],
      });
    }
  });

  it('labels HTTP latency by route pattern on every service', () => {
    for (const [service, text] of expositions) {
      expect({ service, has: text.includes('# TYPE http_request_duration_seconds histogram') }).toEqual({ service, has: true });
      expect(text).not.toMatch(/route="\/api\/[^"]*[0-9a-f]{8}-[0-9a-f]{4}/);
    }
  });

  it('has every metric the dashboards and alerts query', () => {
    const exposed = new Set([...expositions.values()].flatMap((text) => [...exposedNames(text)]));
    const queried = new Set([...dashboardExpressions(), ...alertExpressions()].flatMap(metricNames));
    expect([...queried].filter((name) => !exposed.has(name))).toEqual([]);
  });
});
