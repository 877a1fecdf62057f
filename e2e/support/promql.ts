import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');
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

/**
 * The labels an expression relies on: those it groups or matches by (`by`, `without`, `on`,
 * `ignoring`), and those each selector filters on, by metric.
 */
export function labelsUsed(expr: string): { grouping: string[]; selectors: { metric: string; labels: string[] }[] } {
  const unquoted = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const grouping = [...unquoted.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((match) =>
    match[1]!.split(',').map((label) => label.trim()).filter(Boolean),
  );
  const selectors = [...unquoted.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)].map((match) => ({
    metric: match[1]!,
    labels: [...match[2]!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((label) => label[1]!),
  }));
  return { grouping, selectors };
}

export interface Query {
  /** Where it is: dashboard and panel, or rule file and alert. */
  where: string;
  expr: string;
}

interface DashboardPanel {
  title?: string;
  targets?: { expr: string }[];
  panels?: DashboardPanel[];
}

/** Every query of every provisioned dashboard (grafana/dashboards/*.json), rows' panels included. */
export function dashboardQueries(): Query[] {
  const dir = path.join(ROOT, 'grafana', 'dashboards');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .flatMap((name) => {
      const dashboard = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as { panels: DashboardPanel[] };
      const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
      return panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `${name}: ${panel.title}`, expr: target.expr })));
    });
}

/** Every expression of every rule file Prometheus loads (prometheus/rules/*.yml). */
export function ruleQueries(): Query[] {
  const dir = path.join(ROOT, 'prometheus', 'rules');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yml'))
    .flatMap((name) => {
      const rules = parse(readFileSync(path.join(dir, name), 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
      return rules.groups.flatMap((group) => group.rules.map((rule) => ({ where: `${name}: ${rule.alert ?? rule.record}`, expr: rule.expr })));
    });
}

/** A dashboard query as Grafana sends it: its variables replaced by what they stand for. */
export const asGrafanaSends = (expr: string) => expr.replace(/\$__rate_interval/g, '1m').replace(/\$__range/g, '1h').replace(/\$service/g, '.+');

/** Every series family a service exposes, with histogram and summary suffixes. */
export function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>(['up']);
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}
