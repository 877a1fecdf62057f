import type { Request, Response } from 'express';
import { parse, serialize, type SerializeOptions } from 'cookie';
import type { PresentedRefresh } from '../domain/csrf';

const REFRESH_COOKIE = 'refresh_token';
const CSRF_COOKIE = 'csrf_token';
const CSRF_HEADER = 'x-csrf-token';
const DEVICE_COOKIE = 'device_token';
const DEVICE_COOKIE_MAX_AGE_SECONDS = 180 * 86_400;

/** Only auth routes ever need the refresh token, so the browser sends it nowhere else. */
const REFRESH_COOKIE_OPTIONS: SerializeOptions = { httpOnly: true, secure: true, sameSite: 'strict', path: '/api/auth' };
/** Only the login handler reads the device token; it outlives sessions, and logging out keeps it. */
const DEVICE_COOKIE_OPTIONS: SerializeOptions = { httpOnly: true, secure: true, sameSite: 'strict', path: '/api/auth/login' };
/** Scripts on every page read the CSRF token to echo it in the X-CSRF-Token header. */
const CSRF_COOKIE_OPTIONS: SerializeOptions = { secure: true, sameSite: 'strict', path: '/' };

function readCookie(req: Request, name: string): string | undefined {
  const value = parse(req.headers.cookie ?? '')[name];
  return value === '' ? undefined : value;
}

export function setSessionCookies(res: Response, cookies: { refreshToken: string; csrfToken: string; expiresAt: Date }): void {
  const maxAge = Math.max(0, Math.floor((cookies.expiresAt.getTime() - Date.now()) / 1000));
  res.append('Set-Cookie', [
    serialize(REFRESH_COOKIE, cookies.refreshToken, { ...REFRESH_COOKIE_OPTIONS, maxAge }),
    serialize(CSRF_COOKIE, cookies.csrfToken, { ...CSRF_COOKIE_OPTIONS, maxAge }),
  ]);
}

export function clearSessionCookies(res: Response): void {
  const expired = { maxAge: 0, expires: new Date(0) };
  res.append('Set-Cookie', [
    serialize(REFRESH_COOKIE, '', { ...REFRESH_COOKIE_OPTIONS, ...expired }),
    serialize(CSRF_COOKIE, '', { ...CSRF_COOKIE_OPTIONS, ...expired }),
  ]);
}

/** The refresh cookie and both copies of the CSRF token, as the request carries them. */
export function presentedRefresh(req: Request): PresentedRefresh {
  const header = req.headers[CSRF_HEADER];
  return {
    refreshToken: readCookie(req, REFRESH_COOKIE),
    csrfHeader: typeof header === 'string' ? header : undefined,
    csrfCookie: readCookie(req, CSRF_COOKIE),
  };
}

/** Remembers that this browser logged in to the account (see LoginThrottle). */
export function setDeviceCookie(res: Response, deviceToken: string): void {
  res.append('Set-Cookie', serialize(DEVICE_COOKIE, deviceToken, { ...DEVICE_COOKIE_OPTIONS, maxAge: DEVICE_COOKIE_MAX_AGE_SECONDS }));
}

export const presentedDeviceToken = (req: Request): string | undefined => readCookie(req, DEVICE_COOKIE);
