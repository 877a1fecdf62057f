import pg from 'pg';
import { DEFAULT_LOCAL_SERVERS } from '../plan';

type Row = Record<string, unknown>;

/** Every row of every table of every service database, by primary key. */
export type Snapshot = Map<string, Map<string, { key: string; row: Row; text: string }>>;

/**
 * Tables whose rows change by design whoever calls: events waiting to be published and published
 * (outbox) and the consumers' record of events already handled (processed_events). Every other
 * table, migration records included, is compared row by row.
 */
const BOOKKEEPING = new Set(['outbox', 'processed_events']);

const connect = (database: string) => {
  const url = new URL(DEFAULT_LOCAL_SERVERS.postgres);
  url.pathname = `/${database}`;
  return new pg.Client({ connectionString: url.toString() });
};

/** `auth_e2e_1a2b` -> `auth`: the service's database whatever the namespace. */
export const serviceOf = (database: string, namespace: string) => (namespace ? database.slice(0, -(namespace.length + 1)) : database);

export async function snapshot(databases: readonly string[], namespace: string): Promise<Snapshot> {
  const result: Snapshot = new Map();
  for (const database of databases) {
    const client = connect(database);
    await client.connect();
    try {
      const tables = await client.query<{ table: string; key: string[] }>(
        `SELECT c.relname AS table,
                coalesce((SELECT array_agg(a.attname::text ORDER BY k.ord)
                            FROM pg_index i
                            CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                           WHERE i.indrelid = c.oid AND i.indisprimary), '{}') AS key
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r'
          ORDER BY c.relname`,
      );
      for (const { table, key } of tables.rows) {
        if (BOOKKEEPING.has(table)) continue;
        const rows = await client.query<{ row: Row }>(`SELECT to_jsonb(t) AS row FROM ${pg.escapeIdentifier(table)} t`);
        const byKey = new Map<string, { key: string; row: Row; text: string }>();
        rows.rows.forEach(({ row }, index) => {
          // A table without a primary key is compared by whole rows.
          const rowKey = key.length > 0 ? key.map((column) => String(row[column])).join('/') : `#${index}:${JSON.stringify(row)}`;
          byKey.set(rowKey, { key: rowKey, row, text: JSON.stringify(row) });
        });
        result.set(`${serviceOf(database, namespace)}.${table}`, byKey);
      }
    } finally {
      await client.end();
    }
  }
  return result;
}

/** Unpublished events in every outbox: the snapshot after a run waits until they are out. */
export async function pendingEvents(databases: readonly string[]): Promise<number> {
  let pending = 0;
  for (const database of databases) {
    const client = connect(database);
    await client.connect();
    try {
      const exists = await client.query(`SELECT 1 FROM pg_class WHERE relname = 'outbox' AND relkind = 'r'`);
      if (exists.rowCount) pending += Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0]!.n);
    } finally {
      await client.end();
    }
  }
  return pending;
}

export interface RowChange {
  table: string;
  key: string;
  kind: 'inserted' | 'deleted' | 'updated';
  before?: Row;
  after?: Row;
  /** The user the row belongs to, when the table has an owner rule. */
  owner?: string;
}

/**
 * Whose a row is, per table: the user a change to it affects. Tables without a rule (signing
 * keys, migrations, anything new) have no owner, so every change to them is unexplained.
 */
const OWNERS: Record<string, (row: Row, sessions: (id: string) => Row | undefined) => unknown> = {
  'auth.credentials': (row) => row.user_id,
  'auth.sessions': (row) => row.user_id,
  'auth.refresh_tokens': (row, sessions) => sessions(String(row.session_id))?.user_id,
  'users.profiles': (row) => row.id,
  'users.deleted_profiles': (row) => row.id,
  'messages.authors': (row) => row.id,
  'messages.messages': (row) => row.author_id,
  'messages.deleted_users': (row) => row.id,
  'messages.likes': (row) => row.user_id,
  'messages.bookmarks': (row) => row.user_id,
  'users.avatars': (row) => row.user_id,
};

/**
 * Tables that only summarise others: a change to one is explained when, after the run, it still
 * says what its source rows say (a channel's count and newest message, from the messages).
 */
