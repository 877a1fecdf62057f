import { readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';

/** What globalSetup tells the test files about the stack it started. */
export interface E2eEnvironment {
  baseUrl: string;
  certificate: string;
  namespace: string;
  admin: { email: string; password: string };
  memberPasscode: string;
  /** Every service replica's own URL, by process name (`api-gateway`, `api-gateway-2`, ...). */
  serviceUrls: Record<string, string>;
  /** The service databases of the namespace on the shared PostgreSQL server. */
  databases: string[];
  /** Process ids by name, for tests that kill a replica. */
  pids: Record<string, number>;
  /**
   * The setup's control endpoint: `POST <controlUrl>/restart/<name>` starts a killed replica
   * again; `POST <controlUrl>/stop/<name>` stops one (SIGTERM) and answers once it has exited.
   */
  controlUrl: string;
  /** nginx's stub_status, on the edge's internal status port. */
  edgeStatusUrl: string;
  runDir: string;
}

const FILE = path.resolve(__dirname, '..', '..', '.run', 'e2e-environment.json');

export function saveEnvironment(environment: E2eEnvironment): void {
  writeFileSync(FILE, JSON.stringify(environment));
}

export function loadEnvironment(): E2eEnvironment {
  if (!existsSync(FILE)) throw new Error('the e2e stack is not running (globalSetup did not run)');
  return JSON.parse(readFileSync(FILE, 'utf8')) as E2eEnvironment;
}

export function forgetEnvironment(): void {
  rmSync(FILE, { force: true });
}
