// Two projects: `cpu` runs everywhere; `gpu` runs where a CUDA device is
// present and skips with a visible line elsewhere (ANTLER_REQUIRE_GPU=1, as
// set by `npm run test:gpu`, turns the skip into a failure).
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'commonjs', target: 'ES2022', lib: ['ES2022', 'esnext.disposable'], types: ['node', 'jest'], esModuleInterop: true, strict: true, skipLibCheck: true } }] },
};

module.exports = {
  projects: [
    { ...common, displayName: 'cpu', testMatch: ['<rootDir>/test/cpu/**/*.test.ts'] },
    { ...common, displayName: 'gpu', testMatch: ['<rootDir>/test/gpu/**/*.test.ts'] },
  ],
};
