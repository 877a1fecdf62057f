import { Router, type Request } from 'express';
import {
  AppError,
  callerOf,
  requireIdentity,
  serviceUnavailable,
  unauthorized,
  validate,
  validated,
  type Logger,
  type RevocationList,
} from '@board/service-kit';
import { identityFromHeaders, lowerRole, sendsIdentity, type Identity } from '@board/service-kit/contracts';
import type { ClientHub } from '../sse/hub';
import type { LiveFeed } from '../sse/live-feed';
import { resume } from '../sse/resume';
import type { EventLog } from '../store/event-log';
import type { StreamSlots } from '../store/stream-slots';
import { passFromCookies, resumeCookie, type ResumePass, type ResumePasses } from '../store/resume-passes';
import type { TicketStore } from '../store/tickets';
import { streamQueryFields } from './validators';

export interface EventsRouteDeps {
  tickets: TicketStore;
  /** What authorises a browser's own reconnect, whose ticket is spent. */
  resumePasses: ResumePasses;
  /** Caps on open streams per user and per client address, across instances. */
  slots: StreamSlots;
  revocations: RevocationList;
  eventLog: EventLog;
  hub: ClientHub;
  liveFeed: LiveFeed;
  logger: Logger;
}

interface StreamQuery {
  channels: string[];
  ticket?: string;
  lastEventId?: string;
}

/** Seconds a client should wait before trying again when live events are unavailable. */
const RETRY_AFTER_SECONDS = 5;

export function eventsRouter(deps: EventsRouteDeps): Router {
  const { tickets, resumePasses, slots, revocations, eventLog, hub, liveFeed } = deps;
  const log = deps.logger.child({ component: 'sse' });
  const router = Router();

  /** Redis failures on the request path are a 503 for the client, not a 500. */
  async function orUnavailable<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      log.warn({ err: error }, 'Redis did not answer');
      throw serviceUnavailable('Live events are unavailable right now', RETRY_AFTER_SECONDS);
    }
  }

  router.post('/api/events/ticket', requireIdentity, async (req, res) => {
    const ticket = await orUnavailable(tickets.issue(callerOf(req)));
    // A credential, if a short-lived one: no cache along the way may keep it.
    res.set('Cache-Control', 'no-store').json({ ticket, expiresIn: Math.ceil(tickets.ttlMs / 1_000) });
  });

  /**
   * Who opens the stream: the holder of a ticket; else, with a ticket that is spent (the
   * browser's own reconnect repeats the URL), the holder of a resume pass; without a ticket, the
   * caller the gateway vouches for, or the holder of a pass, or (with neither) a visitor,
   * undefined, who gets the `user` view. Identity headers that do not make an identity are
   * refused, not taken for a visitor. Whether visitors may watch is the gateway's decision
   * (PUBLIC_READ). `resumable`: whether the stream gets a pass of its own.
   */
  async function streamIdentity(req: Request, ticket: string | undefined): Promise<{ identity: Identity | undefined; resumable: boolean }> {
    if (ticket === undefined && sendsIdentity(req.headers)) {
      const identity = identityFromHeaders(req.headers);
      if (!identity) throw unauthorized('The identity the gateway sent is incomplete');
      return { identity, resumable: false };
    }
    if (ticket !== undefined) {
      const identity = await orUnavailable(tickets.redeem(ticket));
      if (identity) return { identity, resumable: true };
    }
    const pass = passFromCookies(req.headers.cookie);
    const identity = pass === undefined ? undefined : await orUnavailable(resumePasses.redeem(pass));
    if (identity) return { identity, resumable: true };
    if (ticket !== undefined) throw unauthorized('The ticket is invalid, expired or already used', 'INVALID_TICKET');
    return { identity: undefined, resumable: false };
  }

  /** A pass for the next reconnect of this stream; without one (Redis blinked), the client takes a fresh ticket. */
  async function passFor(identity: Identity): Promise<ResumePass | undefined> {
    try {
      return await resumePasses.issue(identity);
    } catch (error) {
      log.warn({ err: error }, 'no resume pass for this stream');
      return undefined;
    }
  }

  /** The identity as it stands now: refused when revoked, held to the user's current role. */
  async function currentIdentity(identity: Identity | undefined): Promise<Identity | undefined> {
    if (!identity) return undefined;
    const { revoked, role } = await orUnavailable(revocations.standing(identity.sessionId, identity.userId));
    if (revoked) throw unauthorized('This session has been revoked', 'SESSION_REVOKED');
    return role ? { ...identity, role: lowerRole(identity.role, role) } : identity;
  }

  /**
   * Why a stream opened as `opened` must end after all: revoked, or its role lowered, since the
   * first check. Undefined when nothing changed, or when Redis cannot say (the first check passed
   * a moment ago; a blip does not end the stream).
   */
  async function changedSince(opened: Identity | undefined): Promise<'revoked' | 'role_lowered' | undefined> {
    if (!opened) return undefined;
    const { revoked, role } = await revocations.standing(opened.sessionId, opened.userId).catch(() => ({ revoked: false, role: undefined }));
    if (revoked) return 'revoked';
    return role && lowerRole(opened.role, role) !== opened.role ? 'role_lowered' : undefined;
  }

  router.get('/api/events', validate(...streamQueryFields()), async (req, res) => {
    const { channels, ticket, lastEventId: lastEventIdParam } = validated<StreamQuery>(req);
    if (!hub.isAccepting || !liveFeed.isSubscribed) {
      throw serviceUnavailable('Live events are unavailable right now', RETRY_AFTER_SECONDS);
    }
    const opener = await streamIdentity(req, ticket);
    const identity = await currentIdentity(opener.identity);
    // An empty Last-Event-ID means the client saw no event yet, as if it were absent.
    const lastEventId = req.get('last-event-id') || lastEventIdParam || undefined;
    const slot = await orUnavailable(slots.claim({ userId: identity?.userId, address: req.ip ?? req.socket.remoteAddress ?? '' }));
    if (!slot.granted) {
      const whose = { user: 'this account', visitor: 'visitors at this address', address: 'this address' }[slot.cap];
      throw new AppError(429, 'TOO_MANY_REQUESTS', `Too many open event streams for ${whose}; close one first`, undefined, {
        'Retry-After': String(RETRY_AFTER_SECONDS),
      });
    }
    const pass = opener.resumable && identity ? await passFor(identity) : undefined;
    res.once('close', () => {
      pass?.release();
      void slot.release();
    });
    // The client may have left while we checked who it is; its 'close' has been and gone.
    if (res.closed) {
      pass?.release();
      await slot.release();
      return;
    }
    if (pass) res.setHeader('Set-Cookie', resumeCookie(pass.value));
    // A stream lasts as long as the client stays; its duration would swamp the latency histogram.
    res.locals.skipRequestMetrics = true;
    const client = hub.open(res, identity, channels, lastEventId !== undefined);
    // A revocation or demotion announced while the checks above ran found no stream to close:
    // look again now that this one is registered and will hear the next.
    const changed = await changedSince(identity);
    if (changed) {
      client.close(changed);
      return;
    }
    if (lastEventId === undefined) return;
    try {
      await resume(client, lastEventId, eventLog, hub);
    } catch (error) {
      log.warn({ err: error, userId: identity?.userId }, 'replay failed; ending the stream so that the client retries');
      client.close('replay_failed');
    }
  });

  return router;
}
