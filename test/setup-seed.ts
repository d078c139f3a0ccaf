/**
 * Runs before every test file (jest.config.js setupFilesAfterEnv): seeds antler's global generator from
 * the file's run seed (test/helpers.ts runSeed: ANTLER_TEST_SEED, else drawn per file), so draws a test
 * makes without a `seed` option (unseeded randn, dropout masks, module initialisation) replay with
 * ANTLER_TEST_SEED like the file's own rng does; without this the global seed came from the OS and a
 * failure in such a draw could not be reproduced. Tests that call setSeed() themselves are unaffected.
 * After a file with a failed test, it prints the seed that replays the file.
 */
import { setSeed } from '../lib';
import { failedTestCount, runSeed } from './helpers';

// A fixed odd mix, so the global stream is not the one a test's own makeRng(runSeed()) walks.
setSeed(Math.imul(runSeed() ^ 0x9e3779b9, 0x85ebca6b) >>> 0);

afterAll(() => {
  const failed = failedTestCount();
  if (failed > 0) console.warn(`${failed} test(s) of this file failed; ANTLER_TEST_SEED=${runSeed()} replays its random draws`);
});
