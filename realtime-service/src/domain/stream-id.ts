/**
 * Redis stream ids are `<milliseconds>-<sequence>`. They order as (ms, seq) pairs, which neither
 * string nor float comparison gets right ("9-0" < "10-0"), so both halves are compared as integers.
 */
export interface StreamId {
  readonly ms: bigint;
  readonly seq: bigint;
}

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;

/** The id, or undefined when `value` is not a complete stream id (a client may send anything). */
export function parseStreamId(value: string): StreamId | undefined {
  const match = STREAM_ID.exec(value);
  if (!match) return undefined;
  return { ms: BigInt(match[1]!), seq: BigInt(match[2]!) };
}

export function compareStreamIds(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

/** Whether stream id `a` comes after `b`; both must be well formed (ids Redis itself produced). */
export function isAfter(a: string, b: string): boolean {
  const left = parseStreamId(a);
  const right = parseStreamId(b);
  if (!left || !right) throw new Error(`not a stream id: ${left ? b : a}`);
  return compareStreamIds(left, right) > 0;
}

/** When Redis appended the entry with this id, in epoch milliseconds. */
export function appendedAt(id: string): number {
  return Number.parseInt(id, 10);
}
