/**
 * The native DEER cell kernels (GRU, LSTM, Elman RNN): cellLinearize's f
 * against a plain float64 JavaScript implementation of PyTorch's equations,
 * its dense and diagonal Jacobians against central finite differences of f,
 * the bOff identity, cellSequential against a JavaScript loop (float64 and
 * float32), cellBackward's walk against finite differences of a linear loss,
 * the adjoint mode against the walk, edge sizes and bad inputs.
 */
import { DType, tensor, tidy } from '../../lib';
import { CellKind, cellNative } from '../../lib/deer/native-cells';
import { NativeHandle } from '../../lib/native';
import { wrap } from '../../lib/ops/core';
import { cellStepRef, expectAntlerErrorInTidy as expectAntlerError, expectClose, expectNoTensorLeaks, makeRng, randomArray, Rng } from '../helpers';

const rng = makeRng();
expectNoTensorLeaks();
const SEED = rng.seed;
const KINDS: CellKind[] = ['gru', 'lstm', 'rnn_tanh', 'rnn_relu'];

const gatesOf = (kind: CellKind, H: number): number => (kind === 'gru' ? 3 * H : kind === 'lstm' ? 4 * H : H);
const stateOf = (kind: CellKind, H: number): number => (kind === 'lstm' ? 2 * H : H);

interface Case { kind: CellKind; T: number; B: number; H: number; bias: boolean }
interface Operands { xp: number[]; Whh: number[]; bhh: number[] | null; y0: number[] }

function dims(c: Case) {
  return { G: gatesOf(c.kind, c.H), n: stateOf(c.kind, c.H) };
}

// Whh entries of size 1/√H keep long walks bounded.
function operands(r: Rng, c: Case): Operands {
  const { G, n } = dims(c);
  const s = 1 / Math.sqrt(c.H);
  return {
    xp: randomArray(r, c.T * c.B * G),
    Whh: randomArray(r, G * c.H, -s, s),
    bhh: c.bias ? randomArray(r, G, -0.5, 0.5) : null,
    y0: randomArray(r, c.B * n),
  };
}

// ---------------------------------------------------------------- float64 references

const cellRef = cellStepRef;

/** The previous state of every step, [T, B, n]: y0, then y shifted by one step. */
function prevStates(c: Case, y0: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  const { n } = dims(c);
  const out = new Float64Array(c.T * c.B * n);
  for (let i = 0; i < c.B * n; i++) out[i] = y0[i];
  for (let i = c.B * n; i < out.length; i++) out[i] = y[i - c.B * n];
  return out;
}

/** f_t = cell(prev_t, xp_t) for every (t, b). */
function stepsRef(c: Case, op: Operands, y: ArrayLike<number>): Float64Array {
  const { G, n } = dims(c);
  const prev = prevStates(c, op.y0, y);
  const f = new Float64Array(c.T * c.B * n);
  for (let s = 0; s < c.T * c.B; s++)
    f.set(cellRef(c.kind, c.H, op.xp.slice(s * G, (s + 1) * G), op.Whh, op.bhh, prev.subarray(s * n, (s + 1) * n)), s * n);
  return f;
}

/** The sequential walk y_t = cell(y_{t−1}, xp_t). */
function sequentialRef(c: Case, op: Operands): Float64Array {
  const { G, n } = dims(c);
  const y = new Float64Array(c.T * c.B * n);
  for (let b = 0; b < c.B; b++) {
    let prev: ArrayLike<number> = op.y0.slice(b * n, (b + 1) * n);
    for (let t = 0; t < c.T; t++) {
      const s = t * c.B + b;
      const next = cellRef(c.kind, c.H, op.xp.slice(s * G, (s + 1) * G), op.Whh, op.bhh, prev);
      y.set(next, s * n);
      prev = next;
    }
  }
  return y;
}

// ---------------------------------------------------------------- native calls

const nat = cellNative();
const read = (h: NativeHandle | null): Float64Array | null => (h ? Float64Array.from(wrap(h).dataSync()) : null);