const DERIVED: Record<string, (row: Row, after: Snapshot) => boolean> = {
  'messages.channels': (row, after) => {
    const messages = [...(after.get('messages.messages')?.values() ?? [])].map((entry) => entry.row).filter((message) => message.channel === row.name);
    const newest = messages.reduce((latest, message) => Math.max(latest, Date.parse(String(message.created_at))), 0);
    return Number(row.message_count) === messages.length && Date.parse(String(row.last_message_at)) === newest;
  },
};

export function diff(before: Snapshot, after: Snapshot): RowChange[] {
  const changes: RowChange[] = [];
  const sessions = (id: string) => after.get('auth.sessions')?.get(id)?.row ?? before.get('auth.sessions')?.get(id)?.row;
  for (const table of new Set([...before.keys(), ...after.keys()])) {
    const old = before.get(table) ?? new Map();
    const now = after.get(table) ?? new Map();
    const owner = (row: Row) => {
      const value = OWNERS[table]?.(row, sessions);
      return value === undefined || value === null ? undefined : String(value);
    };
    const derived = DERIVED[table];
    for (const [key, entry] of now) {
      if (derived?.(entry.row, after)) continue;
      const previous = old.get(key);
      if (!previous) changes.push({ table, key, kind: 'inserted', after: entry.row, owner: owner(entry.row) });
      else if (previous.text !== entry.text) changes.push({ table, key, kind: 'updated', before: previous.row, after: entry.row, owner: owner(entry.row) });
    }
    for (const [key, entry] of old) if (!now.has(key) && !(derived && isEmptyChannelGone(entry.row, after))) changes.push({ table, key, kind: 'deleted', before: entry.row, owner: owner(entry.row) });
  }
  return changes;
}

/** A channel row that went because no message of it is left. */
const isEmptyChannelGone = (row: Row, after: Snapshot) =>
  ![...(after.get('messages.messages')?.values() ?? [])].some((entry) => entry.row.channel === row.name);

/** What the run's callers were allowed to change. */
export interface Allowances {
  /** Accounts the fuzzer holds credentials for: their own rows are theirs to change. */
  fuzzOwned: ReadonlySet<string>;
  /** Users an admin acted on (deleted, changed the role of) with a 2xx answer. */
  adminTargets: ReadonlySet<string>;
  /** Messages an admin deleted with a 2xx answer. */
  adminDeletedMessages: ReadonlySet<string>;
  /** The run's victims and moderated users: nothing but an admin's action may change their rows. */
  bystanders: ReadonlySet<string>;
  /**
   * Rows of accounts that existed before the run and are none of the above: `forbidden` when the
   * run has the stack to itself (npm run fuzz), `ignored` when other test files share it and
   * change their own users' rows meanwhile (the e2e suite).
   */
  strangers: 'forbidden' | 'ignored';
}

/** The changes nobody in the run was allowed to make. */
export function unexplained(changes: readonly RowChange[], allowed: Allowances): RowChange[] {
  // Anyone may register: the accounts made during the run, and whatever follows from them, are new.
  const registered = new Set(changes.filter((change) => change.table === 'auth.credentials' && change.kind === 'inserted').map((change) => change.key));
  return changes.filter((change) => {
    if (change.table === 'messages.messages' && allowed.adminDeletedMessages.has(change.key)) return false;
    if (change.owner === undefined) return true;
    if (allowed.fuzzOwned.has(change.owner) || allowed.adminTargets.has(change.owner)) return false;
    if (allowed.bystanders.has(change.owner)) return true;
    return allowed.strangers === 'forbidden' && !registered.has(change.owner);
  });
}

export function describeChange(change: RowChange): string {
  const row = (value: Row | undefined) => JSON.stringify(value).slice(0, 600);
  if (change.kind === 'updated') {
    const fields = Object.keys({ ...change.before, ...change.after }).filter(
      (field) => JSON.stringify(change.before?.[field]) !== JSON.stringify(change.after?.[field]),
    );
    const what = fields.map((field) => `${field}: ${JSON.stringify(change.before?.[field])} -> ${JSON.stringify(change.after?.[field])}`).join(', ');
    return `${change.table} ${change.key} updated (owner ${change.owner ?? 'none'}): ${what}`;
  }
  return `${change.table} ${change.key} ${change.kind} (owner ${change.owner ?? 'none'}): ${row(change.after ?? change.before)}`;
}
