import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '@board/service-kit';
import { silentLogger } from '@board/service-kit/testing';
import { configShape, type Config } from '../src/config';
import { listDumps } from '../src/logical';
import { start } from '../src/service';
import { startArchivingCluster, type ArchivingCluster } from './support/archiving-cluster';
import { serverUserMissing } from './support/tools';

/**
 * The backup service against a cluster of the test's own that archives its WAL: on a new
 * installation it backs up at once, and its /metrics report the newest backups of each kind,
 * read from the backups themselves (so a restarted service reports them at once too).
 */
const missing = serverUserMissing();
const describeIfTools = missing ? describe.skip : describe;
if (missing) console.warn(`skipping the backup service: ${missing}`);

type Samples = Record<string, number>;

/** `name{labels} value` lines of a Prometheus text exposition, by name and labels. */
async function scrape(url: string): Promise<Samples> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  const samples: Samples = {};
  for (const line of (await response.text()).split('\n')) {
    const match = /^(backup_[a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (match) samples[`${match[1]}{${match[2]!.replace(/,?service="backup"/, '')}}`] = Number(match[3]);
  }
  return samples;
}

describeIfTools('the backup service', () => {
  let cluster: ArchivingCluster;
  let dir: string;
  let config: Config;

  beforeAll(async () => {
    cluster = await startArchivingCluster();
    const admin = await cluster.server.connectAsSuperuser();
    await admin.query('CREATE DATABASE board');
    await admin.end();
    dir = mkdtempSync(path.join(tmpdir(), 'backup-service-'));
    config = parseConfig(configShape, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      BACKUP_DIR: dir,
      BACKUP_DATABASES: 'board,postgres',
      PGHOST: cluster.server.socketDir,
      PGPORT: String(cluster.server.port),
      PGUSER: 'postgres',
      PGBACKREST_STANZA: cluster.stanza,
      PGBACKREST_CONFIG: cluster.config,
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('backs up at once when there is no backup yet, and reports when each kind last succeeded', async () => {
    const startedAt = Date.now() / 1000;
    const service = await start(config, { logger: silentLogger(), pgbackrest: cluster.pgbackrest });
    try {
      const first = await scrape(service.url);
      expect(first['backup_runs_total{kind="logical",result="failure"}']).toBe(0);
      // The first run takes a few seconds: until it ends, nothing succeeded yet (0).
      const deadline = Date.now() + 60_000;
      let samples = first;
      while (samples['backup_runs_total{kind="logical",result="success"}'] !== 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        samples = await scrape(service.url);
      }
      expect(samples['backup_runs_total{kind="physical",result="success"}']).toBe(1);
      expect(samples['backup_runs_total{kind="logical",result="success"}']).toBe(1);
      for (const kind of ['logical', 'physical']) {
        expect(samples[`backup_last_success_timestamp_seconds{kind="${kind}"}`]).toBeGreaterThanOrEqual(Math.floor(startedAt));
        expect(samples[`backup_last_success_timestamp_seconds{kind="${kind}"}`]).toBeLessThanOrEqual(Date.now() / 1000);
        expect(samples[`backup_last_size_bytes{kind="${kind}"}`]).toBeGreaterThan(0);
      }
      expect(listDumps(dir).map((dump) => dump.databases.map((database) => database.name))).toEqual([['board', 'postgres']]);
      expect((await cluster.pgbackrest.info()).backups.map((set) => set.type)).toEqual(['full']);
    } finally {
      await service.stop();
    }
  }, 120_000);

  it('after a restart, reports the backups already there before running any', async () => {
    const [dump] = listDumps(dir);
    const service = await start(config, { logger: silentLogger(), pgbackrest: cluster.pgbackrest });
    try {
      const samples = await scrape(service.url);
      expect(samples['backup_last_success_timestamp_seconds{kind="logical"}']).toBe(new Date(dump!.finishedAt).getTime() / 1000);
      expect(samples['backup_last_success_timestamp_seconds{kind="physical"}']).toBeGreaterThan(0);
      expect(samples['backup_runs_total{kind="logical",result="success"}']).toBe(0);
    } finally {
      await service.stop();
    }
  }, 60_000);

  it('counts a failed run, and the last success stays what it was', async () => {
    const broken = { ...config, BACKUP_DATABASES: ['board', 'no_such_database'] };
    const service = await start(broken, { logger: silentLogger(), pgbackrest: cluster.pgbackrest, backupWhenMissing: false });
    try {
      const before = await scrape(service.url);
      await expect(service.job.run()).rejects.toThrow(/no database named no_such_database/);
      const after = await scrape(service.url);
      expect(after['backup_runs_total{kind="logical",result="failure"}']).toBe(1);
      expect(after['backup_runs_total{kind="physical",result="success"}']).toBe(1); // an incremental one
      expect(after['backup_last_success_timestamp_seconds{kind="logical"}']).toBe(before['backup_last_success_timestamp_seconds{kind="logical"}']);
      expect(listDumps(dir)).toHaveLength(1); // the half-written dump was removed
    } finally {
      await service.stop();
    }
  }, 120_000);
});