function inputs(c: Case, op: Operands, dtype: DType) {
  const { G, n } = dims(c);
  return {
    xp: tensor(op.xp, [c.T, c.B, G], { dtype }),
    Whh: tensor(op.Whh, [G, c.H], { dtype }),
    bhh: op.bhh ? tensor(op.bhh, [G], { dtype }) : null,
    y0: tensor(op.y0, [c.B, n], { dtype }),
  };
}

function linearize(c: Case, op: Operands, y: ArrayLike<number>, jacobian: 'none' | 'diagonal' | 'dense', dtype: DType = 'float64') {
  return tidy(() => {
    const t = inputs(c, op, dtype);
    const yt = tensor(Array.from(y), [c.T, c.B, dims(c).n], { dtype });
    const [f, J, bOff] = nat.cellLinearize(c.kind, t.xp.handle, t.Whh.handle, t.bhh?.handle ?? null, t.y0.handle, yt.handle, jacobian);
    return { f: read(f)!, J: read(J), bOff: read(bOff) };
  });
}

function sequential(c: Case, op: Operands, dtype: DType = 'float64'): Float64Array {
  return tidy(() => {
    const t = inputs(c, op, dtype);
    const y = wrap(nat.cellSequential(c.kind, t.xp.handle, t.Whh.handle, t.bhh?.handle ?? null, t.y0.handle));
    expect(y.shape).toEqual([c.T, c.B, dims(c).n]);
    expect(y.dtype).toBe(dtype);
    return Float64Array.from(y.dataSync());
  });
}

function backward(c: Case, op: Operands, y: ArrayLike<number>, g: ArrayLike<number>, adjoint: boolean) {
  return tidy(() => {
    const t = inputs(c, op, 'float64');
    const seq = [c.T, c.B, dims(c).n];
    const [gxp, ghh, gy0] = nat.cellBackward(c.kind, t.xp.handle, t.Whh.handle, t.bhh?.handle ?? null, t.y0.handle,
      tensor(Array.from(y), seq, { dtype: 'float64' }).handle, tensor(Array.from(g), seq, { dtype: 'float64' }).handle, adjoint);
    return { gxp: read(gxp)!, ghh: read(ghh)!, gy0: read(gy0)! };
  });
}

const name = (c: Case): string => `${c.kind} T=${c.T} B=${c.B} H=${c.H}${c.bias ? '' : ' no bhh'}`;

const CASES: Case[] = [];
for (const kind of KINDS) for (const H of [1, 4, 5]) CASES.push({ kind, T: 7, B: 3, H, bias: H !== 4 });
// H >= 32: the CPU's all-steps passes compute Whh·h with GEMMs over blocks of steps; the walks, with two threads
// and batch elements, still with small products per batch element (native/cpu/cells.cpp, walkUsesGemm).
for (const kind of KINDS) CASES.push({ kind, T: 3, B: 2, H: 33, bias: kind !== 'rnn_relu' });
// H > 64: the CPU's unit loops run in chunks of 64 units (native/cpu/cells.cpp), here a full one and a partial one.
for (const kind of KINDS) CASES.push({ kind, T: 2, B: 2, H: 70, bias: kind !== 'gru' });
// 32 <= H < 64 with one batch element: the walks take a GEMM per step (with more, small products in parallel).
for (const kind of KINDS) CASES.push({ kind, T: 4, B: 1, H: 40, bias: true });

// Largest |a − b| over largest |b|, or over `floor` when every |b| is below it.
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  let err = 0, scale = floor;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / Math.max(scale, 1e-300);
}

