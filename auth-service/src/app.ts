import { Router, type Express } from 'express';
import { createHttpApp, type HttpAppBasics } from '@board/service-kit';
import type { Accounts } from './domain/accounts';
import type { SessionManager } from './domain/sessions';
import type { SigningKeys } from './domain/signing-keys';
import { authRouter } from './routes/auth';
import { jwksRouter } from './routes/jwks';
import { sessionsRouter } from './routes/sessions';

export interface AppDeps extends HttpAppBasics {
  accounts: Accounts;
  sessions: SessionManager;
  keys: SigningKeys;
}

/** Auth bodies are a few small fields; a tight limit turns junk away before it is parsed. */
const JSON_LIMIT = '16kb';

export function createApp(deps: AppDeps): Express {
  const routes = Router();
  routes.use(authRouter({ accounts: deps.accounts, sessions: deps.sessions }));
  routes.use(sessionsRouter(deps.sessions));
  routes.use(jwksRouter(deps.keys));
  return createHttpApp({ ...deps, routes, jsonLimit: JSON_LIMIT });
}
