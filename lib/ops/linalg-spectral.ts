/**
 * torch.linalg (spectral): eigh, eigvalsh, svd, svdvals, pinv, matrixRank, cond.
 * Exported as `antler.linalg.*` (lib/ops/linalg.ts).
 *
 * The factorisations are one native op each: on the CPU, LAPACK from the
 * opened OpenBLAS (dsyevd, dgesdd) for matrices from the size where it is faster
 * (native/cpu/linalg_spectral.cpp; preferredLinalgLibrary chooses), else the
 * built-in kernels shared by CPU and CUDA in float64 arithmetic for both float
 * types: up to n = 32 a two-sided Jacobi eigendecomposition
 * (native/kernels/linalg_spectral.h), above it Householder tridiagonalisation and
 * implicit QR with Wilkinson shifts (linalg_tridiag.h); below min(m, n) = 16 a
 * one-sided Jacobi SVD, from 16 Householder bidiagonalisation and implicit-shift
 * bidiagonal QR (linalg_bidiag.h). They take
 * [..., m, n] batches (flattened to [B, m, n] for the kernel). Each output is
 * recorded as its own node on A, with PyTorch 1.13's backward for that output
 * (linalg_eig_backward's Hermitian case, svd_backward), built from recorded
 * ops; the other outputs a backward reads are connected as sibling outputs, so
 * second derivatives are exact. An output that is never used sends no gradient,
 * as an undefined gradient in PyTorch. A matrix the kernel cannot factor (it
 * holds NaN or ±inf, or the iteration did not converge) throws LINALG_ERROR naming its
 * batch index (PyTorch raises too; this costs one host read of the info flags).
 * pinv, matrixRank and cond are composed from those ops, as in PyTorch.
 */
import { isGradEnabled, noGrad, record, type BackwardFn, type SiblingOutput } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { checkTensor, Tensor, zeros } from '../tensor';
import { checkBoolean, checkNumber, checkOptions, describe, shapeText } from '../validate';
import { add, cast, concat, div, equal, greater, matmul, max, maximum, mul, reshape, slice, sub, sum, transpose, where, wrap } from './core';
import { invEx } from './linalg-lu';
import { qr } from './linalg-qr';
import { matrixNorm, type MatrixNormOrd } from './linalg-norms';
import { diagEmbed } from './products';
import { unsqueeze } from './shape';

// ---------------------------------------------------------------- shared

const EPS = { float32: 1.1920928955078125e-7, float64: 2.220446049250313e-16 } as const;

/** Checks A is a float32/float64 tensor of rank ≥ 2 (square when asked); its batch shape and matrix dims. */
function checkMatrix(A: Tensor, op: string, square: boolean): { batch: number[]; m: number; n: number; B: number } {
  checkTensor(A, op, 'A');
  if (A.dtype !== 'float32' && A.dtype !== 'float64')
    fail('DTYPE_MISMATCH', `${op}: A must be float32 or float64; got ${A.dtype} (cast it with .cast('float64'))`);
  if (A.rank < 2) fail('SHAPE_MISMATCH', `${op}: A must have at least 2 dims ([..., m, n]); got shape ${shapeText(A.shape)}`);
  const m = A.shape[A.rank - 2], n = A.shape[A.rank - 1];
  if (square && m !== n) fail('SHAPE_MISMATCH', `${op}: A must be batches of square matrices; got shape ${shapeText(A.shape)}`);
  const batch = A.shape.slice(0, -2);
  return { batch, m, n, B: batch.reduce((a, b) => a * b, 1) };
}

/** Throws LINALG_ERROR naming the first batch element whose info is nonzero. */
function checkInfo(info: Tensor, op: string, batch: readonly number[]): void {
  if (info.size === 0) return;
  const flags = info.dataSync();
  const b = flags.findIndex((f) => f !== 0);
  if (b < 0) return;
  const where_ = batch.length ? `the matrix at batch index ${b}` : 'the matrix';
  fail('LINALG_ERROR', `${op}: the algorithm failed to converge for ${where_}: it holds NaN or ±inf (or the iteration did not converge)`);
}