describe(`deer cells: linearization (seed ${SEED})`, () => {
  test.each(CASES.map((c) => [name(c), c] as const))('f matches PyTorch\'s equations: %s', (_n, c) => {
    const op = operands(rng, c);
    const y = randomArray(rng, c.T * c.B * dims(c).n);
    const ref = stepsRef(c, op, y);
    for (const jac of ['none', 'diagonal', 'dense'] as const) {
      const r = linearize(c, op, y, jac);
      expectClose(r.f, ref, 1e-13, 1e-14, `f (${jac})`);
      if (jac === 'none') {
        expect(r.J).toBeNull();
        expect(r.bOff).toBeNull();
      }
    }
  });

  test.each(CASES.map((c) => [name(c), c] as const))('dense and diagonal J match finite differences; bOff = f − J·prev: %s', (_n, c) => {
    const op = operands(rng, c);
    const { n } = dims(c);
    const y = randomArray(rng, c.T * c.B * n);
    const dense = linearize(c, op, y, 'dense');
    const diag = linearize(c, op, y, 'diagonal');
    const steps = c.T * c.B;
    expect(dense.J!.length).toBe(steps * n * n);
    expect(diag.J!.length).toBe(steps * n);
    // Column j of every step's J at once: f_t depends only on its own previous state,
    // so moving entry j of y0 and of every y_t moves column j of every J_t.
    const h = 1e-6;
    const fd = new Float64Array(steps * n * n);
    for (let j = 0; j < n; j++) {
      const shifted = (d: number) => {
        const o = { ...op, y0: op.y0.map((v, i) => (i % n === j ? v + d : v)) };
        return linearize(c, o, y.map((v, i) => (i % n === j ? v + d : v)), 'none').f;
      };
      const plus = shifted(h), minus = shifted(-h);
      // rnn_relu is piecewise linear in the state: where ±h crosses a kink (a pre-activation within
      // h·|W| of 0) the central difference averages the two sides, while a one-sided difference on
      // the side that does not cross is exact. Such an entry is compared with the one-sided
      // difference nearer to J (a wrong J is near neither).
      const here = c.kind === 'rnn_relu' ? shifted(0) : null;
      for (let s = 0; s < steps; s++)
        for (let i = 0; i < n; i++) {
          const e = s * n * n + i * n + j, k = s * n + i;
          fd[e] = (plus[k] - minus[k]) / (2 * h);
          if (here && Math.abs(dense.J![e] - fd[e]) > 1e-8 * (1 + Math.abs(fd[e]))) {
            const up = (plus[k] - here[k]) / h, down = (here[k] - minus[k]) / h;
            fd[e] = Math.abs(dense.J![e] - up) < Math.abs(dense.J![e] - down) ? up : down;
          }
        }
    }
    expectClose(dense.J!, fd, 1e-8, 1e-8, 'dense J vs finite differences');
    const prev = prevStates(c, op.y0, y);
    const bDense = new Float64Array(steps * n), fdDiag = new Float64Array(steps * n), bDiag = new Float64Array(steps * n);
    for (let s = 0; s < steps; s++)
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let j = 0; j < n; j++) acc += dense.J![s * n * n + i * n + j] * prev[s * n + j];
        bDense[s * n + i] = dense.f[s * n + i] - acc;
        fdDiag[s * n + i] = fd[s * n * n + i * n + i];
        bDiag[s * n + i] = diag.f[s * n + i] - diag.J![s * n + i] * prev[s * n + i];
      }
    expectClose(diag.J!, fdDiag, 1e-8, 1e-8, 'diagonal J vs finite differences');
    expectClose(dense.bOff!, bDense, 1e-12, 1e-12, 'dense bOff');
    expectClose(diag.bOff!, bDiag, 1e-12, 1e-12, 'diagonal bOff');
    expectClose(diag.f, dense.f, 0, 0, 'f does not depend on the jacobian option');
  });
});

