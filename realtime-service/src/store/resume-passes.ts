import { randomBytes } from 'node:crypto';
import { type Redis } from '@board/service-kit';
import type { Identity } from '@board/service-kit/contracts';
import { parseIdentity } from './tickets';

/** The cookie that carries a pass: sent back only to the stream route, never readable by scripts. */
export const RESUME_COOKIE = 'sse_resume';

/** 32 random bytes in base64url, as tickets. */
const PASS_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export interface ResumePass {
  readonly value: string;
  /** The stream closed: stop renewing, so the pass lapses within one lease (the reconnect window). */
  release(): void;
}

/**
 * Resume passes: what lets a browser's own EventSource reconnect. The native reconnect repeats
 * the stream URL, whose ticket is spent, and adds `Last-Event-ID`; it cannot be given a new
 * ticket. So every stream that opens gets a pass in an HttpOnly, Secure, SameSite=Strict cookie
 * scoped to `/api/events`, and a request whose ticket is spent but whose pass is good opens as the
 * pass's identity. A pass is an opaque random value; Redis holds the identity it stands for under
 * a lease this instance renews while the stream is open, so it outlives the stream by one lease at
 * most (and an instance that dies stops renewing). Each pass opens one stream (redeemed with
 * GETDEL) and that stream gets the next, so a copied cookie is good for one use, and the identity
 * still goes through the revocation and role checks a ticket does.
 */
export class ResumePasses {
  private readonly held = new Set<string>();
  private readonly renewTimer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly leaseMs: number,
  ) {
    this.renewTimer = setInterval(() => void this.renew().catch(() => undefined), leaseMs / 3).unref();
  }

  async issue(identity: Identity): Promise<ResumePass> {
    const value = randomBytes(32).toString('base64url');
    const { userId, role, sessionId } = identity;
    await this.redis.set(this.key(value), JSON.stringify({ userId, role, sessionId }), 'PX', this.leaseMs);
    this.held.add(value);
    return { value, release: () => this.held.delete(value) };
  }

  /** The identity the pass stands for, consumed; undefined for a used, lapsed or made-up pass. */
  async redeem(value: string): Promise<Identity | undefined> {
    if (!PASS_FORMAT.test(value)) return undefined;
    const stored = await this.redis.getdel(this.key(value));
    return stored === null ? undefined : parseIdentity(stored);
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const value of this.held) pipeline.pexpire(this.key(value), this.leaseMs);
    await pipeline.exec();
  }

  stop(): void {
    clearInterval(this.renewTimer);
  }

  private key(value: string): string {
    return `${this.prefix}sse-resume:${value}`;
  }
}

/** The pass a request carries in its Cookie header, if any. */
export function passFromCookies(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === RESUME_COOKIE) return rest.join('=');
  }
  return undefined;
}

/** The Set-Cookie value for a pass: no Max-Age, since its life is the server's lease, not a clock in the browser. */
export const resumeCookie = (value: string): string => `${RESUME_COOKIE}=${value}; Path=/api/events; HttpOnly; Secure; SameSite=Strict`;
