import { randomBytes } from 'node:crypto';
import { type Redis } from '@board/service-kit';
import { isRole, type Identity } from '@board/service-kit/contracts';

/** 32 random bytes in base64url. */
const TICKET_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/**
 * Short-lived, single-use stream tickets. A browser's EventSource cannot send an Authorization
 * header, so the client trades its access token for a ticket and puts that in the stream URL; a
 * URL ends up in logs and history, hence one use and a few seconds of life.
 */
export class TicketStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly ttlMs: number,
  ) {}

  async issue(identity: Identity): Promise<string> {
    const ticket = randomBytes(32).toString('base64url');
    const { userId, role, sessionId } = identity;
    await this.redis.set(this.key(ticket), JSON.stringify({ userId, role, sessionId }), 'PX', this.ttlMs);
    return ticket;
  }

  /** The identity the ticket was issued to, consumed; undefined for a used, expired or made-up ticket. */
  async redeem(ticket: string): Promise<Identity | undefined> {
    if (!TICKET_FORMAT.test(ticket)) return undefined;
    const stored = await this.redis.getdel(this.key(ticket));
    return stored === null ? undefined : parseIdentity(stored);
  }

  private key(ticket: string): string {
    return `${this.prefix}sse-ticket:${ticket}`;
  }
}

/** An identity as stored in Redis by this service (tickets, resume passes); undefined if it is not one. */
export function parseIdentity(json: string): Identity | undefined {
  const value: unknown = JSON.parse(json);
  if (typeof value !== 'object' || value === null) return undefined;
  const { userId, role, sessionId } = value as Record<string, unknown>;
  if (typeof userId !== 'string' || typeof sessionId !== 'string' || !isRole(role)) return undefined;
  return { userId, role, sessionId };
}