describe(`deer cells: sequential walk (seed ${SEED})`, () => {
  test.each(CASES.map((c) => [name(c), c] as const))('float64 matches the JavaScript loop: %s', (_n, c) => {
    const op = operands(rng, c);
    expectClose(sequential(c, op), sequentialRef(c, op), 1e-13, 1e-14);
  });

  test.each(CASES.map((c) => [name(c), c] as const))('float32 agrees with float64: %s', (_n, c) => {
    const op = operands(rng, c);
    const r = (xs: number[]) => Array.from(Float32Array.from(xs));
    const op32: Operands = { xp: r(op.xp), Whh: r(op.Whh), bhh: op.bhh && r(op.bhh), y0: r(op.y0) };
    expectClose(sequential(c, op32, 'float32'), sequentialRef(c, op32), 1e-5, 1e-5);
  });

  // Below 32 units the walk and the linearization take Whh·h from the same small products and the
  // step from one formula text (kernels/cells.h), so at the walk's own states f is the walk exactly.
  test.each(KINDS)('below 32 units the linearization at the walk\'s states gives the walk back bit for bit, float32 and float64: %s', (kind) => {
    for (const dtype of ['float32', 'float64'] as const) {
      const c: Case = { kind, T: 9, B: 3, H: 13, bias: kind !== 'lstm' };
      const o = operands(rng, c);
      const r = (xs: number[]) => (dtype === 'float32' ? Array.from(Float32Array.from(xs)) : xs);
      const op: Operands = { xp: r(o.xp), Whh: r(o.Whh), bhh: o.bhh && r(o.bhh), y0: r(o.y0) };
      const y = sequential(c, op, dtype);
      for (const jac of ['none', 'diagonal', 'dense'] as const) expect(Array.from(linearize(c, op, y, jac, dtype).f)).toEqual(Array.from(y));
    }
  });

  // H = 70: the GEMM path and a partial chunk of units (native/cpu/cells.cpp) in float32 too.
  test.each([5, 70])('float32 linearization agrees with float64 (H = %i)', (H) => {
    for (const kind of KINDS) {
      const c: Case = { kind, T: 4, B: 2, H, bias: true };
      const r = (xs: number[]) => Array.from(Float32Array.from(xs));
      const o = operands(rng, c);
      const op: Operands = { xp: r(o.xp), Whh: r(o.Whh), bhh: r(o.bhh!), y0: r(o.y0) };
      const y = r(randomArray(rng, c.T * c.B * dims(c).n));
      for (const jac of ['diagonal', 'dense'] as const) {
        const a = linearize(c, op, y, jac, 'float32'), b = linearize(c, op, y, jac);
        expectClose(a.f, b.f, 1e-5, 1e-5, `${kind} ${jac} f`);
        expectClose(a.J!, b.J!, 1e-5, 1e-5, `${kind} ${jac} J`);
        expectClose(a.bOff!, b.bOff!, 1e-5, 1e-5, `${kind} ${jac} bOff`);
      }
    }
  });

  test.each(KINDS)('a long walk (T = 2000, B = 2, H = 8) matches the JavaScript loop: %s', (kind) => {
    const c: Case = { kind, T: 2000, B: 2, H: 8, bias: true };
    const op = operands(rng, c);
    expectClose(sequential(c, op), sequentialRef(c, op), 1e-12, 1e-12);
  });
});