/** The last two axes swapped. */
const mT = (x: Tensor): Tensor => transpose(x, -2, -1);
/** x [..., k] as a row [..., 1, k] or a column [..., k, 1]. */
const row = (x: Tensor): Tensor => unsqueeze(x, -2);
const col = (x: Tensor): Tensor => unsqueeze(x, -1);
/** X − Xᵀ (PyTorch's skew in svd_backward). */
const skew = (X: Tensor): Tensor => sub(X, mT(X));
/** E[i][j] = d[j] − d[i] off the diagonal, 1 on it (PyTorch's E in the eig/svd backwards). */
const gaps = (d: Tensor): Tensor => add(sub(row(d), col(d)), diagEmbed(add(mul(d, 0), 1)));

/**
 * Records each wanted output of a factorisation of A as its own node on A, with
 * its backward; every node saves all the raw outputs (constants from the
 * kernel) as sibling outputs, so a backward that builds a graph reads them
 * connected to A through their own backwards (exact second derivatives).
 */
function recordFactors(A: Tensor, op: string, raw: Tensor[], names: string[], backs: BackwardFn[], wanted: boolean[]): Tensor[] {
  const sibs: SiblingOutput[] = raw.map((_, i) => ({ name: `${op} (${names[i]})`, backward: backs[i] }));
  const map = new Map<Tensor, SiblingOutput>(raw.map((t, i) => [t, sibs[i]]));
  return raw.map((t, i) => (wanted[i] ? record(reshape(t, t.shape), sibs[i].name, [A], backs[i], raw, map) : t));
}

// ---------------------------------------------------------------- eigh

/** Options of {@link eigh} and {@link eigvalsh}. */
export interface EighOptions {
  /** Which triangle of A is read: 'L' (the lower, default, as torch) or 'U'. */
  UPLO?: 'L' | 'U';
}

/** The result of {@link eigh}. */
export interface EighResult {
  /** [..., n], ascending. */
  eigenvalues: Tensor;
  /** [..., n, n]: column j is the eigenvector of eigenvalues[j] (each up to sign). */
  eigenvectors: Tensor;
}

function checkUplo(options: unknown, op: string): boolean {
  const o = checkOptions<EighOptions>(options, op, ['UPLO']);
  if (o.UPLO !== undefined && o.UPLO !== 'L' && o.UPLO !== 'U') fail('INVALID_ARGUMENT', `${op}: options.UPLO must be 'L' or 'U'; got ${describe(o.UPLO)}`);
  return o.UPLO === 'U';
}

// gA for the eigenvalues: V diag(gw) Vᵀ.
const eighValuesBackward: BackwardFn = (gw, [w, V]) => {
  void w;
  return [matmul(mul(V, row(gw)), mT(V))];
};
// gA for the eigenvectors: V ((skew(VᵀgV)/2) / E) Vᵀ, E[i][j] = λj − λi (PyTorch: ±inf/NaN at repeated eigenvalues).
const eighVectorsBackward: BackwardFn = (gV, [w, V]) => {
  const X = mul(skew(matmul(mT(V), gV)), 0.5);
  return [matmul(matmul(V, div(X, gaps(w))), mT(V))];
};

function eighFactors(A: Tensor, op: string, upper: boolean, wantValues: boolean, wantVectors: boolean): Tensor[] {
  const { batch, n, B } = checkMatrix(A, op, true);
  const grad = isGradEnabled() && A.requiresGrad;
  return tidy(() => {
    const vectors = wantVectors || grad;
    const [w0, V0, info] = noGrad(() => native().linalgEigh(reshape(A, [B, n, n]).handle, upper, vectors)).map(wrap);
    checkInfo(info, op, batch);
    const w = reshape(w0, [...batch, n]);
    const V = vectors ? reshape(V0, [...batch, n, n]) : V0;
    return recordFactors(A, op, [w, V], ['eigenvalues', 'eigenvectors'], [eighValuesBackward, eighVectorsBackward], [wantValues, wantVectors]);
  });
}

