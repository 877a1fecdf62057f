import { call } from './support/client';
import { Stream } from './support/stream';
import { adminSession, eventually, newUser, refresh } from './support/users';

describe('a role change takes effect at once, on every path', () => {
  it('When an admin is demoted, Then their unexpired token loses admin rights and their admin stream closes, without a refresh', async () => {
    const admin = await adminSession();
    const promoted = await newUser('promoted');
    expect((await call('PATCH', `/api/users/${promoted.id}/role`, { token: admin.accessToken, body: { role: 'admin' } })).status).toBe(200);
    let current = promoted;
    const asAdmin = await eventually(async () => {
      current = await refresh(current);
      return current.role === 'admin' ? current : undefined;
    }, 'an admin token for the promoted user');
    expect((await call('GET', '/api/users', { token: asAdmin.accessToken })).status).toBe(200);
    const stream = await Stream.open(asAdmin.accessToken, 'general');

    try {
      expect((await call('PATCH', `/api/users/${promoted.id}/role`, { token: admin.accessToken, body: { role: 'user' } })).status).toBe(200);

      // The same token, still unexpired, right away.
      const listing = await call<{ error: { code: string } }>('GET', '/api/users', { token: asAdmin.accessToken });
      expect(listing.status).toBe(403);
      const selfPromotion = await call('PATCH', `/api/users/${promoted.id}/role`, { token: asAdmin.accessToken, body: { role: 'admin' } });
      expect(selfPromotion.status).toBe(403);
      await eventually(async () => stream.closed, 'the demoted admin stream to close');

      // A refresh brings a token that says what the user now is.
      current = asAdmin;
      const renewed = await eventually(async () => {
        current = await refresh(current);
        return current.role === 'user' ? current : undefined;
      }, 'a user token after the demotion');
      expect((await call('GET', '/api/users/me', { token: renewed.accessToken })).status).toBe(200);
    } finally {
      stream.close();
    }
  });
});
