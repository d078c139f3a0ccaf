/**
 * ctcLoss against an independent reference: the probability of a target as
 * the sum over every frame-by-frame path (Cᵀ of them, enumerated) whose
 * collapse (repeats merged, then blanks dropped) is the target, in float64;
 * its gradient against central differences; PyTorch's reductions,
 * zero_infinity, target layouts and unbatched input; float32 against
 * float64 on long sequences; bad inputs. The op registry (test/opinfo.ts)
 * also runs CUDA against the CPU.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());

/** log-probabilities [T, N, C]: each frame a random distribution (logSoftmax in float64, here). */
function randomLogProbs(T: number, N: number, C: number, spread = 2): number[] {
  const out: number[] = [];
  for (let i = 0; i < T * N; i++) {
    const z = randomArray(rng, C, -spread, spread);
    const m = Math.max(...z), lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
    out.push(...z.map((v) => v - lse));
  }
  return out;
}

/** −log Σ over paths π ∈ C^Tn with collapse(π) = target of Π exp(lp[t, π_t]): every path enumerated. */
function bruteForceNll(lp: number[], N: number, C: number, n: number, Tn: number, target: number[], blank: number): number {
  let total = 0;
  const path = new Array<number>(Tn).fill(0);
  for (let k = 0; k < C ** Tn; k++) {
    for (let t = 0, r = k; t < Tn; t++, r = Math.floor(r / C)) path[t] = r % C;
    const collapsed: number[] = [];
    path.forEach((c, t) => {
      if (c !== blank && (t === 0 || path[t - 1] !== c)) collapsed.push(c);
    });
    if (collapsed.length !== target.length || collapsed.some((c, i) => c !== target[i])) continue;
    total += Math.exp(path.reduce((a, c, t) => a + lp[(t * N + n) * C + c], 0));
  }
  return -Math.log(total);
}

/** Random targets (never blank, with repeats sometimes) and lengths for N samples. */
function randomProblem(T: number, N: number, C: number, S: number, blank: number) {
  const labels = Array.from({ length: C }, (_, c) => c).filter((c) => c !== blank);
  const rows = Array.from({ length: N }, () => {
    const r = Array.from({ length: S }, () => rng.pick(labels));
    if (S > 1 && rng.next() < 0.4) r[1] = r[0];
    return r;
  });
  // Sometimes 0: no frames (PyTorch gives −log 1 for an empty target, ∞ for any other).
  const inputLengths = Array.from({ length: N }, () => (rng.next() < 0.15 ? 0 : rng.int(1, T)));
  const targetLengths = Array.from({ length: N }, () => rng.int(0, S));
  return { rows, inputLengths, targetLengths };
}

