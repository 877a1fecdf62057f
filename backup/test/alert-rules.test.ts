import { spawnSync } from 'node:child_process';
import { ROOT } from '../../stack/src/stack';

/** The backup alerts (prometheus/rules/backups.yml) against their promtool unit tests. */
describe('the backup alert rules (promtool)', () => {
  const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8' });

  it('are valid rules', () => {
    const result = promtool('check', 'rules', 'prometheus/rules/backups.yml');
    expect(result.stdout + result.stderr).toMatch(/SUCCESS: 3 rules found/);
    expect(result.status).toBe(0);
  });

  it('fire when the newest backup is stale or none came in a day, and stay quiet when fresh or just started', () => {
    const result = promtool('test', 'rules', 'prometheus/tests/backups.test.yml');
    expect(result.stdout + result.stderr).toMatch(/SUCCESS/);
    expect(result.status).toBe(0);
  });
});
