/**
 * deer.jacobians: every cell's state Jacobian J_t = ∂f/∂y (yPrev_t, x_t),
 * dense and diagonal, against central finite differences of a float64
 * JavaScript step (PyTorch's equations for GRU, LSTM and Elman RNN; the `sru`
 * package's for SRU, k = 3 and 4), float32 against float64, and bad inputs.
 */
import * as antler from '../../lib';
import { tensor, tidy } from '../../lib';
import type { JacobianCell } from '../../lib/deer';
import { cellStepRef, expectAntlerErrorInTidy as expectAntlerError, expectClose, expectNoTensorLeaks, makeRng, randomArray, RefCellKind } from '../helpers';

const rng = makeRng();
expectNoTensorLeaks();
const SEED = rng.seed;
type Dt = 'float32' | 'float64';

interface Problem {
  cell: JacobianCell;
  T: number; B: number; inSize: number; H: number; n: number;
  params: Record<string, { values: number[]; shape: number[] }>;
  yPrev: number[]; x: number[];
  /** The float64 step f(y, x_t) of one (t, b). */
  step(y: number[], x: number[]): number[];
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

function problem(cell: JacobianCell, T: number, B: number, inSize: number, H: number, k = 3): Problem {
  const rnd = (len: number, s = 1) => randomArray(rng, len, -s, s);
  if (cell === 'sru') {
    const params = {
      weight: { values: rnd(inSize * H * k), shape: [inSize, H * k] },
      weight_c: { values: rnd(2 * H), shape: [2 * H] },
      bias: { values: rnd(2 * H), shape: [2 * H] },
    };
    const W = params.weight.values, vf = params.weight_c.values, bf = params.bias.values;
    // c_t = f c + (1 − f) x̃, f = σ(U_f + v_f c + b_f), U = xᵀ W with column j·k + m (m: x̃, f, r, x').
    const step = (c: number[], x: number[]) => c.map((cj, j) => {
      let xt = 0, uf = 0;
      for (let i = 0; i < inSize; i++) {
        xt += x[i] * W[i * H * k + j * k];
        uf += x[i] * W[i * H * k + j * k + 1];
      }
      const f = sigmoid(uf + vf[j] * cj + bf[j]);
      return f * cj + (1 - f) * xt;
    });
    return { cell, T, B, inSize, H, n: H, params, yPrev: rnd(T * B * H), x: rnd(T * B * inSize), step };
  }
  const G = (cell === 'gru' ? 3 : cell === 'lstm' ? 4 : 1) * H;
  const n = cell === 'lstm' ? 2 * H : H;
  const s = 1.5 / Math.sqrt(H);
  const params = {
    weight_ih: { values: rnd(G * inSize, s), shape: [G, inSize] },
    weight_hh: { values: rnd(G * H, s), shape: [G, H] },
    bias_ih: { values: rnd(G, s), shape: [G] },
    bias_hh: { values: rnd(G, s), shape: [G] },
  };
  const bih = params.bias_ih.values, Wih = params.weight_ih.values;
  const step = (y: number[], x: number[]) => {
    const xp = new Array<number>(G);
    for (let g = 0; g < G; g++) {
      let acc = bih[g];
      for (let i = 0; i < inSize; i++) acc += Wih[g * inSize + i] * x[i];
      xp[g] = acc;
    }
    return cellStepRef(cell as RefCellKind, H, xp, params.weight_hh.values, params.bias_hh.values, y);
  };
  return { cell, T, B, inSize, H, n, params, yPrev: rnd(T * B * n), x: rnd(T * B * inSize), step };
}

/**
 * Central differences of the float64 step, [T, B, n, n]. With `analytic` for
 * rnn_relu (piecewise linear: a step of ±h may cross a kink, where the central
 * difference averages two sides), an entry the central difference misses is
 * the one-sided difference nearer to the analytic one: the side that does not
 * cross is exact, and a wrong entry is near neither.
 */
function finiteDifferences(p: Problem, h = 1e-6, analytic?: Float64Array): Float64Array {
  const { T, B, n, inSize } = p;
  const J = new Float64Array(T * B * n * n);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      const y = p.yPrev.slice((t * B + b) * n, (t * B + b + 1) * n);
      const x = p.x.slice((t * B + b) * inSize, (t * B + b + 1) * inSize);
      for (let j = 0; j < n; j++) {
        const up = y.slice(), down = y.slice();
        up[j] += h;
        down[j] -= h;
        const fu = p.step(up, x), fd = p.step(down, x);
        const f0 = analytic && p.cell === 'rnn_relu' ? p.step(y, x) : null;
        for (let i = 0; i < n; i++) {
          const e = ((t * B + b) * n + i) * n + j;
          J[e] = (fu[i] - fd[i]) / (2 * h);
          if (f0 && Math.abs(analytic![e] - J[e]) > 1e-8 * (1 + Math.abs(J[e]))) {
            const right = (fu[i] - f0[i]) / h, left = (f0[i] - fd[i]) / h;
            J[e] = Math.abs(analytic![e] - right) < Math.abs(analytic![e] - left) ? right : left;
          }
        }
      }
    }
  return J;
}

