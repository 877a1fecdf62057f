import { nextRun, parseDailyTime, physicalBackupType } from '../src/schedule';
import { parseTime, recoveryTime } from '../src/pgbackrest';

describe('the nightly schedule', () => {
  it('runs at the next HH:MM (UTC) strictly after now', () => {
    const at = parseDailyTime('02:00');
    expect(nextRun(new Date('2026-12-01T01:59:59Z'), at).toISOString()).toBe('2026-12-01T02:00:00.000Z');
    expect(nextRun(new Date('2026-12-01T02:00:00Z'), at).toISOString()).toBe('2026-12-02T02:00:00.000Z');
    expect(nextRun(new Date('2026-12-31T23:30:00Z'), parseDailyTime('23:15')).toISOString()).toBe('2027-01-01T23:15:00.000Z');
  });

  it.each(['2:00', '24:00', '12:60', '', 'noon'])('refuses %j as a time of day', (text) => {
    expect(() => parseDailyTime(text)).toThrow(/HH:MM/);
  });

  it('makes a full physical backup weekly and incremental ones in between', () => {
    const now = new Date('2026-12-01T02:00:00Z');
    expect(physicalBackupType(now, undefined)).toBe('full');
    expect(physicalBackupType(now, new Date('2026-11-30T02:10:00Z'))).toBe('incr');
    expect(physicalBackupType(now, new Date('2026-11-25T02:00:01Z'))).toBe('incr');
    // A week ago, even if last week's run ended a few minutes later than this one starts.
    expect(physicalBackupType(now, new Date('2026-11-24T02:20:00Z'))).toBe('full');
  });
});

describe('restore target times', () => {
  it('takes ISO 8601 with an offset, and refuses a time without one (it would depend on the zone)', () => {
    expect(parseTime('2026-12-01T10:30:00+01:00').toISOString()).toBe('2026-12-01T09:30:00.000Z');
    expect(parseTime('2026-12-01T10:30:00.250Z').toISOString()).toBe('2026-12-01T10:30:00.250Z');
    expect(() => parseTime('2026-12-01T10:30:00')).toThrow(/offset/);
    expect(() => parseTime('yesterday Z')).toThrow(/ISO 8601/);
  });

  it('hands pgBackRest the form it selects a backup set by', () => {
    expect(recoveryTime(new Date('2026-12-01T10:30:00.250Z'))).toBe('2026-12-01 10:30:00.250+00');
  });
});
