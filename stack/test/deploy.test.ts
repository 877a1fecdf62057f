import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadCompose } from '../src/compose';
import { planStack } from '../src/plan';
import { ROOT, renderNginx } from '../src/stack';

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const run = (command: string, args: string[]) => spawnSync(command, args, { cwd: ROOT, encoding: 'utf8' });
const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
const compose = loadCompose(path.join(ROOT, 'docker-compose.yml'), {});

describe('docker-compose.yml', () => {
  it('is valid for docker-compose', () => {
    const result = run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('passes dclint without warnings', () => {
    const result = run(path.join(ROOT, 'node_modules', '.bin', 'dclint'), ['docker-compose.yml', '--max-warnings', '0']);
    expect(result.stdout + result.stderr).not.toMatch(/warning|error/);
    expect(result.status).toBe(0);
  });

  it('builds every service workspace and publishes only the edge and localhost-bound dashboards', () => {
    const built = [...compose.values()].filter((service) => service.workspace).map((service) => service.workspace);
    expect(built.sort()).toEqual(workspaces.filter((name) => name !== 'service-kit').sort());
    const text = read('docker-compose.yml');
    const published = [...text.matchAll(/^\s+- '?"?([^'"\n]+:\d+)'?"?$/gm)].map((match) => match[1]).filter((port) => /:\d+:\d+$/.test(port!));
    for (const mapping of published) expect(mapping).toMatch(/^(0\.0\.0\.0:\$\{HTTPS?_PORT|127\.0\.0\.1:)/);
  });

  it('documents in .env.example every variable it reads', () => {
    const referenced = new Set([...read('docker-compose.yml').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((match) => match[1]));
    const documented = new Set([...read('.env.example').matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((match) => match[1]));
    expect([...referenced].filter((name) => !documented.has(name))).toEqual([]);
  });
});

describe('Dockerfile', () => {
  it('copies every workspace manifest before npm ci (or the install would miss one)', () => {
    const dockerfile = read('Dockerfile');
    for (const workspace of workspaces) expect(dockerfile).toContain(`COPY ${workspace}/package.json ${workspace}/`);
  });
});

describe('nginx', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'nginx-check-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts the rendered server template (nginx -t)', () => {
    const plan = planStack(compose, { portOffset: 40_000 });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', path.join(dir, 'certs-key.pem'), '-out', path.join(dir, 'certs-crt.pem')], { stdio: 'ignore' });
    execFileSync('mkdir', ['-p', path.join(dir, 'certs'), path.join(dir, 'logs')]);
    execFileSync('cp', [path.join(dir, 'certs-key.pem'), path.join(dir, 'certs', 'tls.key')]);
    execFileSync('cp', [path.join(dir, 'certs-crt.pem'), path.join(dir, 'certs', 'tls.crt')]);
    const conf = renderNginx(plan, dir);
    const result = run('nginx', ['-t', '-p', dir, '-c', conf]);
    expect(result.stderr).toMatch(/test is successful/);
    expect(result.status).toBe(0);
  });

  it('gets every template variable from the image or compose', () => {
    const template = read('nginx/templates/default.conf.template');
    const used = new Set([...template.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((match) => match[1]!));
    const imageEnv = read('nginx/Dockerfile');
    const composeEnv = Object.keys(compose.get('nginx')!.environment);
    expect([...used].filter((name) => !imageEnv.includes(`${name}=`) && !composeEnv.includes(name))).toEqual([]);
  });
});

describe('Prometheus', () => {
  it('has a valid scrape config and alert rules (promtool)', () => {
    const config = run('promtool', ['check', 'config', 'prometheus.yml']);
    expect(config.stdout + config.stderr).toMatch(/SUCCESS/);
    expect(config.status).toBe(0);
    const rules = run('promtool', ['check', 'rules', 'prometheus/rules/alerts.yml']);
    expect(rules.status).toBe(0);
  });

  it('discovers every replica of every service by DNS, on its compose port, labelled with its service', () => {
    interface ScrapeConfig {
      dns_sd_configs?: { names: string[]; type: string; port: number }[];
      relabel_configs?: { source_labels?: string[]; target_label?: string }[];
    }
    const [job] = (parse(read('prometheus.yml')) as { scrape_configs: ScrapeConfig[] }).scrape_configs;
    const discovered = (job!.dns_sd_configs ?? []).flatMap((config) => config.names.map((name) => `${name}:${config.port}/${config.type}`));
    const services = [...compose.values()].filter((service) => service.workspace);
    expect(discovered.sort()).toEqual(services.map((service) => `${service.name}:${service.environment.PORT}/A`).sort());
    expect(job!.relabel_configs).toContainEqual(expect.objectContaining({ source_labels: ['__meta_dns_name'], target_label: 'service' }));
  });
});