describe(`ctcLoss (seed ${SEED})`, () => {
  test('equals −log of the summed probability of every path that collapses to the target (paths enumerated), repeats and infeasible targets included', () =>
    tidy(() => {
      for (let trial = 0; trial < 14; trial++) {
        const T = rng.int(1, 5), N = rng.int(1, 3), C = rng.int(2, 4), S = rng.int(0, 4), blank = rng.int(0, C - 1);
        const lp = randomLogProbs(T, N, C);
        const { rows, inputLengths, targetLengths } = randomProblem(T, N, C, S, blank);
        const got = read(antler.ctcLoss(tensor(lp, [T, N, C], F64), tensor(rows.flat(), [N, S], { dtype: 'int32' }), inputLengths, targetLengths, { blank, reduction: 'none' }));
        const want = rows.map((r, n) => bruteForceNll(lp, N, C, n, inputLengths[n], r.slice(0, targetLengths[n]), blank));
        expectClose(got, want, 1e-12, 1e-12, `T ${T} C ${C} blank ${blank} targets ${JSON.stringify(rows)} lengths ${inputLengths} / ${targetLengths}`);
      }
      // A short input with a long target has no alignment: the loss is ∞ (PyTorch's too).
      const lp = randomLogProbs(2, 1, 3);
      expect(read(antler.ctcLoss(tensor(lp, [2, 1, 3], F64), [[1, 2, 1]], [2], [3], { reduction: 'none' }))).toEqual([Infinity]);
    }));

  test('the gradient with respect to logProbs is the derivative (central differences, float64), and through logSoftmax the logits get softmax − posterior', () => {
    for (let trial = 0; trial < 4; trial++) {
      const T = rng.int(3, 7), N = 2, C = rng.int(3, 5), S = rng.int(1, 3), blank = rng.int(0, C - 1);
      const lp = randomLogProbs(T, N, C);
      const p = randomProblem(T, N, C, S, blank);
      p.inputLengths = p.inputLengths.map(() => T); // every frame; a target that still does not fit is skipped below
      const targets = tensor(p.rows.flat(), [N, S], { dtype: 'int32' });
      const loss = (v: number[]) => tidy(() => antler.ctcLoss(tensor(v, [T, N, C], F64), targets, p.inputLengths, p.targetLengths, { blank, reduction: 'sum' }).item());
      if (!Number.isFinite(loss(lp))) {
        targets.dispose();
        continue;
      }
      const x = tensor(lp, [T, N, C], { dtype: 'float64', requiresGrad: true });
      tidy(() => antler.ctcLoss(x, targets, p.inputLengths, p.targetLengths, { blank, reduction: 'sum' }).backward());
      const g = read(x.grad!);
      for (let i = 0; i < lp.length; i++) {
        const up = lp.slice(), down = lp.slice();
        up[i] += 1e-6;
        down[i] -= 1e-6;
        const fd = (loss(up) - loss(down)) / 2e-6;
        expect(Math.abs(g[i] - fd)).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
      }
      // Through logSoftmax: each frame's logits get softmax − γ (γ the posterior of the channel), rows summing to 0.
      const logits = tensor(randomArray(rng, T * N * C, -2, 2), [T, N, C], { dtype: 'float64', requiresGrad: true });
      tidy(() => antler.ctcLoss(antler.logSoftmax(logits, 2), targets, p.inputLengths, p.targetLengths, { blank, reduction: 'sum' }).backward());
      const gl = read(logits.grad!);
      for (let r = 0; r < T * N; r++) expect(Math.abs(gl.slice(r * C, r * C + C).reduce((a, b) => a + b, 0))).toBeLessThan(1e-12);
      antler.dispose([x, logits, targets]);
    }
  });

  test("the gradient of a per-sample weighted sum and of 'mean', with input lengths below T and a repeated label (a a), against central differences of the enumerated paths", () =>
    tidy(() => {
      // Per-sample upstream gradients (weights, or 'mean''s 1 / (N·max(1, S_n))), samples shorter than T (β must
      // start at the sample's last frame, not at T − 1), and a repeated label (no skip from one a to the next, in β
      // as in α): none of these is in the float64 gradient test above, whose upstream is 1 and lengths are T.
      const T = 5, N = 3, C = 3, blank = rng.int(0, C - 1);
      const labels = [0, 1, 2].filter((c) => c !== blank);
      const a = rng.pick(labels), b = labels.find((c) => c !== a)!;
      const rows = [[a, a], rng.next() < 0.5 ? [a, b] : [b, a], [rng.pick(labels), rng.pick(labels)]];
      const targetLengths = [2, 2, rng.int(0, 2)];
      const inputLengths = [rng.int(3, 4), rng.int(2, 4), rng.int(3, 5)]; // feasible (a a needs 3 frames); below T but the last, sometimes
      const lp = randomLogProbs(T, N, C);
      const w = randomArray(rng, N, 0.3, 2);
      const targets = tensor(rows.flat(), [N, 2], { dtype: 'int32' });
      const nllOf = (v: number[], n: number) => bruteForceNll(v, N, C, n, inputLengths[n], rows[n].slice(0, targetLengths[n]), blank);
      const h = 1e-6;
      const fdOf = (coef: number[]) =>
        lp.map((_, i) => {
          const n = Math.floor(i / C) % N, up = lp.slice(), down = lp.slice();
          up[i] += h;
          down[i] -= h;
          return (coef[n] * (nllOf(up, n) - nllOf(down, n))) / (2 * h);
        });
      const cases: [string, number[], (x: Tensor) => Tensor][] = [
        ['weighted none', w, (x) => antler.sum(antler.mul(antler.ctcLoss(x, targets, inputLengths, targetLengths, { blank, reduction: 'none' }), tensor(w, [N], F64)))],
        ['mean', targetLengths.map((s) => 1 / (N * Math.max(1, s))), (x) => antler.ctcLoss(x, targets, inputLengths, targetLengths, { blank })],
      ];
      for (const [name, coef, f] of cases) {
        const x = tensor(lp, [T, N, C], { dtype: 'float64', requiresGrad: true });
        f(x).backward();
        const g = read(x.grad!);
        const fd = fdOf(coef);
        const msg = `${name}: blank ${blank}, targets ${JSON.stringify(rows)}, lengths ${inputLengths} / ${targetLengths}`;
        expectClose(g, fd, 1e-6, 1e-7, msg);
        // Frames past a sample's length get exactly 0.
        for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) if (t >= inputLengths[n]) expectExact(g.slice((t * N + n) * C, (t * N + n + 1) * C), [0, 0, 0], msg);
      }
    }));

  test("reductions, zeroInfinity, and PyTorch's gradient on an infinite loss (NaN on that sample's frames)", () =>
    tidy(() => {
      const T = 4, N = 3, C = 4;
      const lp = randomLogProbs(T, N, C);
      const rows = [[1, 2, 3], [1, 1, 0], [2, 0, 0]];
      const inputLengths = [2, 4, 3], targetLengths = [3, 2, 1]; // sample 0: 3 labels in 2 frames, infeasible
      const targets = tensor(rows.flat(), [N, 3], { dtype: 'int32' });
      const none = read(antler.ctcLoss(tensor(lp, [T, N, C], F64), targets, inputLengths, targetLengths, { reduction: 'none' }));
      expect(none[0]).toBe(Infinity);
      const want = [1, 2].map((n) => bruteForceNll(lp, N, C, n, inputLengths[n], rows[n].slice(0, targetLengths[n]), 0));
      expectClose(none.slice(1), want, 1e-12, 1e-12, 'per sample');
      // PyTorch's 'mean': each loss over its target length, then the batch mean; zeroInfinity drops the ∞ to 0.
      const z = { zeroInfinity: true };
      expectClose([antler.ctcLoss(tensor(lp, [T, N, C], F64), targets, inputLengths, targetLengths, z).item()], [(0 + want[0] / 2 + want[1] / 1) / 3], 1e-12, 1e-12, 'mean');
      expectClose([antler.ctcLoss(tensor(lp, [T, N, C], F64), targets, inputLengths, targetLengths, { ...z, reduction: 'sum' }).item()], [want[0] + want[1]], 1e-12, 1e-12, 'sum');
      expect(antler.ctcLoss(tensor(lp, [T, N, C], F64), targets, inputLengths, targetLengths).item()).toBe(Infinity);
      for (const zeroInfinity of [false, true]) {
        const x = tensor(lp, [T, N, C], { dtype: 'float64', requiresGrad: true });
        antler.ctcLoss(x, targets, inputLengths, targetLengths, { zeroInfinity, reduction: 'none' }).sum().backward();
        const g = read(x.grad!);
        for (let t = 0; t < T; t++)
          for (let n = 0; n < N; n++) {
            const row = g.slice((t * N + n) * C, (t * N + n + 1) * C);
            if (t >= inputLengths[n]) expect(row).toEqual([0, 0, 0, 0]); // past the sample's frames
            else if (n === 0) expect(row.every((v) => (zeroInfinity ? v === 0 : Number.isNaN(v)))).toBe(true);
            else expect(row.every(Number.isFinite)).toBe(true);
          }
      }
    }));

  test('an input length of 0 (no frames, as PyTorch): −0 for an empty target, ∞ (0 with zeroInfinity) for any other; no gradient on that sample, the others unchanged', () =>
    tidy(() => {
      const T = 4, N = 3, C = 4;
      const lp = randomLogProbs(T, N, C);
      const targets = tensor([1, 2, 3, 0, 1, 2], [N, 2], { dtype: 'int32' });
      const inputLengths = [0, 0, T], targetLengths = [0, 1, 2];
      for (const zeroInfinity of [false, true]) {
        const x = tensor(lp, [T, N, C], { ...F64, requiresGrad: true });
        const nll = antler.ctcLoss(x, targets, inputLengths, targetLengths, { reduction: 'none', zeroInfinity });
        const got = read(nll);
        expect(Object.is(got[0], -0)).toBe(true);
        expect(got[1]).toBe(zeroInfinity ? 0 : Infinity);
        expectClose([got[2]], [bruteForceNll(lp, N, C, 2, T, [1, 2], 0)], 1e-12, 0, 'sample 2');
        antler.sum(antler.mul(nll, tensor([1, zeroInfinity ? 1 : 0, 1], [N], F64))).backward();
        const g = read(x.grad!);
        for (let t = 0; t < T; t++)
          for (let n = 0; n < 2; n++) expectExact(Array.from(g.slice((t * N + n) * C, (t * N + n + 1) * C)), [0, 0, 0, 0]);
        expect(Array.from(g).every(Number.isFinite)).toBe(true);
      }
    }));

  test('target layouts: padded [N, S], concatenated 1-D, rows of numbers; unbatched [T, C]; float32 agrees with float64 on long sequences', () =>
    tidy(() => {
      const T = 30, N = 3, C = 6, S = 8;
      const lp = randomLogProbs(T, N, C);
      const { rows, targetLengths } = randomProblem(T, N, C, S, 0);
      const inputLengths = [30, 25, 30];
      const padded = read(antler.ctcLoss(tensor(lp, [T, N, C], F64), tensor(rows.flat(), [N, S], { dtype: 'int32' }), inputLengths, targetLengths, { reduction: 'none' }));
      const concat = rows.flatMap((r, n) => r.slice(0, targetLengths[n]));
      expect(read(antler.ctcLoss(tensor(lp, [T, N, C], F64), tensor(concat, [concat.length], { dtype: 'int32' }), tensor(inputLengths, [N], { dtype: 'int32' }), tensor(targetLengths, [N], { dtype: 'int32' }), { reduction: 'none' }))).toEqual(padded);
      expect(read(antler.ctcLoss(tensor(lp, [T, N, C], F64), concat, inputLengths, targetLengths, { reduction: 'none' }))).toEqual(padded);
      expect(read(antler.ctcLoss(tensor(lp, [T, N, C], F64), rows.map((r, n) => r.slice(0, targetLengths[n])), inputLengths, targetLengths, { reduction: 'none' }))).toEqual(padded);
      // One number is every sample's length.
      const full = read(antler.ctcLoss(tensor(lp, [T, N, C], F64), tensor(rows.flat(), [N, S], { dtype: 'int32' }), [T, T, T], targetLengths, { reduction: 'none' }));
      expect(read(antler.ctcLoss(tensor(lp, [T, N, C], F64), tensor(rows.flat(), [N, S], { dtype: 'int32' }), T, targetLengths, { reduction: 'none' }))).toEqual(full);
      // Unbatched: sample 1 alone.
      const one = Array.from({ length: T }, (_, t) => lp.slice((t * N + 1) * C, (t * N + 2) * C)).flat();
      const u = antler.ctcLoss(tensor(one, [T, C], F64), rows[1].slice(0, targetLengths[1]), 25, targetLengths[1], { reduction: 'none' });
      expect(u.shape).toEqual([]);
      expectClose([u.item()], [padded[1]], 1e-13, 1e-13, 'unbatched');
      // Long sequences stay finite in log space; float32 agrees with float64.
      const T2 = 400, S2 = 60, N2 = 2, C2 = 20;
      const lp2 = randomLogProbs(T2, N2, C2, 3);
      const p2 = randomProblem(T2, N2, C2, S2, 0);
      const args = [tensor(p2.rows.flat(), [N2, S2], { dtype: 'int32' }), [T2, 350], [S2, 45]] as const;
      const x64 = tensor(lp2, [T2, N2, C2], { dtype: 'float64', requiresGrad: true }), x32 = tensor(lp2, [T2, N2, C2], { requiresGrad: true });
      const l64 = antler.ctcLoss(x64, ...args, { reduction: 'none' }), l32 = antler.ctcLoss(x32, ...args, { reduction: 'none' });
      expect(read(l64).every(Number.isFinite)).toBe(true);
      expectClose(read(l32), read(l64), 1e-5, 1e-4, 'float32 loss');
      l64.sum().backward();
      l32.sum().backward();
      // γ = exp(α + β − lp + nll) with α, β, nll of a few hundred: float32's rounding of them (about 3e-5 at 500,
      // over 400 steps) shows in γ at about 1e-3.
      expectClose(read(x32.grad!), read(x64.grad!), 4e-3, 4e-3, 'float32 gradient');
      antler.dispose([x64, x32]);
    }));

  test('bad inputs raise AntlerError saying what was passed', () =>
    tidy(() => {
      const lp = tensor(randomLogProbs(5, 2, 4), [5, 2, 4], F64);
      const tg = tensor([1, 2, 3, 1], [2, 2], { dtype: 'int32' });
      const cases: [() => unknown, string, RegExp][] = [
        [() => antler.ctcLoss(lp, tg, [5, 5], [2, 2], { blank: 4 }), 'INVALID_ARGUMENT', /^ctcLoss: blank must be a class index in \[0, 4\); got 4$/],
        [() => antler.ctcLoss(lp, tensor([1, 0, 3, 1], [2, 2], { dtype: 'int32' }), [5, 5], [2, 2]), 'INVALID_ARGUMENT', /^ctcLoss: target 1 of sample 0 is 0; expected a class index in \[0, 4\) other than blank \(0\)$/],
        [() => antler.ctcLoss(lp, tensor([1, 2, 3, 7], [2, 2], { dtype: 'int32' }), [5, 5], [2, 2]), 'INVALID_ARGUMENT', /target 1 of sample 1 is 7/],
        [() => antler.ctcLoss(lp, tg, [-1, 5], [2, 2]), 'INVALID_ARGUMENT', /^ctcLoss: inputLengths\[0\] is -1; expected an integer in \[0, 5\]/],
        [() => antler.ctcLoss(lp, tg, [5, 6], [2, 2]), 'INVALID_ARGUMENT', /inputLengths\[1\] is 6/],
        [() => antler.ctcLoss(lp, tg, [5, 5], [3, 2]), 'INVALID_ARGUMENT', /^ctcLoss: targetLengths\[0\] is 3; expected an integer ≥ 0, at most 2/],
        [() => antler.ctcLoss(lp, tg, [5], [2, 2]), 'SHAPE_MISMATCH', /^ctcLoss: inputLengths has 1 entries; the batch has 2$/],
        [() => antler.ctcLoss(lp, tg, 6, 2), 'INVALID_ARGUMENT', /^ctcLoss: inputLengths\[0\] is 6; expected an integer in \[0, 5\]/],
        [() => antler.ctcLoss(lp, [1, 2, 3], [5, 5], [2, 2]), 'SHAPE_MISMATCH', /^ctcLoss: targetLengths sum to 4, but the concatenated targets have 3 entries$/],
        [() => antler.ctcLoss(lp, tensor([1, 2, 3], [3, 1], { dtype: 'int32' }), [5, 5], [1, 1]), 'SHAPE_MISMATCH', /targets have shape \[3, 1\]; expected \[2, S\]/],
        [() => antler.ctcLoss(lp, tensor([1, 2, 3, 1], [2, 2]), [5, 5], [2, 2]), 'DTYPE_MISMATCH', /^ctcLoss: targets must be int32; got float32$/],
        [() => antler.ctcLoss(antler.zeros([5, 4], { dtype: 'int32' }), [1], 5, 1), 'DTYPE_MISMATCH', /logProbs is int32/],
        [() => antler.ctcLoss(antler.zeros([5]), [1], 5, 1), 'SHAPE_MISMATCH', /expected \[T, N, C\]/],
        [() => antler.ctcLoss(lp, [[1, 2], [3]], [5, 5], [2, 2]), 'INVALID_ARGUMENT', /^ctcLoss: targetLengths\[1\] is 2, but targets\[1\] has only 1 label$/],
        [() => antler.ctcLoss(lp, tg, tensor([5, 5], [2, 1], { dtype: 'int32' }), [2, 2]), 'SHAPE_MISMATCH', /^ctcLoss: inputLengths has shape \[2, 1\]; expected one length per sample, \[2\]$/],
        [() => antler.ctcLoss(lp, tg, [5, 5], [2, 2], { zero_infinity: true } as never), 'INVALID_ARGUMENT', /unknown option 'zero_infinity'/],
        [() => antler.ctcLoss(lp, tg, [5, 5], [2, 2], { reduction: 'avg' as never }), 'INVALID_ARGUMENT', /reduction/],
      ];
      for (const [call, code, message] of cases) expectAntlerError(call, code as never, message);
    }));

  test('log-probabilities of −∞ (logits masked with −∞): the graph-building backward equals the native one (not NaN), and the exact H·v is finite', () =>
    tidy(() => {
      const T = 5, C = 4;
      const v = randomArray(rng, T * C);
      // A label of the path at −∞ in one frame, a non-label at −∞ in another.
      v[1 * C + 1] = -Infinity;
      v[3 * C + 3] = -Infinity;
      const x = tensor(Float64Array.from(v), [T, 1, C], { dtype: 'float64', requiresGrad: true });
      const f = (z: Tensor) => antler.ctcLoss(antler.logSoftmax(z, -1), [[1, 2]], [T], [2], { reduction: 'sum' });
      const plain = antler.autograd.grad(f(x), [x])[0]!;
      const recorded = antler.autograd.grad(f(x), [x], { createGraph: true })[0]!;
      expect(Array.from(plain.dataSync()).every(Number.isFinite)).toBe(true);
      expectClose(recorded.dataSync(), plain.dataSync(), 1e-12, 1e-12, 'recorded ops = native');
      // H·v against central differences of the native gradient, in a direction that leaves the −∞ entries alone.
      const dir = Float64Array.from(randomArray(rng, T * C), (d, i) => (v[i] === -Infinity ? 0 : d));
      const { hvp } = antler.hvp(f, x, tensor(dir, [T, 1, C], { dtype: 'float64' }));
      const h = 1e-5;
      const gradAt = (sign: number) => {
        const xs = tensor(Float64Array.from(v, (a, i) => a + sign * h * dir[i]), [T, 1, C], { dtype: 'float64', requiresGrad: true });
        return Array.from(antler.autograd.grad(f(xs), [xs])[0]!.dataSync());
      };
      const [gp, gm] = [gradAt(1), gradAt(-1)];
      expectClose(hvp.dataSync(), gp.map((a, i) => (a - gm[i]) / (2 * h)), 1e-6, 1e-6, 'H·v');
    }));
});
