import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../src/stack';
import { checkDashboards } from './support/dashboard-schema';

const DIR = path.join(ROOT, 'grafana', 'dashboards');
const files = readdirSync(DIR).filter((name) => name.endsWith('.json'));
const texts = Object.fromEntries(files.map((name) => [name, readFileSync(path.join(DIR, name), 'utf8')]));

interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: GridPos;
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { datasource?: { uid: string } }[] };
}
const dashboards = Object.entries(texts).map(([name, text]) => [name, JSON.parse(text) as Dashboard] as const);

describe('grafana/dashboards against Grafana\'s published schema (@grafana/schema)', () => {
  it('has the four dashboards #12 asks for', () => {
    expect(files.sort()).toEqual(['events.json', 'infrastructure.json', 'overview.json', 'realtime.json']);
  });

  it('validates every dashboard, panel, query and panel option', () => {
    expect(checkDashboards(texts)).toEqual([]);
  });

  // The check must be able to fail: each of these breaks one rule of the schema.
  const [, sample] = dashboards.find(([name]) => name === 'overview.json')!;
  type Mutable = Record<string, unknown> & { panels: Record<string, unknown>[] };
  interface TimeSeries {
    fieldConfig: { defaults: { custom: Record<string, unknown> } };
    options: { legend: Record<string, unknown> };
  }
  const timeseries = (dashboard: Mutable) => dashboard.panels.find((panel) => panel.type === 'timeseries') as unknown as TimeSeries;
  const broken: [string, (dashboard: Mutable) => void][] = [
    ['a key the schema does not know', (dashboard) => (dashboard.panels[1]!.colour = 'red')],
    ['a value outside an enum', (dashboard) => (timeseries(dashboard).fieldConfig.defaults.custom.drawStyle = 'wiggly')],
    ['a grid position of the wrong type', (dashboard) => ((dashboard.panels[1]!.gridPos as Record<string, unknown>).w = 'half')],
    ['a required option left out', (dashboard) => delete timeseries(dashboard).options.legend.showLegend],
    ['a dashboard without schemaVersion', (dashboard) => delete dashboard.schemaVersion],
  ];
  it.each(broken)('rejects %s', (_what, breakIt) => {
    const copy = structuredClone(sample) as unknown as Mutable;
    breakIt(copy);
    expect(checkDashboards({ broken: JSON.stringify(copy) }).length).toBeGreaterThan(0);
  });
});

describe('grafana/dashboards as Grafana provisions them', () => {
  const provisioning = (file: string) => parse(readFileSync(path.join(ROOT, 'grafana', 'provisioning', file), 'utf8')) as Record<string, unknown>;
  const datasource = (provisioning('datasources/prometheus.yml').datasources as { uid: string; type: string }[])[0]!;

  it('loads every file from the directory compose mounts for the dashboard provider', () => {
    const providers = provisioning('dashboards/message-board.yml').providers as { options: { path: string } }[];
    const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { volumes: string[] }> };
    expect(compose.services.grafana!.volumes).toContain(`./grafana/dashboards:${providers[0]!.options.path}:ro`);
  });

  it('gives every dashboard its own uid and title', () => {
    const uids = dashboards.map(([, dashboard]) => dashboard.uid);
    const titles = dashboards.map(([, dashboard]) => dashboard.title);
    expect(new Set(uids).size).toBe(dashboards.length);
    expect(new Set(titles).size).toBe(dashboards.length);
  });

  it.each(dashboards)('%s queries only the provisioned Prometheus data source', (_name, dashboard) => {
    const refs = [
      ...dashboard.panels.filter((panel) => panel.type !== 'row').flatMap((panel) => [panel.datasource, ...(panel.targets ?? []).map((target) => target.datasource)]),
      ...dashboard.templating.list.map((variable) => variable.datasource),
    ];
    expect(refs.filter((ref) => ref?.uid !== datasource.uid || (ref as { type?: string }).type !== datasource.type)).toEqual([]);
  });

  it.each(dashboards)('%s: unique panel ids, a query in every panel, refIds unique within it', (_name, dashboard) => {
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels.filter((candidate) => candidate.type !== 'row')) {
      expect({ panel: panel.title, queries: (panel.targets ?? []).length > 0 }).toEqual({ panel: panel.title, queries: true });
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
    }
  });

  it.each(dashboards)('%s: panels inside the 24 columns, none overlapping another', (_name, dashboard) => {
    const overlaps = (a: GridPos, b: GridPos) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    for (const panel of dashboard.panels) expect({ panel: panel.title, fits: panel.gridPos.x >= 0 && panel.gridPos.x + panel.gridPos.w <= 24 }).toEqual({ panel: panel.title, fits: true });
    const clashes = dashboard.panels.flatMap((a, index) =>
      dashboard.panels.slice(index + 1).filter((b) => overlaps(a.gridPos, b.gridPos)).map((b) => `${a.title} / ${b.title}`),
    );
    expect(clashes).toEqual([]);
  });
});
