/** One Jest run for every workspace; TypeScript is transpiled by ts-jest, types are checked by `tsc -b`. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/apps', '<rootDir>/infra'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'commonjs', target: 'ES2022', esModuleInterop: true, isolatedModules: true } }],
  },
  // Workspace packages resolve to their sources so tests never run against a stale build.
  moduleNameMapper: { '^@mailbeacon/([a-z-]+)$': '<rootDir>/packages/$1/src' },
  testTimeout: 30000,
};
