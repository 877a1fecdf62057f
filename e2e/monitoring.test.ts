import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { Registry, parseConfig } from '@board/service-kit';
import { freePort, silentLogger, waitFor } from '@board/service-kit/testing';
import { configShape as backupConfigShape } from '../backup/src/config';
import { BackupJob } from '../backup/src/job';
import { startProcess, waitUntilReady, type Started } from '../stack/test/support/processes';
import { api as edgeApi, environment } from './support/client';
import { asGrafanaSends, dashboardQueries, exposedNames, labelsUsed, metricNames, ruleQueries, type Query } from './support/promql';
import { newMember } from './support/users';
import { Stream } from './support/stream';

/**
 * The shipped prometheus.yml, its rules and the dashboards against the real thing: the exporters
 * the stack runs (Debian's builds of the versions docker-compose.yml pins), pointed at this
 * machine's PostgreSQL, Redis and RabbitMQ and at the e2e stack's nginx, and a real Prometheus
 * scraping them and every service replica with the shipped scrape jobs.
 */
const ROOT = path.resolve(__dirname, '..');
const RABBITMQ_PROMETHEUS = process.env.TEST_RABBITMQ_PROMETHEUS ?? '127.0.0.1:15692';

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  dns_sd_configs?: unknown;
  relabel_configs?: { replacement?: string }[];
  [key: string]: unknown;
}

interface PrometheusConfig {
  scrape_configs: ScrapeConfig[];
  [key: string]: unknown;
}

const dir = mkdtempSync(path.join(tmpdir(), 'monitoring-'));
const processes: Started[] = [];
let prometheus: string;
/** Compose host:port -> where the same thing listens here. */
const local = new Map<string, string>();