describe(`deer cells: backward (seed ${SEED})`, () => {
  test.each(CASES.map((c) => [name(c), c] as const))('the walk matches finite differences of Σ w ⊙ y: %s', (_n, c) => {
    const op = operands(rng, c);
    const { G, n } = dims(c);
    const y = sequential(c, op);
    const w = randomArray(rng, y.length);
    const loss = (o: Operands): number => {
      const yy = sequential(c, o);
      let s = 0;
      for (let i = 0; i < yy.length; i++) s += w[i] * yy[i];
      return s;
    };
    const g = backward(c, op, y, w, false);
    expect(g.gxp.length).toBe(c.T * c.B * G);
    expect(g.ghh.length).toBe(c.T * c.B * G);
    expect(g.gy0.length).toBe(c.B * n);
    // gWhh = Σ_{t,b} ghh_{t,b} h_{t−1}ᵀ (h = the first H entries of the state), gbhh = Σ ghh.
    const prev = prevStates(c, op.y0, y);
    const gWhh = new Float64Array(G * c.H), gbhh = new Float64Array(G);
    for (let s = 0; s < c.T * c.B; s++)
      for (let row = 0; row < G; row++) {
        gbhh[row] += g.ghh[s * G + row];
        for (let j = 0; j < c.H; j++) gWhh[row * c.H + j] += g.ghh[s * G + row] * prev[s * n + j];
      }
    const eps = 1e-6;
    // A central difference of the loss carries a rounding error of about
    // 1e-16 · Σ|w ⊙ y| / eps = 1e-10 · Σ|w ⊙ y| in every entry, whatever the
    // gradient's size. With a small Whh the gradient reaching y0 (or Whh) can
    // itself be ~1e-5, so errors are measured against the larger of its own
    // size and 1% of Σ|w ⊙ y|: the allowed 1e-7 of that is still 10× the
    // rounding error, and far below any real mistake in the walk.
    let absLoss = 0;
    for (let i = 0; i < y.length; i++) absLoss += Math.abs(w[i] * y[i]);
    const floor = 1e-2 * absLoss;
    // relu's loss is piecewise smooth: a step that moves some preactivation across 0 crosses a kink, and a
    // difference over it measures neither side's derivative. Crossings are read from the forward itself (a
    // relu output is positive exactly where its preactivation is), not guessed from how far the one-sided
    // differences disagree: in a curved piece they differ by eps·L'' too, and such a false kink compared the
    // walk against a first-order one-sided difference (Whh off by 5e-5: seed 4053992720). A crossing entry
    // is checked by the second-order one-sided difference (3L(0) − 4L(∓eps) + L(∓2eps)) / (±2eps) on the
    // side that stays in the base point's piece, the derivative the walk takes there (rounding: 8 terms
    // over 2eps, 4e-8 of the floor at most). Tried with eps = 3e-3, where most entries cross: 6e-13.
    let skipped = 0, checked = 0;
    const L0 = loss(op);
    // Every entry, or for the larger cases (H = 70: 19,600 weights) 400 drawn at random with the first and last.
    const fdOf = (key: 'xp' | 'Whh' | 'bhh' | 'y0', analytic: ArrayLike<number>): [Float64Array, Float64Array] => {
      const base = op[key]!;
      const picks = base.length <= 1000 ? Array.from(base, (_, i) => i)
        : [0, base.length - 1, ...Array.from({ length: 400 }, () => rng.int(0, base.length - 1))];
      const fd = new Float64Array(picks.length), want = Float64Array.from(picks, (i) => analytic[i]);
      checked += picks.length;
      picks.forEach((i, p) => {
        const at = (d: number) => {
          const v = base.slice();
          v[i] += d;
          const yy = sequential(c, { ...op, [key]: v });
          let s = 0, crosses = false;
          for (let k = 0; k < yy.length; k++) {
            s += w[k] * yy[k];
            if (c.kind === 'rnn_relu' && yy[k] > 0 !== y[k] > 0) crosses = true;
          }
          return { L: s, crosses };
        };
        const plus = at(eps), minus = at(-eps);
        fd[p] = (plus.L - minus.L) / (2 * eps);
        if (plus.crosses || minus.crosses) {
          const side = plus.crosses ? -1 : 1, far = at(2 * side * eps);
          // A second crossing within 2eps (or crossings both ways): no difference measures the derivative; skip it.
          if ((plus.crosses && minus.crosses) || far.crosses) {
            skipped += 1;
            fd[p] = want[p];
          } else fd[p] = (3 * L0 - 4 * (side > 0 ? plus : minus).L + far.L) / (-2 * side * eps);
        }
      });
      return [want, fd];
    };
    expect(relErr(...fdOf('xp', g.gxp), floor)).toBeLessThan(1e-7);
    expect(relErr(...fdOf('y0', g.gy0), floor)).toBeLessThan(1e-7);
    expect(relErr(...fdOf('Whh', gWhh), floor)).toBeLessThan(1e-7);
    if (op.bhh) expect(relErr(...fdOf('bhh', gbhh), floor)).toBeLessThan(1e-7);
    // Entries left unchecked (two kinks within 2eps) are rare draws, not a way around the check.
    expect(skipped).toBeLessThanOrEqual(0.01 * checked);
    // ghh differs from gxp only in the GRU's n gate, where ghh_n = gxp_n ⊙ r.
    if (c.kind !== 'gru') expectClose(g.ghh, g.gxp, 0, 0, 'ghh = gxp');
  });

  test.each(CASES.map((c) => [name(c), c] as const))('adjoint mode, given λ from the dense Jacobians, matches the walk: %s', (_n, c) => {
    const op = operands(rng, c);
    const { n } = dims(c);
    const y = sequential(c, op);
    const gy = randomArray(rng, y.length);
    const J = linearize(c, op, y, 'dense').J!;
    // λ_{T−1} = gy_{T−1}; λ_t = gy_t + J_{t+1}ᵀ λ_{t+1}.
    const lam = new Float64Array(y.length);
    for (let b = 0; b < c.B; b++)
      for (let t = c.T - 1; t >= 0; t--) {
        const v = (t * c.B + b) * n;
        for (let i = 0; i < n; i++) {
          let acc = gy[v + i];
          if (t + 1 < c.T) {
            const a = ((t + 1) * c.B + b) * n * n, nv = ((t + 1) * c.B + b) * n;
            for (let j = 0; j < n; j++) acc += J[a + j * n + i] * lam[nv + j];
          }
          lam[v + i] = acc;
        }
      }
    const walk = backward(c, op, y, gy, false);
    const adj = backward(c, op, y, lam, true);
    expectClose(adj.gxp, walk.gxp, 1e-10, 1e-10, 'gxp');
    expectClose(adj.ghh, walk.ghh, 1e-10, 1e-10, 'ghh');
    expectClose(adj.gy0, walk.gy0, 1e-10, 1e-10, 'gy0');
  });
});

