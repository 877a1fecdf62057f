// One Jest run covers every workspace. Tests import @board/service-kit from source, so no build
// is needed for unit and integration tests; end-to-end tests start the built services.
//
// Projects: `unit` holds every `*.unit.test.ts`, the tests that need no server (no PostgreSQL,
// Redis, RabbitMQ, nginx or child process), runnable alone with `npm run test:unit`; one project
// per workspace holds its other tests, which use the real servers; `e2e` starts the whole stack.
// Each test file is in exactly one project.
const workspaces = ['service-kit', 'auth-service', 'user-service', 'message-service', 'realtime-service', 'api-gateway', 'stack', 'backup'];
const UNIT_TESTS = '\\.unit\\.test\\.ts$';

const project = (name, rootDir, extra = {}) => ({
  displayName: name,
  rootDir,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', UNIT_TESTS],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: `${__dirname}/tsconfig.json` }] },
  moduleNameMapper: {
    '^@board/service-kit$': `${__dirname}/service-kit/src/index.ts`,
    '^@board/service-kit/contracts$': `${__dirname}/service-kit/src/contracts/index.ts`,
    '^@board/service-kit/testing$': `${__dirname}/service-kit/src/testing/index.ts`,
  },
  ...extra,
});

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    project('unit', __dirname, {
      testMatch: workspaces.map((name) => `<rootDir>/${name}/test/**/*.unit.test.ts`),
      testPathIgnorePatterns: ['/node_modules/'],
    }),
    ...workspaces.map((name) => project(name, `${__dirname}/${name}`)),
    project('e2e', `${__dirname}/e2e`, {
      testMatch: ['<rootDir>/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
      globalSetup: '<rootDir>/support/global-setup.ts',
      globalTeardown: '<rootDir>/support/global-teardown.ts',
    }),
  ],
  testTimeout: 30000,
};
