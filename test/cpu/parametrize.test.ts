/**
 * nn.utils.parametrize and nn.utils.parametrizations (torch 1.13's): a
 * parametrization applied on read with the gradient reaching `original`
 * (central differences in float64), PyTorch's state-dict names, assignment
 * through rightInverse, removeParametrizations, cached(), clone();
 * spectralNorm's σ against the largest singular value of a matrix built
 * with known singular values, u/v frozen in eval, a state-dict round trip;
 * orthogonal's WᵀW = I for every map and square/tall/wide shapes, training
 * keeping it orthogonal; a GRU/LSTM's weight_hh_l0 parametrized; errors.
 */
import { add, autograd, noGrad, nn, optim, sub, sum, square, tanh, Tensor, tensor, tidy, transpose, tril, matmul, mul, memory } from '../../lib';
import { eyeMat, maxAbsDiff, mm, toMat, withSingularValues } from '../linalg-reference';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
const P = nn.utils.parametrize;
const PS = nn.utils.parametrizations;
const keysOf = (m: nn.Module) => tidy(() => Object.keys(m.stateDict()));
const props = (m: nn.Module) => m as unknown as Record<string, Tensor>;
type OrthMap = 'matrix_exp' | 'cayley' | 'householder';
const listOf = (m: nn.Module, name = 'weight') => (props(m).parametrizations as unknown as nn.ModuleDict).get(name) as unknown as { original: Tensor; length: number };

/** X ↦ tril(X) + tril(X, −1)ᵀ: a symmetric matrix (the torch tutorial's parametrization), with rightInverse tril. */
class Symmetric extends nn.Module {
  forward(x: Tensor): Tensor {
    return tidy(() => add(tril(x), transpose(tril(x, -1))));
  }
  rightInverse(w: Tensor): Tensor {
    return tril(w);
  }
}
/** X ↦ 2X, no rightInverse. */
class Double extends nn.Module {
  forward(x: Tensor): Tensor {
    return mul(x, 2);
  }
}
/** The wrong shape. */
class Shrink extends nn.Module {
  forward(x: Tensor): Tensor {
    return tidy(() => sum(x, 0));
  }
}

function symRef(a: number[], n: number): number[] {
  const out = new Array<number>(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = i >= j ? a[i * n + j] : a[j * n + i];
  return out;
}

function matmulRef(a: number[], b: number[], m: number, k: number, n: number, ta = false): number[] {
  const out = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let l = 0; l < k; l++) out[i * n + j] += (ta ? a[l * m + i] : a[i * k + l]) * b[l * n + j];
  return out;
}

