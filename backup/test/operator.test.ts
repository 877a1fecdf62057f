import { APPLICATION_SERVICES, COMPOSE, backupPlan, restorePlan } from '../src/operator';

const commands = (steps: { command: string[] }[]) => steps.map((step) => step.command.slice(COMPOSE.length).join(' '));

describe('npm run backup / npm run restore: the docker compose steps', () => {
  const services = APPLICATION_SERVICES.join(' ');

  it('backs up through the running backup container', () => {
    expect(commands(backupPlan())).toEqual(['exec -T backup node backup/dist/cli.js now']);
    expect(commands(backupPlan({ full: true }))).toEqual(['exec -T backup node backup/dist/cli.js now --full']);
  });

  it('restores a logical dump with the services stopped, then starts them on it', () => {
    expect(commands(restorePlan('20261201T020000Z'))).toEqual([
      `stop ${services}`,
      'exec -T backup node backup/dist/cli.js restore 20261201T020000Z --replace',
      `up -d --no-deps ${services}`,
    ]);
  });

  it('restores a physical backup to a time: flush the WAL, stop the cluster, restore, recover, back up anew', () => {
    const steps = restorePlan('20261129-020000F_20261201-020000I', '2026-12-01T10:30:00+01:00');
    expect(commands(steps)).toEqual([
      'exec -T backup node backup/dist/cli.js flush-archive',
      `stop ${services} backup postgres`,
      'run --rm --no-deps backup node backup/dist/cli.js restore-physical --set 20261129-020000F_20261201-020000I --to 2026-12-01T09:30:00.000Z',
      'up -d --wait postgres',
      `up -d --no-deps backup ${services}`,
      'exec -T backup node backup/dist/cli.js now --full',
    ]);
    // Flushing needs a running server: when it is down already, the restore goes on.
    expect(steps.map((step) => step.mayFail ?? false)).toEqual([true, false, false, false, false, false]);
  });

  it('restores the newest physical backup to the end of the archive with `latest` and no --to', () => {
    expect(commands(restorePlan('latest'))[2]).toBe('run --rm --no-deps backup node backup/dist/cli.js restore-physical');
  });

  it('refuses --to with a logical dump, a name that is no backup, and a time without an offset', () => {
    expect(() => restorePlan('20261201T020000Z', '2026-12-01T10:30:00Z')).toThrow(/--to applies to a physical backup/);
    expect(() => restorePlan('yesterday')).toThrow(/neither a logical dump/);
    expect(() => restorePlan('latest', '2026-12-01 10:30')).toThrow(/offset/);
  });
});
