/**
 * lib/ops/linalg-spectral.ts (eigh, eigvalsh, svd, svdvals, pinv, matrixRank, cond) and
 * lib/ops/linalg-svd-norms.ts against float64 references: test/linalg-reference.ts's eigenvalues (Householder
 * tridiagonalisation, bisection on the Sturm count) and singular values (bisection on the Golub–Kahan tridiagonal
 * of a Householder bidiagonalisation), and ones written here: closed forms for 2×2, bisection on the inertia of
 * A − λI (the signs of Gaussian elimination's pivots, Sylvester's law) for graded matrices, the pseudo-inverse by
 * the normal equations and Penrose's four conditions; reconstruction and orthogonality of the factors;
 * repeated eigenvalues, rank-deficient matrices, m < n, empty dims, batches, transposed inputs, float32,
 * NaN (LINALG_ERROR naming the batch index), bad inputs. Gradients are checked by the op registry
 * (test/opinfo-linalg-spectral.ts); here PyTorch's conventions at repeated eigenvalues.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { spectralMatrixNorm } from '../../lib/ops/linalg-svd-norms';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, prod, randomArray, tensorCounts } from '../helpers';
import { eigvalsRef, eyeMat, frob, Mat, maxAbsDiff, mm, mT, randomOrthogonal as randomOrthogonalOf, svdvalsRef, toMat } from '../linalg-reference';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const L = antler.linalg;
const F64 = { dtype: 'float64' as const };
const F32 = { dtype: 'float32' as const };
const EPS64 = 2.220446049250313e-16;
const read = (t: Tensor) => Array.from(t.dataSync());

const randMat = (m: number, n: number): Mat => toMat(randomArray(rng, m * n), m, n);
const symmetrize = (a: Mat): Mat => a.map((r, i) => r.map((x, j) => (x + a[j][i]) / 2));

/** The number of eigenvalues of the symmetric a below lam: negative pivots of elimination without pivoting on a − lam·I. */
function countBelow(a: Mat, lam: number): number {
  const n = a.length;
  const w = a.map((r, i) => r.map((x, j) => (i === j ? x - lam : x)));
  let neg = 0;
  for (let k = 0; k < n; k++) {
    let p = w[k][k];
    if (p === 0) p = -1e-300; // a pivot exactly 0 (λ an eigenvalue of a leading block): perturb, as the Sturm count does
    if (p < 0) neg++;
    for (let i = k + 1; i < n; i++) {
      const f = w[i][k] / p;
      for (let j = k + 1; j < n; j++) w[i][j] -= f * w[k][j];
    }
  }
  return neg;
}

const randomOrthogonal = (n: number): Mat => randomOrthogonalOf(rng, n);

/** The matrices of a [..., m, n] tensor. */
function mats(t: Tensor): Mat[] {
  const m = t.shape[t.rank - 2], n = t.shape[t.rank - 1];
  const v = t.dataSync(), B = prod(t.shape.slice(0, -2));
  return Array.from({ length: B }, (_, b) => toMat(v, m, n, b * m * n));
}
function rows(t: Tensor): number[][] {
  const k = t.shape[t.rank - 1], v = t.dataSync(), B = prod(t.shape.slice(0, -1));
  return Array.from({ length: B }, (_, b) => Array.from(v.slice(b * k, b * k + k)));
}

/** Checks eigh's factors of the batch of symmetric matrices `as` (values against the reference). */
function checkEigh(as: Mat[], w: Tensor, V: Tensor, tol: number, msg: string): void {
  const ws = rows(w), Vs = mats(V);
  as.forEach((a, b) => {
    const n = a.length, scale = Math.max(1, frob(a));
    expectClose(ws[b], eigvalsRef(a), 0, tol * scale, `${msg}: eigenvalues of matrix ${b} (seed ${SEED})`);
    const VD = Vs[b].map((r) => r.map((x, j) => x * ws[b][j]));
    expect(maxAbsDiff(mm(VD, mT(Vs[b])), a)).toBeLessThan(tol * scale);
    expect(maxAbsDiff(mm(mT(Vs[b]), Vs[b]), eyeMat(n))).toBeLessThan(tol);
  });
}

/** Checks svd's factors of the batch `as` (m×n): A = U diag(S) Vh, orthonormal U and Vh, S against the reference. */
function checkSvd(as: Mat[], m: number, n: number, U: Tensor, S: Tensor, Vh: Tensor, tol: number, msg: string): void {
  const Us = mats(U), Ss = rows(S), Vhs = mats(Vh);
  const k = Math.min(m, n);
  as.forEach((a, b) => {
    const scale = Math.max(1, frob(a));
    expectClose(Ss[b], svdvalsRef(a, m, n), 0, Math.sqrt(tol) * scale, `${msg}: singular values of matrix ${b} (seed ${SEED})`);
    for (let j = 1; j < k; j++) expect(Ss[b][j]).toBeLessThanOrEqual(Ss[b][j - 1]);
    const Uk = Us[b].map((r) => r.slice(0, k).map((x, j) => x * Ss[b][j]));
    expect(maxAbsDiff(mm(Uk, Vhs[b].slice(0, k)), a)).toBeLessThan(tol * scale);
    expect(maxAbsDiff(mm(mT(Us[b]), Us[b]), eyeMat(Us[b][0]?.length ?? 0))).toBeLessThan(tol);
    expect(maxAbsDiff(mm(Vhs[b], mT(Vhs[b])), eyeMat(Vhs[b].length))).toBeLessThan(tol);
  });
}

