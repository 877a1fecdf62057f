import { loadOperations } from '../stack/src/fuzz/document';
import { formatReport, fuzz, passed } from '../stack/src/fuzz/run';
import { environment } from './support/client';

/** A fixed seed: the same requests every run. `npm run fuzz` is the long, random one. */
const SEED = 20_261_201;
const RUNS_PER_OPERATION = 5;

/**
 * The fuzz suite (stack/src/fuzz), small and seeded: generated requests for every operation of
 * docs/openapi.yaml through nginx, by visitors, users, members and the admin, with hostile values,
 * encodings, headers and credentials.
 */
describe('generated requests from the OpenAPI document, through nginx', () => {
  it('never answer 5xx, answer every error in the error shape, let no forged credential through and change no one else’s data', async () => {
    const report = await fuzz(
      {
        baseUrl: environment.baseUrl,
        certificate: environment.certificate,
        namespace: environment.namespace,
        databases: environment.databases,
        admin: environment.admin,
        memberPasscode: environment.memberPasscode,
        // A test that kills a replica restarts it under a new pid: readiness says enough here.
        pids: {},
        serviceUrls: environment.serviceUrls,
        // Other test files may use the stack meanwhile: only the run's own fixtures are judged.
        strangers: 'ignored',
      },
      // Below nginx's 10/s per address on /api/auth/, leaving room for other test files.
      { seed: SEED, runsPerOperation: RUNS_PER_OPERATION, authRequestsPerSecond: 5 },
    );
    if (!passed(report)) throw new Error(formatReport(report));
    const operations = await loadOperations();
    expect(Object.keys(report.perOperation).sort()).toEqual(operations.map((operation) => operation.id).sort());
    for (const stats of Object.values(report.perOperation)) expect(stats.requests).toBeGreaterThanOrEqual(RUNS_PER_OPERATION);
  }, 120_000);
});
