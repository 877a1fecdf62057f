import { Router, type Request, type Response } from 'express';
import { AppError, callerOf, displayNameField, onlyFields, validate, validated } from '@board/service-kit';
import { identityFromHeaders } from '@board/service-kit/contracts';
import type { Accounts, Registration } from '../domain/accounts';
import type { Device, SessionManager, SignedIn } from '../domain/sessions';
import { identified } from './identity';
import { clearSessionCookies, presentedDeviceToken, presentedRefresh, setDeviceCookie, setSessionCookies } from './cookies';
import { emailField, newPasswordField, presentedPasswordField, usernameField } from './validators';

const USER_AGENT_MAX = 512;

export interface AuthRouterDeps {
  accounts: Accounts;
  sessions: SessionManager;
}

/** IPv4 clients reach a dual-stack socket as ::ffff:a.b.c.d; people expect a.b.c.d. */
const clientIp = (req: Request): string | undefined => req.ip?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');

const deviceOf = (req: Request): Device => ({ userAgent: (req.get('user-agent') ?? '').slice(0, USER_AGENT_MAX), ip: clientIp(req) });

function sendSignedIn(res: Response, signedIn: SignedIn): void {
  const { refreshToken, csrfToken, sessionExpiresAt, ...body } = signedIn;
  setSessionCookies(res, { refreshToken, csrfToken, expiresAt: sessionExpiresAt });
  res.set('Cache-Control', 'no-store').json(body);
}

/** Registration, sign-in, token refresh, sign-out and password change under /api/auth. */
export function authRouter({ accounts, sessions }: AuthRouterDeps): Router {
  const router = Router();

  router.post(
    '/api/auth/register',
    validate(onlyFields('email', 'username', 'password', 'displayName'), emailField(), usernameField(), newPasswordField('password'), displayNameField().optional()),
    async (req, res) => {
      const user = await accounts.register(validated<Registration>(req));
      res.status(201).json({ user });
    },
  );

  router.post('/api/auth/login', validate(emailField(), presentedPasswordField('password')), async (req, res) => {
    const { email, password } = validated<{ email: string; password: string }>(req);
    const { deviceToken, ...signedIn } = await sessions.login(email, password, deviceOf(req), presentedDeviceToken(req));
    setDeviceCookie(res, deviceToken);
    sendSignedIn(res, signedIn);
  });

  router.post('/api/auth/refresh', async (req, res) => {
    try {
      sendSignedIn(res, await sessions.refresh(presentedRefresh(req), deviceOf(req)));
    } catch (error) {
      // The cookies lead nowhere any more; dropping them spares the client a pointless retry.
      if (error instanceof AppError && error.status === 401) clearSessionCookies(res);
      throw error;
    }
  });

  // Identity when the gateway vouched for an access token; otherwise the refresh cookie, so a
  // client whose access token expired can still end its session.
  router.post('/api/auth/logout', async (req, res) => {
    const identity = identityFromHeaders(req.headers);
    if (identity) await sessions.logout(identity);
    else await sessions.logoutWithRefreshToken(presentedRefresh(req));
    clearSessionCookies(res);
    res.status(204).end();
  });

  router.post('/api/auth/logout-all', ...identified(sessions), async (req, res) => {
    await sessions.logoutEverywhere(callerOf(req));
    clearSessionCookies(res);
    res.status(204).end();
  });

  router.post(
    '/api/auth/password',
    ...identified(sessions),
    validate(
      presentedPasswordField('oldPassword'),
      newPasswordField('newPassword')
        .bail()
        .custom((value: string, { req }) => value !== (req.body as { oldPassword?: unknown }).oldPassword)
        .withMessage('must differ from the old password'),
    ),
    async (req, res) => {
      const { oldPassword, newPassword } = validated<{ oldPassword: string; newPassword: string }>(req);
      await accounts.changePassword(callerOf(req), oldPassword, newPassword);
      res.status(204).end();
    },
  );

  return router;
}
