/** A live session as its user sees it in the device list. */
export interface SessionView {
  id: string;
  userAgent: string;
  ip: string | null;
  createdAt: Date;
  lastUsedAt: Date;
}

/** What a presented refresh token leads to. */
export interface RefreshTokenRecord {
  sessionId: string;
  userId: string;
  /** The token was exchanged for a newer one already: presenting it again is reuse (after the grace window). */
  rotated: boolean;
  /** How long ago it was rotated, in milliseconds; null when it was not. */
  rotatedMsAgo: number | null;
  /** The session is neither revoked nor past its absolute expiry. */
  live: boolean;
  csrfHash: string;
  expiresAt: Date;
}
