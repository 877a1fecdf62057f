// One Jest run covers every workspace. Tests import @board/service-kit from source, so no build
// is needed for unit and integration tests; end-to-end tests start the built services.
const workspaces = ['service-kit', 'auth-service', 'user-service', 'message-service', 'realtime-service', 'api-gateway', 'stack', 'backup'];

const project = (name, rootDir, extra = {}) => ({
  displayName: name,
  rootDir,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
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
    ...workspaces.map((name) => project(name, `${__dirname}/${name}`)),
    project('e2e', `${__dirname}/e2e`, {
      testMatch: ['<rootDir>/**/*.test.ts'],
      globalSetup: '<rootDir>/support/global-setup.ts',
      globalTeardown: '<rootDir>/support/global-teardown.ts',
    }),
  ],
  testTimeout: 30000,
};