/**
 * The eigenvalues (ascending) and eigenvectors (as columns) of the symmetric
 * matrices A [..., n, n]: torch.linalg.eigh. Only the lower triangle is read
 * (`UPLO: 'U'` reads the upper). float32 and float64; the gradient is
 * PyTorch's (inf/NaN when the eigenvectors are used and eigenvalues repeat).
 * The eigenvectors are unique up to sign (and up to rotation within a
 * repeated eigenvalue's space): the signs may differ from PyTorch's.
 */
export function eigh(A: Tensor, options?: EighOptions): EighResult {
  const upper = checkUplo(options, 'linalg.eigh');
  const [eigenvalues, eigenvectors] = eighFactors(A, 'linalg.eigh', upper, true, true);
  return { eigenvalues, eigenvectors };
}

/** The eigenvalues (ascending) of the symmetric matrices A [..., n, n]: torch.linalg.eigvalsh (see {@link eigh}). */
export function eigvalsh(A: Tensor, options?: EighOptions): Tensor {
  const upper = checkUplo(options, 'linalg.eigvalsh');
  return eighFactors(A, 'linalg.eigvalsh', upper, true, false)[0];
}

// ---------------------------------------------------------------- svd

/** Options of {@link svd}. */
export interface SvdOptions {
  /** U [..., m, m] and Vh [..., n, n] (default true, as torch); false: U [..., m, k], Vh [..., k, n], k = min(m, n). */
  fullMatrices?: boolean;
}

/** The result of {@link svd}: A = U diag(S) Vh. */
export interface SvdResult {
  U: Tensor;
  /** [..., k], descending. */
  S: Tensor;
  Vh: Tensor;
}

// The first k columns of U and rows of Vh (PyTorch narrows full factors and their gradients the same way).
function reduced(U: Tensor, S: Tensor, Vh: Tensor): [Tensor, Tensor] {
  const k = S.shape[S.rank - 1];
  const Ur = U.shape[U.rank - 1] === k ? U : slice(U, U.shape.map(() => 0), [...U.shape.slice(0, -1), k]);
  const Vr = Vh.shape[Vh.rank - 2] === k ? Vh : slice(Vh, Vh.shape.map(() => 0), [...Vh.shape.slice(0, -2), k, Vh.shape[Vh.rank - 1]]);
  return [Ur, Vr];
}
const narrowCols = (g: Tensor, k: number): Tensor => (g.shape[g.rank - 1] === k ? g : slice(g, g.shape.map(() => 0), [...g.shape.slice(0, -1), k]));
const narrowRows = (g: Tensor, k: number): Tensor =>
  g.shape[g.rank - 2] === k ? g : slice(g, g.shape.map(() => 0), [...g.shape.slice(0, -2), k, g.shape[g.rank - 1]]);

// gA for S: U diag(gS) Vh.
const svdValuesBackward: BackwardFn = (gS, [U0, S, Vh0]) => {
  const [U, Vh] = reduced(U0, S, Vh0);
  return [matmul(mul(U, row(gS)), Vh)];
};
// gA for U (PyTorch's svd_backward with gV undefined): U ((skew(UᵀgU) / E) S) Vh, plus (I − UUᵀ) gU S⁻¹ Vh when m > k.
const svdUBackward: BackwardFn = (gU0, [U0, S, Vh0]) => {
  const [U, Vh] = reduced(U0, S, Vh0);
  const k = S.shape[S.rank - 1], m = U.shape[U.rank - 2];
  const gU = narrowCols(gU0, k);
  const inner = mul(div(skew(matmul(mT(U), gU)), gaps(mul(S, S))), row(S));
  let gA = matmul(U, inner);
  if (m > k) {
    const gUSinv = div(gU, row(S));
    gA = add(gA, sub(gUSinv, matmul(U, matmul(mT(U), gUSinv))));
  }
  return [matmul(gA, Vh)];
};
// gA for Vh (gU undefined): U (S (skew(VᵀgV) / E)) Vh, plus U S⁻¹ gVᵀ (I − VVᵀ) when n > k.
const svdVhBackward: BackwardFn = (gVh0, [U0, S, Vh0]) => {
  const [U, Vh] = reduced(U0, S, Vh0);
  const k = S.shape[S.rank - 1], n = Vh.shape[Vh.rank - 1];
  const gV = mT(narrowRows(gVh0, k));
  const V = mT(Vh);
  const inner = mul(col(S), div(skew(matmul(Vh, gV)), gaps(mul(S, S))));
  let gA = matmul(inner, Vh);
  if (n > k) {
    const gVSinvT = mT(div(gV, row(S)));
    gA = add(gA, sub(gVSinvT, matmul(matmul(gVSinvT, V), Vh)));
  }
  return [matmul(U, gA)];
};