function run(p: Problem, dtype: Dt, jacobian: 'dense' | 'diagonal'): { J: Float64Array; shape: number[] } {
  return tidy(() => {
    const params = Object.fromEntries(Object.entries(p.params).map(([k, v]) => [k, tensor(v.values, v.shape, { dtype })]));
    const J = antler.deer.jacobians(p.cell, params, tensor(p.yPrev, [p.T, p.B, p.n], { dtype }), tensor(p.x, [p.T, p.B, p.inSize], { dtype }), { jacobian });
    expect(J.dtype).toBe(dtype);
    return { J: Float64Array.from(J.dataSync()), shape: J.shape.slice() };
  });
}

const diagonalOf = (J: Float64Array, n: number) => Float64Array.from({ length: J.length / n }, (_, e) => J[e * n + (e % n)]);

describe(`deer.jacobians against central finite differences (seed ${SEED})`, () => {
  const cases: [JacobianCell, number][] = [['gru', 3], ['lstm', 3], ['rnn_tanh', 3], ['rnn_relu', 3], ['sru', 3], ['sru', 4]];
  test.each(cases)('%s (k = %i for SRU): dense to 1e-8 in float64, diagonal = diag(dense), float32 close', (cell, k) => {
    const p = problem(cell, 4, 3, 5, 6, k);
    const dense = run(p, 'float64', 'dense');
    const fd = finiteDifferences(p, 1e-6, dense.J);
    expect(dense.shape).toEqual([p.T, p.B, p.n, p.n]);
    expectClose(dense.J, fd, 1e-8, 1e-8, `${cell} dense J`);
    const diag = run(p, 'float64', 'diagonal');
    expect(diag.shape).toEqual([p.T, p.B, p.n]);
    expectClose(diag.J, diagonalOf(dense.J, p.n), 1e-14, 1e-14, `${cell} diagonal J`);
    expectClose(run(p, 'float32', 'dense').J, dense.J, 1e-4, 1e-5, `${cell} float32 J`);
    if (cell === 'sru') {
      // SRU's state Jacobian is diagonal: every off-diagonal entry is exactly 0.
      for (let e = 0; e < dense.J.length; e++) if (Math.floor(e / p.n) % p.n !== e % p.n) expect(Math.abs(dense.J[e])).toBe(0);
    }
  });

  test('T = 1 and an absent bias_ih (zeros)', () => {
    const p = problem('gru', 1, 2, 3, 4);
    p.params.bias_ih.values.fill(0);
    delete (p.params as Record<string, unknown>).bias_ih;
    expectClose(run(p, 'float64', 'dense').J, finiteDifferences(p), 1e-8, 1e-8, 'J');
  });

  test('T = 0: empty Jacobians of the right shape, for every cell (an internal slice error before)', () =>
    tidy(() => {
      for (const cell of ['gru', 'lstm', 'rnn_tanh', 'sru'] as const) {
        const H = 3, inSize = 2, B = 2;
        const n = cell === 'lstm' ? 2 * H : H;
        const G = cell === 'gru' ? 3 * H : cell === 'lstm' ? 4 * H : H;
        const params: Record<string, antler.Tensor> = cell === 'sru'
          ? { weight: antler.zeros([inSize, 3 * H]), weight_c: antler.zeros([2 * H]), bias: antler.zeros([2 * H]) }
          : { weight_ih: antler.zeros([G, inSize]), weight_hh: antler.zeros([G, H]), bias_ih: antler.zeros([G]), bias_hh: antler.zeros([G]) };
        const dense = antler.deer.jacobians(cell, params, antler.zeros([0, B, n]), antler.zeros([0, B, inSize]));
        const diag = antler.deer.jacobians(cell, params, antler.zeros([0, B, n]), antler.zeros([0, B, inSize]), { jacobian: 'diagonal' });
        expect([cell, dense.shape, diag.shape]).toEqual([cell, [0, B, n, n], [0, B, n]]);
      }
    }));
});