/** max |WᵀW − I| (W m × n with m ≥ n) or |WWᵀ − I| (wide), float64. */
function orthError(w: number[], m: number, n: number): number {
  const tall = m >= n;
  const k = tall ? n : m;
  const g = tall ? matmulRef(w, w, n, m, n, true) : matmulRef(w, transposeRef(w, m, n), m, n, m);
  let worst = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) worst = Math.max(worst, Math.abs(g[i * k + j] - (i === j ? 1 : 0)));
  return worst;
}
function transposeRef(a: number[], m: number, n: number): number[] {
  const out = new Array<number>(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = a[i * n + j];
  return out;
}

/** A recursive net: h_d = tanh(h_{d−1} Wᵀ + x W), h_0 = x; the weight is read before the nested call and used after it. */
class Recursive extends nn.Module {
  declare weight: Tensor;
  constructor(w: Tensor) {
    super();
    this.weight = nn.parameter(w);
  }
  forward(x: Tensor, depth = 2): Tensor {
    const w = this.weight;
    const h = depth > 0 ? (this.forward(x, depth - 1) as Tensor) : x;
    return tanh(add(matmul(h, transpose(w)), matmul(x, w)));
  }
}

describe(`nn.utils.parametrize (seed ${SEED})`, () => {
  test('a parametrization is applied on read; the gradient reaches original (central differences, float64)', () => {
    const n = 4;
    const fc = new nn.Linear(n, 3, F64);
    const sq = new nn.Linear(n, n, F64);
    fc.dispose();
    const before = read(sq.weight);
    P.registerParametrization(sq, 'weight', new Symmetric());
    expect(P.isParametrized(sq)).toBe(true);
    expect(P.isParametrized(sq, 'weight')).toBe(true);
    expect(P.isParametrized(sq, 'bias')).toBe(false);
    // rightInverse on registration: original = tril(weight); the weight reads symmetric.
    const orig = listOf(sq).original;
    expectClose(read(orig), before.map((v, i) => (i % n <= Math.floor(i / n) ? v : 0)), 0, 0, 'original');
    tidy(() => expectClose(read(sq.weight), symRef(read(orig), n), 0, 0, 'weight'));
    expect(keysOf(sq)).toEqual(['bias', 'parametrizations.weight.original']);
    expect(sq.parameters()).toContain(orig);
    const x = tensor(randomArray(rng, 2 * n), [2, n], F64);
    const lossAt = () => tidy(() => sum(square(sq.forward(x))).item());
    tidy(() => sum(square(sq.forward(x))).backward());
    const g = read(orig.grad!);
    const h = 1e-6, base = read(orig);
    const fd = base.map((_, i) => {
      const at = (d: number) => {
        tidy(() => orig.assign(tensor(base.map((v, j) => (j === i ? v + d : v)), [n, n], F64)));
        return lossAt();
      };
      const r = (at(h) - at(-h)) / (2 * h);
      return r;
    });
    tidy(() => orig.assign(tensor(base, [n, n], F64)));
    expectClose(g, fd, 1e-6, 1e-7, 'd loss / d original');
    // The upper triangle of original never reaches the weight: its gradient is exactly 0.
    g.forEach((v, i) => (i % n > Math.floor(i / n) ? expect(v).toBe(0) : null));
    x.dispose();
    sq.dispose();
  });

  test('assignment goes through rightInverse; chained parametrizations; removeParametrizations keeps the value', () => {
    const m = new nn.Linear(3, 3, F64);
    P.registerParametrization(m, 'weight', new Symmetric());
    const orig = listOf(m).original;
    const w = randomArray(rng, 9);
    tidy(() => {
      props(m).weight = tensor(w, [3, 3], F64);
    });
    expectClose(read(orig), w.map((v, i) => (i % 3 <= Math.floor(i / 3) ? v : 0)), 0, 0, 'original after assignment');
    P.registerParametrization(m, 'weight', new Double());
    expect(listOf(m).length).toBe(2);
    expect(keysOf(m)).toEqual(['bias', 'parametrizations.weight.original']);
    tidy(() => expectClose(read(props(m).weight), symRef(read(orig), 3).map((v) => 2 * v), 0, 0, 'chained'));
    // Double has no rightInverse: assigning is refused, nothing changes.
    const o0 = read(orig);
    tidy(() => expectAntlerError(() => (props(m).weight = tensor(w, [3, 3], F64)), 'NOT_SUPPORTED', /does not implement rightInverse/));
    expect(read(orig)).toEqual(o0);
    const expected = tidy(() => read(props(m).weight));
    P.removeParametrizations(m, 'weight');
    expect(P.isParametrized(m)).toBe(false);
    expect(props(m).weight).toBe(orig); // the same object: optimizers stay bound
    expect(read(props(m).weight)).toEqual(expected);
    expect(keysOf(m)).toEqual(['bias', 'weight']);
    expect('parametrizations' in m).toBe(false);
    // leaveParametrized false: the original's own value.
    const m2 = new nn.Linear(3, 3, F64);
    P.registerParametrization(m2, 'weight', new Double());
    const o2 = read(listOf(m2).original);
    P.removeParametrizations(m2, 'weight', false);
    expect(read(props(m2).weight)).toEqual(o2);
    m.dispose();
    m2.dispose();
  });

  test('one computation per forward; cached() shares one tensor; clone() copies the parametrization; no leaks', () => {
    let calls = 0;
    class Count extends nn.Module {
      forward(x: Tensor): Tensor {
        calls++;
        return mul(x, 1);
      }
    }
    const m = new nn.Linear(3, 2, F64);
    P.registerParametrization(m, 'weight', new Count());
    calls = 0;
    const x = tensor(randomArray(rng, 6), [2, 3], F64);
    const start = memory().numTensors;
    for (let i = 0; i < 3; i++) tidy(() => void m.forward(x));
    expect(calls).toBe(3); // Linear reads weight several times per forward: computed once each
    // The module holds the last forward's weight (one tensor), nothing else is left.
    expect(memory().numTensors).toBe(start + 1);
    calls = 0;
    const [a, b] = P.cached(() => [props(m).weight, props(m).weight]);
    expect(a).toBe(b);
    expect(calls).toBe(1);
    expect(a.isDisposed).toBe(false); // returned: the caller's
    a.dispose();
    P.cached(() => {
      tidy(() => void m.forward(x));
      tidy(() => void m.forward(x));
      return null;
    });
    expect(calls).toBe(2);
    // The forwards in cached() used the cached weight (freed at its end) and freed the one held before.
    expect(memory().numTensors).toBe(start);
    const c = m.clone();
    expect(P.isParametrized(c, 'weight')).toBe(true);
    expect(keysOf(c)).toEqual(keysOf(m));
    expect(listOf(c).original).not.toBe(listOf(m).original);
    tidy(() => expect(read(c.forward(x))).toEqual(read(m.forward(x))));
    // Independent: changing the copy's original leaves the original module alone.
    tidy(() => listOf(c).original.assign(mul(listOf(c).original, 3)));
    tidy(() => expect(read(c.forward(x))).not.toEqual(read(m.forward(x))));
    P.removeParametrizations(c, 'weight');
    expect(P.isParametrized(m, 'weight')).toBe(true);
    c.dispose();
    x.dispose();
    m.dispose();
  });

  test('removeParametrizations inside cached(): the tensor cached for it is freed when cached() returns', () => {
    const m = new nn.Linear(3, 3, F64);
    P.registerParametrization(m, 'weight', new Double());
    const start = memory().numTensors;
    const kept = P.cached(() => {
      const w = props(m).weight;
      expect(props(m).weight).toBe(w);
      const value = read(w);
      P.removeParametrizations(m, 'weight');
      expect(read(m.weight)).toEqual(value);
      // The cached tensor stays readable to the end of the scope.
      expect(read(w)).toEqual(value);
      return w.isDisposed;
    });
    expect(kept).toBe(false);
    expect(memory().numTensors).toBe(start);
    // Returned from cached(): the caller's, as any cached tensor.
    P.registerParametrization(m, 'weight', new Double());
    const back = P.cached(() => {
      const w = props(m).weight;
      P.removeParametrizations(m, 'weight', false);
      return w;
    });
    expect(back.isDisposed).toBe(false);
    back.dispose();
    expect(memory().numTensors).toBe(start);
    m.dispose();
  });

  test('a parametrization returning a tensor it owns (a buffer): neither held nor freed by the module, in a forward or in cached()', () => {
    class Fixed extends nn.Module {
      declare c: Tensor;
      constructor(c: Tensor) {
        super();
        this.c = this.registerBuffer('c', c);
      }
      forward(): Tensor {
        return this.c;
      }
    }
    const c = tensor(randomArray(rng, 6), [2, 3], F64);
    const fixed = new Fixed(c);
    const m = new nn.Linear(3, 2, F64);
    P.registerParametrization(m, 'weight', fixed);
    const x = tensor(randomArray(rng, 3), [1, 3], F64);
    const expected = read(c);
    for (let i = 0; i < 3; i++) tidy(() => void m.forward(x));
    expect(c.isDisposed).toBe(false);
    P.cached(() => tidy(() => void m.forward(x)));
    expect(c.isDisposed).toBe(false);
    tidy(() => expect(read(props(m).weight)).toEqual(expected));
    // The forward used it: y = x cᵀ + bias (the reference sums in another order than the GEMM: a few ulps apart).
    tidy(() => {
      const xv = read(x), b = read(m.bias!);
      expectClose(read(m.forward(x) as Tensor), [0, 1].map((o) => b[o] + xv.reduce((a, v, k) => a + v * expected[o * 3 + k], 0)), 1e-12, 1e-15, 'forward');
    });
    x.dispose();
    m.dispose();
  });

  test('a module whose forward calls itself (a recursive net) shares one weight over the nested calls; gradient as with the weight computed once', () => {
    const n = 3;
    const w0 = randomArray(rng, n * n);
    const m = new Recursive(tensor(w0, [n, n], F64));
    let calls = 0;
    class CountDouble extends nn.Module {
      forward(x: Tensor): Tensor {
        calls++;
        return mul(x, 2);
      }
    }
    P.registerParametrization(m, 'weight', new CountDouble());
    const x = tensor(randomArray(rng, 2 * n), [2, n], F64);
    calls = 0;
    const y = tidy(() => {
      const out = m.forward(x) as Tensor;
      sum(square(out)).backward();
      return read(out);
    });
    expect(calls).toBe(1);
    // Reference: the same recursion with W = 2·w0 as a plain tensor; d loss / d original = 2 · d loss / d W.
    const W = tensor(w0.map((v) => 2 * v), [n, n], F64);
    W.requiresGrad = true;
    const plain = (d: number): Tensor => tanh(add(matmul(d > 0 ? plain(d - 1) : x, transpose(W)), matmul(x, W)));
    tidy(() => {
      const out = plain(2);
      expectClose(y, read(out), 1e-15, 0, 'output');
      sum(square(out)).backward();
    });
    expectClose(read(listOf(m).original.grad!), read(W.grad!).map((g) => 2 * g), 1e-14, 1e-15, 'gradient');
    // After a forward that throws, reads are outside any forward: a new tensor each, the caller's.
    expect(() => tidy(() => m.forward(tensor([1, 2], [1, 2], F64)))).toThrow();
    tidy(() => expect(props(m).weight).not.toBe(props(m).weight));
    W.dispose();
    x.dispose();
    m.dispose();
  });

  test('removeParametrizations frees the buffers of what spectralNorm() and orthogonal() made (on a copy too), not a parametrization of the caller', () => {
    const start = memory().numTensors;
    for (const make of [(m: nn.Linear) => PS.spectralNorm(m), (m: nn.Linear) => PS.orthogonal(m)]) {
      const m = make(new nn.Linear(4, 3, F64));
      const c = m.clone();
      for (const mm of [m, c]) {
        P.removeParametrizations(mm, 'weight');
        mm.dispose();
      }
      expect(memory().numTensors).toBe(start);
    }
    class Scaled extends nn.Module {
      declare s: Tensor;
      constructor() {
        super();
        this.s = this.registerBuffer('s', tensor([2], [1], F64));
      }
      forward(x: Tensor): Tensor {
        return mul(x, this.s);
      }
    }
    const mine = new Scaled();
    const m = new nn.Linear(4, 3, F64);
    P.registerParametrization(m, 'weight', mine);
    P.removeParametrizations(m, 'weight');
    expect(mine.s.isDisposed).toBe(false);
    mine.dispose();
    m.dispose();
    expect(memory().numTensors).toBe(start);
  });

  test('an assignment to the parametrized tensor inside the forward: the tensor read before stays usable, the next read is the new value; freed at the next forward', () => {
    class Projecting extends nn.Module {
      declare weight: Tensor;
      constructor(w: Tensor) {
        super();
        this.weight = nn.parameter(w);
      }
      forward(x: Tensor): Tensor {
        const w = this.weight;
        this.weight = mul(w, 0.9);
        return add(matmul(x, w), matmul(x, this.weight));
      }
    }
    const n = 3;
    const m = new Projecting(tensor(randomArray(rng, n * n), [n, n], F64));
    P.registerParametrization(m, 'weight', new Symmetric());
    const x = tensor(randomArray(rng, 2 * n), [2, n], F64);
    const w1 = tidy(() => read(props(m).weight));
    const start = memory().numTensors;
    // Symmetric's rightInverse is tril: the weight after the assignment is 0.9·w1 exactly as read back.
    const y = tidy(() => {
      const out = m.forward(x) as Tensor;
      sum(square(out)).backward();
      return read(out);
    });
    expect(listOf(m).original.grad).not.toBeNull();
    const xv = read(x);
    const ref = [0, 1].flatMap((r) => [0, 1, 2].map((c) => 1.9 * [0, 1, 2].reduce((a, k) => a + xv[r * n + k] * w1[k * n + c], 0)));
    expectClose(y, ref, 1e-14, 1e-15, 'x·w + x·(0.9 w)');
    // Two tensors held (the set-aside one and the new one) until the next forward, which frees both
    // (counted without graphs: a held tensor with one keeps what its graph saved).
    const counted = memory().numTensors;
    noGrad(() => tidy(() => void m.forward(x)));
    const held = memory().numTensors;
    noGrad(() => tidy(() => void m.forward(x)));
    expect(memory().numTensors).toBe(held);
    expect(held).toBeLessThanOrEqual(counted);
    expect(held).toBe(start + 3); // the two held tensors and original's .grad
    P.removeParametrizations(m, 'weight');
    expect(memory().numTensors).toBe(start + 1); // original's .grad
    x.dispose();
    m.dispose();
  });

  test('errors: codes, and a refused registration changes nothing', () => {
    const m = new nn.Linear(3, 2, F64);
    const w = m.weight;
    expectAntlerError(() => P.registerParametrization(m, 'kernel', new Double()), 'INVALID_ARGUMENT', /no parameter, buffer or parametrized tensor 'kernel'; its parameters: weight, bias; its buffers: none/);
    expectAntlerError(() => P.registerParametrization(m, 'weight', {} as nn.Module as never), 'INVALID_ARGUMENT', /must be a Module/);
    expectAntlerError(() => P.registerParametrization(m, 'weight', new Shrink()), 'SHAPE_MISMATCH', /returned shape \[3\] for 'weight' of shape \[2, 3\]/);
    class NotATensor extends nn.Module {
      forward(): unknown {
        return [1, 2];
      }
    }
    expectAntlerError(() => P.registerParametrization(m, 'weight', new NotATensor() as never), 'INVALID_ARGUMENT', /parametrization must return a Tensor; got/);
    class Cast extends nn.Module {
      forward(x: Tensor): Tensor {
        return x.cast('float32');
      }
    }
    expectAntlerError(() => P.registerParametrization(m, 'weight', new Cast()), 'DTYPE_MISMATCH', /returned float32 for 'weight' of dtype float64/);
    expect(m.weight).toBe(w);
    expect(P.isParametrized(m)).toBe(false);
    expect(keysOf(m)).toEqual(['weight', 'bias']);
    P.registerParametrization(m, 'weight', new Shrink(), { unsafe: true });
    tidy(() => expect(props(m).weight.shape).toEqual([3]));
    expectAntlerError(() => P.removeParametrizations(m, 'bias'), 'INVALID_ARGUMENT', /no parametrization of 'bias'/);
    expectAntlerError(() => P.registerParametrization(m, 'weight', new Double(), { unsafe: 1 as never }), 'INVALID_ARGUMENT', /unsafe must be a boolean/);
    expectAntlerError(() => (props(m).weight = 3 as never), 'INVALID_ARGUMENT', /takes a Tensor/);
    expectAntlerError(() => PS.orthogonal(m, { name: 'bias' }), 'SHAPE_MISMATCH', /matrix or batch of matrices; got a tensor of 1 dimensions/);
    const sq = new nn.Linear(3, 3, F64);
    expectAntlerError(() => PS.orthogonal(sq, { orthogonalMap: 'qr' as never }), 'INVALID_ARGUMENT', /orthogonalMap must be/);
    sq.dispose();
    expectAntlerError(() => PS.spectralNorm(m, { name: 'nope' }), 'INVALID_ARGUMENT', /no parameter 'nope'/);
    expectAntlerError(() => PS.spectralNorm(m, { name: 'bias', nPowerIterations: 0 }), 'INVALID_ARGUMENT', /nPowerIterations must be a positive integer/);
    m.dispose();
  });
});

/** A module with a buffer `b` [n] and a Linear (torch: register_buffer('b', …) next to nn.Linear(2, 2)). */
class WithBuffer extends nn.Module {
  lin = new nn.Linear(2, 2, F64);
  declare b: Tensor;
  constructor(values: number[]) {
    super();
    this.b = this.registerBuffer('b', tensor(values, [values.length], F64));
  }
  forward(x: Tensor): Tensor {
    return this.lin.forward(x);
  }
}
/** X ↦ 2X with rightInverse X/2. */
class Scale extends nn.Module {
  forward(x: Tensor): Tensor {
    return mul(x, 2);
  }
  rightInverse(y: Tensor): Tensor {
    return mul(y, 0.5);
  }
}
/**
 * torch's RankOne example with an exact projection for rank-one matrices: forward(x, y) = x yᵀ;
 * rightInverse(Z) = [Z[:, 0], Z[0, :] / Z[0, 0]]. `bad` makes rightInverse misbehave as torch's error cases.
 */
class RankOne extends nn.Module {
  bad: 'none' | 'number' | 'element' | 'three' | 'dtype' | 'tensor' = 'none';
  forward(x: Tensor, y: Tensor): Tensor {
    return matmul(x.reshape([x.shape[0], 1]), y.reshape([1, y.shape[0]]));
  }
  rightInverse(z: Tensor): Tensor | Tensor[] {
    const [r, c] = z.shape;
    const col = z.slice([0, 0], [r, 1]).reshape([r]);
    const row = mul(z.slice([0, 0], [1, c]).reshape([c]), 1 / z.slice([0, 0], [1, 1]).item());
    if (this.bad === 'number') return 3 as never;
    if (this.bad === 'element') return [col, 3 as never];
    if (this.bad === 'three') return [col, row, row];
    if (this.bad === 'dtype') return [col, row.cast('float32')];
    if (this.bad === 'tensor') return col;
    return [col, row];
  }
}
type PList = InstanceType<typeof P.ParametrizationList>;
const outerRef = (x: number[], y: number[]) => x.flatMap((a) => y.map((b) => a * b));

describe(`parametrized buffers and several originals (torch 1.13's rules) (seed ${SEED})`, () => {
  test("a buffer: original stays a buffer (parametrizations.b.original, torch's state dict), no gradient; assignment, loadStateDict, removal back to a buffer, the same tensor", () => {
    const vals = randomArray(rng, 3);
    const m = new WithBuffer(vals);
    const b = m.b;
    P.registerParametrization(m, 'b', new Scale());
    // torch 1.13: ['lin.weight', 'lin.bias', 'parametrizations.b.original'], parameters lin.* only.
    expect(keysOf(m)).toEqual(['lin.weight', 'lin.bias', 'parametrizations.b.original']);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['lin.weight', 'lin.bias']);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['parametrizations.b.original']);
    const list = listOf(m, 'b');
    expect(list.original).toBe(b);
    expect(b.requiresGrad).toBe(false);
    expectClose(read(b), vals.map((v) => v / 2), 1e-15, 0);
    tidy(() => {
      expectClose(read(props(m).b), vals, 1e-15, 0);
      expect(props(m).b.requiresGrad).toBe(false);
    });
    const target = randomArray(rng, 3);
    tidy(() => void (props(m).b = tensor(target, [3], F64)));
    expectClose(read(b), target.map((v) => v / 2), 1e-15, 0);
    // A state dict saved from the parametrized module loads into another one.
    const other = P.registerParametrization(new WithBuffer([0, 0, 0]), 'b', new Scale());
    tidy(() => other.loadStateDict(m.stateDict()));
    tidy(() => expectClose(read(props(other).b), target, 1e-15, 0));
    other.dispose();
    P.removeParametrizations(m, 'b', false);
    expect(m.b).toBe(b);
    expect(P.isParametrized(m)).toBe(false);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['b']);
    expect(keysOf(m)).toEqual(['b', 'lin.weight', 'lin.bias']);
    expectClose(read(m.b), target.map((v) => v / 2), 1e-15, 0);
    // leaveParametrized: the buffer holds the parametrized value.
    P.registerParametrization(m, 'b', new Scale());
    P.removeParametrizations(m, 'b');
    expect(m.b).toBe(b);
    expect(b.isDisposed).toBe(false);
    expectClose(read(m.b), target.map((v) => v / 2), 1e-15, 0);
    m.dispose();
    expect(b.isDisposed).toBe(true);
  });

  test('several originals: original0, original1 (parameters, in the state dict); forward(original0, original1); gradients to both (float64 reference); assignment through the chain', () => {
    const [r, c] = [rng.int(2, 4), rng.int(2, 4)];
    const lin = new nn.Linear(c, r, F64);
    const w0 = lin.weight;
    const wv = read(w0);
    P.registerParametrization(lin, 'weight', new RankOne());
    // torch 1.13: ['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1'].
    expect(keysOf(lin)).toEqual(['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']);
    expect(lin.namedParameters().map(([n]) => n)).toEqual(['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']);
    const list = (props(lin).parametrizations as unknown as nn.ModuleDict).get('weight') as unknown as PList;
    expect([list.isTensor, list.ntensors, props(list).original]).toEqual([false, 2, undefined]);
    const [o0, o1] = list.originals();
    expect(o0.requiresGrad && o1.requiresGrad).toBe(true);
    const x = wv.filter((_, k) => k % c === 0), y = wv.slice(0, c).map((v) => v / wv[0]);
    expectClose(read(o0), x, 1e-15, 0);
    expectClose(read(o1), y, 1e-15, 1e-15);
    tidy(() => expectClose(read(props(lin).weight), outerRef(x, y), 1e-14, 1e-15));
    // d/dx Σ G ∘ x yᵀ = G y, d/dy = Gᵀ x.
    const G = randomArray(rng, r * c);
    tidy(() => sum(mul(props(lin).weight, tensor(G, [r, c], F64))).backward());
    expectClose(read(o0.grad!), x.map((_, i) => y.reduce((a, yj, j) => a + G[i * c + j] * yj, 0)), 1e-12, 1e-14);
    expectClose(read(o1.grad!), y.map((_, j) => x.reduce((a, xi, i) => a + G[i * c + j] * xi, 0)), 1e-12, 1e-14);
    lin.zeroGrad();
    // A parametrization after it takes the one tensor it makes; assignment runs Scale's rightInverse, then RankOne's.
    P.registerParametrization(lin, 'weight', new Scale());
    expect(keysOf(lin)).toEqual(['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']);
    const u = randomArray(rng, r), v = randomArray(rng, c);
    tidy(() => void (props(lin).weight = tensor(outerRef(u, v), [r, c], F64)));
    expect(list.originals()[0]).toBe(o0);
    expect(list.originals()[1]).toBe(o1);
    expectClose(read(o0), u.map((a) => (a * v[0]) / 2), 1e-14, 1e-15);
    tidy(() => expectClose(read(props(lin).weight), outerRef(u, v), 1e-13, 1e-14));
    // Removal: leaveParametrized false is refused (torch's ValueError); true makes a new parameter of the value.
    expectAntlerError(() => P.removeParametrizations(lin, 'weight', false), 'INVALID_ARGUMENT', /parametrized in terms of 2 tensors.*cannot be left unparametrized/);
    expect(P.isParametrized(lin, 'weight')).toBe(true);
    P.removeParametrizations(lin, 'weight');
    expect(P.isParametrized(lin)).toBe(false);
    expect(lin.weight).not.toBe(w0);
    expect(lin.weight.requiresGrad).toBe(true);
    expect(lin.namedParameters().map(([n]) => n).sort()).toEqual(['bias', 'weight']);
    expectClose(read(lin.weight), outerRef(u, v), 1e-13, 1e-14);
    // The tensor replaced at registration and the originals are no longer the module's (torch drops them): freed here.
    for (const t of [w0, o0, o1]) expect(t.isDisposed).toBe(false);
    for (const t of [w0, o0, o1]) t.dispose();
    lin.dispose();
  });

  test("several originals of a buffer, and of a parameter that requires no gradient: buffers / no-gradient originals, removal back to a buffer (torch's rule)", () => {
    const m = new WithBuffer(randomArray(rng, 4));
    class Split extends nn.Module {
      forward(a: Tensor, b: Tensor): Tensor {
        return add(a, b);
      }
      rightInverse(x: Tensor): Tensor[] {
        return [mul(x, 0.25), mul(x, 0.75)];
      }
    }
    const b = m.b;
    const bv = read(b);
    const live = memory().numTensors;
    P.registerParametrization(m, 'b', new Split());
    // The buffer the module dropped is freed, as a replaced or deleted buffer is (nobody else holds a buffer).
    expect(b.isDisposed).toBe(true);
    expect(memory().numTensors).toBe(live + 1);
    expect(keysOf(m)).toEqual(['lin.weight', 'lin.bias', 'parametrizations.b.original0', 'parametrizations.b.original1']);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['parametrizations.b.original0', 'parametrizations.b.original1']);
    const originals = (listOf(m, 'b') as unknown as PList).originals();
    expectClose(read(originals[1]), bv.map((t) => 0.75 * t), 1e-15, 0);
    tidy(() => expectClose(read(props(m).b), bv, 1e-15, 0));
    P.removeParametrizations(m, 'b');
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['b']);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['lin.weight', 'lin.bias']);
    expectClose(read(m.b), bv, 1e-15, 0);
    // So are the originals, buffers dropped with the list: nothing left behind.
    expect(originals.map((t) => t.isDisposed)).toEqual([true, true]);
    expect(memory().numTensors).toBe(live);
    // A parameter that requires no gradient: originals without one; removal makes a buffer (torch: a plain tensor).
    const lin = new nn.Linear(3, 2, F64);
    const w0 = lin.weight;
    w0.requiresGrad = false;
    P.registerParametrization(lin, 'weight', new Split());
    const os = (listOf(lin) as unknown as PList).originals();
    expect(os.map((t) => t.requiresGrad)).toEqual([false, false]);
    expect(lin.namedParameters().map(([n]) => n)).toEqual(['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']);
    P.removeParametrizations(lin, 'weight');
    expect(lin.namedBuffers().map(([n]) => n)).toEqual(['weight']);
    expect(lin.namedParameters().map(([n]) => n)).toEqual(['bias']);
    for (const t of [w0, ...os]) t.dispose();
    lin.dispose();
    m.dispose();
  });

  test("a tensor its class reads through a camelCase alias (BatchNorm's runningVar for running_var, SRUCell's weightC for weight_c, scaleX for scale_x): the forward uses the parametrized value, torch's names; removal puts the same tensor back under both", () => {
    const bn = new nn.BatchNorm1d(3, F64);
    bn.eval();
    const rv = bn.runningVar!;
    const x = tensor(randomArray(rng, 12), [4, 3], F64);
    const y0 = tidy(() => read(bn.forward(x)));
    P.registerParametrization(bn, 'running_var', new Scale());
    // torch 1.13: these keys; the eval forward unchanged (2 · 1/2: the parametrized running_var is 1), original 0.5.
    expect(keysOf(bn)).toEqual(['weight', 'bias', 'running_mean', 'num_batches_tracked', 'parametrizations.running_var.original']);
    expect(read(rv)).toEqual([0.5, 0.5, 0.5]);
    tidy(() => expectClose(read(bn.forward(x)), y0, 1e-15, 0));
    tidy(() => expect(read(bn.runningVar!)).toEqual([1, 1, 1]));
    // Training updates the computed running_var in place, not original (torch: original stays 0.5).
    bn.train();
    tidy(() => void bn.forward(x));
    expect(read(rv)).toEqual([0.5, 0.5, 0.5]);
    P.removeParametrizations(bn, 'running_var', false);
    expect(bn.runningVar).toBe(rv);
    expect(props(bn).running_var).toBe(rv);
    expect(bn.namedBuffers().map(([n]) => n)).toEqual(['running_mean', 'num_batches_tracked', 'running_var']);
    bn.dispose();

    // SRUCell: weight_c (a parameter) doubled by Double (no rightInverse: original is weightC as it was).
    const cell = new nn.SRUCell(3, 3, F64);
    const ref = cell.clone();
    const wc = cell.weightC;
    tidy(() => noGrad(() => void ref.weightC.assign(mul(ref.weightC, 2))));
    const xs = tensor(randomArray(rng, 3 * 2 * 3), [3, 2, 3], F64);
    const expected = tidy(() => read(ref.forward(xs).output));
    P.registerParametrization(cell, 'weight_c', new Double());
    // torch: no second name for the original (antler registered the raw weightC as a parameter 'weightC').
    expect(keysOf(cell)).toEqual(['weight', 'bias', 'scale_x', 'parametrizations.weight_c.original']);
    expect(cell.parameters()).toHaveLength(3);
    tidy(() => expectClose(read(cell.forward(xs).output), expected, 1e-14, 1e-15));
    P.removeParametrizations(cell, 'weight_c');
    expect(cell.weightC).toBe(wc);
    expect(props(cell).weight_c).toBe(wc);
    expect(keysOf(cell)).toEqual(['weight', 'bias', 'weight_c', 'scale_x']);
    tidy(() => expectClose(read(cell.forward(xs).output), expected, 1e-14, 1e-15));
    // scale_x (a buffer) through scaleX: Scale leaves the forward as it was.
    P.registerParametrization(cell, 'scale_x', new Scale());
    expect(keysOf(cell)).toEqual(['weight', 'bias', 'weight_c', 'parametrizations.scale_x.original']);
    tidy(() => expectClose(read(cell.forward(xs).output), expected, 1e-14, 1e-15));
    P.removeParametrizations(cell, 'scale_x');
    expect(keysOf(cell)).toEqual(['weight', 'bias', 'weight_c', 'scale_x']);
    tidy(() => expectClose(read(cell.forward(xs).output), expected, 1e-14, 1e-15));
    for (const d of [cell, ref, x, xs]) d.dispose();
  });

  test("a rightInverse returning a tensor that existed before (the parametrization's own buffer) at registration or on assignment: copied into the original, the buffer left as it was", () => {
    /** forward(x) = x + base; rightInverse gives base's values back whatever it is given (a reset to base: x = 0). */
    class Offset extends nn.Module {
      declare base: Tensor;
      declare zero: Tensor;
      constructor(n: number) {
        super();
        this.base = this.registerBuffer('base', tensor(randomArray(rng, n), [n], F64));
        this.zero = this.registerBuffer('zero', tensor(new Array<number>(n).fill(0), [n], F64));
      }
      forward(x: Tensor, s?: Tensor): Tensor {
        return s ? add(mul(x, s), this.base) : add(x, this.base);
      }
      rightInverse(): Tensor | Tensor[] {
        return this.zero;
      }
    }
    class Both extends Offset {
      rightInverse(): Tensor[] {
        return [this.zero, this.base];
      }
    }
    const m = new WithBuffer(randomArray(rng, 3));
    const p = new Offset(3);
    const base = read(p.base);
    P.registerParametrization(m, 'b', p);
    expect(p.zero.isDisposed).toBe(false);
    tidy(() => expectClose(read(props(m).b), base, 0, 0));
    tidy(() => void (props(m).b = tensor([1, 2, 3], [3], F64)));
    expect(p.zero.isDisposed).toBe(false);
    tidy(() => expectClose(read(props(m).b), base, 0, 0));
    P.removeParametrizations(m, 'b');
    const lin = new nn.Linear(3, 1, F64);
    const q = new Both(3);
    const w0 = lin.weight;
    P.registerParametrization(lin, 'weight', q, { unsafe: true });
    const os = (listOf(lin) as unknown as PList).originals();
    tidy(() => void (props(lin).weight = tensor([1, 2, 3], [1, 3], F64)));
    expect([q.zero.isDisposed, q.base.isDisposed]).toEqual([false, false]);
    tidy(() => expectClose(read(props(lin).weight), read(q.base), 0, 0));
    P.removeParametrizations(lin, 'weight');
    // The parameters the module dropped are left to their holders (none here).
    for (const d of [m, p, lin, q, w0, ...os]) d.dispose();
  });

  test("errors as torch's: rightInverse returning neither a tensor nor an array (or an array holding something else) at registration; on assignment the wrong count, a dtype, a tensor for several; nothing changes", () => {
    const lin = new nn.Linear(3, 2, F64);
    const w0 = lin.weight;
    const p = new RankOne();
    p.bad = 'number';
    expectAntlerError(() => P.registerParametrization(lin, 'weight', p), 'INVALID_ARGUMENT', /must return a Tensor or an array of tensors; got 3/);
    p.bad = 'element';
    expectAntlerError(() => P.registerParametrization(lin, 'weight', p), 'INVALID_ARGUMENT', /must return a Tensor or an array of tensors; got 3 as element 1/);
    expect(P.isParametrized(lin)).toBe(false);
    expect(lin.weight).toBe(w0);
    expect(keysOf(lin)).toEqual(['weight', 'bias']);
    p.bad = 'none';
    P.registerParametrization(lin, 'weight', p);
    const [o0, o1] = (listOf(lin) as unknown as PList).originals();
    const before = [read(o0), read(o1)];
    const value = tensor([1, 2, 3, 2, 4, 6], [2, 3], F64);
    for (const [bad, code, re] of [
      ['three', 'INVALID_ARGUMENT', /must return an array of 2 tensors \(original0 … original1\); got an array of 3/],
      ['dtype', 'DTYPE_MISMATCH', /returned as tensor 1 float32 while 'original1' is float64/],
      ['tensor', 'INVALID_ARGUMENT', /must return an array of 2 tensors \(one per original\); got a Tensor/],
    ] as const) {
      p.bad = bad;
      expectAntlerError(() => (props(lin).weight = value), code, re);
      expect([read(o0), read(o1)]).toEqual(before);
    }
    value.dispose();
    P.removeParametrizations(lin, 'weight');
    for (const t of [w0, o0, o1]) t.dispose();
    lin.dispose();
  });
});

