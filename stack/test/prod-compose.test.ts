import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../src/stack';
import {
  DEVELOPMENT_FILES,
  PRODUCTION_FILES,
  TEST_SECRETS,
  composeCli,
  envExample,
  mergedConfig,
  type MergedService,
} from './support/compose-cli';

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const productionEnv = { ...envExample(), ...TEST_SECRETS, TLS_MODE: 'self-signed' };

/** What a published port looks like in either syntax compose may print: host address, host port, container port. */
function published(port: NonNullable<MergedService['ports']>[number]): string {
  if (typeof port !== 'string') return `${port.host_ip ?? ''}:${port.published}:${port.target}`;
  const [, hostIp = '', hostPort, target] = /^(?:([\d.]+):)?(\d+):(\d+)(?:\/\w+)?$/.exec(port) ?? [];
  return `${hostIp}:${hostPort}:${target}`;
}

describe('docker-compose.prod.yml: every secret is required', () => {
  it('names exactly these secrets as required', () => {
    const required = [...read('docker-compose.prod.yml').matchAll(/\$\{([A-Z_][A-Z0-9_]*):\?/g)].map((match) => match[1]);
    expect([...new Set(required)].sort()).toEqual(Object.keys(TEST_SECRETS).sort());
  });

  it('fails with none of them', () => {
    const result = composeCli(PRODUCTION_FILES, envExample(), ['config', '-q']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/is required/);
  });

  // Compose stops at the first missing variable: each is left out alone, and must be the one named.
  it.each(Object.keys(TEST_SECRETS))('fails naming %s when only it is missing', (name) => {
    const result = composeCli(PRODUCTION_FILES, { ...productionEnv, [name]: '' }, ['config', '-q']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(`: ${name} is required`));
  });

  it('passes with all of them, however many URL-reserved characters they hold', () => {
    const result = composeCli(PRODUCTION_FILES, productionEnv, ['config', '-q']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('the compose files as linted and validated', () => {
  it.each(['docker-compose.prod.yml', 'docker-compose.override.yml'])('%s passes dclint without warnings', (file) => {
    const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'dclint'), [file, '--max-warnings', '0'], { cwd: ROOT, encoding: 'utf8' });
    expect(result.stdout + result.stderr).not.toMatch(/warning|error/);
    expect(result.status).toBe(0);
  });

  it('docker compose up with no -f (docker-compose.yml and the override) is valid with no .env', () => {
    const result = composeCli(DEVELOPMENT_FILES, {}, ['config', '-q']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('.env.example documents every variable the production and override files read', () => {
    const documented = new Set(Object.keys(envExample()));
    const referenced = ['docker-compose.prod.yml', 'docker-compose.override.yml'].flatMap((file) =>
      [...read(file).matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((match) => match[1]!),
    );
    expect([...new Set(referenced)].filter((name) => !documented.has(name))).toEqual([]);
  });
});

describe('the merged production configuration', () => {
  const services = mergedConfig(PRODUCTION_FILES, productionEnv);
  const all = Object.entries(services);
  const built = all.filter(([, service]) => service.build);

  it('runs two replicas of the gateway and of the realtime service, with no fixed name or host port', () => {
    for (const name of ['api-gateway', 'realtime-service']) {
      expect(services[name]!.deploy?.replicas).toBe(2);
      expect(services[name]!.container_name).toBeUndefined();
      expect(services[name]!.ports ?? []).toEqual([]);
    }
  });

  it.each(all)('%s rotates its logs', (_name, service) => {
    expect(service.logging).toEqual({ driver: 'json-file', options: { 'max-size': expect.stringMatching(/^\d+[km]$/), 'max-file': expect.stringMatching(/^\d+$/) } });
  });

  it.each(all)('%s restarts unless stopped', (_name, service) => {
    expect(service.restart).toBe('unless-stopped');
  });

  it.each(all)('%s has a memory and a CPU limit', (_name, service) => {
    expect(service.deploy?.resources?.limits).toEqual({ cpus: expect.anything(), memory: expect.stringMatching(/^\d+[MG]$/) });
  });

  it.each(built)('%s builds a named image that can be pushed', (name, service) => {
    expect(service.image).toBe(`message-board/${name}:latest`);
  });

  it('pins every image it pulls to a version', () => {
    for (const [, service] of all.filter(([, service]) => !service.build)) expect(service.image).toMatch(/:[^:]*\d[^:]*$/);
  });

  it('publishes nginx on 80 and 443 and, bound to localhost, the dashboards; nothing else', () => {
    const ports = all.flatMap(([name, service]) => (service.ports ?? []).map((port) => `${name} ${published(port)}`));
    expect(ports.filter((port) => !/ 127\.0\.0\.1:/.test(port)).sort()).toEqual(['nginx 0.0.0.0:443:8443', 'nginx 0.0.0.0:80:8080']);
    expect(ports.filter((port) => / 127\.0\.0\.1:/.test(port)).map((port) => port.split(' ')[0]).sort()).toEqual(['alertmanager', 'grafana', 'prometheus']);
  });

  it.each(built.filter(([, service]) => service.build?.args?.SERVICE))('%s runs with NODE_ENV=production', (_name, service) => {
    expect(service.environment?.NODE_ENV).toBe('production');
  });

  it('sends HSTS and production redirects from nginx, and shares the certificate and ACME webroot with certbot', () => {
    expect(services.nginx!.environment).toMatchObject({ HTTPS_PORT: '443', HSTS_MAX_AGE: '31536000', SERVER_NAME: TEST_SECRETS.SERVER_NAME });
    const mounts = (name: string) => (services[name]!.volumes ?? []).map((volume) => (typeof volume === 'string' ? volume.split(':').slice(0, 2).join(':') : `${volume.source}:${volume.target}`));
    expect(mounts('nginx')).toEqual(expect.arrayContaining(['tls-certs:/etc/nginx/certs', 'acme-webroot:/var/www/acme']));
    expect(mounts('certbot')).toEqual(expect.arrayContaining(['tls-certs:/etc/nginx/certs', 'acme-webroot:/var/www/acme', 'letsencrypt:/etc/letsencrypt']));
    expect(services.certbot!.environment).toMatchObject({ TLS_MODE: 'self-signed', TLS_CERT_DIR: '/etc/nginx/certs', ACME_WEBROOT: '/var/www/acme' });
  });

  it('gives RabbitMQ a fixed host name (its data directory is named after it)', () => {
    expect(services.rabbitmq!.hostname).toBe('rabbitmq');
  });

  it('checks the data stores\' health over TCP (during its first initialisation, PostgreSQL listens on its socket only)', () => {
    const testOf = (name: string) => [services[name]!.healthcheck?.test].flat().join(' ');
    expect(testOf('postgres')).toMatch(/pg_isready -h 127\.0\.0\.1 /);
    expect(testOf('redis')).toMatch(/redis-cli ping/);
    expect(testOf('rabbitmq')).toMatch(/rabbitmq-diagnostics -q check_port_connectivity/);
  });

  it('keeps every secret out of every URL', () => {
    for (const [name, service] of all) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (!/^[a-z]+:\/\//.test(value ?? '')) continue;
        for (const secret of Object.values(TEST_SECRETS)) expect(`${name} ${key}=${value}`).not.toContain(secret);
      }
    }
  });
});
