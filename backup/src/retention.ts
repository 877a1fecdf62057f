/** How many logical dumps to keep: the newest of each of the last `daily` days and of the last `weekly` weeks. */
export interface RetentionRule {
  daily: number;
  weekly: number;
}

export const DEFAULT_RETENTION: RetentionRule = { daily: 7, weekly: 4 };

const DAY_MS = 86_400_000;

/** The UTC day of a time, e.g. 2026-12-01. */
const dayOf = (time: Date) => time.toISOString().slice(0, 10);

/** The Monday (UTC) that starts the ISO week of a time: weeks run Monday to Sunday. */
function weekOf(time: Date): string {
  const midnight = Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate());
  const sinceMonday = (new Date(midnight).getUTCDay() + 6) % 7;
  return dayOf(new Date(midnight - sinceMonday * DAY_MS));
}

/**
 * Which backups a rule keeps and which it removes. Per period (a day, a week), the newest backup
 * in it stands for it; the `daily` newest days that have a backup are kept, and so are the
 * `weekly` newest weeks, counted independently (a backup may stand for both its day and its
 * week). The newest backup is always kept, so no rule can leave nothing.
 */
export function applyRetention<T>(backups: readonly T[], timeOf: (backup: T) => Date, rule: RetentionRule): { keep: T[]; remove: T[] } {
  for (const [name, count] of Object.entries(rule)) {
    if (!Number.isInteger(count) || count < 0) throw new Error(`retention: ${name} must be a whole number of 0 or more, not ${count}`);
  }
  const newestFirst = [...backups].sort((a, b) => timeOf(b).getTime() - timeOf(a).getTime());
  const kept = new Set<T>(newestFirst.slice(0, 1));
  const keepNewestPer = (periodOf: (time: Date) => string, periods: number) => {
    const seen = new Set<string>();
    for (const backup of newestFirst) {
      if (seen.size === periods) return;
      const period = periodOf(timeOf(backup));
      if (seen.has(period)) continue;
      seen.add(period);
      kept.add(backup);
    }
  };
  keepNewestPer(dayOf, rule.daily);
  keepNewestPer(weekOf, rule.weekly);
  return { keep: newestFirst.filter((backup) => kept.has(backup)), remove: newestFirst.filter((backup) => !kept.has(backup)) };
}
