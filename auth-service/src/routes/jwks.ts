import { Router } from 'express';
import type { SigningKeys } from '../domain/signing-keys';

/** Public keys for verifying access tokens. Verifiers cache them and refetch on an unknown kid. */
export function jwksRouter(keys: SigningKeys): Router {
  const router = Router();
  router.get('/api/auth/.well-known/jwks.json', async (_req, res) => {
    res.set('Cache-Control', 'public, max-age=60').json({ keys: await keys.jwks() });
  });
  return router;
}