describe('deer cells: edge sizes', () => {
  test.each(KINDS)('T = 0 and B = 0: %s', (kind) => {
    tidy(() => {
      const H = 3, G = gatesOf(kind, H), n = stateOf(kind, H);
      const f64 = (shape: number[]) => tensor(randomArray(rng, shape.reduce((p, q) => p * q, 1)), shape, { dtype: 'float64' });
      const Whh = f64([G, H]), bhh = f64([G]);
      for (const [T, B] of [[0, 2], [4, 0], [0, 0]]) {
        const xp = f64([T, B, G]), y0 = f64([B, n]), y = f64([T, B, n]);
        const [f, J, bOff] = nat.cellLinearize(kind, xp.handle, Whh.handle, bhh.handle, y0.handle, y.handle, 'dense').map((h) => wrap(h!));
        expect([f.shape, J.shape, bOff.shape]).toEqual([[T, B, n], [T, B, n, n], [T, B, n]]);
        const [, Jd] = nat.cellLinearize(kind, xp.handle, Whh.handle, null, y0.handle, y.handle, 'diagonal').map((h) => wrap(h!));
        expect(Jd.shape).toEqual([T, B, n]);
        expect(wrap(nat.cellSequential(kind, xp.handle, Whh.handle, bhh.handle, y0.handle)).shape).toEqual([T, B, n]);
        for (const adjoint of [false, true]) {
          const [gxp, ghh, gy0] = nat.cellBackward(kind, xp.handle, Whh.handle, bhh.handle, y0.handle, y.handle, y.handle, adjoint).map(wrap);
          expect([gxp.shape, ghh.shape, gy0.shape]).toEqual([[T, B, G], [T, B, G], [B, n]]);
          // No steps: y does not depend on y0.
          if (T === 0) expect(Array.from(gy0.dataSync())).toEqual(new Array(B * n).fill(0));
        }
      }
    });
  });
});

