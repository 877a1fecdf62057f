import { randomUUID } from 'node:crypto';
import { parseConfig } from '@board/service-kit';
import { configShape } from '../src/config';
import { passcodeMatches } from '../src/domain/passcode';
import { leavesNoAdmin } from '../src/domain/roles';

describe('passcodeMatches', () => {
  it('accepts the exact passcode only', () => {
    expect(passcodeMatches('let me in', 'let me in')).toBe(true);
    for (const guess of ['', 'let me', 'let me in ', 'LET ME IN', 'let me out']) {
      expect(passcodeMatches(guess, 'let me in')).toBe(false);
    }
  });
});

describe('leavesNoAdmin', () => {
  const admin = { id: randomUUID(), role: 'admin' as const };
  const other = randomUUID();

  it('refuses demoting or deleting the only admin', () => {
    expect(leavesNoAdmin(admin, 'member', [admin.id])).toBe(true);
    expect(leavesNoAdmin(admin, 'user', [admin.id])).toBe(true);
    expect(leavesNoAdmin(admin, null, [admin.id])).toBe(true);
  });

  it('allows it while another admin remains, and never concerns non-admins', () => {
    expect(leavesNoAdmin(admin, null, [admin.id, other])).toBe(false);
    expect(leavesNoAdmin(admin, 'admin', [admin.id])).toBe(false);
    expect(leavesNoAdmin({ id: other, role: 'member' }, null, [])).toBe(false);
  });
});

describe('configuration', () => {
  it('runs on localhost defaults in development', () => {
    expect(parseConfig(configShape({}), {})).toMatchObject({
      PORT: 3002,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/users',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: '',
      EVENTS_EXCHANGE: 'domain.events',
    });
  });

  it('requires MEMBER_PASSCODE in production', () => {
    const env = { NODE_ENV: 'production' };
    expect(() => parseConfig(configShape(env), env)).toThrow(/MEMBER_PASSCODE: is required/);
  });
});
