import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadCompose } from '../src/compose';
import { planStack } from '../src/plan';
import { edgeDefaults, ensureCertificate, nginxBinary, renderNginx } from '../src/edge';
import { ROOT } from '../src/stack';

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
    // The kit is a library; the web client is static files, built into the nginx image.
    expect(built.sort()).toEqual(workspaces.filter((name) => name !== 'service-kit' && name !== 'web').sort());
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
  it('copies every service workspace manifest before npm ci (or the install would miss one)', () => {
    const dockerfile = read('Dockerfile');
    for (const workspace of workspaces.filter((name) => name !== 'web')) expect(dockerfile).toContain(`COPY ${workspace}/package.json ${workspace}/`);
    // The web client's dependencies stay out of the service images: nginx/Dockerfile builds it.
    expect(dockerfile).not.toContain('web/');
    expect(read('nginx/Dockerfile')).toContain('COPY web/package.json web/');
  });
});

describe('nginx', () => {
  const plan = planStack(compose, { portOffset: 40_000 });
  const nginxTest = (conf: string, runDir: string) => run(nginxBinary(), ['-t', '-p', runDir, '-c', conf]);
  let dirs: string[] = [];
  const scratch = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nginx-check-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs = [];
  });

  it.each([
    ['development', {}],
    ['production', { HSTS_MAX_AGE: '31536000', HTTPS_PORT: '443' }],
  ])('accepts the %s rendering of the shipped nginx.conf and template (nginx -t)', (_label, overrides) => {
    const dir = scratch();
    ensureCertificate(path.join(dir, 'certs'), 'localhost');
    const result = nginxTest(renderNginx(plan, dir, overrides), dir);
    expect(result.stderr).toMatch(/test is successful/);
    expect(result.status).toBe(0);
  });

  it('runs the shipped nginx.conf unchanged, with only the process paths its own', () => {
    const dir = scratch();
    renderNginx(plan, dir);
    expect(readFileSync(path.join(dir, 'nginx.conf'), 'utf8')).toBe(read('nginx/nginx.conf'));
    expect(readFileSync(path.join(dir, 'paths', 'main.conf'), 'utf8')).toContain(`pid ${path.join(dir, 'nginx.pid')};`);
    expect(readFileSync(path.join(dir, 'upstream', 'gateway.conf'), 'utf8')).toContain(`server ${plan.edge.gatewayUpstreams[0]};`);
  });

  it('renders the templates exactly as the image entrypoint does with envsubst', () => {
    const image = scratch();
    for (const part of ['nginx.conf', 'board', 'templates']) cpSync(path.join(ROOT, 'nginx', part), path.join(image, part), { recursive: true });
    const local = scratch();
    const variables = { SERVER_NAME: 'board.example.com', HSTS_MAX_AGE: '31536000', HTTPS_PORT: '443', TLS_CERT_DIR: path.join(local, 'certs'), ACME_WEBROOT: path.join(local, 'acme'), WEB_ROOT: path.join(local, 'web') };
    renderNginx({ ...plan, edge: { ...plan.edge, serverName: 'board.example.com' } }, local, { ...variables, NGINX_HTTP_LISTEN: '8080', NGINX_HTTPS_LISTEN: '8443', NGINX_STATUS_LISTEN: '8081' });
    const entrypoint = spawnSync(path.join(ROOT, 'nginx', 'bin', 'board-nginx-entrypoint'), ['true'], {
      env: { PATH: process.env.PATH, NGINX_CONF_DIR: image, GATEWAY_UPSTREAM: 'localhost:3000', ...variables },
      encoding: 'utf8',
    });
    expect(entrypoint.status).toBe(0);
    expect(readFileSync(path.join(image, 'conf.d', 'edge.conf'), 'utf8')).toBe(readFileSync(path.join(local, 'conf.d', 'edge.conf'), 'utf8'));
  });

  it('takes every template variable from defaults.env, the list envsubst is restricted to', () => {
    const defaults = edgeDefaults();
    const templates = readdirSync(path.join(ROOT, 'nginx', 'templates')).filter((name) => name.endsWith('.template'));
    const used = templates.flatMap((name) => [...read(`nginx/templates/${name}`).matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]!));
    expect(used.filter((name) => !(name in defaults))).toEqual([]);
  });
});

describe('Prometheus', () => {
  // The rules, their unit tests and the targets: alert-rules.test.ts.
  it('has a valid scrape config, its rule files included (promtool check config)', () => {
    const config = run('promtool', ['check', 'config', 'prometheus.yml']);
    expect(config.stdout + config.stderr).toMatch(/SUCCESS/);
    expect(config.status).toBe(0);
  });

  it('discovers every replica of every service by DNS, on its compose port, labelled with its service', () => {
    interface ScrapeConfig {
      dns_sd_configs?: { names: string[]; type: string; port: number }[];
      relabel_configs?: { source_labels?: string[]; target_label?: string }[];
    }
    const job = (parse(read('prometheus.yml')) as { scrape_configs: (ScrapeConfig & { job_name: string })[] }).scrape_configs.find((config) => config.job_name === 'message-board');
    const discovered = (job!.dns_sd_configs ?? []).flatMap((config) => config.names.map((name) => `${name}:${config.port}/${config.type}`));
    const services = [...compose.values()].filter((service) => service.workspace);
    expect(discovered.sort()).toEqual(services.map((service) => `${service.name}:${service.environment.PORT}/A`).sort());
    expect(job!.relabel_configs).toContainEqual(expect.objectContaining({ source_labels: ['__meta_dns_name'], target_label: 'service' }));
  });
});
