/** The daily time (UTC) of the nightly backup, `HH:MM`. */
export interface DailyTime {
  hour: number;
  minute: number;
}

export function parseDailyTime(text: string): DailyTime {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a time of day as HH:MM (UTC)`);
  return { hour: Number(match[1]), minute: Number(match[2]) };
}

/** The first moment at `at` (UTC) strictly after `after`. */
export function nextRun(after: Date, at: DailyTime): Date {
  const today = Date.UTC(after.getUTCFullYear(), after.getUTCMonth(), after.getUTCDate(), at.hour, at.minute);
  return new Date(today > after.getTime() ? today : today + 86_400_000);
}

/**
 * A full physical backup once a week, incremental ones in between: full when there is none yet or
 * the newest is six days old or more (six, not seven, so a nightly run a few minutes earlier than
 * last week's still makes the weekly one).
 */
export function physicalBackupType(now: Date, newestFull: Date | undefined): 'full' | 'incr' {
  if (!newestFull) return 'full';
  return now.getTime() - newestFull.getTime() >= 6 * 86_400_000 ? 'full' : 'incr';
}
