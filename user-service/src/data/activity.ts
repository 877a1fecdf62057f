import type { ActivityMark, Queryable } from '@board/service-kit';

export interface ActivityWrite {
  /** Profiles whose last_active_at this batch moved forward. */
  written: number;
  /** Marks of profiles another transaction held locked: not written, to be tried again. */
  busy: ActivityMark[];
}

/**
 * Writes a batch of marks in one UPDATE. The rows are taken with SKIP LOCKED: a profile another
 * transaction holds (a role change, a deletion) is left for the next batch instead of waited for,
 * so this write never waits on a lock and cannot deadlock with them. A mark never moves
 * last_active_at back, and marks of deleted users fall away.
 */
export async function writeActivity(db: Queryable, marks: readonly ActivityMark[]): Promise<ActivityWrite> {
  if (marks.length === 0) return { written: 0, busy: [] };
  const { rows } = await db.query<{ written: string; busy: string[] }>(
    `WITH marks AS (SELECT * FROM unnest($1::uuid[], $2::timestamptz[]) AS m(id, at)),
     locked AS MATERIALIZED (
       SELECT p.id FROM profiles p JOIN marks m ON m.id = p.id FOR NO KEY UPDATE OF p SKIP LOCKED
     ),
     written AS (
       UPDATE profiles p SET last_active_at = m.at
       FROM marks m JOIN locked l ON l.id = m.id
       WHERE p.id = m.id AND (p.last_active_at IS NULL OR p.last_active_at < m.at)
       RETURNING p.id
     )
     SELECT (SELECT count(*) FROM written) AS written,
            ARRAY(SELECT m.id::text FROM marks m
                  WHERE EXISTS (SELECT 1 FROM profiles p WHERE p.id = m.id)
                    AND NOT EXISTS (SELECT 1 FROM locked l WHERE l.id = m.id)) AS busy`,
    [marks.map((mark) => mark.userId), marks.map((mark) => mark.at.toISOString())],
  );
  const busyIds = new Set(rows[0]!.busy);
  return { written: Number(rows[0]!.written), busy: marks.filter((mark) => busyIds.has(mark.userId)) };
}
