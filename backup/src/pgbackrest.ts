import { CommandError, run, type CommandWrapper } from './command';

export interface PgBackRestOptions {
  stanza: string;
  /** The configuration file that names the repository and the cluster (the archive_command reads the same one). */
  config?: string;
  /** The binary; `pgbackrest` on PATH by default. */
  command?: string;
  /** Runs pgbackrest as the user that owns the data directory (PostgreSQL's). */
  wrap?: CommandWrapper;
  /**
   * How long a command waits while another pgBackRest process holds the stanza's lock (the
   * nightly run and an operator's `npm run backup`, say) before it fails; 15 minutes by default.
   */
  lockWaitMs?: number;
}

/** pgBackRest's exit code when another process holds the lock (its error 050). */
const LOCK_ACQUIRE_ERROR = 50;
const LOCK_RETRY_MS = 2_000;

/** A backup set in the repository, as `pgbackrest info` lists it. */
export interface BackupSet {
  label: string;
  type: 'full' | 'diff' | 'incr';
  started: Date;
  stopped: Date;
  /** Bytes in the repository (compressed, this set's own files). */
  repoSize: number;
}

export interface StanzaInfo {
  backups: BackupSet[];
  /** The archived WAL range, oldest first; undefined before the first segment reached the repository. */
  archive?: { min: string; max: string };
}

interface InfoJson {
  name: string;
  archive: { min: string | null; max: string | null }[];
  backup: { label: string; type: BackupSet['type']; timestamp: { start: number; stop: number }; info: { repository: { delta: number } } }[];
}

/** Restores a backup set: to the end of the archive, or to a point in time. */
export interface RestoreOptions {
  /** Recovery stops before the first transaction that committed after this time, and the server is promoted there. */
  target?: Date;
  /** A backup set label; by default pgBackRest picks the newest one (before `target`, when given). */
  set?: string;
}

/**
 * pgBackRest, run for one stanza: point-in-time recovery of the whole cluster from full and
 * incremental backups plus the WAL the server archives with `archive-push`.
 */
export class PgBackRest {
  constructor(private readonly options: PgBackRestOptions) {}

  private async pgbackrest(command: string, extra: string[] = []): Promise<string> {
    const args = [...(this.options.config ? [`--config=${this.options.config}`] : []), `--stanza=${this.options.stanza}`, ...extra, command];
    const deadline = Date.now() + (this.options.lockWaitMs ?? 15 * 60_000);
    for (;;) {
      try {
        return (await run(this.options.command ?? 'pgbackrest', args, { wrap: this.options.wrap })).stdout;
      } catch (error) {
        if (!(error instanceof CommandError) || error.exitCode !== LOCK_ACQUIRE_ERROR || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
      }
    }
  }

  /** Creates the stanza in the repository; does nothing when it exists and matches the cluster. */
  async createStanza(): Promise<void> {
    await this.pgbackrest('stanza-create');
  }

  /** Proves the archive works: forces a WAL switch and waits until that segment is in the repository. */
  async check(): Promise<void> {
    await this.pgbackrest('check');
  }

  async backup(type: BackupSet['type']): Promise<void> {
    await this.pgbackrest('backup', [`--type=${type}`]);
  }

  /** Removes the backups and WAL the retention options (repo1-retention-full...) no longer keep. */
  async expire(): Promise<void> {
    await this.pgbackrest('expire');
  }

  async info(): Promise<StanzaInfo> {
    const [stanza] = JSON.parse(await this.pgbackrest('info', ['--output=json'])) as InfoJson[];
    if (!stanza) return { backups: [] };
    const archive = stanza.archive.find((entry) => entry.min && entry.max);
    return {
      archive: archive ? { min: archive.min!, max: archive.max! } : undefined,
      backups: stanza.backup.map((set) => ({
        label: set.label,
        type: set.type,
        started: new Date(set.timestamp.start * 1000),
        stopped: new Date(set.timestamp.stop * 1000),
        repoSize: set.info.repository.delta,
      })),
    };
  }

  /**
   * Rewrites the (stopped) cluster's data directory from a backup set, and sets up recovery: on
   * its next start the server replays archived WAL, to `target` or to the end, then promotes.
   * `--delta` keeps the files that already match, so an existing data directory restores fast.
   */
  async restore({ target, set }: RestoreOptions = {}): Promise<void> {
    const extra = ['--delta'];
    if (set) extra.push(`--set=${set}`);
    if (target) extra.push('--type=time', `--target=${recoveryTime(target)}`, '--target-action=promote');
    await this.pgbackrest('restore', extra);
  }
}

/**
 * A time as both PostgreSQL (recovery_target_time) and pgBackRest read it: pgBackRest picks the
 * backup set for a time target only from `YYYY-MM-DD HH:MM:SS[.mmm]+HH`, not from ISO 8601's T and Z.
 */
export const recoveryTime = (time: Date) => `${time.toISOString().replace('T', ' ').replace('Z', '')}+00`;

/** An ISO 8601 time with its offset (e.g. 2026-12-01T10:30:00Z); a time without one would depend on the container's zone. */
export function parseTime(text: string): Date {
  if (!/(Z|[+-]\d{2}(:?\d{2})?)$/.test(text) || Number.isNaN(Date.parse(text))) {
    throw new Error(`--to "${text}": give an ISO 8601 time with its offset, e.g. 2026-12-01T10:30:00Z`);
  }
  return new Date(text);
}