describe('deer.jacobians bad inputs', () => {
  const f64 = (shape: number[]) => antler.zeros(shape, { dtype: 'float64' });
  const gru = () => ({ weight_ih: f64([12, 3]), weight_hh: f64([12, 4]) });
  test('cell, params, shapes and options', () => {
    expectAntlerError(() => antler.deer.jacobians('gru2' as never, gru(), f64([5, 2, 4]), f64([5, 2, 3])), 'INVALID_ARGUMENT', /cell must be one of/);
    expectAntlerError(() => antler.deer.jacobians('gru', { weight_ih: f64([12, 3]) }, f64([5, 2, 4]), f64([5, 2, 3])), 'INVALID_ARGUMENT', /'weight_hh' is required/);
    expectAntlerError(() => antler.deer.jacobians('gru', { ...gru(), weight_hh: null }, f64([5, 2, 4]), f64([5, 2, 3])), 'INVALID_ARGUMENT', /'weight_hh' is required/);
    expectAntlerError(() => antler.deer.jacobians('gru', { ...gru(), weight: f64([3, 3]) }, f64([5, 2, 4]), f64([5, 2, 3])), 'INVALID_ARGUMENT', /unknown parameter 'weight'/);
    expectAntlerError(() => antler.deer.jacobians('gru', gru(), f64([5, 2, 4]), f64([5, 2, 7])), 'SHAPE_MISMATCH', /x has shape \[5, 2, 7\]; expected \[T, B, 3\]/);
    expectAntlerError(() => antler.deer.jacobians('gru', gru(), f64([5, 2, 8]), f64([5, 2, 3])), 'SHAPE_MISMATCH', /yPrev has shape \[5, 2, 8\]; expected \[T, B, 4\]/);
    expectAntlerError(() => antler.deer.jacobians('lstm', { weight_ih: f64([16, 3]), weight_hh: f64([16, 4]) }, f64([5, 2, 4]), f64([5, 2, 3])), 'SHAPE_MISMATCH', /\[T, B, 8\].*2·H/);
    expectAntlerError(() => antler.deer.jacobians('gru', gru(), f64([4, 2, 4]), f64([5, 2, 3])), 'SHAPE_MISMATCH', /T = 5/);
    expectAntlerError(() => antler.deer.jacobians('gru', { weight_ih: f64([12, 3]), weight_hh: f64([9, 4]) }, f64([5, 2, 4]), f64([5, 2, 3])), 'SHAPE_MISMATCH', /Whh/);
    expectAntlerError(() => antler.deer.jacobians('gru', gru(), f64([5, 2, 4]), f64([5, 2, 3]), { jacobian: 'full' as never }), 'INVALID_ARGUMENT', /'dense' or 'diagonal'/);
    expectAntlerError(() => antler.deer.jacobians('sru', { weight: f64([3, 10]), weight_c: f64([8]), bias: f64([8]) }, f64([5, 2, 4]), f64([5, 2, 3])), 'SHAPE_MISMATCH', /weight has shape/);
    expectAntlerError(() => antler.deer.jacobians('sru', { weight: f64([3, 12]), weight_c: f64([8]), bias: f64([8]) }, f64([5, 2, 5]), f64([5, 2, 3])), 'SHAPE_MISMATCH', /yPrev/);
    expectAntlerError(() => antler.deer.jacobians('gru', { weight_ih: f64([12, 3]), weight_hh: antler.zeros([12, 4]) }, f64([5, 2, 4]), f64([5, 2, 3])), 'DTYPE_MISMATCH');
  });
});
