import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '@board/service-kit';
import { ROOT } from '../../stack/src/stack';
import { PRODUCTION_FILES, TEST_SECRETS, envExample, mergedConfig, type MergedService } from '../../stack/test/support/compose-cli';
import { configShape } from '../src/config';

/**
 * The production wiring of the backups, as compose merges it: the server's archive_command, the
 * backup service and pgbackrest.conf name one stanza and one set of paths, on shared volumes.
 */
const services = mergedConfig(PRODUCTION_FILES, { ...envExample(), ...TEST_SECRETS, TLS_MODE: 'self-signed' });
const postgres = services.postgres as MergedService & { command?: string[] };
const backup = services.backup!;

/** pgbackrest.conf as sections of settings. */
const pgbackrestConf = (() => {
  const sections: Record<string, Record<string, string>> = {};
  let current = '';
  for (const line of readFileSync(path.join(ROOT, 'postgres', 'pgbackrest.conf'), 'utf8').split('\n')) {
    const section = /^\[(.+)\]$/.exec(line.trim());
    if (section) sections[(current = section[1]!)] = {};
    const setting = /^([a-z0-9-]+)=(.*)$/.exec(line.trim());
    if (setting) sections[current]![setting[1]!] = setting[2]!;
  }
  return sections;
})();

/** volume:target of each mount. */
const mounts = (service: MergedService) =>
  (service.volumes ?? []).map((volume) => (typeof volume === 'string' ? volume.split(':').slice(0, 2).join(':') : `${volume.source}:${volume.target}`));

describe('the production backups, as compose merges the files', () => {
  const config = parseConfig(configShape, backup.environment as Record<string, string>);
  const stanza = config.PGBACKREST_STANZA!;

  it('the backup service\'s environment passes its own config schema', () => {
    expect(stanza).toBe('board');
    expect(config.PGUSER).toBe(services.postgres!.environment!.POSTGRES_USER ?? 'board');
  });

  it('the server archives every WAL segment with pgBackRest, into the stanza the backup service backs up', () => {
    const command = postgres.command!.join(' ');
    expect(command).toMatch(/-c wal_level=replica/);
    expect(command).toMatch(/-c archive_mode=on/);
    expect(command).toContain(`-c archive_command=pgbackrest --stanza=${stanza} archive-push %p`);
    expect(pgbackrestConf[stanza]).toBeDefined();
  });

  it('both containers mount the same pgbackrest.conf, repository and socket; the backup service the data directory too', () => {
    const conf = pgbackrestConf[stanza]!;
    const shared = [`pgbackrest-repo:${pgbackrestConf.global!['repo1-path']}`, `postgres-socket:${conf['pg1-socket-path']}`];
    expect(mounts(postgres)).toEqual(expect.arrayContaining([...shared, 'postgres-data:/var/lib/postgresql/data']));
    expect(mounts(backup)).toEqual(expect.arrayContaining([...shared, `postgres-data:${conf['pg1-path']}`, `backups:${config.BACKUP_DIR}`]));
    for (const service of [postgres, backup]) expect(mounts(service)).toContainEqual(expect.stringMatching(/\/postgres\/pgbackrest\.conf:\/etc\/pgbackrest\/pgbackrest\.conf$/));
    expect(config.PGHOST).toBe(conf['pg1-socket-path']);
    expect(conf['pg1-user']).toBe(config.PGUSER);
  });

  it('dumps exactly the databases the services use', () => {
    const used = Object.values(services)
      .map((service) => service.environment?.DATABASE_URL)
      .filter((url): url is string => typeof url === 'string')
      .map((url) => new URL(url).pathname.slice(1));
    expect([...config.BACKUP_DATABASES].sort()).toEqual([...new Set(used)].sort());
  });

  it('exports RabbitMQ\'s definitions through the management API of the broker the services use, as the services\' user', () => {
    expect(config.RABBITMQ_MANAGEMENT_URL).toBe('http://rabbitmq:15672');
    expect(services.rabbitmq!.image).toMatch(/-management/);
    expect(config.RABBITMQ_PASSWORD).toBe(TEST_SECRETS.RABBITMQ_PASSWORD);
  });

  it('Prometheus scrapes it on the port it listens on, and loads its alert rules', () => {
    const prometheus = parse(readFileSync(path.join(ROOT, 'prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    const job = prometheus.scrape_configs.find((candidate) => candidate.job_name === 'backup');
    expect(job?.dns_sd_configs).toEqual([expect.objectContaining({ names: ['backup'], port: config.PORT })]);
    expect(prometheus.rule_files).toContain('prometheus/rules/*.yml');
  });
});