describe(`nn.utils.parametrizations.spectralNorm (seed ${SEED})`, () => {
  test('σ equals the largest singular value after many power iterations; u, v frozen in eval; PyTorch names', () => {
    const [m, n] = [5, 4];
    const s = [3 + rng.uniform(0, 1), 1.5, 0.7, 0.2];
    const W = withSingularValues(rng, m, n, s).flat();
    const fc = new nn.Linear(n, m, F64);
    tidy(() => fc.weight.assign(tensor(W, [m, n], F64)));
    PS.spectralNorm(fc, { nPowerIterations: 60, seed: 7 });
    expect(keysOf(fc)).toEqual(['bias', 'parametrizations.weight.original', 'parametrizations.weight.0._u', 'parametrizations.weight.0._v']);
    const sn = (listOf(fc) as unknown as { get(i: number): nn.Module }).get(0) as unknown as { _u: Tensor; _v: Tensor };
    const w = tidy(() => read(props(fc).weight));
    // weight = W / σ elementwise: σ = W / weight; the largest singular value of W is s[0] (gap ratio 2: 2^-75 after 75 steps).
    const sigmas = W.map((v, i) => v / w[i]);
    expectClose(sigmas, W.map(() => s[0]), 1e-12, 0, 'sigma');
    // u = W v / ‖W v‖ (float64 reference), unit vectors.
    const u = read(sn._u), v = read(sn._v);
    const Wv = matmulRef(W, v, m, n, 1);
    const nWv = Math.hypot(...Wv);
    expectClose(u, Wv.map((x) => x / nWv), 1e-10, 1e-12, 'u');
    fc.eval();
    const u0 = read(sn._u);
    tidy(() => void props(fc).weight);
    tidy(() => void fc.forward(tensor(randomArray(rng, n), [1, n], F64)));
    expect(read(sn._u)).toEqual(u0);
    fc.train();
    // A read in training mode steps u again (converged: to rounding).
    tidy(() => void props(fc).weight);
    expectClose(read(sn._u), u0, 1e-12, 1e-14, 'u after a training read');
    fc.dispose();
  });

  test('training-mode reads step u and v (torch: 15 steps on registration, 1 in the registration check, 1 per read)', () => {
    const W = randomArray(rng, 12);
    const fc = new nn.Linear(4, 3, F64);
    tidy(() => fc.weight.assign(tensor(W, [3, 4], F64)));
    // Two modules with the same seed: one registered in eval (no step in the check), one in training mode.
    const ev = new nn.Linear(4, 3, F64);
    tidy(() => ev.weight.assign(tensor(W, [3, 4], F64)));
    ev.eval();
    PS.spectralNorm(fc, { seed: 3 });
    PS.spectralNorm(ev, { seed: 3 });
    const get = (mm: nn.Module) => (listOf(mm) as unknown as { get(i: number): { _u: Tensor; _v: Tensor } }).get(0);
    // One float64 step of the reference power iteration takes ev's (u, v) to fc's.
    const v0 = read(get(ev)._v);
    const u1 = matmulRef(W, v0, 3, 4, 1), nu = Math.hypot(...u1);
    const un = u1.map((x) => x / nu);
    const v1 = matmulRef(W, un, 4, 3, 1, true), nv = Math.hypot(...v1);
    expectClose(read(get(fc)._u), un, 1e-13, 1e-14, 'u after the check step');
    expectClose(read(get(fc)._v), v1.map((x) => x / nv), 1e-13, 1e-14, 'v after the check step');
    // σ = uᵀ W v with the stored vectors.
    const u = read(get(ev)._u), v = read(get(ev)._v);
    const sigma = u.reduce((a, ui, i) => a + ui * matmulRef(W, v, 3, 4, 1)[i], 0);
    tidy(() => expectClose(read(props(ev).weight), W.map((x) => x / sigma), 1e-14, 0, 'W / sigma'));
    fc.dispose();
    ev.dispose();
  });

  test('state dict round trip: a module loaded from another gives the same outputs; dim 1 for ConvTranspose1d; gradient', () => {
    const a = PS.spectralNorm(new nn.Linear(4, 3, F64), { seed: 1 });
    const b = PS.spectralNorm(new nn.Linear(4, 3, F64), { seed: 2 });
    tidy(() => b.loadStateDict(a.stateDict()));
    a.eval();
    b.eval();
    const x = tensor(randomArray(rng, 8), [2, 4], F64);
    tidy(() => expect(read(b.forward(x))).toEqual(read(a.forward(x))));
    // The gradient of a loss reaches the original weight.
    a.train();
    tidy(() => sum(square(a.forward(x))).backward());
    expect(listOf(a).original.grad).not.toBeNull();
    const ct = PS.spectralNorm(new nn.ConvTranspose1d(2, 5, 3, F64), { seed: 4 });
    const sn = (listOf(ct) as unknown as { get(i: number): { _u: Tensor; _v: Tensor; dim: number } }).get(0);
    expect(sn.dim).toBe(1);
    expect(sn._u.shape).toEqual([5]); // the weight [in 2, out 5, k 3] with dim 1 first: [5, 6]
    expect(sn._v.shape).toEqual([6]);
    x.dispose();
    a.dispose();
    b.dispose();
    ct.dispose();
  });
});

