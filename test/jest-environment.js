// The test environment of both jest projects: jest's node environment, plus
//  - a count of the tests in this file that have failed so far, as globalThis.__antlerFailedTests. The
//    suites' end-of-file leak checks (test/helpers.ts, expectCountsAtMost) read it: a test that throws
//    midway skips its own dispose() calls, so the leak check would fail as a second, derived report of
//    the same failure. handleTestEvent is jest-circus's documented hook for environments; a test's
//    errors include those of its beforeEach/afterEach hooks.
//  - before the file's first test, a garbage collection and two turns of the event loop, so tensors an
//    earlier file in this worker left to the garbage collector are released now (the addon's
//    finalizers run on the event loop after a collection), not in the middle of this file, where they
//    would lower memory() below the file's baseline (CI: tensor.test.ts, baseline 2, end 0). Measured:
//    a file leaving 20000 tensors unreferenced, then one that yields 20 times: baseline 1738, end 0
//    without it; baseline 0, end 0 with it. It costs 40-190 ms a file on the 2-core machine.
const v8 = require('node:v8');
const vm = require('node:vm');
const { TestEnvironment } = require('jest-environment-node');

// jest runs without --expose-gc: turn it on and fetch gc() from a fresh context (as training-memory.test.ts).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

class AntlerTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global.__antlerFailedTests = 0;
  }

  async setup() {
    await super.setup();
    gc();
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  handleTestEvent(event) {
    if (event.name === 'test_done' && event.test.errors.length > 0) this.global.__antlerFailedTests++;
  }
}

module.exports = AntlerTestEnvironment;
