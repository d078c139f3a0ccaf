// Two projects: `cpu` runs everywhere; `gpu` runs where a CUDA device is
// present and skips with a visible line elsewhere (ANTLER_REQUIRE_GPU=1, as
// set by `npm run test:gpu`, turns the skip into a failure).
// Every new native buffer starts as NaN bytes in tests, so an op that leaves
// an output element unwritten fails (workers inherit this environment).
process.env.ANTLER_POISON = process.env.ANTLER_POISON || '1';

const common = {
  preset: 'ts-jest',
  testEnvironment: '<rootDir>/test/jest-environment.js',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'commonjs', target: 'ES2022', lib: ['ES2022', 'esnext.disposable'], types: ['node', 'jest'], esModuleInterop: true, strict: true, skipLibCheck: true } }] },
};

module.exports = {
  // Jest's default 5-s limit per test failed a heavy test on a loaded 2-core
  // machine (helpers' builds beside the run); speed is measured by benchmarks,
  // never by tests, so the limit only has to catch a hang.
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'cpu', testMatch: ['<rootDir>/test/cpu/**/*.test.ts'] },
    { ...common, displayName: 'gpu', testMatch: ['<rootDir>/test/gpu/**/*.test.ts'] },
  ],
};
