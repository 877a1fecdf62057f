import { Counter, type Registry } from '@board/service-kit';

/** user-service's own series, on the service's registry. Every label has a small fixed set of values. */
export function createUserMetrics(registry: Registry) {
  return {
    membershipRequests: new Counter({
      name: 'membership_requests_total',
      help: 'POST /api/users/me/membership by outcome (granted, unchanged, wrong_passcode)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}
