import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../src/stack';

const inDir = (dir: string, suffix: string) =>
  readdirSync(path.join(ROOT, dir))
    .filter((name) => name.endsWith(suffix))
    .map((name) => path.join(dir, name));
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8' });

interface Rule {
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface UnitTests {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

const ruleFiles = inDir('prometheus/rules', '.yml');
const testFiles = inDir('prometheus/tests', '.test.yml');
const alerts = ruleFiles.flatMap((file) =>
  (parse(read(file)) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules.filter((rule) => rule.alert).map((rule) => ({ file, ...rule }))),
);

describe('prometheus/rules', () => {
  it.each(ruleFiles)('%s passes promtool check rules', (file) => {
    const result = promtool('check', 'rules', file);
    expect(result.stdout + result.stderr).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });

  it.each(testFiles)('%s passes promtool test rules', (file) => {
    const result = promtool('test', 'rules', file);
    expect(result.stdout + result.stderr).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });

  it('loads, through its unit tests, every rule file Prometheus loads', () => {
    const tested = testFiles.flatMap((file) => (parse(read(file)) as UnitTests).rule_files.map((rules) => path.normalize(path.join(path.dirname(file), rules))));
    expect(ruleFiles.filter((file) => !tested.includes(file))).toEqual([]);
  });

  // A rule is only proven by a case where it fires and one where it does not.
  it.each(alerts.map((rule) => [rule.alert!]))('%s has a unit test where it fires and one where it stays quiet', (name) => {
    const cases = testFiles.flatMap((file) => (parse(read(file)) as UnitTests).tests.flatMap((test) => test.alert_rule_test ?? [])).filter((test) => test.alertname === name);
    expect({ fires: cases.some((test) => (test.exp_alerts ?? []).length > 0), quiet: cases.some((test) => (test.exp_alerts ?? []).length === 0) }).toEqual({ fires: true, quiet: true });
  });

  it.each(alerts.map((rule) => [rule.alert!, rule]))('%s routes by severity and links its runbook section', (_name, rule) => {
    expect(rule.labels?.severity).toMatch(/^(critical|warning)$/);
    expect(rule.annotations?.summary).toBeTruthy();
    const [file, anchor] = (rule.annotations?.runbook ?? '').split('#');
    expect(file).toBe('docs/operations.md');
    // GitHub's anchors: the heading lower-cased, spaces as dashes, other punctuation dropped.
    const anchors = [...read('docs/operations.md').matchAll(/^#+ (.+)$/gm)].map((match) => match[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
    expect(anchors).toContain(anchor);
  });
});

describe('prometheus.yml and the compose services it scrapes', () => {
  interface Job {
    job_name: string;
    static_configs?: { targets: string[] }[];
    relabel_configs?: { target_label?: string; replacement?: string }[];
  }
  const config = parse(read('prometheus.yml')) as { scrape_configs: Job[]; alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] } };
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, { expose?: string[]; ports?: string[] }> };
  // RabbitMQ's and nginx's ports are theirs, not listed in expose (nothing else needs them there).
  const ports: Record<string, string[]> = { rabbitmq: ['15692'], nginx: ['8443'] };
  const listens = (target: string) => {
    const [host, port] = target.split(':');
    const service = compose.services[host!];
    const published = (service?.ports ?? []).map((mapping) => mapping.split(':').at(-1)!);
    return [...(service?.expose ?? []), ...published, ...(ports[host!] ?? [])].includes(port!);
  };

  it('scrapes only compose services, on ports they listen on, and sends alerts to the alertmanager service', () => {
    const targets = config.scrape_configs.flatMap((job) => [
      ...(job.static_configs ?? []).flatMap((entry) => entry.targets),
      ...(job.relabel_configs ?? []).filter((rule) => rule.target_label === '__address__').map((rule) => rule.replacement!),
    ]);
    const alerting = config.alerting.alertmanagers.flatMap((manager) => manager.static_configs.flatMap((entry) => entry.targets));
    expect([...targets, ...alerting].filter((target) => !listens(target))).toEqual([]);
    expect(alerting).toEqual(['alertmanager:9093']);
  });

  it('scrapes every exporter compose runs', () => {
    const scraped = new Set(
      config.scrape_configs.flatMap((job) => [
        ...(job.static_configs ?? []).flatMap((entry) => entry.targets),
        ...(job.relabel_configs ?? []).filter((rule) => rule.target_label === '__address__').map((rule) => rule.replacement!),
      ]).map((target) => target.split(':')[0]),
    );
    const exporters = Object.keys(compose.services).filter((name) => name.endsWith('-exporter'));
    expect(exporters.length).toBeGreaterThanOrEqual(5);
    expect(exporters.filter((name) => !scraped.has(name))).toEqual([]);
  });
});
