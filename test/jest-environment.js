// The test environment of both jest projects: jest's node environment, plus a count of the
// tests in this file that have failed so far, as globalThis.__antlerFailedTests. The
// suites' end-of-file leak checks (test/helpers.ts, expectNoLeaksInSuite) read it: a test
// that throws midway skips its own dispose() calls, so the leak check would fail as a second,
// derived report of the same failure.
// handleTestEvent is jest-circus's documented hook for environments; a test's errors include
// those of its beforeEach/afterEach hooks.
const { TestEnvironment } = require('jest-environment-node');

class AntlerTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global.__antlerFailedTests = 0;
  }

  handleTestEvent(event) {
    if (event.name === 'test_done' && event.test.errors.length > 0) this.global.__antlerFailedTests++;
  }
}

module.exports = AntlerTestEnvironment;
