import type { RequestHandler } from 'express';
import { IDENTITY_HEADERS, identityHeaders } from '@board/service-kit/contracts';

/**
 * Upstreams trust the identity headers and nothing else, so whatever a client sent under those
 * names is dropped before anything else looks at the request.
 */
export const stripClientIdentity: RequestHandler = (req, _res, next) => {
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-user-')) delete req.headers[name];
  }
  delete req.headers[IDENTITY_HEADERS.sessionId];
  next();
};

/**
 * Sets what the upstream is told: the verified identity (if any), and the client address,
 * protocol and host as `trust proxy` resolved them (one X-Forwarded-For entry, the real client,
 * not whatever chain the client made up).
 */
export const setForwardedHeaders: RequestHandler = (req, _res, next) => {
  if (req.identity) Object.assign(req.headers, identityHeaders(req.identity));
  // Upstreams trust the identity headers, never the token: it stays here, one place fewer to leak from.
  delete req.headers.authorization;
  req.headers['x-forwarded-for'] = req.ip ?? req.socket.remoteAddress ?? '';
  req.headers['x-forwarded-proto'] = req.protocol;
  if (req.host) req.headers['x-forwarded-host'] = req.host;
  // Unused by the upstreams and not vetted here; dropped rather than passed on unchecked.
  delete req.headers.forwarded;
  // Node already answered 100-continue to the client; the upstream must not wait for one.
  delete req.headers.expect;
  next();
};