describe(`linalg spectral (seed ${SEED})`, () => {
  test('eigh: 2×2 closed form and 3…9 against bisection, batches, both triangles, reconstruction, orthogonality', () =>
    tidy(() => {
      // 2×2: (a + c)/2 ± √(((a − c)/2)² + b²)
      for (let trial = 0; trial < 5; trial++) {
        const [a, b, c] = randomArray(rng, 3, -2, 2);
        const r = Math.hypot((a - c) / 2, b);
        const w = read(L.eigvalsh(tensor([a, b, b, c], [2, 2], F64)));
        expectClose(w, [(a + c) / 2 - r, (a + c) / 2 + r], 0, 1e-14, `2×2 closed form (seed ${SEED})`);
      }
      for (const [batch, n] of [[[], 3], [[2], 5], [[2, 2], 4], [[1], 9], [[], 1]] as [number[], number][]) {
        const B = prod(batch);
        const as = Array.from({ length: B }, () => symmetrize(randMat(n, n)));
        // Junk above the diagonal: UPLO 'L' must read only the lower triangle.
        const lower = as.flatMap((a) => a.flatMap((r, i) => r.map((x, j) => (j > i ? 100 + x : x))));
        const { eigenvalues, eigenvectors } = L.eigh(tensor(lower, [...batch, n, n], F64));
        expect(eigenvalues.shape).toEqual([...batch, n]);
        expect(eigenvectors.shape).toEqual([...batch, n, n]);
        checkEigh(as, eigenvalues, eigenvectors, 50 * n * EPS64, `eigh ${n}×${n}`);
        const upper = as.flatMap((a) => a.flatMap((r, i) => r.map((x, j) => (j < i ? -7 : x))));
        const u = L.eigh(tensor(upper, [...batch, n, n], F64), { UPLO: 'U' });
        checkEigh(as, u.eigenvalues, u.eigenvectors, 50 * n * EPS64, `eigh UPLO 'U' ${n}×${n}`);
        expectClose(read(L.eigvalsh(tensor(upper, [...batch, n, n], F64), { UPLO: 'U' })), read(u.eigenvalues), 0, 0, 'eigvalsh = eigh values');
      }
    }));

  test('eigh: repeated eigenvalues (values right, vectors orthonormal), diagonal and zero matrices, float32, transposed input', () =>
    tidy(() => {
      const n = 5;
      const Q = randomOrthogonal(n);
      const d = [1, 1, 1, -2, 3];
      const a = mm(Q.map((r) => r.map((x, j) => x * d[j])), mT(Q));
      const { eigenvalues: w, eigenvectors: V } = L.eigh(tensor(a.flat(), [n, n], F64));
      expectClose(read(w), [-2, 1, 1, 1, 3], 0, 1e-13, `repeated (seed ${SEED})`);
      checkEigh([a], w, V, 1e-13, 'repeated');
      const diagM = [[3, 0, 0], [0, -1, 0], [0, 0, 2]];
      checkEigh([diagM], ...Object.values(L.eigh(tensor(diagM.flat(), [3, 3], F64))) as [Tensor, Tensor], 1e-15, 'diagonal');
      expect(read(L.eigvalsh(antler.zeros([3, 3], F64)))).toEqual([0, 0, 0]);
      // float32: the same factors to float32 rounding.
      const s = symmetrize(randMat(6, 6));
      const f = L.eigh(tensor(s.flat(), [6, 6], F32));
      expect(f.eigenvalues.dtype).toBe('float32');
      checkEigh([s], f.eigenvalues, f.eigenvectors, 2e-6, 'float32');
      // A transposed view (made contiguous by transpose) of a symmetric matrix's lower triangle = the upper one.
      const xt = antler.transpose(tensor(s.flat(), [6, 6], F64), 0, 1);
      checkEigh([s], ...Object.values(L.eigh(xt)) as [Tensor, Tensor], 1e-13, 'transposed');
    }));

  test('eigh: empty batches and n = 0; NaN and ±inf throw LINALG_ERROR naming the batch index; bad inputs; nothing damaged', () =>
    tidy(() => {
      expect(L.eigh(antler.zeros([0, 0], F64)).eigenvalues.shape).toEqual([0]);
      expect(L.eigh(antler.zeros([2, 0, 0], F64)).eigenvectors.shape).toEqual([2, 0, 0]);
      expect(L.eigvalsh(antler.zeros([0, 3, 3], F64)).shape).toEqual([0, 3]);
      const v = symmetrize(randMat(3, 3)).flat();
      const x = tensor([...v, ...v.map((e, i) => (i === 4 ? NaN : e)), ...v], [3, 3, 3], F64);
      expectAntlerError(() => L.eigh(x), 'LINALG_ERROR', /linalg\.eigh: .*batch index 1/);
      expectAntlerError(() => L.eigvalsh(tensor([1, Infinity, Infinity, 1], [2, 2], F64)), 'LINALG_ERROR', /linalg\.eigvalsh/);
      expect(read(x)[13]).toBeNaN();
      expectClose(read(x).slice(0, 9), v, 0, 0, 'input intact');
      expectAntlerError(() => L.eigh(antler.zeros([3, 3], { dtype: 'int32' })), 'DTYPE_MISMATCH', /float32 or float64/);
      expectAntlerError(() => L.eigh(antler.zeros([2, 3], F64)), 'SHAPE_MISMATCH', /square/);
      expectAntlerError(() => L.eigvalsh(antler.zeros([3], F64)), 'SHAPE_MISMATCH', /at least 2 dims/);
      expectAntlerError(() => L.eigh(antler.zeros([2, 2], F64), { UPLO: 'u' as 'U' }), 'INVALID_ARGUMENT', /UPLO/);
    }));

  test('svd: reduced and full, m ≥ n and m < n, batches, against the Gram reference; orthonormal completed bases', () =>
    tidy(() => {
      for (const [batch, m, n] of [[[], 4, 3], [[2], 3, 5], [[3], 6, 6], [[2, 1], 7, 2], [[], 1, 4], [[], 5, 1], [[], 1, 1]] as [number[], number, number][]) {
        const B = prod(batch), k = Math.min(m, n);
        const as = Array.from({ length: B }, () => randMat(m, n));
        const x = tensor(as.flat(2), [...batch, m, n], F64);
        const full = L.svd(x);
        expect(full.U.shape).toEqual([...batch, m, m]);
        expect(full.S.shape).toEqual([...batch, k]);
        expect(full.Vh.shape).toEqual([...batch, n, n]);
        checkSvd(as, m, n, full.U, full.S, full.Vh, 100 * Math.max(m, n) * EPS64, `svd full ${m}×${n}`);
        const red = L.svd(x, { fullMatrices: false });
        expect(red.U.shape).toEqual([...batch, m, k]);
        expect(red.Vh.shape).toEqual([...batch, k, n]);
        checkSvd(as, m, n, red.U, red.S, red.Vh, 100 * Math.max(m, n) * EPS64, `svd reduced ${m}×${n}`);
        expectClose(read(L.svdvals(x)), read(red.S), 0, 1e-14, 'svdvals = svd S');
        expectClose(read(L.cond(x)), rows(red.S).map((s) => s[0] / s[k - 1]), 1e-12, 0, 'cond');
        expectClose(read(L.cond(x, -2)), rows(red.S).map((s) => s[k - 1] / s[0]), 1e-12, 0, 'cond −2');
      }
    }));

  test('svd with fullMatrices on tall and wide matrices: the reduced factors completed to orthonormal bases (Householder QR of U / Vhᵀ)', () =>
    tidy(() => {
      for (const [batch, m, n] of [[[], 150, 2], [[2], 3, 120], [[], 40, 40], [[3], 17, 5], [[], 6, 0]] as [number[], number, number][]) {
        const B = prod(batch), k = Math.min(m, n);
        const as = Array.from({ length: B }, () => randMat(m, n));
        const x = tensor(as.flat(2), [...batch, m, n], F64);
        const full = L.svd(x), red = L.svd(x, { fullMatrices: false });
        expect(full.U.shape).toEqual([...batch, m, m]);
        expect(full.Vh.shape).toEqual([...batch, n, n]);
        checkSvd(as, m, n, full.U, full.S, full.Vh, 100 * Math.max(m, n) * EPS64, `svd full ${m}×${n}`);
        // The first k columns (rows) are the reduced factors themselves.
        const first = (t: Tensor, axis: number) => read(antler.narrow(t, axis, 0, k));
        expectClose(first(full.U, -1), read(red.U), 0, 0, 'U[:, :k]');
        expectClose(first(full.Vh, -2), read(red.Vh), 0, 0, 'Vh[:k]');
      }
    }));

  test('svd: rank-deficient (U, V still orthonormal), zero matrix, empty dims, float32, transposed input, NaN', () =>
    tidy(() => {
      for (const [m, n, r] of [[5, 4, 2], [3, 6, 1], [4, 4, 3]]) {
        const a = mm(randMat(m, r), randMat(r, n));
        const x = tensor(a.flat(), [m, n], F64);
        const f = L.svd(x);
        checkSvd([a], m, n, f.U, f.S, f.Vh, 1e-12, `rank ${r} ${m}×${n}`);
        const s = read(f.S);
        for (let j = r; j < Math.min(m, n); j++) expect(s[j]).toBeLessThan(1e-13 * s[0]);
        expect(read(L.matrixRank(x))).toEqual([r]);
        checkSvd([a], m, n, ...Object.values(L.svd(x, { fullMatrices: false })) as [Tensor, Tensor, Tensor], 1e-12, `rank ${r} reduced`);
      }
      const zero = L.svd(antler.zeros([3, 2], F64));
      expect(read(zero.S)).toEqual([0, 0]);
      checkSvd([[[0, 0], [0, 0], [0, 0]]], 3, 2, zero.U, zero.S, zero.Vh, 1e-15, 'zero');
      // Empty: torch gives U [0, 0], S [0], Vh = I₃ for a 0×3 matrix (full).
      const e = L.svd(antler.zeros([0, 3], F64));
      expect([e.U.shape, e.S.shape, e.Vh.shape]).toEqual([[0, 0], [0], [3, 3]]);
      expect(maxAbsDiff(mats(e.Vh)[0], eyeMat(3))).toBe(0);
      const e2 = L.svd(antler.zeros([2, 3, 0], F64), { fullMatrices: false });
      expect([e2.U.shape, e2.S.shape, e2.Vh.shape]).toEqual([[2, 3, 0], [2, 0], [2, 0, 0]]);
      expect(L.svdvals(antler.zeros([0, 2, 2], F64)).shape).toEqual([0, 2]);
      const a = randMat(5, 3);
      const f32 = L.svd(tensor(a.flat(), [5, 3], F32));
      expect(f32.S.dtype).toBe('float32');
      checkSvd([a], 5, 3, f32.U, f32.S, f32.Vh, 2e-6, 'float32');
      const xt = antler.transpose(tensor(a.flat(), [5, 3], F64), 0, 1);
      checkSvd([mT(a)], 3, 5, ...Object.values(L.svd(xt)) as [Tensor, Tensor, Tensor], 1e-13, 'transposed');
      expectAntlerError(() => L.svd(tensor([1, NaN, 0, 1, 2, 3], [2, 3], F64)), 'LINALG_ERROR', /linalg\.svd: .*the matrix/);
      expectAntlerError(() => L.svdvals(tensor([...randomArray(rng, 4), 1, 2, Infinity, 3], [2, 2, 2], F64)), 'LINALG_ERROR', /batch index 1/);
      expectAntlerError(() => L.svd(antler.zeros([2, 2], { dtype: 'int32' })), 'DTYPE_MISMATCH');
      expectAntlerError(() => L.svd(antler.zeros([2, 2], F64), { full: true } as never), 'INVALID_ARGUMENT');
    }));

  test('low rank and extreme scales: PSD h·hᵀ of every rank, matrices scaled by 1e±200, one completed column (9×8 full)', () =>
    tidy(() => {
      for (let n = 2; n <= 8; n++)
        for (let r = 0; r < n; r++) {
          const h = randMat(n, r);
          const a = r === 0 ? eyeMat(n).map((row) => row.map(() => 0)) : mm(h, mT(h));
          const x = tensor(a.flat(), [n, n], F64);
          checkEigh([a], ...Object.values(L.eigh(x)) as [Tensor, Tensor], 100 * n * EPS64, `PSD rank ${r} of ${n}×${n}`);
          expect(read(L.matrixRank(x, { hermitian: true }))).toEqual([r]);
        }
      for (const scale of [1e200, 1e-200]) {
        const a = symmetrize(randMat(5, 5));
        const w = read(L.eigvalsh(tensor(a.flat().map((v) => v * scale), [5, 5], F64)));
        expectClose(w.map((v) => v / scale), eigvalsRef(a), 1e-13, 1e-13, `eigvalsh scaled by ${scale}`);
        const b = randMat(4, 6);
        const f = L.svd(tensor(b.flat().map((v) => v * scale), [4, 6], F64));
        expectClose(read(f.S).map((v) => v / scale), svdvalsRef(b, 4, 6), 1e-12, 0, `svd scaled by ${scale}`);
        expect(maxAbsDiff(mm(mats(f.Vh)[0], mT(mats(f.Vh)[0])), eyeMat(6))).toBeLessThan(1e-14);
      }
      const c = randMat(9, 8);
      const g = L.svd(tensor(c.flat(), [9, 8], F64));
      checkSvd([c], 9, 8, g.U, g.S, g.Vh, 1e-13, 'one completed column');
    }));

  test('subnormal matrices (largest entry below 2^−1022) on every route: the power-of-two scaling reaches them (2^−ex overflowed to +inf)', () => {
    // d·I plus a subnormal off-diagonal pair: eigenvalues d ± e exactly representable, singular values the same.
    const d = 3e-310, e = 1e-310;
    try {
      for (const lib of ['builtin', 'default', ...(antler.backends().cpu.lapack ? ['lapack' as const] : [])] as const) {
        antler.preferredLinalgLibrary(lib);
        for (const n of [5, 20, 40]) // Jacobi; the bidiagonal SVD (≥ 16) and the tridiagonal eigh (> 32)
          tidy(() => {
            const a = new Array<number>(n * n).fill(0);
            for (let i = 0; i < n; i++) a[i * n + i] = d;
            a[1] = a[n] = e;
            const want = [d - e, ...new Array<number>(n - 2).fill(d), d + e];
            const w = read(L.eigvalsh(tensor(a, [n, n], F64)));
            expectClose(w, want, 0, 1e-323 * 4 + 1e-6 * d, `eigvalsh ${lib} n ${n}`);
            const s = read(L.svdvals(tensor(a, [n, n], F64)));
            expectClose(s, [...want].reverse(), 0, 1e-323 * 4 + 1e-6 * d, `svdvals ${lib} n ${n}`);
          });
      }
    } finally {
      antler.preferredLinalgLibrary('default');
    }
  });

  test('pinv: the normal equations for full rank; Penrose conditions for rank-deficient, hermitian; tolerances; x.pinverse()', () =>
    tidy(() => {
      // Full column rank: pinv = (AᵀA)⁻¹Aᵀ (solved here by Gauss–Jordan).
      const a = randMat(5, 3);
      const g = mm(mT(a), a);
      const inv = eyeMat(3);
      const w = g.map((r) => r.slice());
      for (let c = 0; c < 3; c++) {
        const p = w[c][c];
        for (let j = 0; j < 3; j++) {
          w[c][j] /= p;
          inv[c][j] /= p;
        }
        for (let i = 0; i < 3; i++)
          if (i !== c) {
            const f = w[i][c];
            for (let j = 0; j < 3; j++) {
              w[i][j] -= f * w[c][j];
              inv[i][j] -= f * inv[c][j];
            }
          }
      }
      const ref = mm(inv, mT(a));
      const p = L.pinv(tensor(a.flat(), [5, 3], F64));
      expect(p.shape).toEqual([3, 5]);
      expect(maxAbsDiff(mats(p)[0], ref)).toBeLessThan(1e-12);
      expect(maxAbsDiff(mats(tensor(a.flat(), [5, 3], F64).pinverse())[0], ref)).toBeLessThan(1e-12);
      // Rank-deficient (batched, m < n): Penrose's conditions AXA = A, XAX = X, AX and XA symmetric.
      // Rounding grows with ‖A‖ and ‖X‖ (X = A⁺ is large where A has small nonzero singular values): relative tolerance.
      const penrose = (A: Mat, X: Mat, rel: number) => {
        const tol = rel * (1 + frob(A)) * (1 + frob(X)) ** 2;
        expect(maxAbsDiff(mm(mm(A, X), A), A)).toBeLessThan(tol);
        expect(maxAbsDiff(mm(mm(X, A), X), X)).toBeLessThan(tol);
        const AX = mm(A, X), XA = mm(X, A);
        expect(maxAbsDiff(AX, mT(AX))).toBeLessThan(tol);
        expect(maxAbsDiff(XA, mT(XA))).toBeLessThan(tol);
      };
      const bs = [mm(randMat(3, 2), randMat(2, 5)), mm(randMat(3, 1), randMat(1, 5))];
      const pb = mats(L.pinv(tensor(bs.flat(2), [2, 3, 5], F64)));
      bs.forEach((b, i) => penrose(b, pb[i], 1e-13));
      const h = randMat(4, 2);
      const sym = mm(h, mT(h)); // symmetric, rank 2
      penrose(sym, mats(L.pinv(tensor(sym.flat(), [4, 4], F64), { hermitian: true }))[0], 1e-13);
      const symNeg = symmetrize(mm(h, mT(randMat(4, 2)))); // symmetric indefinite, rank ≤ 4
      penrose(symNeg, mats(L.pinv(tensor(symNeg.flat(), [4, 4], F64), { hermitian: true }))[0], 1e-13);
      // atol above every singular value: all treated as 0.
      expect(read(L.pinv(tensor(a.flat(), [5, 3], F64), { atol: 1e6 }))).toEqual(new Array(15).fill(0));
      expect(L.pinv(antler.zeros([2, 0, 3], F64)).shape).toEqual([2, 3, 0]);
    }));

  test("pinv's gradient is PyTorch's pinv_backward: finite for rank-deficient A (central differences at fixed rank); hermitian's is the general one", () =>
    tidy(() => {
      // At fixed rank (atol far above the perturbation h and far below the rank's singular values) pinv is smooth:
      // central differences are the reference. The default tolerance gives the same finite gradient (torch 1.13 too).
      // Exact zero singular values (diag(2, 0) and a 3×2 of rank 1) made the gradient through the SVD NaN (1/σ, 1/(σᵢ² − σⱼ²)).
      const exact: [number, number, number, number[]][] = [[2, 2, 1, [2, 0, 0, 0]], [3, 2, 1, [1, 0, 0, 0, 0, 0]]];
      // The random products are redrawn until σ_r ≥ 0.01 (10× atol): one with σ_r < 1e-3 (odds 5e-5 for 4×3·3×4, 8e-6
      // for 4×2·2×3, 7e-6 for 2×1·1×2; numpy, 10⁶ draws each) lost σ_r to atol 1e-3 in the differences but not in the
      // default tolerance's gradient, and one just above 1e-3 had a difference error of 1e-6·scale (h²/σ_r²).
      const product = (m: number, n: number, r: number): Mat => {
        for (;;) {
          const a = mm(randMat(m, r), randMat(r, n));
          if (svdvalsRef(a)[r - 1] >= 0.01) return a;
        }
      };
      const random = ([[4, 3, 2], [3, 5, 1], [4, 4, 3], [2, 2, 1]] as const).map(([m, n, r]) => [m, n, r, product(m, n, r).flat()] as [number, number, number, number[]]);
      for (const [m, n, r, a] of [...exact, ...random]) {
        const w = tensor(randomArray(rng, m * n), [n, m], F64);
        const loss = (x: Tensor, atol?: number) => antler.sum(antler.mul(L.pinv(x, atol === undefined ? undefined : { atol }), w));
        const h = 1e-6;
        const fd = a.map((_, i) => {
          const p = a.slice(), q = a.slice();
          p[i] += h;
          q[i] -= h;
          return (read(loss(tensor(p, [m, n], F64), 1e-3))[0] - read(loss(tensor(q, [m, n], F64), 1e-3))[0]) / (2 * h);
        });
        const scale = Math.max(...fd.map(Math.abs));
        for (const atol of [1e-3, undefined]) {
          const x = tensor(a, [m, n], F64).requiresGrad_(true);
          loss(x, atol).backward();
          expectClose(read(x.grad!), fd, 0, 1e-6 * scale, `pinv gradient, rank ${r} of ${m}×${n}, atol ${atol}`);
        }
      }
      // hermitian: torch differentiates A⁺ on the whole of A (not through eigh), so a symmetric A gets pinv's gradient.
      const s = symmetrize(randMat(4, 4)).map((r, i) => r.map((x, j) => (i === j ? x + 4 : x)));
      const w = tensor(randomArray(rng, 16), [4, 4], F64);
      const grads = [false, true].map((hermitian) => {
        const x = tensor(s.flat(), [4, 4], F64).requiresGrad_(true);
        antler.sum(antler.mul(L.pinv(x, { hermitian }), w)).backward();
        return read(x.grad!);
      });
      expectClose(grads[1], grads[0], 1e-10, 1e-12, 'pinv(hermitian) gradient = pinv gradient');
    }));

  test('eigh: graded positive definite D·M·D keeps its tiny eigenvalues relatively accurate (Demmel–Veselić)', () =>
    tidy(() => {
      // The reference: bisection on a log scale with the Sturm count of elimination without pivoting, which is
      // relatively accurate on graded matrices (every entry's rounding is relative to its own d_i·d_j).
      const eigRel = (a: Mat): number[] =>
        Array.from({ length: a.length }, (_, k) => {
          let lo = -1100, hi = Math.log2(a.reduce((x, r) => x + r.reduce((y, v) => y + Math.abs(v), 0), 0)) + 1;
          for (let it = 0; it < 80; it++) {
            const mid = (lo + hi) / 2;
            if (countBelow(a, 2 ** mid) > k) hi = mid;
            else lo = mid;
          }
          return 2 ** ((lo + hi) / 2);
        });
      for (const [n, g] of [[6, 3], [8, 2], [8, -2]]) {
        const b = randMat(n, n);
        const d = Array.from({ length: n }, (_, i) => 10 ** (-g * i));
        const h = mm(b, mT(b)).map((r, i) => r.map((x, j) => (x + (i === j ? 1 : 0)) * d[i] * d[j]));
        const ref = eigRel(h);
        const w = read(L.eigvalsh(tensor(h.flat(), [n, n], F64)));
        expectClose(w, ref, 1e-11, 0, `graded n ${n}, grading 10^${-g}·i (eigenvalues ${ref[0].toExponential(1)} … ${ref[n - 1].toExponential(1)})`);
      }
    }));

  test("cond with p 'fro', 'nuc', ±1, ±Infinity: ‖A‖·‖A⁻¹‖ against a Gauss–Jordan inverse in float64; Infinity when singular; square only", () =>
    tidy(() => {
      // A float64 reference inverse by Gauss–Jordan with partial pivoting.
      const inverse = (a: Mat): Mat => {
        const n = a.length, w = a.map((r, i) => [...r, ...eyeMat(n)[i]]);
        for (let c = 0; c < n; c++) {
          let p = c;
          for (let r = c + 1; r < n; r++) if (Math.abs(w[r][c]) > Math.abs(w[p][c])) p = r;
          [w[c], w[p]] = [w[p], w[c]];
          const d = w[c][c];
          w[c] = w[c].map((x) => x / d);
          for (let r = 0; r < n; r++) if (r !== c) { const f = w[r][c]; w[r] = w[r].map((x, j) => x - f * w[c][j]); }
        }
        return w.map((r) => r.slice(n));
      };
      const sv = (a: Mat): number[] => read(L.svdvals(tensor(a.flat(), [a.length, a.length], F64)));
      const norms: Record<string, (a: Mat) => number> = {
        fro: frob,
        nuc: (a) => sv(a).reduce((x, y) => x + y, 0),
        '1': (a) => Math.max(...mT(a).map((c) => c.reduce((x, y) => x + Math.abs(y), 0))),
        '-1': (a) => Math.min(...mT(a).map((c) => c.reduce((x, y) => x + Math.abs(y), 0))),
        Infinity: (a) => Math.max(...a.map((r) => r.reduce((x, y) => x + Math.abs(y), 0))),
        '-Infinity': (a) => Math.min(...a.map((r) => r.reduce((x, y) => x + Math.abs(y), 0))),
      };
      for (const n of [1, 2, 3, 5]) {
        const as = [randMat(n, n), randMat(n, n)];
        const x = tensor(as.flat(2), [2, n, n], F64);
        // ‖A⁻¹‖ is computed to about eps · κ relative, so each matrix within 1e-10 or 64 eps · κ₁ where larger
        // (κ₁ = ‖A‖₁‖A⁻¹‖₁ of the reference). Measured over 1.2 million random matrices (n = 2, 3, 5, every p; run
        // where κ₁ > 1000): at most 0.34 eps · κ₁ (2.4 in a uniform sample of 20 000, all inside 1e-10); the fixed
        // 1e-10 alone reached 0.33 of itself, a 1/x tail in κ: about 1 run in 300 000 for these 6. A wrong norm or
        // inverse (off by O(1) relative) still fails unless κ₁ > 1e13.
        const kappa1 = as.map((a) => norms['1'](a) * norms['1'](inverse(a)));
        for (const p of ['fro', 'nuc', 1, -1, Infinity, -Infinity] as const) {
          const f = norms[String(p)];
          const got = read(L.cond(x, p));
          as.forEach((a, b) => expectClose([got[b]], [f(a) * f(inverse(a))], Math.max(1e-10, 64 * 2 ** -52 * kappa1[b]), 0, `seed ${SEED}: cond p ${p} n ${n}, matrix ${b} (κ₁ ${kappa1[b].toExponential(2)})`));
        }
      }
      // torch 1.13: [[1, 2], [3, 4]] gives 15 (fro), 17 (nuc), 21 (±1/∞ max), 6 (min); singular → inf.
      const a = tensor([1, 2, 3, 4], [2, 2], F64);
      expectClose([...['fro', 'nuc', 1, Infinity, -1, -Infinity].map((p) => read(L.cond(a, p))[0])], [15, 17, 21, 21, 6, 6], 1e-13, 0, 'torch values');
      expect(read(L.cond(tensor([1, 2, 2, 4], [2, 2], F64), 'fro'))).toEqual([Infinity]);
      // Singular matrices for every order (torch 1.13: a batch of [[1, 0], [0, 0]] and [[2, 1], [1, 2]] gives inf and
      // 16/3 (nuc), 10/3 (fro), 3 (±1, ±inf); the zero matrix inf, but NaN for nuc, whose Σσ·Σ1/σ is 0·inf).
      const sing = tensor([1, 0, 0, 0, 2, 1, 1, 2], [2, 2, 2], F64);
      const zero2 = antler.zeros([2, 2], F64);
      for (const [p, v] of [['nuc', 16 / 3], ['fro', 10 / 3], [1, 3], [-1, 3], [Infinity, 3], [-Infinity, 3]] as const) {
        const c = read(L.cond(sing, p));
        expect(c[0]).toBe(Infinity);
        expectClose([c[1]], [v], 1e-13, 0, `cond p ${p} of a batch with a singular matrix`);
        expect(read(L.cond(zero2, p))).toEqual([p === 'nuc' ? NaN : Infinity]);
        // torch 1.13's nan_to_num: NaN or ±inf in A gives inf for these orders ('nuc' throws, as torch's svdvals).
        if (p !== 'nuc') expect(read(L.cond(tensor([1, 2, 3, NaN, 1, 2, 3, -Infinity], [2, 2, 2], F64), p))).toEqual([Infinity, Infinity]);
      }
      expectAntlerError(() => L.cond(tensor([1, 2, 3, NaN], [2, 2], F64), 'nuc'), 'LINALG_ERROR');
      const z = (shape: number[]) => antler.zeros(shape, F64);
      expect(L.cond(z([3, 0, 0]), 'fro').shape).toEqual([3]);
      expectAntlerError(() => L.cond(z([2, 3]), 'fro'), 'SHAPE_MISMATCH', /square/);
      expectAntlerError(() => L.cond(z([2, 2]), 3), 'INVALID_ARGUMENT', /p must be/);
    }));

  test('matrixRank: default rtol, atol and rtol, hermitian, int32 batches, empty; not an op of the registry', () =>
    tidy(() => {
      const mk = (r: number) => mm(mm(randMat(4, r), eyeMat(r)), randMat(r, 4));
      const x = tensor([mk(1), mk(2), mk(3), mk(4)].flat(2), [2, 2, 4, 4], F64);
      const r = L.matrixRank(x);
      expect(r.dtype).toBe('int32');
      expect(r.shape).toEqual([2, 2]);
      expect(read(r)).toEqual([1, 2, 3, 4]);
      const d = tensor([[1, 0, 0], [0, 1e-3, 0], [0, 0, 1e-9]].flat(), [3, 3], F64);
      expect(read(L.matrixRank(d))).toEqual([3]);
      expect(read(L.matrixRank(d, { atol: 1e-6 }))).toEqual([2]);
      expect(read(L.matrixRank(d, { rtol: 1e-2 }))).toEqual([1]);
      expect(read(L.matrixRank(d, { atol: 1e-12, rtol: 1e-2 }))).toEqual([1]);
      expect(read(L.matrixRank(tensor([[2, 0], [0, -1e-20]].flat(), [2, 2], F64), { hermitian: true }))).toEqual([1]);
      expect(read(L.matrixRank(tensor([[2, 0], [0, -1]].flat(), [2, 2], F64), { hermitian: true }))).toEqual([2]);
      expect(read(L.matrixRank(antler.zeros([2, 0, 3], F64)))).toEqual([0, 0]);
      expectAntlerError(() => L.matrixRank(antler.zeros([2, 3], F64), { hermitian: true }), 'SHAPE_MISMATCH');
      expectAntlerError(() => L.matrixRank(antler.zeros([2, 3], F64), { atol: 'x' } as never), 'INVALID_ARGUMENT');
    }));

  test('spectralMatrixNorm (matrixNorm ord 2, −2, nuc): axes, keepDims, against the reference singular values', () =>
    tidy(() => {
      const a = [randMat(3, 4), randMat(3, 4)];
      // x [3, 2, 4] with the matrices along axes (0, 2).
      const vals: number[] = [];
      for (let i = 0; i < 3; i++) for (let b = 0; b < 2; b++) for (let j = 0; j < 4; j++) vals.push(a[b][i][j]);
      const x = tensor(vals, [3, 2, 4], F64);
      const s = a.map((m) => svdvalsRef(m, 3, 4));
      expectClose(read(spectralMatrixNorm(x, 2, [0, 2], false)), s.map((v) => v[0]), 1e-12, 0, 'ord 2');
      expectClose(read(spectralMatrixNorm(x, -2, [0, -1], false)), s.map((v) => v[2]), 1e-12, 0, 'ord −2');
      expectClose(read(spectralMatrixNorm(x, 'nuc', [2, 0], false)), s.map((v) => v[0] + v[1] + v[2]), 1e-12, 0, 'nuc');
      expect(spectralMatrixNorm(x, 2, [0, 2], true).shape).toEqual([1, 2, 1]);
      expect(read(spectralMatrixNorm(antler.zeros([0, 3], F64), 'nuc', [0, 1], false))).toEqual([0]);
      expectAntlerError(() => spectralMatrixNorm(antler.zeros([0, 3], F64), 2, [0, 1], false), 'INVALID_ARGUMENT');
      expectAntlerError(() => spectralMatrixNorm(x, 2, [1, 1], false), 'INVALID_ARGUMENT');
    }));

  test("gradients at repeated eigenvalues follow PyTorch: eigenvalues finite, eigenvectors ±inf/NaN; svdvals of a rank-deficient matrix finite", () =>
    tidy(() => {
      const eye3 = antler.eye(3, undefined, F64);
      const x = eye3.clone().requiresGrad_(true);
      antler.sum(L.eigvalsh(x)).backward();
      expectClose(read(x.grad!), read(eye3), 0, 1e-15, 'd Σλ / dA = I');
      const y = eye3.clone().requiresGrad_(true);
      const V = L.eigh(y).eigenvectors;
      antler.sum(antler.mul(V, tensor(randomArray(rng, 9), [3, 3], F64))).backward();
      expect(read(y.grad!).some((v) => !Number.isFinite(v))).toBe(true);
      const r = tensor(mm(randMat(3, 1), randMat(1, 3)).flat(), [3, 3], F64).requiresGrad_(true);
      antler.sum(L.svdvals(r)).backward();
      expect(read(r.grad!).every((v) => Number.isFinite(v))).toBe(true);
    }));
});