/** The local PostgreSQL the other tests use, without TLS (as the exporter connects inside the stack). */
function postgresDsn(): string {
  const url = new URL(process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.searchParams.set('sslmode', 'disable');
  return url.toString();
}

async function startExporter(name: string, command: string, args: (port: number) => string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const port = await freePort();
  const started = startProcess(command, args(port), { PATH: process.env.PATH, ...env });
  processes.push(started);
  await waitUntilReady(`http://127.0.0.1:${port}/metrics`, started).catch((error: unknown) => {
    throw new Error(`${name}: ${String(error)}`);
  });
  return `127.0.0.1:${port}`;
}

/** prometheus.yml as shipped, with compose's names replaced by where each target runs here. */
function localConfig(): PrometheusConfig {
  const shipped = parse(readFileSync(path.join(ROOT, 'prometheus.yml'), 'utf8')) as PrometheusConfig;
  const replicas = Object.entries(environment.serviceUrls).map(([name, url]) => ({
    targets: [new URL(url).host],
    labels: { service: name.replace(/-\d+$/, '') },
  }));
  const scrapeConfigs = shipped.scrape_configs
    // Alertmanager has a test of its own (stack/test/alertmanager.test.ts); nothing here queries it.
    .filter((job) => job.job_name !== 'alertmanager')
    .map((job): ScrapeConfig => {
      if (job.dns_sd_configs) {
        // No compose DNS here: the same replicas, labelled as the DNS relabelling would.
        const { dns_sd_configs: _dns, relabel_configs: _relabel, ...rest } = job;
        return { ...rest, static_configs: replicas };
      }
      const here = (target: string) => {
        const mapped = local.get(target);
        if (!mapped) throw new Error(`prometheus.yml job ${job.job_name} scrapes ${target}, which this test does not run`);
        return mapped;
      };
      return {
        ...job,
        static_configs: job.static_configs?.map((config) => ({ ...config, targets: config.targets.map(here) })),
        relabel_configs: job.relabel_configs?.map((rule) => (rule.replacement && local.has(rule.replacement) ? { ...rule, replacement: here(rule.replacement) } : rule)),
      };
    });
  return {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: [path.join(ROOT, 'prometheus', 'rules', '*.yml')],
    scrape_configs: scrapeConfigs,
  };
}

async function api<T>(pathAndQuery: string): Promise<T> {
  const body = (await (await fetch(`${prometheus}/api/v1/${pathAndQuery}`)).json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${pathAndQuery}: ${body.error}`);
  return body.data;
}

interface Target {
  labels: { job: string; instance: string };
  health: string;
  lastError: string;
}

beforeAll(async () => {
  // Traffic first, so that the services have handled requests, events and a stream.
  const member = await newMember('monitor');
  const stream = await Stream.open(member.accessToken, 'general');
  stream.close();

  const edge = new URL(environment.baseUrl);
  local.set('postgres-exporter:9187', await startExporter('postgres-exporter', 'prometheus-postgres-exporter', (port) => [`--web.listen-address=127.0.0.1:${port}`], {
    DATA_SOURCE_NAME: postgresDsn(),
  }));
  local.set('redis-exporter:9121', await startExporter('redis-exporter', 'prometheus-redis-exporter', (port) => [
    '-redis.addr', process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', '-web.listen-address', `127.0.0.1:${port}`,
  ]));
  local.set('nginx-exporter:9113', await startExporter('nginx-exporter', 'prometheus-nginx-exporter', (port) => [
    '-nginx.scrape-uri', environment.edgeStatusUrl, '-web.listen-address', `127.0.0.1:${port}`,
  ]));
  local.set('node-exporter:9100', await startExporter('node-exporter', 'prometheus-node-exporter', (port) => [`--web.listen-address=127.0.0.1:${port}`]));
  local.set('blackbox-exporter:9115', await startExporter('blackbox-exporter', 'prometheus-blackbox-exporter', (port) => [
    `--config.file=${path.join(ROOT, 'prometheus', 'blackbox.yml')}`, `--web.listen-address=127.0.0.1:${port}`,
  ]));
  local.set('rabbitmq:15692', RABBITMQ_PROMETHEUS);
  local.set('nginx:8443', edge.host);

  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(config, stringify(localConfig()));
  const port = await freePort();
  prometheus = `http://127.0.0.1:${port}`;
  const server = startProcess('prometheus', [
    `--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
  ]);
  processes.push(server);
  await waitUntilReady(`${prometheus}/-/ready`, server);
  // Discovery hands targets to the scrapers some seconds after the start; then every target
  // scraped, and a few scrapes more so that rates over them answer something.
  const expected = localConfig().scrape_configs.flatMap((job) => (job.static_configs ?? []).flatMap((config) => config.targets)).length;
  await waitFor(
    async () => {
      const { activeTargets } = await api<{ activeTargets: Target[] }>('targets');
      return activeTargets.length === expected && activeTargets.every((target) => target.health !== 'unknown');
    },
    { what: `all ${expected} targets to be scraped once`, timeoutMs: 30_000, intervalMs: 250 },
  );
  await new Promise((resolve) => setTimeout(resolve, 3_000));
}, 90_000);

afterAll(async () => {
  for (const started of processes.reverse()) await started.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the exporters and scrape jobs of prometheus.yml, scraped by a real Prometheus', () => {
  it('reaches every target of every job', async () => {
    const { activeTargets } = await api<{ activeTargets: Target[] }>('targets');
    const jobs = localConfig().scrape_configs.map((job) => job.job_name);
    expect([...new Set(activeTargets.map((target) => target.labels.job))].sort()).toEqual([...jobs].sort());
    expect(activeTargets.filter((target) => target.health !== 'up').map((target) => `${target.labels.job} ${target.labels.instance}: ${target.lastError}`)).toEqual([]);
    expect(activeTargets.filter((target) => target.labels.job === 'message-board')).toHaveLength(Object.keys(environment.serviceUrls).length);
  });

  it('gets an answer from each exporter\'s own server: PostgreSQL, Redis, nginx, and a TLS handshake with the edge', async () => {
    const value = async (expr: string) => (await api<{ result: { value: [number, string] }[] }>(`query?query=${encodeURIComponent(expr)}`)).result.map((sample) => Number(sample.value[1]));
    expect(await value('pg_up')).toEqual([1]);
    expect(await value('redis_up')).toEqual([1]);
    expect(await value('nginx_up')).toEqual([1]);
    expect(await value('probe_success{job="edge-tls"}')).toEqual([1]);
    // The e2e edge's self-signed certificate is valid for about a year: days, not seconds or never.
    const [validFor] = await value('probe_ssl_earliest_cert_expiry - time()');
    expect(validFor! / 86_400).toBeGreaterThan(14);
    expect((await value('count(rabbitmq_detailed_queue_messages_ready)'))[0]).toBeGreaterThan(0);
  });
});

describe('nginx\'s stub_status', () => {
  it('answers on the internal status port and not on the public ones', async () => {
    expect(await (await fetch(environment.edgeStatusUrl)).text()).toMatch(/^Active connections: \d+/);
    const publicAnswer = await edgeApi('/stub_status');
    expect(publicAnswer.status).toBe(404);
    expect(await publicAnswer.text()).not.toMatch(/Active connections/);
  });
});

/** What the backup service exports (it runs in the production stack only): its job's registry, over an empty dump folder. */
async function backupServiceMetrics(): Promise<string> {
  const dumps = mkdtempSync(path.join(tmpdir(), 'board-backups-'));
  try {
    const registry = new Registry();
    new BackupJob(parseConfig(backupConfigShape, { BACKUP_DIR: dumps }), silentLogger(), undefined, registry);
    return await registry.metrics();
  } finally {
    rmSync(dumps, { recursive: true, force: true });
  }
}

describe('what the dashboards and alert rules query', () => {
  const queries: Query[] = [...dashboardQueries(), ...ruleQueries()];

  it('reads metric names out of PromQL the way the check below relies on', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{a="b"}[5m]))) > 1')).toEqual([
      'http_request_duration_seconds_bucket',
    ]);
    expect(metricNames('max by (upstream) (circuit_breaker_state) == 2')).toEqual(['circuit_breaker_state']);
    expect(metricNames('sum by (instance) (a) / on (instance) (max by (instance) (b) - c) or vector(0)')).toEqual(['a', 'b', 'c']);
    expect(labelsUsed('sum by (service, le) (rate(x_bucket{route="/a{b}", code=~"5.."}[5m])) / on (instance) y{job!="z"}')).toEqual({
      grouping: ['service', 'le', 'instance'],
      selectors: [
        { metric: 'x_bucket', labels: ['route', 'code'] },
        { metric: 'y', labels: ['job'] },
      ],
    });
  });

  it('names only metrics that something exports: a real scrape of the exporters, or a service', async () => {
    const scraped = new Set(await api<string[]>('label/__name__/values'));
    // A labelled counter nothing incremented yet has no series, but the service declares it.
    const declared = new Set<string>();
    for (const url of Object.values(environment.serviceUrls)) for (const name of exposedNames(await (await fetch(`${url}/metrics`)).text())) declared.add(name);
    for (const name of exposedNames(await backupServiceMetrics())) declared.add(name);
    const unknown = queries.flatMap((query) => metricNames(query.expr).filter((name) => !scraped.has(name) && !declared.has(name)).map((name) => `${query.where}: ${name}`));
    expect(unknown).toEqual([]);
  });

  it('groups and filters only by labels those metrics carry (where they have series to tell)', async () => {
    const labelsOf = new Map<string, Set<string> | undefined>();
    const labels = async (metric: string) => {
      if (!labelsOf.has(metric)) {
        const series = await api<Record<string, string>[]>(`series?match[]=${encodeURIComponent(metric)}`);
        labelsOf.set(metric, series.length > 0 ? new Set(series.flatMap((entry) => Object.keys(entry))) : undefined);
      }
      return labelsOf.get(metric);
    };
    const wrong: string[] = [];
    for (const query of queries) {
      const { grouping, selectors } = labelsUsed(query.expr);
      for (const { metric, labels: filtered } of selectors) {
        const carried = await labels(metric);
        for (const label of filtered) if (carried && !carried.has(label)) wrong.push(`${query.where}: ${metric} has no label ${label}`);
      }
      const known = await Promise.all(metricNames(query.expr).map(labels));
      if (known.some((carried) => !carried)) continue;
      const carried = new Set(known.flatMap((set) => [...set!]));
      for (const label of grouping) if (!carried.has(label)) wrong.push(`${query.where}: no metric of it has a label ${label}`);
    }
    expect(wrong).toEqual([]);
  });

  it('are queries Prometheus accepts', async () => {
    const refused: string[] = [];
    for (const query of queries) {
      const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(asGrafanaSends(query.expr))}`);
      if (response.status !== 200) refused.push(`${query.where}: ${((await response.json()) as { error: string }).error}`);
    }
    expect(refused).toEqual([]);
  });

  it('loads every rule file and evaluates every rule without error', async () => {
    const { groups } = await waitFor(
      async () => {
        const data = await api<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>('rules');
        return data.groups.flatMap((group) => group.rules).every((rule) => rule.health !== 'unknown') ? data : undefined;
      },
      { what: 'every rule to be evaluated', timeoutMs: 10_000, intervalMs: 250 },
    );
    const rules = groups.flatMap((group) => group.rules);
    expect(rules.map((rule) => rule.name).sort()).toEqual(ruleQueries().map((query) => query.where.split(': ')[1]).sort());
    expect(rules.filter((rule) => rule.health !== 'ok').map((rule) => `${rule.name}: ${rule.lastError}`)).toEqual([]);
  });
});
