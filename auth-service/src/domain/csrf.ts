import { sameSecret } from './tokens';

/** What a browser presents to refresh or to log out: the refresh cookie, and the CSRF token twice. */
export interface PresentedRefresh {
  refreshToken: string | undefined;
  /** The X-CSRF-Token header, which only a script of the site's own origin can set. */
  csrfHeader: string | undefined;
  /** The csrf_token cookie, which only a script of the site's own origin can read. */
  csrfCookie: string | undefined;
}

/**
 * The double-submit check: the header must equal the cookie. Another site can make a browser send
 * the cookies but can neither read the cookie nor set the header. Returns the token, which the
 * session must also recognise as its own (a planted cookie fails there).
 */
export function doubleSubmittedCsrfToken({ csrfHeader, csrfCookie }: PresentedRefresh): string | undefined {
  if (csrfHeader === undefined || csrfCookie === undefined) return undefined;
  return sameSecret(csrfHeader, csrfCookie) ? csrfCookie : undefined;
}