describe(`deer cells: relu at its kink and at NaN, as torch (seed ${SEED})`, () => {
  // torch.relu's derivative at exactly 0 is 0 (threshold_backward passes the gradient only where x > 0),
  // and relu(NaN) is NaN with the gradient passed. Sequence 0 has xp = 0, no bias and y0 = 0, so every
  // pre-activation is exactly 0 at every step; sequence 1 is random with a NaN pre-activation at the
  // last step (unit 0), whose λ there is g itself.
  test('a pre-activation of exactly 0 has derivative 0 in J, its diagonal, the walk backward and the adjoint mode; NaN stays NaN', () => {
    const c: Case = { kind: 'rnn_relu', T: 3, B: 2, H: 4, bias: false };
    const { G, n } = dims(c);
    const op = operands(rng, c);
    for (let t = 0; t < c.T; t++) for (let k = 0; k < G; k++) op.xp[(t * c.B + 0) * G + k] = 0;
    for (let i = 0; i < n; i++) op.y0[i] = 0;
    op.xp[((c.T - 1) * c.B + 1) * G + 0] = NaN;
    const y = sequential(c, op);
    const ref = sequentialRef(c, op);
    const nanAt = ((c.T - 1) * c.B + 1) * n + 0;
    expect(y[nanAt]).toBeNaN();
    expectClose(y.filter((_, i) => i !== nanAt), ref.filter((_, i) => i !== nanAt), 1e-14, 1e-14, 'y');
    for (let t = 0; t < c.T; t++) for (let i = 0; i < n; i++) expect(y[(t * c.B + 0) * n + i]).toBe(0);
    const dense = linearize(c, op, y, 'dense'), diag = linearize(c, op, y, 'diagonal');
    expect(dense.f[nanAt]).toBeNaN();
    for (let t = 0; t < c.T; t++) {
      const s = t * c.B + 0;
      expect(Array.from(dense.J!.subarray(s * n * n, (s + 1) * n * n))).toEqual(new Array(n * n).fill(0));
      expect(Array.from(diag.J!.subarray(s * n, (s + 1) * n))).toEqual(new Array(n).fill(0));
    }
    const g = randomArray(rng, y.length);
    for (const adjoint of [false, true]) {
      const r = backward(c, op, y, g, adjoint);
      for (let t = 0; t < c.T; t++)
        for (let k = 0; k < G; k++) {
          expect(r.gxp[(t * c.B + 0) * G + k]).toBe(0);
          expect(r.ghh[(t * c.B + 0) * G + k]).toBe(0);
        }
      // The NaN unit passes its λ = g (the last step's λ, in either mode: the adjoint's λ is g here).
      expect(r.gxp[((c.T - 1) * c.B + 1) * G + 0]).toBe(g[nanAt]);
      expect(Array.from(r.gy0.subarray(0, n))).toEqual(new Array(n).fill(0));
    }
  });
});

