/**
 * The DEER linear recurrence (ALGORITHMS.md §2), one native launch forward
 * and one backward:
 *   y_t = A_t y_{t−1} + b_t,  y_{−1} = y0
 * with A dense [T, B, n, n] or diagonal [T, B, n]. The backward is the same
 * scan reversed with transposed A (λ_t = g_t + A_{t+1}ᵀ λ_{t+1}); then
 * gb_t = λ_t, gA_t = λ_t y_{t−1}ᵀ (λ_t ⊙ y_{t−1} diagonal), gy0 = A_0ᵀ λ_0.
 */
import { record } from '../autograd/graph';
import { fail } from '../errors';
import { native, NativeHandle } from '../native';
import { wrap } from '../ops/core';
import { checkTensor, Tensor } from '../tensor';

/** The two native entries (implemented in native/core/deer.cpp, cpu/scan.cpp, cuda/scan.cu). */
export interface DeerNative {
  deerScan(A: NativeHandle, b: NativeHandle, y0: NativeHandle): NativeHandle;
  deerScanBackward(
    A: NativeHandle, b: NativeHandle, y0: NativeHandle, y: NativeHandle, gy: NativeHandle,
  ): [NativeHandle, NativeHandle, NativeHandle];
}

/**
 * Solves y_t = A_t y_{t−1} + b_t for t = 0 … T−1 from y0. A [T, B, n, n]
 * (dense) or [T, B, n] (diagonal), b [T, B, n], y0 [B, n], all float32 or all
 * float64 on one device. Returns y [T, B, n]; differentiable in A, b and y0.
 */
export function scan(A: Tensor, b: Tensor, y0: Tensor): Tensor {
  checkTensor(A, 'deer.scan', 'A');
  checkTensor(b, 'deer.scan', 'b');
  checkTensor(y0, 'deer.scan', 'y0');
  const n = native() as unknown as DeerNative;
  if (typeof n.deerScan !== 'function') fail('INTERNAL', 'deer.scan: this build of the addon has no DEER scan kernel; rebuild with npm run build');
  const y = wrap(n.deerScan(A.handle, b.handle, y0.handle));
  record(y, 'deerScan', [A, b, y0], (gy, s) => {
    const [sA, sb, sy0, sy] = s;
    const [gA, gb, gy0] = n.deerScanBackward(sA.handle, sb.handle, sy0.handle, sy.handle, gy.handle);
    return [wrap(gA), wrap(gb), wrap(gy0)];
  }, [A, b, y0, y]);
  return y;
}