function svdFactors(A: Tensor, op: string, full: boolean, wanted: [boolean, boolean, boolean]): Tensor[] {
  const { batch, m, n, B } = checkMatrix(A, op, false);
  const grad = isGradEnabled() && A.requiresGrad;
  const k = Math.min(m, n);
  return tidy(() => {
    const vectors = wanted[0] || wanted[2] || grad;
    // The kernel gives the reduced factors; full ones are completed here by a Householder QR of U (of Vhᵀ):
    // its Q's last m − k (n − k) columns span the complement, O(m²k) where the kernel's Gram–Schmidt
    // completion took O(m³) on one lane (a 1000×3 matrix: 8 s).
    const [U0, S0, Vh0, info] = noGrad(() => native().linalgSvd(reshape(A, [B, m, n]).handle, false, vectors)).map(wrap);
    checkInfo(info, op, batch);
    const S = reshape(S0, [...batch, k]);
    let U = vectors ? reshape(U0, [...batch, m, k]) : U0;
    let Vh = vectors ? reshape(Vh0, [...batch, k, n]) : Vh0;
    if (vectors && full)
      noGrad(() => {
        const complement = (X: Tensor, rows: number): Tensor => {
          const Q = qr(X, { mode: 'complete' }).Q;
          return slice(Q, Q.shape.map((_, d) => (d === Q.rank - 1 ? k : 0)), [...Q.shape.slice(0, -1), rows - k]);
        };
        if (m > k) U = concat([U, complement(U, m)], -1);
        if (n > k) Vh = concat([Vh, mT(complement(mT(Vh), n))], -2);
      });
    return recordFactors(A, op, [U, S, Vh], ['U', 'S', 'Vh'], [svdUBackward, svdValuesBackward, svdVhBackward], wanted);
  });
}

/**
 * The singular value decomposition A = U diag(S) Vh of A [..., m, n]:
 * torch.linalg.svd. S [..., k] descending (k = min(m, n)); `fullMatrices`
 * (default true, as torch) gives U [..., m, m] and Vh [..., n, n], false the
 * reduced U [..., m, k] and Vh [..., k, n]. The singular vectors are unique up
 * to sign (pairs of columns of U and rows of Vh flip together), so they may
 * differ from PyTorch's by signs. The gradient is PyTorch's svd_backward (full
 * factors: the extra columns get no gradient; inf/NaN where singular values
 * repeat, or are 0 when m ≠ n, and U or Vh is used).
 */
export function svd(A: Tensor, options?: SvdOptions): SvdResult {
  const o = checkOptions<SvdOptions>(options, 'linalg.svd', ['fullMatrices']);
  const full = o.fullMatrices === undefined ? true : checkBoolean(o.fullMatrices, 'linalg.svd', 'options.fullMatrices');
  const [U, S, Vh] = svdFactors(A, 'linalg.svd', full, [true, true, true]);
  return { U, S, Vh };
}

/** The singular values of A [..., m, n], descending: torch.linalg.svdvals (gradient U diag(g) Vh). */
export function svdvals(A: Tensor): Tensor {
  return svdFactors(A, 'linalg.svdvals', false, [false, true, false])[1];
}

// ---------------------------------------------------------------- pinv, matrixRank, cond

/** Options of {@link pinv} and {@link matrixRank}. */
export interface PinvOptions {
  /** Absolute tolerance (default 0). */
  atol?: number;
  /** Relative tolerance, times the largest singular value (default max(m, n)·eps when atol is unset or 0, else 0, as torch). */
  rtol?: number;
  /** A is symmetric (its lower triangle is read): eigvalsh/eigh instead of the SVD. */
  hermitian?: boolean;
}

