/**
 * The DEER linear recurrence (Lim et al., ICLR 2024), one native launch forward
 * and one backward:
 *   y_t = A_t y_{t−1} + b_t,  y_{−1} = y0
 * with A dense [T, B, n, n] or diagonal [T, B, n]. The backward is the same
 * scan reversed with transposed A (λ_t = g_t + A_{t+1}ᵀ λ_{t+1}); then
 * gb_t = λ_t, gA_t = λ_t y_{t−1}ᵀ (λ_t ⊙ y_{t−1} diagonal), gy0 = A_0ᵀ λ_0.
 */
import { isGradEnabled, record } from '../autograd/graph';
import { fail } from '../errors';
import { native, NativeHandle } from '../native';
import { tidy } from '../engine';
import { add, concat, flip, matmul, mul, reshape, slice, transpose, wrap } from '../ops/core';
import { checkTensor, Tensor, zeros, zerosLike } from '../tensor';

/** The native entries (native/core/deer.cpp; cpu/scan.cpp and cuda/scan.cu, cpu/elk.cpp and cuda/elk.cu). */
export interface DeerNative {
  deerScan(A: NativeHandle, b: NativeHandle, y0: NativeHandle): NativeHandle;
  /** [gA, gb, gy0]; with adjointOnly only gb (the adjoint λ), the others null. */
  deerScanBackward(
    A: NativeHandle, b: NativeHandle, y0: NativeHandle, y: NativeHandle, gy: NativeHandle, adjointOnly?: boolean,
  ): [NativeHandle | null, NativeHandle, NativeHandle | null];
  deerElk(a: NativeHandle, u: NativeHandle, yhat: NativeHandle, y0: NativeHandle, lambda: NativeHandle): NativeHandle;
  /** y, f [T, B, n], rtol -> [4, B]: max |y − f|, Σ (y − f)², max |f|, max (|y − f| − rtol·|f|) per column (kernels/residual.h). */
  deerResidual(y: NativeHandle, f: NativeHandle, rtol: number): NativeHandle;
}

/** The residual of every sequence of an iterate, per column b of y and f [T, B, n]. */
export interface Residuals {
  /** max |y − f| over t and i (NaN when any value is NaN): the residual reported, and growth and stalls judged on. */
  res: number[];
  /** Σ (y − f)² (ELK's merit). */
  ss: number[];
  /** max |f| (the scale of the rounding floor). */
  scale: number[];
  /**
   * max (|y − f| − rtol·|f|) over t and i (NaN when any value is not finite): the convergence test
   * is excess ≤ atol, |y − f| ≤ atol + rtol·|f| at every step and unit, as torch.allclose.
   */
  excess: number[];
}

/** The convergence test of every DEER solve: a finite residual, and |y − f| ≤ atol + rtol·|f| everywhere. */
export function converged(r: Residuals, l: number, atol: number): boolean {
  return Number.isFinite(r.res[l]) && r.excess[l] <= atol;
}

/**
 * One fused native pass over y and f and one read back (a device sync on a
 * GPU), instead of five reductions and two reads per Newton iteration.
 */
export function residuals(y: Tensor, f: Tensor, rtol: number): Residuals {
  const out = wrap((native() as unknown as DeerNative).deerResidual(y.handle, f.handle, rtol));
  try {
    const v = out.dataSync();
    const B = out.shape[1];
    const row = (i: number) => Array.from(v.subarray(i * B, (i + 1) * B));
    return { res: row(0), ss: row(1), scale: row(2), excess: row(3) };
  } finally {
    out.dispose();
  }
}

/**
 * Solves y_t = A_t y_{t−1} + b_t for t = 0 … T−1 from y0. A [T, B, n, n]
 * (dense) or [T, B, n] (diagonal), b [T, B, n], y0 [B, n], all float32 or all
 * float64 on one device. Returns y [T, B, n]; differentiable in A, b and y0.
 */
export function scan(A: Tensor, b: Tensor, y0: Tensor): Tensor {
  checkTensor(A, 'deer.scan', "the transition 'A'");
  checkTensor(b, 'deer.scan', "the offset 'b'");
  checkTensor(y0, 'deer.scan', 'y0');
  const n = native() as unknown as DeerNative;
  if (typeof n.deerScan !== 'function') fail('INTERNAL', 'deer.scan: this build of the addon has no DEER scan kernel; rebuild with npm run build');
  const y = wrap(n.deerScan(A.handle, b.handle, y0.handle));
  record(y, 'deerScan', [A, b, y0], (gy, s) => {
    const [sA, sb, sy0, sy] = s;
    // Building a graph (a second derivative): the same backward from recorded ops, itself a scan.
    if (isGradEnabled()) return scanBackwardOps(sA, sy0, sy, gy);
    const [gA, gb, gy0] = n.deerScanBackward(sA.handle, sb.handle, sy0.handle, sy.handle, gy.handle);
    return [wrap(gA!), wrap(gb), wrap(gy0!)];
  }, [A, b, y0, y], true);
  return y;
}

/**
 * The scan's backward from recorded ops, so that it is differentiable in A,
 * y0, y (the saved output) and gy: the adjoint λ_t = gy_t + A_{t+1}ᵀ λ_{t+1}
 * is itself a scan, run over flipped time with A_{t+1}ᵀ; then gb = λ,
 * gA_t = λ_t y_{t−1}ᵀ (λ_t ⊙ y_{t−1}), gy0 = A_0ᵀ λ_0.
 */
