/**
 * Every contract of test/cpu/linalg-lu.test.ts and test/cpu/linalg-qr.test.ts (references, edge cases:
 * 1×1 to 8×8 and m ≠ n, batches, empty matrices, singular and not positive-definite inputs, NaN, huge
 * and tiny columns, bad inputs) run again with preferredLinalgLibrary('lapack'): LAPACK/BLAS at every
 * size (native/cpu/linalg_lu.cpp, linalg_qr.cpp), where 'default' sends these small matrices to the
 * built-in kernels. Skipped without LAPACK; 'default' restored after.
 */
import * as antler from '../../lib';
import './linalg-lu.test';
import './linalg-qr.test';

const HAVE_LAPACK = antler.backends().cpu.lapack;

beforeAll(() => {
  if (HAVE_LAPACK) antler.preferredLinalgLibrary('lapack');
});
afterAll(() => antler.preferredLinalgLibrary('default'));

(HAVE_LAPACK ? test : test.skip)("the contracts above ran under 'lapack'", () => {
  expect(antler.preferredLinalgLibrary()).toBe('lapack');
});