function checkTolerances(options: unknown, op: string, A: Tensor): { atol: number; rtol: number; hermitian: boolean } {
  const o = checkOptions<PinvOptions>(options, op, ['atol', 'rtol', 'hermitian']);
  const atol = o.atol === undefined ? 0 : checkNumber(o.atol, op, 'options.atol');
  if (o.rtol !== undefined) checkNumber(o.rtol, op, 'options.rtol');
  const hermitian = o.hermitian === undefined ? false : checkBoolean(o.hermitian, op, 'options.hermitian');
  const m = A.shape[A.rank - 2], n = A.shape[A.rank - 1];
  const rtol = o.rtol ?? (atol > 0 ? 0 : EPS[A.dtype as 'float32' | 'float64'] * Math.max(m, n));
  return { atol, rtol, hermitian };
}

// gA of P = A⁺ (PyTorch 1.13's pinv_backward, for every rank and for hermitian too: the derivative of A⁺ with the
// rank held fixed, on the whole of A): m ≤ n: K = gᵀP, gA = −(PK)ᵀ + KPᵀ − AP·KPᵀ + PᵀP(gᵀ − KA);
// m > n: K = Pgᵀ, gA = −(KP)ᵀ + (gᵀ − AK)PPᵀ + PᵀK − PᵀK·PA. Returned transposed back to A's [m, n] as gᵀ is.
const pinvBackward: BackwardFn = (g, [P, A]) => {
  const m = A.shape[A.rank - 2], n = A.shape[A.rank - 1];
  const gh = mT(g), Ph = mT(P);
  if (m <= n) {
    const K = matmul(gh, P);
    const KPh = matmul(K, Ph);
    return [add(sub(sub(KPh, mT(matmul(P, K))), matmul(matmul(A, P), KPh)), matmul(matmul(Ph, P), sub(gh, matmul(K, A))))];
  }
  const K = matmul(P, gh);
  const PhK = matmul(Ph, K);
  return [sub(add(sub(matmul(matmul(sub(gh, matmul(A, K)), P), Ph), mT(matmul(K, P))), PhK), matmul(matmul(PhK, P), A))];
};

/**
 * The Moore–Penrose pseudo-inverse of A [..., m, n] ([..., n, m]):
 * torch.linalg.pinv, from the SVD (or eigh when `hermitian`), singular
 * values at or below max(atol, rtol·σ₁) treated as 0. atol and rtol are
 * numbers (torch also takes tensors). The gradient is PyTorch's own for pinv
 * (the derivative of A⁺ at fixed rank, finite for rank-deficient A; with
 * `hermitian` too, on the whole of A, as torch), not the one through the SVD.
 */
export function pinv(A: Tensor, options?: PinvOptions): Tensor {
  const op = 'linalg.pinv';
  const { m, n } = checkMatrix(A, op, false);
  const { atol, rtol, hermitian } = checkTolerances(options, op, A);
  if (hermitian && m !== n) fail('SHAPE_MISMATCH', `${op}: hermitian needs square matrices; got shape ${shapeText(A.shape)}`);
  if (m === 0 || n === 0) return zeros([...A.shape.slice(0, -2), n, m], { dtype: A.dtype, device: A.device });
  const P = noGrad(() => tidy(() => {
    if (!hermitian) {
      const { U, S, Vh } = svd(A, { fullMatrices: false });
      const tol = maximum(mul(slice(S, S.shape.map(() => 0), [...S.shape.slice(0, -1), 1]), rtol), atol);
      const Sinv = where(greater(S, tol), div(1, S), 0);
      return matmul(mul(mT(Vh), row(Sinv)), mT(U));
    }
    const { eigenvalues: w, eigenvectors: V } = eigh(A);
    const wa = w.abs();
    const tol = maximum(mul(max(wa, -1, true), rtol), atol);
    const winv = where(greater(wa, tol), div(1, w), 0);
    return matmul(mul(V, row(winv)), mT(V));
  }));
  return record(P, op, [A], pinvBackward, [P, A], true);
}