describe(`nn.utils.parametrizations.orthogonal (seed ${SEED})`, () => {
  const shapes: [number, number][] = [[4, 4], [6, 3], [3, 6]];
  for (const map of ['matrix_exp', 'cayley', 'householder'] as const)
    for (const [o, i] of shapes)
      test(`${map} ${o}×${i}: WᵀW = I to 1e-12 at registration, after an assignment and after training steps`, () => {
        const fc = new nn.Linear(i, o, F64);
        PS.orthogonal(fc, { orthogonalMap: map, seed: 5 });
        expect(keysOf(fc)).toEqual(['bias', 'parametrizations.weight.original', 'parametrizations.weight.0.base']);
        tidy(() => expect(orthError(read(props(fc).weight), o, i)).toBeLessThan(1e-12));
        const x = tensor(randomArray(rng, 8 * i), [8, i], F64);
        const y = tensor(randomArray(rng, 8 * o), [8, o], F64);
        const opt = new optim.Adam(fc.parameters(), { lr: 0.05 });
        const loss = () => tidy(() => sum(square(sub(fc.forward(x), y))).item());
        const first = loss();
        for (let k = 0; k < 20; k++)
          tidy(() => {
            opt.zeroGrad();
            sum(square(sub(fc.forward(x), y))).backward();
            opt.step();
          });
        expect(loss()).toBeLessThan(first);
        tidy(() => expect(orthError(read(props(fc).weight), o, i)).toBeLessThan(1e-12));
        // Assigning an orthogonal matrix: the weight becomes it (its completion's first columns).
        const q = tidy(() => read(props(fc).weight));
        tidy(() => void (props(fc).weight = tensor(q, [o, i], F64)));
        tidy(() => expectClose(read(props(fc).weight), q, 0, 1e-13, 'assigned'));
        opt.dispose?.();
        x.dispose();
        y.dispose();
        fc.dispose();
      });

  test("each map's values against float64 references (exp by scaled Taylor series, Cayley by elimination, the Householder product), square without trivialization and tall with base", () => {
    const tril = (X: number[][], k = 0) => X.map((r, i) => r.map((v, j) => (j - i <= k ? v : 0)));
    const skewOf = (X: number[][], n: number) => {
      const L = tril(X).map((r) => [...r, ...new Array<number>(n - r.length).fill(0)]);
      return L.map((r, i) => r.map((v, j) => v - L[j][i]));
    };
    const expRef = (A: number[][]) => {
      const n = A.length, k = 10;
      const B = A.map((r) => r.map((v) => v / 2 ** k));
      let term = eyeMat(n), E = eyeMat(n);
      for (let t = 1; t <= 25; t++) {
        term = mm(term, B).map((r) => r.map((v) => v / t));
        E = E.map((r, i) => r.map((v, j) => v + term[i][j]));
      }
      for (let t = 0; t < k; t++) E = mm(E, E);
      return E;
    };
    const cayleyRef = (A: number[][]) => {
      // (I − A/2) Q = (I + A/2), Gauss–Jordan with partial pivoting.
      const n = A.length;
      const M = A.map((r, i) => r.map((v, j) => (i === j ? 1 : 0) - v / 2));
      const R = A.map((r, i) => r.map((v, j) => (i === j ? 1 : 0) + v / 2));
      for (let c = 0; c < n; c++) {
        let p = c;
        for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
        [M[c], M[p]] = [M[p], M[c]];
        [R[c], R[p]] = [R[p], R[c]];
        for (let r = 0; r < n; r++) {
          if (r === c) continue;
          const f = M[r][c] / M[c][c];
          M[r] = M[r].map((v, j) => v - f * M[c][j]);
          R[r] = R[r].map((v, j) => v - f * R[c][j]);
        }
      }
      return R.map((r, i) => r.map((v) => v / M[i][i]));
    };
    const householderRef = (X: number[][]) => {
      const n = X.length, k = X[0].length;
      let H = eyeMat(n);
      for (let i = 0; i < k; i++) {
        const v = X.map((r, q) => (q < i ? 0 : q === i ? 1 : r[i]));
        const tau = 2 / (1 + X.reduce((a, r, q) => a + (q > i ? r[i] * r[i] : 0), 0));
        H = mm(H, eyeMat(n).map((r, a) => r.map((e, b) => e - tau * v[a] * v[b])));
      }
      return H.map((r) => r.slice(0, k).map((v, j) => v * Math.sign(X[j][j])));
    };
    const cases: [OrthMap, number, number, boolean][] = [
      ['matrix_exp', 4, 4, false],
      ['cayley', 4, 4, false],
      ['matrix_exp', 6, 3, true],
      ['cayley', 6, 3, true],
      ['householder', 6, 3, true],
    ];
    for (const [map, n, k, triv] of cases) {
      const fc = new nn.Linear(k, n, F64);
      PS.orthogonal(fc, { orthogonalMap: map, useTrivialization: triv, seed: 2 });
      const orig = listOf(fc).original;
      // Off-diagonal draws of size ~0.5 around original's start (−I with trivialization: the diagonal stays −1).
      const x = randomArray(rng, n * k).map((v, i) => (triv && i % (k + 1) === 0 && i < k * k ? -1 : 0.5 * v));
      tidy(() => noGrad(() => orig.assign(tensor(x, [n, k], F64))));
      const X = toMat(x, n, k);
      const Q = map === 'householder' ? householderRef(X) : (map === 'matrix_exp' ? expRef : cayleyRef)(skewOf(X, n)).map((r) => r.slice(0, k));
      const base = triv ? toMat(read((listOf(fc) as unknown as { get(i: number): { base: Tensor } }).get(0).base), n, n) : eyeMat(n);
      const W = mm(base, Q);
      tidy(() => expect(maxAbsDiff(toMat(read(props(fc).weight), n, k), W)).toBeLessThan(1e-12));
      fc.dispose();
    }
  });

  test('float32: orthogonal to float32 rounding; the optimizer made before registration stays bound; a 1-D spectral norm normalises', () => {
    for (const map of ['matrix_exp', 'cayley', 'householder'] as const) {
      const fc = new nn.Linear(5, 7);
      const w = fc.weight;
      const opt = new optim.SGD(fc.parameters(), { lr: 0.1 });
      PS.orthogonal(fc, { orthogonalMap: map, seed: 1 });
      expect(listOf(fc).original).toBe(w);
      const x = tensor(randomArray(rng, 10), [2, 5]);
      tidy(() => {
        sum(square(fc.forward(x))).backward();
        opt.step();
      });
      tidy(() => expect(orthError(read(props(fc).weight), 7, 5)).toBeLessThan(2e-6));
      x.dispose();
      fc.dispose();
    }
    const b = PS.spectralNorm(new nn.Linear(3, 4, F64), { name: 'bias' });
    const raw = read(listOf(b, 'bias').original);
    const nb = Math.hypot(...raw);
    tidy(() => expectClose(read(props(b).bias), raw.map((v) => v / nb), 1e-15, 0, '1-D'));
    b.dispose();
  });

  test("PyTorch's default map: matrix_exp when square, householder otherwise; GRU/LSTM weight_hh_l0 forward and backward, sequential and deer", () => {
    const sq = PS.orthogonal(new nn.Linear(3, 3, F64));
    expect((listOf(sq) as unknown as { get(i: number): { orthogonalMap: string } }).get(0).orthogonalMap).toBe('matrix_exp');
    const tall = PS.orthogonal(new nn.Linear(3, 5, F64));
    expect((listOf(tall) as unknown as { get(i: number): { orthogonalMap: string } }).get(0).orthogonalMap).toBe('householder');
    sq.dispose();
    tall.dispose();
    for (const Rnn of [nn.GRU, nn.LSTM]) {
      const [I, H] = [3, 4];
      const rnn = PS.orthogonal(new Rnn(I, H, { dtype: 'float64' }) as nn.Module, { name: 'weight_hh_l0', seed: 9 });
      expect(keysOf(rnn)).toContain('parametrizations.weight_hh_l0.original');
      tidy(() => expect(orthError(read(props(rnn).weight_hh_l0), props(rnn).weight_hh_l0.shape[0], H)).toBeLessThan(1e-12));
      const x = tensor(randomArray(rng, 5 * 2 * I), [5, 2, I], F64);
      const outs: number[][] = [];
      for (const mode of ['sequential', 'deer'] as const) {
        tidy(() => {
          const out = (rnn.forward as (x: Tensor, s?: unknown, o?: unknown) => { output: Tensor })(x, null, { mode });
          outs.push(read(out.output));
          sum(square(out.output)).backward();
        });
        const g = listOf(rnn, 'weight_hh_l0').original.grad;
        expect(g).not.toBeNull();
        expect(read(g!).some((v) => v !== 0)).toBe(true);
        rnn.zeroGrad();
      }
      expectClose(outs[1], outs[0], 1e-8, 1e-10, `${Rnn.name} deer vs sequential`);
      // The recurrence uses the orthogonal matrix: a plain module with the same weights agrees.
      const plain = new Rnn(I, H, { dtype: 'float64' }) as nn.Module;
      tidy(() => {
        for (const [k, t] of Object.entries(plain.stateDict())) {
          const src = k === 'weight_hh_l0' ? props(rnn).weight_hh_l0 : rnn.stateDict()[k];
          noGrad(() => t.assign(src));
        }
      });
      tidy(() => {
        const out = (plain.forward as (x: Tensor) => { output: Tensor })(x);
        expectClose(read(out.output), outs[0], 1e-12, 1e-13, `${Rnn.name} vs plain`);
      });
      plain.dispose();
      x.dispose();
      rnn.dispose();
    }
  });

  test("householder: a diagonal of original moved off -1 (AdamW's weight decay, a finite-difference probe) keeps the weight orthogonal, each column's sign as the diagonal's (torch 1.13's trunc zeroes it)", () => {
    // An LSTM's weight_hh_l0 is tall ([4H, H]): householder by default.
    const H = rng.int(2, 4);
    const fc = PS.orthogonal(new nn.Linear(H, 4 * H, F64), { seed: 3 });
    const orig = listOf(fc).original;
    const x = tensor(randomArray(rng, 3 * H), [3, H], F64);
    const opt = new optim.AdamW(fc.parameters(), { lr: 1e-3 }); // weightDecay 0.01 by default, as torch's
    try {
      tidy(() => {
        sum(square(fc.forward(x))).backward();
        opt.step();
      });
      // The diagonal decayed to −(1 − lr·wd); before, the weight was all zeros here (WᵀW = 0).
      const d = tidy(() => read(orig).filter((_, i) => i % (H + 1) === 0 && i < H * H));
      for (const v of d) {
        expect(v).toBeGreaterThan(-1);
        expect(v).toBeLessThan(-0.99);
      }
      tidy(() => expect(orthError(read(props(fc).weight), 4 * H, H)).toBeLessThan(1e-12));
      // A diagonal of −0.5 or −1.5 gives the weight of −1 (the strict lower triangle unchanged); +0.7 flips that column.
      const at = (diag: number[]) => tidy(() => {
        const v = read(orig);
        diag.forEach((e, j) => (v[j * (H + 1)] = e));
        noGrad(() => orig.assign(tensor(v, orig.shape, F64)));
        return read(props(fc).weight);
      });
      const ref = at(new Array<number>(H).fill(-1));
      expect(maxAbsDiff([at(new Array<number>(H).fill(-0.5))], [ref])).toBe(0);
      expect(maxAbsDiff([at(new Array<number>(H).fill(-1.5))], [ref])).toBe(0);
      const flipped = at([0.7, ...new Array<number>(H - 1).fill(-1)]);
      expect(maxAbsDiff([flipped], [ref.map((v, i) => (i % H === 0 ? -v : v))])).toBe(0);
    } finally {
      opt.dispose();
      x.dispose();
      fc.dispose();
    }
  });

  test("householder: central differences of the gradient along any direction of original (what AdaHessian's fallback for recurrent layers takes) agree with the exact Hessian product (a probe moved the diagonal off -1: torch's trunc zeroed the weight there)", () => {
    const H = rng.int(2, 3);
    const fc = PS.orthogonal(new nn.Linear(H, 4 * H, F64), { seed: 5 });
    const orig = listOf(fc).original;
    const xs = tensor(randomArray(rng, 3 * H), [3, H], F64);
    const v = tensor(randomArray(rng, 4 * H * H), [4 * H, H], F64); // the diagonal included
    const loss = () => sum(square(tanh(fc.forward(xs))));
    try {
      tidy(() => {
        const [g] = autograd.grad(loss(), [orig], { createGraph: true });
        const hv = read(autograd.grad(sum(mul(g!, v)), [orig])[0]!);
        const h = 1e-5;
        const gradAt = (s: number) =>
          tidy(() => {
            noGrad(() => orig.assign(add(orig, mul(v, s))));
            const r = read(autograd.grad(loss(), [orig])[0]!);
            noGrad(() => orig.assign(sub(orig, mul(v, s))));
            return r;
          });
        const gp = gradAt(h), gm = gradAt(-h);
        const fd = gp.map((e, i) => (e - gm[i]) / (2 * h));
        // Measured: 1e-9 after the fix; before it the probes had a zero weight (differences of order 1/h).
        expect(maxAbsDiff([fd], [hv])).toBeLessThan(1e-6 * Math.max(1, ...hv.map(Math.abs)));
      });
    } finally {
      xs.dispose();
      v.dispose();
      fc.dispose();
    }
  });

  test('useTrivialization false: matrix_exp keeps the weight as original (not assignable); householder is NOT_SUPPORTED', () => {
    const fc = new nn.Linear(3, 3, F64);
    const w = read(fc.weight);
    PS.orthogonal(fc, { useTrivialization: false });
    expect(read(listOf(fc).original)).toEqual(w);
    expect(keysOf(fc)).toEqual(['bias', 'parametrizations.weight.original']);
    tidy(() => expect(orthError(read(props(fc).weight), 3, 3)).toBeLessThan(1e-12));
    tidy(() => expectAntlerError(() => (props(fc).weight = matmul(props(fc).weight, props(fc).weight)), 'NOT_SUPPORTED', /cannot be assigned/));
    const wide = new nn.Linear(3, 4, F64);
    expectAntlerError(() => PS.orthogonal(wide, { orthogonalMap: 'householder', useTrivialization: false }), 'NOT_SUPPORTED', /geqrf/);
    wide.dispose();
    fc.dispose();
  });
});

