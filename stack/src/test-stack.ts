import { randomBytes } from 'node:crypto';
import { freePortOffset } from './ports';
import { startStack, type RunningStack } from './stack';

/** As the production stack runs them: every journey crosses replicas as it would there. */
export const TEST_SCALE = { 'api-gateway': 2, 'realtime-service': 2 };

export interface TestStack {
  stack: RunningStack;
  namespace: string;
  /** The seeded admin auth-service creates on start. */
  admin: { email: string; password: string };
  memberPasscode: string;
}

/**
 * The whole stack for a test run (the e2e suite, the fuzz suite): built services as Node processes
 * (two gateways and two realtime instances) plus nginx, on a free port range and in a namespace of
 * its own (databases, Redis keys, exchange and queues), with an admin account and a known
 * membership passcode. The caller stops it and removes the namespace.
 */
export async function startTestStack(label = 'e2e'): Promise<TestStack> {
  const namespace = `${label}_${randomBytes(4).toString('hex')}`;
  const admin = { email: `admin-${namespace}@example.com`, password: `admin-password-${label}` };
  const memberPasscode = `${label}-member-passcode`;
  const stack = await startStack({
    namespace,
    // Every port of the stack, the replicas' 3010 and 3014 included.
    portOffset: await freePortOffset([3000, 3001, 3002, 3003, 3004, 3010, 3014, 8080, 8081, 8443], 20_000, 360),
    scale: TEST_SCALE,
    overrides: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      MEMBER_PASSCODE: memberPasscode,
      BCRYPT_COST: '12',
      // One test client makes every request from one address: lift the gateway's per-IP budgets
      // (auth-service's failed-login limits stay at their defaults, and a test checks them).
      RATE_LIMIT_MAX: '1000000',
      AUTH_RATE_LIMIT_MAX: '1000000',
      // lastActiveAt within a test's patience rather than the default 15 s.
      ACTIVITY_FLUSH_INTERVAL_MS: '1000',
    },
  });
  return { stack, namespace, admin, memberPasscode };
}
