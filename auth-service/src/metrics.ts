import { Counter, Histogram, type Registry } from '@board/service-kit';

export type LoginOutcome = 'success' | 'invalid_credentials' | 'throttled';
export type RefreshOutcome = 'rotated' | 'grace' | 'reuse_detected' | 'rejected';
export type RevocationReason = 'logout' | 'logout_all' | 'session_delete' | 'password_change' | 'reuse_detected' | 'user_deleted';

/** auth-service's own series, on the service's registry. Every label has a small fixed set of values. */
export function createAuthMetrics(registry: Registry) {
  const registers = [registry];
  return {
    logins: new Counter({
      name: 'auth_logins_total',
      help: 'Login attempts, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    refreshes: new Counter({
      name: 'auth_refresh_total',
      help: 'Refresh attempts, by outcome (reuse_detected: a rotated token was replayed; grace: replayed within the grace window, given the same successor)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    registrations: new Counter({
      name: 'auth_registrations_total',
      help: 'Accounts created (the seeded admin included)',
      registers,
    }),
    sessionsRevoked: new Counter({
      name: 'auth_sessions_revoked_total',
      help: 'Sessions revoked, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    revocationPublishFailures: new Counter({
      name: 'auth_revocation_publish_failures_total',
      help: 'Revocations that could not be written to Redis (the gateway keeps accepting those access tokens until they expire)',
      registers,
    }),
    signingKeyRotations: new Counter({
      name: 'auth_signing_key_rotations_total',
      help: 'Signing keys created by this process',
      registers,
    }),
    bcryptDuration: new Histogram({
      name: 'auth_bcrypt_duration_seconds',
      help: 'Time spent in bcrypt, by operation; tells whether BCRYPT_COST suits the hardware',
      labelNames: ['operation'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers,
    }),
  };
}

export type AuthMetrics = ReturnType<typeof createAuthMetrics>;