describe(`nn.utils.spectralNorm, the hook-style API (seed ${SEED})`, () => {
  const normalizeRef = (a: number[]) => {
    const n = Math.max(Math.hypot(...a), 1e-12);
    return a.map((x) => x / n);
  };

  test("torch's names; one step (v then u) per training forward, none in eval; removeSpectralNorm; clone", () => {
    const [o, i] = [3, 5];
    const fc = nn.utils.spectralNorm(new nn.Linear(i, o, F64), 'weight', 1, 1e-12, null, 11);
    expect(keysOf(fc)).toEqual(['bias', 'weight_orig', 'weight_u', 'weight_v']);
    const W = read(props(fc).weight_orig), u0 = read(props(fc).weight_u);
    expect(read(props(fc).weight)).toEqual(W); // until the first forward: the weight's values
    const x = tensor(randomArray(rng, 2 * i), [2, i], F64);
    tidy(() => void fc.forward(x));
    const v1 = normalizeRef(matmulRef(W, u0, i, o, 1, true));
    const u1 = normalizeRef(matmulRef(W, v1, o, i, 1));
    expectClose(read(props(fc).weight_v), v1, 1e-13, 1e-15, 'v');
    expectClose(read(props(fc).weight_u), u1, 1e-13, 1e-15, 'u');
    const sigma = u1.reduce((a, ui, k) => a + ui * matmulRef(W, v1, o, i, 1)[k], 0);
    expectClose(read(props(fc).weight), W.map((w) => w / sigma), 1e-13, 0, 'weight');
    // The gradient reaches weight_orig.
    tidy(() => sum(square(fc.forward(x))).backward());
    expect(props(fc).weight_orig.grad).not.toBeNull();
    fc.eval();
    const u2 = read(props(fc).weight_u);
    tidy(() => void fc.forward(x));
    expect(read(props(fc).weight_u)).toEqual(u2);
    const copy = fc.clone();
    tidy(() => expect(read(copy.forward(x))).toEqual(read(fc.forward(x))));
    nn.utils.removeSpectralNorm(copy);
    expect(keysOf(copy)).toEqual(['bias', 'weight']);
    tidy(() => void fc.forward(x)); // the original keeps its hook
    expect(keysOf(fc)).toEqual(['bias', 'weight_orig', 'weight_u', 'weight_v']);
    const v = read(props(fc).weight_v), u = read(props(fc).weight_u), Wn = read(props(fc).weight_orig);
    const s = u.reduce((a, ui, k) => a + ui * matmulRef(Wn, v, o, i, 1)[k], 0);
    nn.utils.removeSpectralNorm(fc);
    expectClose(read(fc.weight), Wn.map((w) => w / s), 1e-13, 0, 'removed');
    expectAntlerError(() => nn.utils.removeSpectralNorm(fc), 'INVALID_ARGUMENT', /no spectral norm of 'weight'/);
    copy.dispose();
    x.dispose();
    fc.dispose();
  });

  test("a subclass of a ConvTranspose layer takes dim 1 too (torch's isinstance), in both spectral norms", () => {
    class Up extends nn.ConvTranspose2d {}
    const a = nn.utils.spectralNorm(new Up(2, 5, 3, F64));
    expect(props(a).weight_u.shape).toEqual([5]); // weight [in 2, out 5, 3, 3] with dim 1 first: [5, 18]
    expect(props(a).weight_v.shape).toEqual([18]);
    const b = PS.spectralNorm(new Up(2, 5, 3, F64));
    const sn = (listOf(b) as unknown as { get(i: number): { _u: Tensor; _v: Tensor; dim: number } }).get(0);
    expect(sn.dim).toBe(1);
    expect(sn._u.shape).toEqual([5]);
    expect(sn._v.shape).toEqual([18]);
    a.dispose();
    b.dispose();
  });

  test('a module whose forward calls itself: the nested calls share the outer call\'s weight (hook-style spectralNorm and weightNorm), gradient as with it computed once', () => {
    const n = 3;
    const x = tensor(randomArray(rng, 2 * n), [2, n], F64);
    for (const kind of ['spectral', 'weight'] as const) {
      const m = new Recursive(tensor(randomArray(rng, n * n), [n, n], F64));
      const orig = kind === 'spectral' ? nn.utils.spectralNorm(m, 'weight', 1, 1e-12, null, 5) && props(m).weight_orig : null;
      if (kind === 'weight') nn.utils.weightNorm(m, 'weight', null);
      const y = tidy(() => {
        const out = m.forward(x) as Tensor;
        sum(square(out)).backward();
        return read(out);
      });
      // The weight the forward used (held until the next one) as a plain tensor through the same recursion.
      const W = props(m).weight.clone();
      W.requiresGrad = true;
      const plain = (d: number): Tensor => tanh(add(matmul(d > 0 ? plain(d - 1) : x, transpose(W)), matmul(x, W)));
      tidy(() => expectClose(y, read(plain(2)), 1e-15, 0, `${kind}: output`));
      if (orig) expect(read(orig.grad!).some((g) => g !== 0)).toBe(true);
      W.dispose();
      m.dispose();
    }
    x.dispose();
  });

  test('a GRU weight_hh_l0 (dim 0), a ConvTranspose1d (dim 1), errors', () => {
    const gru = nn.utils.spectralNorm(new nn.GRU(3, 4, { dtype: 'float64' }), 'weight_hh_l0');
    expect(keysOf(gru)).toContain('weight_hh_l0_orig');
    expect(props(gru).weight_hh_l0_u.shape).toEqual([12]);
    const x = tensor(randomArray(rng, 4 * 3), [4, 1, 3], F64);
    tidy(() => sum(square((gru.forward(x) as { output: Tensor }).output)).backward());
    expect(read(props(gru).weight_hh_l0_orig.grad!).some((g) => g !== 0)).toBe(true);
    const ct = nn.utils.spectralNorm(new nn.ConvTranspose1d(2, 5, 3, F64));
    expect(props(ct).weight_u.shape).toEqual([5]);
    expect(props(ct).weight_v.shape).toEqual([6]);
    expectAntlerError(() => nn.utils.spectralNorm(ct), 'INVALID_ARGUMENT', /already has a spectral norm/);
    expectAntlerError(() => nn.utils.spectralNorm(ct, 'kernel'), 'INVALID_ARGUMENT', /has no parameter 'kernel'/);
    expectAntlerError(() => nn.utils.spectralNorm(ct, 'bias', 0), 'INVALID_ARGUMENT', /nPowerIterations must be a positive integer/);
    x.dispose();
    gru.dispose();
    ct.dispose();
  });
});
