import { compareStreamIds, parseStreamId } from '../domain/stream-id';
import type { ResyncReason } from '../metrics';
import type { EventLog } from '../store/event-log';
import type { SseClient } from './client';
import { StreamEvent } from './frames';
import type { ClientHub } from './hub';

/** Entries read per XRANGE while replaying. */
const REPLAY_BATCH_SIZE = 200;

/**
 * Why a client that last saw `lastEventId` cannot be brought up to date from the stream, if it
 * cannot. An id before the oldest entry may have been followed by entries trimmed since; an id
 * after the newest (or any id when the stream is empty) is one this stream never produced.
 */
export function resyncReason(lastEventId: string, bounds: { first?: string; last?: string }): ResyncReason | undefined {
  const seen = parseStreamId(lastEventId);
  if (!seen) return 'malformed_id';
  const first = bounds.first === undefined ? undefined : parseStreamId(bounds.first);
  const last = bounds.last === undefined ? undefined : parseStreamId(bounds.last);
  if (!first || !last) return 'unknown_id';
  if (compareStreamIds(seen, first) < 0) return 'too_old';
  if (compareStreamIds(seen, last) > 0) return 'unknown_id';
  return undefined;
}

/**
 * Brings a reconnecting client up to date: what it missed from the stream, in order, then the live
 * events held back meanwhile that come after the replay. The client was registered (holding live
 * events back) before the stream was read, so an event appended during the replay is either in
 * what was read or among those held, and goLive drops those that are in both. Appends trim the
 * stream while a slow replay runs: when a batch finds the stream no longer reaching back to the
 * cursor, what lay between may be gone, and the client is told to resync instead.
 */
export async function resume(
  client: SseClient,
  lastEventId: string,
  eventLog: EventLog,
  hub: ClientHub,
): Promise<void> {
  const bounds = await eventLog.bounds();
  const reason = resyncReason(lastEventId, bounds);
  if (reason) {
    resync(client, hub, reason, bounds.last);
    return;
  }
  let cursor = lastEventId;
  for (;;) {
    const { entries, reachesBack } = await eventLog.readAfter(cursor, REPLAY_BATCH_SIZE);
    if (!reachesBack) {
      resync(client, hub, 'too_old', (await eventLog.bounds()).last);
      return;
    }
    for (const { id, event } of entries) {
      if (!client.isOpen) return;
      if (client.deliver(new StreamEvent(id, event))) hub.countDelivered(event.type);
      cursor = id;
      if (client.needsDrain) await client.drained();
    }
    if (entries.length < REPLAY_BATCH_SIZE) break;
  }
  hub.countReplay();
  countDelivered(hub, client.goLive(cursor));
}

/** Tells the client to reload from the API, then lets through what is held back after `newestId`. */
function resync(client: SseClient, hub: ClientHub, reason: ResyncReason, newestId: string | undefined): void {
  hub.countResync(reason);
  client.resync(reason, newestId);
  countDelivered(hub, client.goLive(newestId));
}

function countDelivered(hub: ClientHub, entries: readonly StreamEvent[]): void {
  for (const entry of entries) hub.countDelivered(entry.event.type);
}
