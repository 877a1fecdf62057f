import { AppError, conflict, unauthorized } from '@board/service-kit';

/** The same answer for an unknown email and a wrong password, so logins reveal no accounts. */
export const invalidCredentials = () => unauthorized('The email or password is not correct', 'INVALID_CREDENTIALS');
export const invalidRefreshToken = () => unauthorized('The refresh token is missing, expired or revoked', 'INVALID_REFRESH_TOKEN');
export const refreshTokenReused = () =>
  unauthorized('The refresh token was already used, so its session has been revoked; sign in again', 'REFRESH_TOKEN_REUSED');
export const sessionEnded = () => unauthorized('The session has ended; sign in again', 'SESSION_REVOKED');
export const csrfFailed = () => new AppError(403, 'CSRF_FAILED', 'The CSRF token is missing or does not match');
export const emailTaken = () => conflict('An account with this email already exists', 'EMAIL_TAKEN');
export const usernameTaken = () => conflict('This username is taken', 'USERNAME_TAKEN');
