/**
 * torch.linalg (qr): qr, householderProduct, lstsq. Exported as `antler.linalg.*` (lib/ops/linalg.ts).
 *
 * qr is a native batched Householder QR (native/kernels/linalg_qr.h, the
 * same math on the CPU and CUDA) with LAPACK's sign convention (geqrf +
 * orgqr: β = −sign(α)·‖x‖), so Q and R are torch's, R's diagonal of either
 * sign. Its gradient is torch 1.13's linalg_qr_backward, composed of
 * recorded ops (so differentiable again). lstsq is composed of qr, a
 * triangular solve and matmuls, and differentiable through them.
 */
import { isGradEnabled, noGrad, record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { checkTensor, tensor, Tensor, zeros } from '../tensor';
import { broadcastShapes, checkNumber, checkOptions, describe, shapeText } from '../validate';
import { abs, add, broadcastTo, concat, greater, matmul, max, mul, reshape, slice, square, sub, sum, transpose, where, wrap } from './core';
import { isFinite, logicalNot, triu } from './extra';
import { diagonal } from './products';
import { solveTriangular } from './linalg-lu';

/** torch.linalg.qr's modes. */
export type QrMode = 'reduced' | 'complete' | 'r';

/** Options of {@link qr}. */
export interface QrOptions {
  /** 'reduced' (default): Q [..., m, k], R [..., k, n], k = min(m, n); 'complete': Q [..., m, m], R [..., m, n]; 'r': R only (Q empty). */
  mode?: QrMode;
}

const product = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** The last two axes swapped (a copy). */
const mT = (x: Tensor): Tensor => transpose(x, -2, -1);

/** x[..., :, start:start+len]. */
function columns(x: Tensor, start: number, len: number): Tensor {
  const begin = x.shape.map(() => 0);
  begin[x.rank - 1] = start;
  const size = x.shape.slice();
  size[x.rank - 1] = len;
  return slice(x, begin, size);
}

/** Checks A: a float tensor with at least two axes. */
function checkMatrix(A: unknown, op: string, what: string): Tensor {
  const t = checkTensor(A, op, what);
  if (t.dtype !== 'float32' && t.dtype !== 'float64')
    fail('DTYPE_MISMATCH', `${op}: ${what} is ${t.dtype}; expected float32 or float64 (as torch's)`);
  if (t.rank < 2) fail('SHAPE_MISMATCH', `${op}: ${what} must have at least 2 dimensions [..., m, n]; got ${shapeText(t.shape)}`);
  return t;
}

/**
 * The real case of torch 1.13's linalg_qr_backward for a square or tall
 * factorisation (Q m×k, R k×k, k = n ≤ m): with N = gR Rᵀ − Qᵀ gQ and K its
 * upper triangle mirrored below (triu(N) + triu(N, 1)ᵀ), gA = (gQ + Q K) R⁻ᵀ.
 * (From dA = dQ R + Q dR: Qᵀ dA R⁻¹ = Qᵀ dQ + dR R⁻¹, skew plus upper.)
 */
function qrBackwardTall(gQ: Tensor, gR: Tensor, Q: Tensor, R: Tensor): Tensor {
  const N = sub(matmul(gR, R, { transposeB: true }), matmul(Q, gQ, { transposeA: true }));
  const K = add(triu(N), mT(triu(N, 1)));
  const G = add(gQ, matmul(Q, K));
  // G R⁻ᵀ: the X with X Rᵀ = G, Rᵀ lower triangular, solved on the right.
  return solveTriangular(mT(R), G, { upper: false, left: false });
}

/**
 * torch 1.13's linalg_qr_backward (real): m ≥ n by qrBackwardTall; m < n
 * by splitting A = [X | Y], R = [U | V] (X = Q U square, Y = Q V):
 * gX = tall(gQ + Y gVᵀ, gU), gY = Q gV.
 */
function qrBackward(gQ: Tensor, gR: Tensor, Q: Tensor, R: Tensor, m: number, n: number): Tensor {
  if (m >= n) return qrBackwardTall(gQ, gR, Q, R);
  const U = columns(R, 0, m), V = columns(R, m, n - m);
  const gU = columns(gR, 0, m), gV = columns(gR, m, n - m);
  const Y = matmul(Q, V);
  const gX = qrBackwardTall(add(gQ, matmul(Y, gV, { transposeB: true })), gU, Q, U);
  return concat([gX, matmul(Q, gV)], -1);
}

/**
 * torch.linalg.qr: A = Q R for A [..., m, n] (float32/float64), batched over
 * the leading axes, by Householder reflections with LAPACK's sign convention
 * (torch's: R's diagonal may be negative; Q and R equal torch's up to
 * rounding). mode 'reduced' (default): Q [..., m, k], R [..., k, n],
 * k = min(m, n); 'complete': Q [..., m, m], R [..., m, n]; 'r': R [..., k, n]
 * and Q an empty [0] tensor. Differentiable as torch 1.13: for 'reduced' and
 * for 'complete' with m ≤ n; the backward of 'complete' with m > n and of 'r'
 * throws NOT_SUPPORTED, as torch's errors. Native on the CPU and CUDA (one
 * thread block per matrix).
 */
export function qr(A: Tensor, options?: QrOptions): { Q: Tensor; R: Tensor } {
  const op = 'linalg.qr';
  const a = checkMatrix(A, op, 'A');
  const o = checkOptions<QrOptions>(options, op, ['mode']);
  const mode = o.mode ?? 'reduced';
  if (mode !== 'reduced' && mode !== 'complete' && mode !== 'r')
    fail('INVALID_ARGUMENT', `${op}: mode must be 'reduced', 'complete' or 'r'; got ${describe(mode)}`);
  const batch = a.shape.slice(0, -2);
  const m = a.shape[a.rank - 2], n = a.shape[a.rank - 1], k = Math.min(m, n);
  const B = product(batch);
  const qCols = mode === 'reduced' ? k : mode === 'complete' ? m : 0, rRows = mode === 'complete' ? m : k;
  const nat = native();
  if (typeof nat.linalgQr !== 'function') fail('INTERNAL', `${op}: the loaded addon was built before linalg.qr's kernel; rebuild it: npm run build`);
  // Q and R side by side in one [B, m·qCols + rRows·n] tensor: one recorded node whose backward sees both gradients.
  const packed = noGrad(() => tidy(() => {
    const [qh, rh] = nat.linalgQr!(reshape(a, [B, m, n]).handle, mode === 'reduced' ? 0 : mode === 'complete' ? 1 : 2);
    return concat([reshape(wrap(qh), [B, m * qCols]), reshape(wrap(rh), [B, rRows * n])], 1);
  }));
  const split = (p: Tensor) => {
    const Qf = mode === 'r' ? null : reshape(slice(p, [0, 0], [B, m * qCols]), [...batch, m, qCols]);
    const Rf = reshape(slice(p, [0, m * qCols], [B, rRows * n]), [...batch, rRows, n]);
    return { Q: Qf, R: Rf };
  };
  if (isGradEnabled() && a.requiresGrad)
    record(packed, op, [a], (gp, [saved]) => {
      if (mode === 'r')
        fail('NOT_SUPPORTED', `${op}: the derivative of linalg.qr depends on Q, which is not computed when mode='r'; use mode 'reduced' to differentiate through it (as torch)`);
      if (mode === 'complete' && m > n)
        fail('NOT_SUPPORTED', `${op}: the QR decomposition is not differentiable when mode='complete' and m > n (A ${shapeText(a.shape)}), as torch's`);
      const { Q: Qs, R: Rs } = split(saved);
      const { Q: gQ, R: gR } = split(gp);
      return [qrBackward(gQ!, gR, Qs!, Rs, m, n)];
    }, [packed], true);
  const { Q, R } = split(packed);
  return { Q: Q ?? zeros([0], { dtype: a.dtype, device: a.device }), R };
}

/**
 * torch.linalg.householder_product (LAPACK's orgqr): the first n columns of
 * H_0 H_1 ⋯ H_{k−1} for A [..., m, n] (m ≥ n) and tau [..., k] (k ≤ n, the
 * same batch axes), H_i = I − τ_i v_i v_iᵀ with v_i column i of A below the
 * diagonal, 1 on it and 0 above (geqrf's Householder form). Composed of
 * recorded ops (k rank-one updates of [..., m, n]), so both gradients come
 * from autograd and are differentiable again.
 */
export function householderProduct(A: Tensor, tau: Tensor): Tensor {
  const op = 'linalg.householderProduct';
  const a = checkMatrix(A, op, 'A');
  const t = checkTensor(tau, op, 'tau');
  if (t.dtype !== a.dtype) fail('DTYPE_MISMATCH', `${op}: tau is ${t.dtype} and A ${a.dtype}; expected one float dtype (as torch's)`);
  if (t.device !== a.device) fail('DEVICE_MISMATCH', `${op}: tau is on ${t.device} and A on ${a.device}`);
  const m = a.shape[a.rank - 2], n = a.shape[a.rank - 1];
  if (m < n) fail('SHAPE_MISMATCH', `${op}: A ${shapeText(a.shape)} must have at least as many rows as columns (input.shape[-2] must be greater than or equal to input.shape[-1], as torch's)`);
  const batch = a.shape.slice(0, -2);
  if (t.rank !== a.rank - 1 || !batch.every((d, i) => d === t.shape[i]))
    fail('SHAPE_MISMATCH', `${op}: tau ${shapeText(t.shape)} must be [..., k] with A's batch axes ${shapeText(batch)} (A ${shapeText(a.shape)}), as torch's`);
  const k = t.shape[t.rank - 1];
  if (k > n) fail('SHAPE_MISMATCH', `${op}: tau has ${k} scalars but A ${shapeText(a.shape)} only ${n} columns (k ≤ n, as torch's)`);
  // tidy: only Q outlives the call (the k rank-one updates' intermediates are the graph's to keep).
  return tidy(() => {
  const opts = { dtype: a.dtype, device: a.device };
  const eyeMN = tensor(Array.from({ length: m * n }, (_, e) => (Math.floor(e / n) === e % n ? 1 : 0)), [m, n], opts);
  let Q = broadcastTo(eyeMN, [...batch, m, n]);
  for (let i = k - 1; i >= 0; i--) {
    const below = tensor(Array.from({ length: m }, (_, r) => (r > i ? 1 : 0)), [m, 1], opts);
    const unit = tensor(Array.from({ length: m }, (_, r) => (r === i ? 1 : 0)), [m, 1], opts);
    const v = add(mul(columns(a, i, 1), below), unit);
    const ti = reshape(columns(t, i, 1), [...batch, 1, 1]);
    Q = sub(Q, mul(ti, matmul(v, matmul(v, Q, { transposeA: true }))));
  }
  return Q;
  });
}

/** Options of {@link lstsq}. */
export interface LstsqOptions {
  /** Relative threshold on R's diagonal below which a column counts as dependent (default: eps(dtype)·max(m, n), torch's). */
  rcond?: number;
  /** 'gelsy' (default, torch's CPU default: rank, no residuals) or 'gels' (residuals when m > n, no rank). */
  driver?: 'gelsy' | 'gels' | 'gelsd' | 'gelss';
}

/** What {@link lstsq} returns (torch.linalg.lstsq's named tuple). */
export interface LstsqResult {
  solution: Tensor;
  residuals: Tensor;
  rank: Tensor;
  singularValues: Tensor;
}

/**
 * torch.linalg.lstsq: the least-squares solution X of A X ≈ B for A
 * [..., m, n] and B [..., m, k] (or [..., m] when B has one axis fewer than A,
 * as torch's; batch axes broadcast, also in that vector case, where torch
 * 1.13 fails an internal assert): for m ≥ n the minimiser of ‖A X − B‖ via
 * A = Q R (X = R⁻¹ Qᵀ B), for m < n the minimum-norm solution via Aᵀ = Q R
 * (X = Q R⁻ᵀ B). driver 'gelsy' (the default, torch's CPU default): rank
 * [...] int32 (torch: int64) = the count of |R_ii| > rcond·max|R_ii|, residuals
 * and singularValues empty [0]; 'gels': residuals ‖A X − B‖² per column
 * [..., k] when m > n (else empty; no gradient, as torch's), rank empty.
 * Rank-deficient inputs: there is no column pivoting (torch's gelsy has
 * it), so 'gelsy' throws
 * LINALG_ERROR when the rank found is below min(m, n) (one read of the ranks,
 * a device sync; not for a NaN or ±∞ input, whose solution is NaN as torch's), and 'gels' gives what unpivoted QR gives (inf/NaN or huge
 * values, as torch's gels). 'gelsd' and 'gelss' (SVD) throw NOT_SUPPORTED.
 * Differentiable through qr, the triangular solve and the products.
 */
export function lstsq(A: Tensor, B: Tensor, options?: LstsqOptions): LstsqResult {
  const op = 'linalg.lstsq';
  const a = checkMatrix(A, op, 'A');
  const b = checkTensor(B, op, 'B');
  const o = checkOptions<LstsqOptions>(options, op, ['rcond', 'driver']);
  if (b.dtype !== a.dtype) fail('DTYPE_MISMATCH', `${op}: A is ${a.dtype} and B ${b.dtype}; expected one float dtype`);
  if (b.device !== a.device) fail('DEVICE_MISMATCH', `${op}: A is on ${a.device} and B on ${b.device}`);
  const driver = o.driver ?? 'gelsy';
  if (driver === 'gelsd' || driver === 'gelss')
    fail('NOT_SUPPORTED', `${op}: driver '${driver}' (SVD-based) is not implemented; use 'gelsy' (the default) or 'gels'`);
  if (driver !== 'gelsy' && driver !== 'gels') fail('INVALID_ARGUMENT', `${op}: driver must be 'gelsy', 'gels', 'gelsd' or 'gelss'; got ${describe(driver)}`);
  const m = a.shape[a.rank - 2], n = a.shape[a.rank - 1];
  const eps = a.dtype === 'float32' ? 2 ** -23 : 2 ** -52;
  const rcond = o.rcond === undefined ? eps * Math.max(m, n) : checkNumber(o.rcond, op, 'options.rcond');
  if (b.rank > a.rank || b.rank < a.rank - 1)
    fail('SHAPE_MISMATCH', `${op}: B ${shapeText(b.shape)} must have as many axes as A ${shapeText(a.shape)} or one fewer (as torch's: input.dim() must be greater or equal to other.dim() and (input.dim() - other.dim()) <= 1)`);
  // torch's vector case: B has one axis fewer than A, a batch of vectors.
  const vector = b.rank === a.rank - 1;
  const bm = vector ? b.shape[b.rank - 1] : b.shape[b.rank - 2];
  if (bm !== m)
    fail('SHAPE_MISMATCH', `${op}: A ${shapeText(a.shape)} has ${m} rows and B ${shapeText(b.shape)} ${bm} (torch: input.size(-2) should match other.size(${vector ? -1 : -2}))`);
  const b2 = vector ? reshape(b, [...b.shape, 1]) : b;
  const batch = broadcastShapes([a.shape.slice(0, -2), b2.shape.slice(0, -2)]);
  if (!batch) fail('SHAPE_MISMATCH', `${op}: the batch axes of A ${shapeText(a.shape)} and B ${shapeText(b.shape)} do not broadcast`);
  const k = b2.shape[b2.rank - 1];
  // tidy: only the results outlive the call, also when gelsy refuses a rank-deficient input.
  return tidy(() => {
  const Ab = broadcastTo(a, [...batch, m, n]);
  const Bb = broadcastTo(b2, [...batch, m, k]);
  let X: Tensor, R: Tensor;
  if (m >= n) {
    const f = qr(Ab);
    R = f.R;
    X = solveTriangular(R, matmul(f.Q, Bb, { transposeA: true }), { upper: true });
  } else {
    const f = qr(mT(Ab));
    R = f.R;
    X = matmul(f.Q, solveTriangular(mT(R), Bb, { upper: false }));
  }
  const empty = () => zeros([0], { dtype: a.dtype, device: a.device });
  let rank: Tensor, residuals: Tensor;
  if (driver === 'gelsy') {
    // check: the rank, or −1 where R's diagonal is not finite (a NaN or ±∞ input, whose solution is NaN as
    // torch's: not a rank question to refuse).
    const [rk, check] = Math.min(m, n) === 0 ? [zeros(batch, { dtype: 'int32', device: a.device }), null] : noGrad(() => tidy(() => {
      const d = abs(diagonal(R, { offset: 0, axis1: -2, axis2: -1 }));
      const tol = mul(max(d, -1, true), rcond);
      const r = sum(greater(d, tol).cast('float64'), -1);
      const bad = greater(sum(logicalNot(isFinite(d)), -1), 0);
      return [r.cast('int32'), where(bad, -1, r)] as [Tensor, Tensor];
    }));
    rank = rk;
    if (check) {
      const ranks = check.dataSync();
      check.dispose();
      const full = Math.min(m, n);
      const i = ranks.findIndex((r) => r >= 0 && r < full);
      if (i >= 0)
        fail('LINALG_ERROR', `${op}: the matrix at batch index ${i} is rank-deficient (rank ${ranks[i]} < ${full} by QR's diagonal with rcond ${rcond}); there is no column pivoting here (torch's gelsy has it): use driver 'gels' to get unpivoted QR's result`);
    }
    residuals = empty();
  } else {
    rank = zeros([0], { dtype: 'int32', device: a.device });
    // No gradient, as torch's (its residuals do not require grad); [..., 1] in the vector case too, as torch's.
    residuals = m > n ? noGrad(() => sum(square(sub(matmul(Ab, X), Bb)), -2)) : empty();
  }
  const solution = vector ? reshape(X, X.shape.slice(0, -1)) : X;
  return { solution, residuals, rank, singularValues: empty() };
  });
}