describe('deer cells: bad inputs', () => {
  const f64 = (shape: number[]) => tensor(new Array(shape.reduce((p, q) => p * q, 1)).fill(0.5), shape, { dtype: 'float64' });
  const f32 = (shape: number[]) => tensor(new Array(shape.reduce((p, q) => p * q, 1)).fill(0.5), shape, { dtype: 'float32' });
  const i32 = (shape: number[]) => tensor(new Array(shape.reduce((p, q) => p * q, 1)).fill(1), shape, { dtype: 'int32' });
  const H = 4;
  const ok = () => ({ xp: f64([3, 2, 3 * H]), Whh: f64([3 * H, H]), bhh: f64([3 * H]), y0: f64([2, H]), y: f64([3, 2, H]) });

  test('kind and jacobian strings', () => {
    expectAntlerError(() => { const a = ok(); nat.cellSequential('gruu' as CellKind, a.xp.handle, a.Whh.handle, a.bhh.handle, a.y0.handle); },
      'INVALID_ARGUMENT', /kind must be 'gru', 'lstm', 'rnn_tanh' or 'rnn_relu'; got 'gruu'/);
    expectAntlerError(() => { const a = ok(); nat.cellLinearize('gru', a.xp.handle, a.Whh.handle, a.bhh.handle, a.y0.handle, a.y.handle, 'full' as 'dense'); },
      'INVALID_ARGUMENT', /jacobian must be 'none', 'diagonal' or 'dense'; got 'full'/);
  });

  test('shapes', () => {
    expectAntlerError(() => { const a = ok(); nat.cellSequential('gru', a.xp.handle, f64([5, 4]).handle, a.bhh.handle, a.y0.handle); },
      'SHAPE_MISMATCH', /Whh has shape \[5, ?4\]; expected \[3·H, H\] = \[12, ?4\] for a GRU/);
    expectAntlerError(() => { const a = ok(); nat.cellSequential('lstm', a.xp.handle, a.Whh.handle, null, a.y0.handle); },
      'SHAPE_MISMATCH', /Whh has shape \[12, ?4\]; expected \[4·H, H\] = \[16, ?4\] for an LSTM/);
    expectAntlerError(() => { const a = ok(); nat.cellSequential('rnn_tanh', a.xp.handle, f64([0, 0]).handle, null, a.y0.handle); },
      'SHAPE_MISMATCH', /H >= 1/);
    expectAntlerError(() => { const a = ok(); nat.cellSequential('gru', a.xp.handle, a.Whh.handle, a.bhh.handle, f64([2, 2 * H]).handle); },
      'SHAPE_MISMATCH', /y0 has shape \[2, ?8\]; expected \[B, H\] = \[2, ?4\]/);
    expectAntlerError(() => { const a = ok(); nat.cellSequential('gru', f64([3, 2, H]).handle, a.Whh.handle, a.bhh.handle, a.y0.handle); },
      'SHAPE_MISMATCH', /xp has shape \[3, ?2, ?4\]; expected \[T, B, 3·H\]/);
    expectAntlerError(() => { const a = ok(); nat.cellSequential('gru', a.xp.handle, a.Whh.handle, f64([H]).handle, a.y0.handle); },
      'SHAPE_MISMATCH', /bhh has shape \[4\]; expected \[3·H\] = \[12\]/);
    expectAntlerError(() => { const a = ok(); nat.cellLinearize('gru', a.xp.handle, a.Whh.handle, a.bhh.handle, a.y0.handle, f64([2, 2, H]).handle, 'dense'); },
      'SHAPE_MISMATCH', /y has shape \[2, ?2, ?4\]; expected \[T, B, H\] = \[3, ?2, ?4\]/);
    expectAntlerError(() => { const a = ok(); nat.cellBackward('gru', a.xp.handle, a.Whh.handle, a.bhh.handle, a.y0.handle, a.y.handle, f64([3, 2, 2 * H]).handle, false); },
      'SHAPE_MISMATCH', /gradient of y has shape/);
  });

  test('dtypes', () => {
    expectAntlerError(() => { const a = ok(); nat.cellSequential('gru', f32([3, 2, 3 * H]).handle, a.Whh.handle, a.bhh.handle, a.y0.handle); },
      'DTYPE_MISMATCH', /xp has dtype float32 but Whh has float64/);
    expectAntlerError(() => { const a = ok(); nat.cellBackward('gru', a.xp.handle, a.Whh.handle, a.bhh.handle, a.y0.handle, a.y.handle, f32([3, 2, H]).handle, true); },
      'DTYPE_MISMATCH', /adjoint λ has dtype float32/);
    expectAntlerError(() => nat.cellSequential('rnn_relu', i32([3, 2, H]).handle, i32([H, H]).handle, null, i32([2, H]).handle),
      'DTYPE_MISMATCH', /Whh has dtype int32; expected float32 or float64/);
  });
});