/**
 * The numerical rank of A [..., m, n]: the number of singular values (or |eigenvalues| when `hermitian`) above
 * max(atol, rtol·σ₁): torch.linalg.matrix_rank. int32 (torch: int64); not differentiable.
 */
export function matrixRank(A: Tensor, options?: PinvOptions): Tensor {
  const op = 'linalg.matrixRank';
  const { m, n } = checkMatrix(A, op, false);
  const { atol, rtol, hermitian } = checkTolerances(options, op, A);
  if (hermitian && m !== n) fail('SHAPE_MISMATCH', `${op}: hermitian needs square matrices; got shape ${shapeText(A.shape)}`);
  if (m === 0 || n === 0) return zeros(A.shape.slice(0, -2), { dtype: 'int32', device: A.device });
  return noGrad(() =>
    tidy(() => {
      const S = hermitian ? eigvalsh(A).abs() : svdvals(A);
      const tol = maximum(mul(max(S, -1, true), rtol), atol);
      return cast(sum(cast(greater(S, tol), 'float64'), -1), 'int32');
    }),
  );
}

/** The orders linalg.cond takes besides 2 and −2: ‖A‖·‖A⁻¹‖ in that matrix norm. */
const COND_BY_INVERSE: readonly (number | string)[] = ['fro', 'nuc', Infinity, -Infinity, 1, -1];

/**
 * The condition number of A [..., m, n]: torch.linalg.cond. p undefined or 2: σ₁/σₖ, p = −2: σₖ/σ₁, from
 * the singular values (any m, n). p 'fro', ±1, ±Infinity: ‖A‖_p·‖A⁻¹‖_p (square A only), Infinity
 * where A is singular (the inverse's LU meets a zero pivot) or the product is NaN (A holds NaN or ±inf),
 * as torch's; differentiable through the
 * inverse and the norm (torch 1.13's backward of these orders fails on an in-place error). p 'nuc'
 * (square A only): Σσᵢ·Σ1/σᵢ from the singular values, as torch 1.13 computes it (Infinity where a
 * singular value is 0, NaN for a zero matrix).
 */
export function cond(A: Tensor, p?: number | string): Tensor {
  const op = 'linalg.cond';
  const { m, n } = checkMatrix(A, op, false);
  if (p !== undefined && p !== null && p !== 2 && p !== -2) {
    if (!COND_BY_INVERSE.includes(p))
      fail('INVALID_ARGUMENT', `${op}: p must be 2 (the default), −2, 'fro', 'nuc', 1, −1, Infinity or −Infinity; got ${describe(p)}`);
    if (m !== n) fail('SHAPE_MISMATCH', `${op}: p = ${describe(p)} needs square matrices (‖A‖·‖A⁻¹‖); A has shape ${shapeText(A.shape)}`);
    if (n === 0) return zeros(A.shape.slice(0, -2), { dtype: A.dtype, device: A.device });
    if (p === 'nuc')
      return tidy(() => {
        // torch 1.13 takes 'nuc' from the singular values, Σσ·Σ1/σ (no inverse: inf where a σ is 0, NaN for A = 0).
        const S = svdvals(A);
        return mul(sum(S, -1), sum(div(1, S), -1));
      });
    const ord = p as MatrixNormOrd;
    return tidy(() => {
      const { inverse, info } = invEx(A);
      const c = mul(matrixNorm(A, { ord }), matrixNorm(inverse, { ord }));
      // torch 1.13 turns a NaN product into inf as well (nan_to_num): NaN or ±inf in A gives Infinity, not NaN.
      return where(equal(info, 0), where(equal(c, c), c, Infinity), Infinity);
    });
  }
  const k = Math.min(m, n);
  if (k === 0) return zeros(A.shape.slice(0, -2), { dtype: A.dtype, device: A.device });
  return tidy(() => {
    const S = svdvals(A);
    const first = slice(S, S.shape.map(() => 0), [...S.shape.slice(0, -1), 1]);
    const last = slice(S, [...S.shape.slice(0, -1).map(() => 0), k - 1], [...S.shape.slice(0, -1), 1]);
    const r = p === -2 ? div(last, first) : div(first, last);
    return reshape(r, A.shape.slice(0, -2));
  });
}