function scanBackwardOps(A: Tensor, y0: Tensor, y: Tensor, gy: Tensor): Tensor[] {
  const [T, B, n] = y.shape;
  const dense = A.rank === 4;
  if (T === 0) return [zerosLike(A), zerosLike(gy), zerosLike(y0)];
  const lam = adjointOps(A, gy);
  const yPrev = previousStates(y0, y);
  const lam0 = reshape(slice(lam, [0], [1]), [B, n]);
  const A0 = reshape(slice(A, [0], [1]), dense ? [B, n, n] : [B, n]);
  if (!dense) return [mul(lam, yPrev), lam, mul(A0, lam0)];
  const gA = mul(reshape(lam, [T, B, n, 1]), reshape(yPrev, [T, B, 1, n]));
  return [gA, lam, reshape(matmul(reshape(lam0, [B, 1, n]), A0), [B, n])];
}

/** @internal Each step's previous state [T, B, n]: y0 [B, n] at t = 0, y[t − 1] after. */
export function previousStates(y0: Tensor, y: Tensor): Tensor {
  const [T, B, n] = y.shape;
  return tidy(() => concat([reshape(y0, [1, B, n]), slice(y, [0, 0, 0], [T - 1, B, n])], 0));
}

/**
 * @internal The adjoint of y_t = A_t y_{t−1} + b_t for the gradient gy
 * [T, B, n]: λ_t = gy_t + A_{t+1}ᵀ λ_{t+1}, λ_{T−1} = gy_{T−1} (+ `end`, a
 * gradient [B, n] arriving from beyond the last step), from recorded ops (a
 * scan over flipped time with A_{t+1}ᵀ), so differentiable in A, gy and
 * end. A dense [T, B, n, n] or diagonal [T, B, n]; only A_1 … A_{T−1} are
 * read. T ≥ 1.
 */
export function adjointOps(A: Tensor, gyIn: Tensor, end: Tensor | null = null): Tensor {
  const [T, B, n] = gyIn.shape;
  const dense = A.rank === 4;
  const last = end ? add(slice(gyIn, [T - 1], [1]), reshape(end, [1, B, n])) : null;
  const gy = !last ? gyIn : T > 1 ? concat([slice(gyIn, [0], [T - 1]), last], 0) : last;
  // The transition into reversed step s is A_{T−s}ᵀ; the first one meets the zero start and is never used.
  const At = dense ? transpose(A, 2, 3) : A;
  const pad = zeros(dense ? [1, B, n, n] : [1, B, n], { dtype: gy.dtype, device: gy.device });
  const coeff = T > 1 ? concat([slice(At, [1], [T - 1]), pad], 0) : pad;
  return flip(scan(flip(coeff, 0), flip(gy, 0), zeros([B, n], { dtype: gy.dtype, device: gy.device })), 0);
}

/**
 * One ELK step (Gonzalez et al. 2024; kernels/elk.h and elk_dense.h): per
 * batch element b, the y minimising
 *   Σ_t ‖y_t − a_t y_{t−1} − u_t‖² + λ_b Σ_t ‖y_t − ŷ_t‖²,   y_{−1} = y0,
 * computed by a Kalman filter and a Rauch–Tung–Striebel smoother written as
 * parallel scans. a is the dense Jacobian [T, B, n, n] (ELK: the damped
 * Newton step) or its diagonal [T, B, n] (quasi-ELK, every state entry on its
 * own); u, yhat [T, B, n]; y0 [B, n]; lambda [B], every entry finite and
 * >= 0. λ = 0 is the undamped step scan(a, u, y0); λ → ∞ returns ŷ. Not
 * differentiable.
 */
export function elkStep(a: Tensor, u: Tensor, yhat: Tensor, y0: Tensor, lambda: Tensor): Tensor {
  for (const [t, name] of [[a, 'a'], [u, 'u'], [yhat, 'yhat'], [y0, 'y0'], [lambda, 'lambda']] as const) checkTensor(t, 'deer.elk', name);
  // λ sets the observation noise 1/λ: a negative or non-finite one has no Kalman step (1/(1+λ) may divide by 0).
  // The shapes and dtypes are checked natively; here only the values (B of them, read once).
  if (lambda.rank === 1 && (lambda.dtype === 'float32' || lambda.dtype === 'float64')) {
    const bad = Array.from(lambda.dataSync()).findIndex((v) => !(Number.isFinite(v) && v >= 0));
    if (bad >= 0) fail('INVALID_ARGUMENT', `deer.elk: lambda[${bad}] is ${lambda.dataSync()[bad]}; expected finite values >= 0`);
  }
  return elkStepUnchecked(a, u, yhat, y0, lambda);
}

/** elkStep without reading λ back (the solver makes λ from finite values >= 0 itself). */
export function elkStepUnchecked(a: Tensor, u: Tensor, yhat: Tensor, y0: Tensor, lambda: Tensor): Tensor {
  const n = native() as unknown as DeerNative;
  if (typeof n.deerElk !== 'function') fail('INTERNAL', 'deer.elk: this build of the addon has no ELK kernel; rebuild with npm run build');
  return wrap(n.deerElk(a.handle, u.handle, yhat.handle, y0.handle, lambda.handle));
}
