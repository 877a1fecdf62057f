import { applyRetention, DEFAULT_RETENTION } from '../src/retention';

const at = (text: string) => new Date(text);
const keepOf = (times: string[], rule = DEFAULT_RETENTION) => applyRetention(times, at, rule);

/** A nightly backup at 02:00 UTC for `days` days up to 2026-12-01 (a Tuesday), newest first. */
const nightly = (days: number) =>
  Array.from({ length: days }, (_, index) => new Date(Date.UTC(2026, 11, 1 - index, 2)).toISOString());

describe('the retention rule (7 daily, 4 weekly by default)', () => {
  it('keeps everything while there are fewer backups than the rule keeps', () => {
    const times = nightly(5);
    expect(keepOf(times)).toEqual({ keep: times, remove: [] });
  });

  it('after 60 nights: the last 7 days, and the newest of each of the 4 newest weeks', () => {
    const { keep, remove } = keepOf(nightly(60));
    expect(keep).toEqual([
      // The 7 newest days (Tue 1 Dec back to Wed 25 Nov); the newest, Tue 1 Dec, also stands for its week.
      '2026-12-01T02:00:00.000Z',
      '2026-11-30T02:00:00.000Z',
      '2026-11-29T02:00:00.000Z', // Sunday: the newest of the week of Mon 23 Nov
      '2026-11-28T02:00:00.000Z',
      '2026-11-27T02:00:00.000Z',
      '2026-11-26T02:00:00.000Z',
      '2026-11-25T02:00:00.000Z',
      '2026-11-22T02:00:00.000Z', // the week of Mon 16 Nov
      '2026-11-15T02:00:00.000Z', // the week of Mon 9 Nov
    ]);
    expect(remove).toHaveLength(60 - keep.length);
  });

  it('counts days, not backups: several on one day stand for it once, by the newest', () => {
    const times = ['2026-12-01T02:00:00Z', '2026-12-01T14:30:00Z', '2026-11-30T02:00:00Z', '2026-11-30T23:59:59Z'];
    expect(keepOf(times, { daily: 2, weekly: 0 })).toEqual({
      keep: ['2026-12-01T14:30:00Z', '2026-11-30T23:59:59Z'],
      remove: ['2026-12-01T02:00:00Z', '2026-11-30T02:00:00Z'],
    });
  });

  it('skips days and weeks without a backup: a gap does not shorten what is kept', () => {
    const times = ['2026-12-01T02:00:00Z', '2026-11-20T02:00:00Z', '2026-10-01T02:00:00Z', '2026-06-01T02:00:00Z'];
    expect(keepOf(times, { daily: 2, weekly: 3 }).keep).toEqual(['2026-12-01T02:00:00Z', '2026-11-20T02:00:00Z', '2026-10-01T02:00:00Z']);
  });

  it('weeks run Monday to Sunday (UTC)', () => {
    // Sunday 29 Nov 23:00 and Monday 30 Nov 01:00 are in two weeks; Monday 23 and Sunday 29 in one.
    const times = ['2026-11-30T01:00:00Z', '2026-11-29T23:00:00Z', '2026-11-23T00:00:00Z'];
    expect(keepOf(times, { daily: 0, weekly: 2 }).keep).toEqual(['2026-11-30T01:00:00Z', '2026-11-29T23:00:00Z']);
  });

  it('always keeps the newest, whatever the rule', () => {
    expect(keepOf(['2026-12-01T02:00:00Z', '2026-11-30T02:00:00Z'], { daily: 0, weekly: 0 }).keep).toEqual(['2026-12-01T02:00:00Z']);
    expect(keepOf([], DEFAULT_RETENTION)).toEqual({ keep: [], remove: [] });
  });

  it('refuses a rule that is not whole numbers of 0 or more', () => {
    expect(() => keepOf([], { daily: -1, weekly: 4 })).toThrow(/daily/);
    expect(() => keepOf([], { daily: 7, weekly: 1.5 })).toThrow(/weekly/);
  });
});
