/**
 * Tensor.backward() and the graph behind it: accumulation, retainGraph,
 * non-scalar seeds, noGrad/detach, leaf rules, shared subexpressions, long
 * chains, lifetime of the saved tensors, and valueAndGrad/grad, all against
 * float64 analytic references computed in JavaScript.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { backprop, expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeRng, matmul2d, randomArray, tensorCounts } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;
const F64 = { dtype: 'float64' as const };

function leaf(values: number[], shape: number[]): Tensor {
  return tensor(values, shape, { dtype: 'float64', requiresGrad: true });
}

const baseline = expectNoLeaksInSuite(tensorCounts);

describe(`backward() (seed ${SEED})`, () => {
  test('gradients of two backward() calls add up in .grad', () => {
    const xs = randomArray(rng, 12, -2, 2);
    const x = leaf(xs, [3, 4]);
    backprop(() => x.mul(3).sum());
    expectClose(x.grad!.dataSync(), xs.map(() => 3), 0, 0, 'first backward');
    const first = x.grad!;
    backprop(() => x.mul(x).sum());
    // d/dx Σ 3x + d/dx Σ x² = 3 + 2x
    expectClose(x.grad!.dataSync(), xs.map((v) => 3 + 2 * v), 1e-15, 1e-14, 'accumulated');
    expect(x.grad!.shape).toEqual([3, 4]);
    expect(x.grad!.dtype).toBe('float64');
    expect(x.grad).toBe(first); // accumulated in place (PyTorch's AccumulateGrad): a reference taken before stays valid
    expectClose(first.dataSync(), xs.map((v) => 3 + 2 * v), 1e-15, 1e-14, 'through the earlier reference');
    x.dispose();
  });

  test('a second backward() through a freed graph throws INVALID_ARGUMENT naming retainGraph; retainGraph allows it', () => {
    const xs = randomArray(rng, 5, -1, 1);
    const x = leaf(xs, [5]);
    const y = tidy(() => x.mul(x).exp().sum());
    // d/dx Σ exp(x²) = 2x exp(x²)
    const once = xs.map((v) => 2 * v * Math.exp(v * v));
    y.backward(undefined, { retainGraph: true });
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expectClose(x.grad!.dataSync(), once.map((g) => 3 * g), 1e-14, 1e-15, 'three passes');
    expectAntlerError(() => y.backward(), 'INVALID_ARGUMENT', /retainGraph/);
    // The failed call changed nothing.
    expectClose(x.grad!.dataSync(), once.map((g) => 3 * g), 1e-14, 1e-15, 'after the failed pass');
    y.dispose();
    x.dispose();
  });

  test('backward() on a leaf itself: its .grad is the gradient given (ones for one element), and a second call adds to it (as PyTorch)', () => {
    const n = rng.int(2, 6);
    const gs = randomArray(rng, n);
    const x = leaf(randomArray(rng, n), [n]);
    const g = tensor(gs, [n], F64);
    x.backward(g);
    expectExact(x.grad!.dataSync(), gs, 'the gradient given');
    x.backward(g);
    expectExact(x.grad!.dataSync(), gs.map((v) => 2 * v), 'two calls');
    const s = leaf([rng.uniform(-1, 1)], []);
    s.backward();
    expect(s.grad!.item()).toBe(1);
    antler.dispose([x, g, s]);
  });

  test('without retainGraph the first backward frees the graph', () => {
    const x = leaf(randomArray(rng, 4), [4]);
    const y = tidy(() => x.tanh().sum());
    y.backward();
    expectAntlerError(() => y.backward(undefined, { retainGraph: true }), 'INVALID_ARGUMENT', /retainGraph/);
    y.dispose();
    x.dispose();
  });

  test('a graph whose ops saved nothing can run backward again without retainGraph (as PyTorch); one that saved something cannot', () => {
    const xs = randomArray(rng, 4);
    const x = leaf(xs, [4]);
    const c = rng.uniform(0.5, 2);
    // add, a multiplication by a number, reshape and sum save nothing.
    const y = tidy(() => x.add(1).mul(c).reshape([2, 2]).sum());
    y.backward();
    y.backward();
    expectClose(x.grad!.dataSync(), xs.map(() => 2 * c), 1e-15, 0, 'two passes');
    // exp saves its output: the second pass through it is refused, and changes nothing.
    const z = tidy(() => x.add(1).exp().sum());
    z.backward();
    const after = Array.from(x.grad!.dataSync());
    expectAntlerError(() => z.backward(), 'INVALID_ARGUMENT', /the graph through 'exp' was already freed/);
    expectExact(x.grad!.dataSync(), after);
    antler.dispose([y, z, x]);
  });

  test('a non-scalar output needs a gradient (SHAPE_MISMATCH) and uses the one given', () => {
    const xs = randomArray(rng, 6, -2, 2);
    const gs = randomArray(rng, 6, -1, 1);
    const x = leaf(xs, [2, 3]);
    const y = tidy(() => x.mul(x));
    expectAntlerError(() => y.backward(), 'SHAPE_MISMATCH', /gradient/);
    const wrong = tensor(gs, [3, 2], F64);
    expectAntlerError(() => y.backward(wrong), 'SHAPE_MISMATCH');
    const g = tensor(gs, [2, 3], F64);
    y.backward(g);
    expectClose(x.grad!.dataSync(), xs.map((v, i) => 2 * v * gs[i]), 1e-15, 0, 'g ⊙ 2x');
    expect(g.isDisposed).toBe(false); // the caller's seed is not consumed
    antler.dispose([x, y, g, wrong]);
  });

  test("a gradient of another dtype is cast to the output's, as PyTorch's engine does", () => {
    const xs = randomArray(rng, 5, -2, 2);
    const gs = randomArray(rng, 5, -1, 1);
    const x = tensor(xs, [5], { requiresGrad: true }); // float32
    const y = tidy(() => x.mul(3));
    const g64 = tensor(gs, [5], F64);
    y.backward(g64);
    expect(x.grad!.dtype).toBe('float32');
    expectClose(x.grad!.dataSync(), gs.map((v) => Math.fround(3 * Math.fround(v))), 1e-7, 0, 'cast seed');
    antler.dispose([x, y, g64]);
  });

  test('backward() on a tensor that does not require grad throws INVALID_ARGUMENT', () => {
    const x = tensor([1, 2, 3], undefined, F64);
    const y = x.sum();
    expectAntlerError(() => y.backward(), 'INVALID_ARGUMENT');
    antler.dispose([x, y]);
  });

  test('a shared subexpression (diamond) gets the sum of both paths', () => {
    const xs = randomArray(rng, 10, -2, 2);
    const x = leaf(xs, [10]);
    // y = Σ x·x + exp(x): x feeds mul twice and exp once.
    backprop(() => x.mul(x).add(x.exp()).sum());
    expectClose(x.grad!.dataSync(), xs.map((v) => 2 * v + Math.exp(v)), 1e-14, 1e-14, '2x + exp(x)');
    x.zeroGrad();
    // h = tanh(x) is one node used by three consumers: y = Σ h·h + h.
    backprop(() => {
      const h = x.tanh();
      return h.mul(h).add(h).sum();
    });
    expectClose(
      x.grad!.dataSync(),
      xs.map((v) => {
        const h = Math.tanh(v);
        return (2 * h + 1) * (1 - h * h);
      }),
      1e-13,
      1e-14,
      '(2h + 1)(1 − h²)',
    );
    x.dispose();
  });

  test("pow at a zero base or exponent follows PyTorch's conventions (0, not NaN, where the function is flat)", () => {
    // Values from torch 1.13: pow(y, x) with y = 0, x = [0, 2, −1] gives x.grad = y.grad = [0, 0, −inf];
    // pow(0, x) the same x.grad; pow(x, 0) gives x.grad = 0 everywhere.
    const x = leaf([0, 2, -1], [3]), y = leaf([0, 0, 0], [3]);
    backprop(() => antler.pow(y, x).sum());
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 0, -Infinity]);
    expect(Array.from(y.grad!.dataSync())).toEqual([0, 0, -Infinity]);
    x.zeroGrad();
    backprop(() => antler.pow(0, x).sum());
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 0, -Infinity]);
    x.zeroGrad();
    backprop(() => antler.pow(x, 0).sum());
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 0, 0]);
    // A number base elsewhere: d/dx c^x = c^x ln c.
    const c = 0.5 + 2 * rng.next(), xs = randomArray(rng, 5, -2, 2);
    const z = leaf(xs, [5]);
    backprop(() => antler.pow(c, z).sum());
    expectClose(z.grad!.dataSync(), xs.map((v) => Math.pow(c, v) * Math.log(c)), 1e-14, 1e-14, 'c^x ln c');
    for (const t of [x, y, z]) t.dispose();
  });

  test('a 2,001-op chain backpropagates (no stack overflow) and matches the chain rule', () => {
    const x0 = rng.uniform(-1, 1);
    const x = leaf([x0], [1]);
    const a = randomArray(rng, 667, 0.8, 1.6);
    const b = randomArray(rng, 667, -0.5, 0.5);
    const y = tidy(() => {
      let h: Tensor = x;
      for (let i = 0; i < 667; i++) h = h.mul(a[i]).add(b[i]).tanh();
      return h.sum();
    });
    // Reference: forward in float64, derivative as the product of local slopes.
    let h = x0;
    let d = 1;
    for (let i = 0; i < 667; i++) {
      h = Math.tanh(h * a[i] + b[i]);
      d *= a[i] * (1 - h * h);
    }
    expectClose(y.dataSync(), [h], 1e-12, 0, 'value');
    y.backward();
    expectClose(x.grad!.dataSync(), [d], 1e-9, 1e-300, 'gradient');
    expect(d).not.toBe(0);
    y.dispose();
    x.dispose();
  });

  test('backward works after tidy() disposed the intermediates', () => {
    const xs = randomArray(rng, 8, 0.1, 2);
    const x = leaf(xs, [2, 4]);
    let inner: Tensor[] = [];
    const loss = tidy(() => {
      const l = x.log();
      const s = l.mul(x);
      inner = [l, s];
      return s.sum();
    });
    expect(inner.every((t) => t.isDisposed)).toBe(true);
    loss.backward();
    // d/dx Σ x log x = log x + 1
    expectClose(x.grad!.dataSync(), xs.map((v) => Math.log(v) + 1), 1e-14, 1e-14, 'log x + 1');
    loss.dispose();
    x.dispose();
  });
});

describe(`lifetime of the graph (seed ${SEED})`, () => {
  const forward = (x: Tensor, w: Tensor): Tensor => x.matmul(w).tanh().mul(x.sum(1, true)).exp().mean();

  test('forward + backward + dispose of the loss + zeroGrad returns numTensors and numBytes to the start', () => {
    const x = leaf(randomArray(rng, 12), [3, 4]);
    const w = leaf(randomArray(rng, 20), [4, 5]);
    const before = tensorCounts();
    const loss = tidy(() => forward(x, w));
    // The graph holds saved tensors beyond the loss itself until backward.
    expect(tensorCounts().numTensors).toBeGreaterThan(before.numTensors + 1);
    loss.backward();
    expect(x.grad).not.toBeNull();
    expect(w.grad).not.toBeNull();
    // After backward only the loss and the two gradients remain.
    expect(tensorCounts().numTensors).toBe(before.numTensors + 3);
    loss.dispose();
    x.zeroGrad();
    w.zeroGrad();
    expect(tensorCounts()).toEqual(before);
    antler.dispose([x, w]);
  });

  test('a graph that is never backpropagated is freed with its output', () => {
    const x = leaf(randomArray(rng, 12), [3, 4]);
    const w = leaf(randomArray(rng, 20), [4, 5]);
    const before = tensorCounts();
    const loss = tidy(() => forward(x, w));
    expect(tensorCounts().numTensors).toBeGreaterThan(before.numTensors + 1);
    loss.dispose();
    expect(tensorCounts()).toEqual(before);
    antler.dispose([x, w]);
  });

  test('with retainGraph the saved tensors live until the output is disposed', () => {
    const x = leaf(randomArray(rng, 12), [3, 4]);
    const w = leaf(randomArray(rng, 20), [4, 5]);
    const before = tensorCounts();
    const loss = tidy(() => forward(x, w));
    const withGraph = tensorCounts().numTensors;
    loss.backward(undefined, { retainGraph: true });
    expect(tensorCounts().numTensors).toBe(withGraph + 2); // + x.grad, w.grad
    loss.dispose();
    x.zeroGrad();
    w.zeroGrad();
    expect(tensorCounts()).toEqual(before);
    antler.dispose([x, w]);
  });
});

describe(`in-place changes to saved tensors (seed ${SEED})`, () => {
  test("assign() to a tensor an op saved, between forward and backward: MODIFIED_IN_PLACE, before any .grad changes; PyTorch's 'modified by an inplace operation'", () => {
    const ws = randomArray(rng, 4, -1, 1), cs = randomArray(rng, 4, -1, 1);
    const w = leaf(ws, [4]);
    const c = tensor(cs, [4], F64);
    // exp(w·c) saves w and c (mul) and its output (exp).
    const l = tidy(() => w.mul(c).exp().sum());
    const replacement = tensor(randomArray(rng, 4, -1, 1), [4], F64);
    c.assign(replacement);
    const before = tensorCounts();
    expectAntlerError(() => l.backward(), 'MODIFIED_IN_PLACE', /^backward: a tensor that 'mul' saved for its gradient \(.*\[4\] float64.*\) was modified in place after it was used/);
    expect(w.grad).toBeNull();
    expect(tensorCounts()).toEqual(before); // the seed and nothing else was made and freed
    // The forward run again after the change: the gradient uses the new values.
    const cNew = Array.from(c.dataSync());
    const l2 = tidy(() => w.mul(c).exp().sum());
    l2.backward();
    expectClose(w.grad!.dataSync(), ws.map((v, i) => cNew[i] * Math.exp(v * cNew[i])), 1e-14, 1e-15, 'after recomputing');
    antler.dispose([l, l2, w, c, replacement]);
  });

  test('an op that saved nothing it reads (add) does not mind; a write through a tensor sharing the storage (detach, reshape) is caught', () => {
    const ws = randomArray(rng, 6, -1, 1);
    const w = leaf(ws, [6]);
    const c = tensor(randomArray(rng, 6, -1, 1), [6], F64);
    const sum = tidy(() => w.add(c).sum());
    tidy(() => c.assign(c.mul(2)));
    sum.backward();
    expectExact(w.grad!.dataSync(), ws.map(() => 1), 'add: gradient 1 whatever c holds');
    w.zeroGrad();
    for (const alias of [(t: Tensor) => t.detach(), (t: Tensor) => tidy(() => t.detach().reshape([2, 3]))]) {
      const l = tidy(() => w.square().sum()); // saves w
      const other = alias(w);
      tidy(() => other.assign(antler.zerosLike(other)));
      expectAntlerError(() => l.backward(), 'MODIFIED_IN_PLACE', /'square' saved/);
      expect(w.grad).toBeNull();
      antler.dispose([l, other]);
    }
    antler.dispose([sum, w, c]);
  });

  test("an operand only the other operand's gradient reads is not saved (PyTorch's rule): writing to it is fine; a graph reading .grad sees the value from before the pass", () => {
    const ws = randomArray(rng, 3, -1, 1), xs = randomArray(rng, 3, -1, 1);
    for (const loss of [
      (w: Tensor, x: Tensor) => w.mul(x).sum(),
      (w: Tensor, x: Tensor) => antler.matmul(x.reshape([1, 3]), w.reshape([3, 1])).sum(),
      (w: Tensor, x: Tensor) => antler.div(w, x).sum(),
    ]) {
      const w = leaf(ws, [3]);
      const x = tensor(xs, [3], F64);
      const l = tidy(() => loss(w, x));
      tidy(() => w.assign(w.mul(2))); // w itself is not needed for its own gradient here
      l.backward();
      const expected = loss === undefined ? [] : xs.map((v) => (String(loss).includes('div') ? 1 / v : v));
      expectClose(w.grad!.dataSync(), expected, 1e-15, 1e-15, String(loss));
      antler.dispose([l, w, x]);
    }
    // p.grad used inside the graph: every term sees .grad as it was before this backward (PyTorch: 5 either way).
    for (const order of [0, 1]) {
      const p = leaf([1, 1], [2]);
      backprop(() => p.sum());
      const terms = () => [p.mul(3).sum(), p.mul(p.grad!).sum()];
      backprop(() => (order ? terms().reverse() : terms()).reduce((a, b) => a.add(b)));
      expectExact(p.grad!.dataSync(), [5, 5], `order ${order}`);
      p.dispose();
    }
  });

  test('an optimizer step between two backward passes of a retained graph: the second throws; loadStateDict too', () => {
    const lin = new antler.nn.Linear(3, 2);
    // x requires grad, so the weight is saved (for x's gradient), as in PyTorch.
    const x = tensor(randomArray(rng, 6, -1, 1), [2, 3], { requiresGrad: true });
    const l = tidy(() => lin.forward(x).tanh().sum());
    l.backward(undefined, { retainGraph: true });
    const opt = new antler.optim.SGD(lin.parameters(), { lr: 0.1 });
    opt.step();
    const g = Float64Array.from(lin.weight.grad!.dataSync());
    expectAntlerError(() => l.backward(undefined, { retainGraph: true }), 'MODIFIED_IN_PLACE', /modified in place/);
    expectExact(lin.weight.grad!.dataSync(), g, 'the failed pass added nothing');
    const l2 = tidy(() => lin.forward(x).tanh().sum());
    const dict = lin.stateDict();
    lin.loadStateDict(dict);
    antler.dispose(dict);
    expectAntlerError(() => l2.backward(), 'MODIFIED_IN_PLACE', /modified in place/);
    antler.dispose([l, l2, x]);
    opt.dispose();
    lin.dispose();
  });
});

describe(`grad mode and leaves (seed ${SEED})`, () => {
  test('noGrad(): results do not require grad; grad mode comes back after, also after a throw', () => {
    const x = leaf(randomArray(rng, 4), [4]);
    expect(antler.isGradEnabled()).toBe(true);
    const y = antler.noGrad(() => {
      expect(antler.isGradEnabled()).toBe(false);
      return tidy(() => x.mul(x).exp());
    });
    expect(y.requiresGrad).toBe(false);
    expect(y.isLeaf).toBe(true);
    expect(antler.isGradEnabled()).toBe(true);
    expect(() =>
      antler.noGrad(() => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(antler.isGradEnabled()).toBe(true);
    const z = x.mul(2);
    expect(z.requiresGrad).toBe(true);
    expect(z.isLeaf).toBe(false);
    antler.dispose([x, y, z]);
  });

  test('nested: an inner noGrad() leaves the outer one off, and grad, valueAndGrad, hvp and autograd.grad({createGraph}) called under noGrad() leave it off (they record inside only)', () => {
    const x = leaf(randomArray(rng, 3), [3]);
    const y = tidy(() => x.mul(x).sum());
    const f = (u: Tensor) => antler.sum(antler.mul(u, u));
    const calls: [string, () => void][] = [
      ['noGrad', () => antler.noGrad(() => x.mul(2).dispose())],
      ['grad', () => antler.dispose(antler.grad(f)(x))],
      ['valueAndGrad', () => {
        const r = antler.valueAndGrad(f)(x);
        antler.dispose([r.value, ...r.grads]);
      }],
      ['hvp', () => {
        const r = antler.hvp(f, x, x);
        antler.dispose([r.value, r.hvp as Tensor]);
      }],
      ['autograd.grad', () => antler.dispose(antler.autograd.grad(y, x, { createGraph: true }) as Tensor[])],
    ];
    for (const [name, call] of calls) {
      const after = antler.noGrad(() => {
        tidy(call); // a graph-building pass leaves its tensors to the caller's scope
        const z = x.mul(3);
        const seen = { mode: antler.isGradEnabled(), recorded: z.requiresGrad };
        z.dispose();
        return seen;
      });
      expect({ name, ...after }).toEqual({ name, mode: false, recorded: false });
      expect(antler.isGradEnabled()).toBe(true);
    }
    expect(x.grad).toBeNull();
    antler.dispose([x, y]);
  });

  test('noGrad() of an async function is refused (the code after its first await would record gradients), as tidy() refuses one', async () => {
    const fn = async () => {
      await null;
      return 1;
    };
    expectAntlerError(() => antler.noGrad(fn as unknown as () => number), 'INVALID_ARGUMENT', /^noGrad: the function returned a Promise/);
    expect(antler.isGradEnabled()).toBe(true);
    // One that rejects after the refusal leaves no unhandled rejection behind; a plain thenable is refused too.
    const late = async () => {
      await null;
      throw new Error('late');
    };
    expectAntlerError(() => antler.noGrad(late as unknown as () => number), 'INVALID_ARGUMENT', /^noGrad: the function returned a Promise/);
    expectAntlerError(() => tidy(late as unknown as () => number), 'INVALID_ARGUMENT', /^tidy: the function returned a Promise/);
    expectAntlerError(() => antler.noGrad(() => ({ then: () => undefined }) as unknown as number), 'INVALID_ARGUMENT', /^noGrad: the function returned a Promise/);
    await new Promise((resolve) => setTimeout(resolve, 10));
  });

  test('detach() shares values but cuts the graph', () => {
    const xs = randomArray(rng, 6, -2, 2);
    const x = leaf(xs, [6]);
    const y = x.mul(x);
    const yd = y.detach();
    expect(yd.requiresGrad).toBe(false);
    expect(yd.isLeaf).toBe(true);
    expectExact(yd.dataSync(), y.dataSync(), 'detached values');
    // w = Σ detach(x²)·x: the detached factor is a constant, so dw/dx = x², not 3x².
    backprop(() => yd.mul(x).sum());
    expectClose(x.grad!.dataSync(), xs.map((v) => v * v), 1e-15, 0, 'x² only');
    antler.dispose([x, y, yd]);
  });

  test('requiresGrad cannot be set on a non-leaf; int32 cannot require grad', () => {
    const x = leaf([1, 2], [2]);
    const y = x.mul(2);
    expectAntlerError(() => {
      y.requiresGrad = false;
    }, 'INVALID_ARGUMENT', /leaf/);
    expect(y.requiresGrad).toBe(true);
    const i = tensor([1, 2], undefined, { dtype: 'int32' });
    expectAntlerError(() => {
      i.requiresGrad = true;
    }, 'DTYPE_MISMATCH');
    expect(i.requiresGrad).toBe(false);
    expectAntlerError(() => tensor([1, 2], undefined, { dtype: 'int32', requiresGrad: true }), 'DTYPE_MISMATCH');
    expectAntlerError(() => antler.zeros([2], { dtype: 'int32', requiresGrad: true }), 'DTYPE_MISMATCH');
    // A leaf can switch it off again.
    x.requiresGrad = false;
    const z = x.mul(2);
    expect(z.requiresGrad).toBe(false);
    antler.dispose([x, y, i, z]);
  });
});

describe(`valueAndGrad and grad (seed ${SEED})`, () => {
  const [m, k, n] = [3, 4, 2];
  // f(A, B) = Σ tanh(A B) + Σ A²;  ∂A = (1 − T²) Bᵀ + 2A;  ∂B = Aᵀ (1 − T²)
  const f = (A: Tensor, B: Tensor): Tensor => A.matmul(B).tanh().sum().add(A.square().sum());
  function reference(as: number[], bs: number[]): { value: number; gA: Float64Array; gB: Float64Array } {
    const t = matmul2d(as, bs, m, n, k).map(Math.tanh);
    const s = t.map((v) => 1 - v * v);
    const gA = matmul2d(s, bs, m, k, n, false, true).map((v, i) => v + 2 * as[i]);
    const gB = matmul2d(as, s, k, n, m, true, false);
    const value = t.reduce((p, v) => p + v, 0) + as.reduce((p, v) => p + v * v, 0);
    return { value, gA, gB };
  }

  test('value and gradients match the analytic float64 reference; inputs keep their .grad', () => {
    const as = randomArray(rng, m * k), bs = randomArray(rng, k * n);
    const A = tensor(as, [m, k], { dtype: 'float64', requiresGrad: true });
    const B = tensor(bs, [k, n], F64);
    const oldGrad = tensor(randomArray(rng, m * k), [m, k], F64);
    A.grad = oldGrad;
    const oldValues = oldGrad.dataSync();
    const before = tensorCounts();
    const { value, grads } = antler.valueAndGrad(f)(A, B);
    const ref = reference(as, bs);
    expect(value.shape).toEqual([]);
    expect(value.requiresGrad).toBe(false);
    expectClose(value.dataSync(), [ref.value], 1e-13, 1e-14, 'value');
    expect(grads.map((g) => g.shape)).toEqual([[m, k], [k, n]]);
    expectClose(grads[0].dataSync(), ref.gA, 1e-13, 1e-13, 'dA');
    expectClose(grads[1].dataSync(), ref.gB, 1e-13, 1e-13, 'dB');
    expect(A.grad).toBe(oldGrad);
    expectExact(A.grad!.dataSync(), oldValues, 'A.grad untouched');
    expect(B.grad).toBeNull();
    expect(B.requiresGrad).toBe(false);
    // Exactly the value and two gradients are new.
    expect(tensorCounts().numTensors).toBe(before.numTensors + 3);
    antler.dispose([value, grads]);
    expect(tensorCounts()).toEqual(before);
    antler.dispose([A, B]);
  });

  test('inside tidy() its outputs are disposed with the scope', () => {
    const A = tensor(randomArray(rng, m * k), [m, k], F64);
    const B = tensor(randomArray(rng, k * n), [k, n], F64);
    const before = tensorCounts();
    let out: { value: Tensor; grads: Tensor[] } | undefined;
    tidy(() => {
      out = antler.valueAndGrad(f)(A, B);
      expect(out.value.isDisposed).toBe(false);
    });
    expect(out!.value.isDisposed).toBe(true);
    expect(out!.grads.every((g) => g.isDisposed)).toBe(true);
    expect(A.isDisposed || B.isDisposed).toBe(false);
    expect(tensorCounts()).toEqual(before);
    // Returning them from the scope keeps them.
    const kept = tidy(() => antler.valueAndGrad(f)(A, B));
    expect(kept.value.isDisposed).toBe(false);
    expect(kept.grads.some((g) => g.isDisposed)).toBe(false);
    antler.dispose([kept.value, kept.grads, A, B]);
  });

  test('an infinite value still gets its gradient (the seed is ones, not 0·value + 1)', () => {
    const x = tensor([0, 2], [2], F64);
    const [g] = antler.grad((v: Tensor) => v.log().sum())(x);
    expectExact(g.dataSync(), [Infinity, 0.5], 'd/dx Σ log x at 0 and 2');
    antler.dispose([g, x]);
  });

  test('tensors f closes over keep their .grad (torch.autograd.grad, not backward())', () => {
    const as = randomArray(rng, m * k), bs = randomArray(rng, k * n);
    const A = tensor(as, [m, k], F64);
    const W = tensor(bs, [k, n], { dtype: 'float64', requiresGrad: true });
    const old = tensor(randomArray(rng, k * n), [k, n], F64);
    W.grad = old;
    const [gA] = antler.grad((a: Tensor) => f(a, W))(A);
    expectClose(gA.dataSync(), reference(as, bs).gA, 1e-13, 1e-14, 'dA');
    expect(W.grad).toBe(old);
    expect(old.isDisposed).toBe(false);
    antler.dispose([gA, A, W, old]);
  });

  test('grad(f) returns only the gradients, equal to the reference', () => {
    const as = randomArray(rng, m * k), bs = randomArray(rng, k * n);
    const A = tensor(as, [m, k], F64);
    const B = tensor(bs, [k, n], F64);
    const before = tensorCounts();
    const grads = antler.grad(f)(A, B);
    const ref = reference(as, bs);
    expect(grads).toHaveLength(2);
    expectClose(grads[0].dataSync(), ref.gA, 1e-13, 1e-13, 'dA');
    expectClose(grads[1].dataSync(), ref.gB, 1e-13, 1e-13, 'dB');
    expect(tensorCounts().numTensors).toBe(before.numTensors + 2);
    antler.dispose([grads, A, B]);
  });

  test('an input f ignores gets a zero gradient', () => {
    const xs = randomArray(rng, 3);
    const x = tensor(xs, [3], F64);
    const unused = tensor([5, 6], [2], F64);
    const before = tensorCounts();
    const [gx, gu] = antler.grad((a: Tensor, _unused: Tensor) => a.exp().sum())(x, unused);
    expectClose(gx.dataSync(), xs.map(Math.exp), 1e-15, 0, 'exp');
    expectExact(gu.dataSync(), [0, 0], 'unused input');
    antler.dispose([gx, gu]);
    expect(tensorCounts()).toEqual(before);
    antler.dispose([x, unused]);
  });

  test('an ignored input holding ±∞ or NaN still gets zeros, not 0 · ∞ = NaN (torch.func.grad gives zeros_like), a plain tensor like the other gradients', () => {
    const xs = randomArray(rng, 2);
    const x = tensor(xs, [2], F64);
    const odd = tensor([Infinity, -Infinity, NaN], [3], F64);
    const r = antler.valueAndGrad((a: Tensor, _b: Tensor) => a.square().sum())(x, odd);
    expectClose(r.grads[0].dataSync(), xs.map((v) => 2 * v), 1e-15, 0, 'the input used');
    expectExact(r.grads[1].dataSync(), [0, 0, 0], 'the ignored input');
    expect(r.grads.map((g) => [g.requiresGrad, g.dtype, g.shape])).toEqual([[false, 'float64', [2]], [false, 'float64', [3]]]);
    antler.dispose([x, odd, r.value, ...r.grads]);
  });

  test('a non-scalar f throws SHAPE_MISMATCH and frees what f made', () => {
    const before = tensorCounts();
    const x = tensor(randomArray(rng, 3), [3], F64);
    try {
      expectAntlerError(() => antler.valueAndGrad((a: Tensor) => a.mul(2))(x), 'SHAPE_MISMATCH', /scalar/);
      x.dispose();
      expect(tensorCounts()).toEqual(before);
    } finally {
      // Report a leak here only, not again in the suite's final check.
      x.dispose();
      baseline.excuse(before);
    }
  });
  test('f returning a non-Tensor is INVALID_ARGUMENT named after the function called (grad or valueAndGrad), and frees what f made', () => {
    const before = tensorCounts();
    const x = antler.ones([2]);
    try {
      const e = expectAntlerError(() => antler.grad((_a: Tensor) => 3 as unknown as Tensor)(x), 'INVALID_ARGUMENT');
      expect(e.message).toBe('grad: f must return a scalar Tensor; got 3');
      expectAntlerError(() => antler.valueAndGrad((a: Tensor) => a.mul(2).dataSync() as unknown as Tensor)(x), 'INVALID_ARGUMENT', /^valueAndGrad: f must return a scalar Tensor; got a Float32Array$/);
      expectAntlerError(() => antler.grad((a: Tensor) => a.mul(2))(x), 'SHAPE_MISMATCH', /^grad: f must return a scalar Tensor; got shape \[2\]$/);
      expectAntlerError(() => antler.grad((a: Tensor) => a.sum())(3 as unknown as Tensor), 'INVALID_ARGUMENT', /^grad: argument 0 must be a Tensor; got 3$/);
      x.dispose();
      expect(tensorCounts()).toEqual(before);
    } finally {
      x.dispose();
      baseline.excuse(before);
    }
  });
});

describe(`hvp: Hessian-vector products (seed ${SEED})`, () => {
  const [m, k, n] = [3, 4, 2];
  // f(A, B) = Σ tanh(A B) + Σ A², as above. With Y = AB, T = tanh Y, s1 = 1 − T², s2 = −2 T s1 and
  // dY = dA B + A dB:  (H v)_A = (s2 ⊙ dY) Bᵀ + s1 dBᵀ + 2 dA,  (H v)_B = dAᵀ s1 + Aᵀ (s2 ⊙ dY).
  const f = (A: Tensor, B: Tensor): Tensor => A.matmul(B).tanh().sum().add(A.square().sum());
  function reference(as: number[], bs: number[], dA: number[], dB: number[]) {
    const t = matmul2d(as, bs, m, n, k).map(Math.tanh);
    const s1 = t.map((v) => 1 - v * v);
    const dY = matmul2d(dA, bs, m, n, k).map((v, i) => v + matmul2d(as, dB, m, n, k)[i]);
    const s2dY = dY.map((v, i) => -2 * t[i] * s1[i] * v);
    const hA = matmul2d(s2dY, bs, m, k, n, false, true).map((v, i) => v + matmul2d(s1, dB, m, k, n, false, true)[i] + 2 * dA[i]);
    const hB = matmul2d(dA, s1, k, n, m, true, false).map((v, i) => v + matmul2d(as, s2dY, k, n, m, true, false)[i]);
    const value = t.reduce((p, v) => p + v, 0) + as.reduce((p, v) => p + v * v, 0);
    // The value's scale for rounding errors: Σ|tanh y| + Σ|a b| over every product + Σa². The
    // value itself may cancel to near 0 (a float32 sum of terms near 1 giving 0.02), so a
    // relative tolerance on it alone fails at random; measured |error| / (0.5 scale) in float32
    // over 3000 draws: at most 5.4e-8.
    let scale = as.reduce((p, v) => p + v * v, 0);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        scale += Math.abs(t[i * n + j]);
        for (let q = 0; q < k; q++) scale += Math.abs(as[i * k + q] * bs[q * n + j]);
      }
    return { value, scale, hA, hB };
  }
  /** max |got − want| / max |want|. */
  const relErr = (got: ArrayLike<number>, want: ArrayLike<number>) => {
    let e = 0, w = 0;
    for (let i = 0; i < want.length; i++) (e = Math.max(e, Math.abs(got[i] - want[i]))), (w = Math.max(w, Math.abs(want[i])));
    return e / w;
  };

  test.each([
    // Typical errors (300 draws): 3e-10, 3e-8, 2e-4, 6e-4; worst 2e-9, 1.4e-7, 1.2e-3, 3.3e-3.
    ['float64', 'central', 2e-8],
    ['float64', 'forward', 1e-5],
    ['float32', 'central', 1e-2],
    ['float32', 'forward', 3e-2],
  ] as const)('%s, %s differences: H·v over two inputs against the analytic float64 Hessian; no .grad changes', (dtype, method, tol) => {
    const as = randomArray(rng, m * k), bs = randomArray(rng, k * n), dA = randomArray(rng, m * k), dB = randomArray(rng, k * n);
    tidy(() => {
      const A = tensor(as, [m, k], { dtype, requiresGrad: true });
      const B = tensor(bs, [k, n], { dtype });
      const W = tensor([0.5], [1], { dtype, requiresGrad: true }); // a parameter f closes over
      const g = (a: Tensor, b: Tensor) => f(a, b).mul(W.sum());
      const ref = reference(as, bs, dA, dB);
      const vA = tensor(dA, [m, k], { dtype }), vB = tensor(dB, [k, n], { dtype });
      const inner = tensorCounts();
      const r = antler.hvp(g, [A, B], [vA, vB], { method });
      // Only the value and the two products are left (in the caller's scope).
      expect(tensorCounts().numTensors - inner.numTensors).toBe(3);
      expect(r.hvp.map((h) => h.shape)).toEqual([[m, k], [k, n]]);
      expect(r.hvp.map((h) => h.dtype)).toEqual([dtype, dtype]);
      expect(r.value.requiresGrad).toBe(false);
      expectClose(r.value.dataSync(), [0.5 * ref.value], 0, (dtype === 'float64' ? 1e-14 : 1e-6) * 0.5 * ref.scale, 'value');
      expect(relErr(r.hvp[0].dataSync(), ref.hA.map((v) => 0.5 * v))).toBeLessThan(tol);
      expect(relErr(r.hvp[1].dataSync(), ref.hB.map((v) => 0.5 * v))).toBeLessThan(tol);
      expect(A.grad).toBeNull();
      expect(W.grad).toBeNull();
    });
  });

  test('a given step is the step along v: Σx⁴/4 by central differences gives exactly 3x²v + s²v³', () => {
    tidy(() => {
      const N = 7;
      const xs = randomArray(rng, N), vs = randomArray(rng, N);
      const quartic = (y: Tensor) => y.square().square().sum().mul(0.25);
      for (const step of [0.25, 0.5]) {
        const r = antler.hvp(quartic, tensor(xs, [N], F64), tensor(vs, [N], F64), { step });
        expectClose(r.hvp.dataSync(), xs.map((x, i) => 3 * x * x * vs[i] + step * step * vs[i] ** 3), 1e-12, 1e-14, `step ${step}`);
      }
    });
  });

  test("the default step follows x where v points and ignores v's scale: one-hot v over 10⁴ inputs, v scaled by 1e±200", () => {
    tidy(() => {
      const N = 10_000;
      const xs = randomArray(rng, N, 0.5, 2);
      const quartic = (y: Tensor) => y.square().square().sum().mul(0.25);
      const x = tensor(xs, [N], F64);
      const k = rng.int(0, N);
      const oneHot = new Array<number>(N).fill(0);
      oneHot[k] = 1;
      // Before, the step was scaled by rms v over all inputs: √N too far along a one-hot v.
      const r = antler.hvp(quartic, x, tensor(oneHot, [N], F64)).hvp.dataSync();
      expect(Math.abs(r[k] - 3 * xs[k] ** 2) / (3 * xs[k] ** 2)).toBeLessThan(1e-8);
      const vs = randomArray(rng, N);
      expectClose(antler.hvp(quartic, x, tensor(vs, [N], F64)).hvp.dataSync(), xs.map((xi, i) => 3 * xi * xi * vs[i]), 1e-8, 1e-9, 'dense v');
      for (const scale of [1e-200, 1e200]) {
        // Before: Σv² underflowed to 0 (zeros returned) or overflowed (NaN).
        const scaled = antler.hvp(quartic, x, tensor(vs.map((v) => v * scale), [N], F64)).hvp.dataSync();
        // The same step and, up to the rounding of v·scale/max|v|, the same difference: as accurate as unscaled.
        expectClose(Array.from(scaled, (h) => h / scale), xs.map((xi, i) => 3 * xi * xi * vs[i]), 1e-8, 1e-9, `v × ${scale}`);
      }
    });
  });

  test('one tensor in, one out: a quadratic ½xᵀMx gives M·v (to rounding, whatever the step); v = 0 gives zeros', () => {
    tidy(() => {
      const N = 6;
      const ms = randomArray(rng, N * N);
      const sym = ms.map((_, i) => ms[i] + ms[(i % N) * N + Math.floor(i / N)]);
      const M = tensor(sym, [N, N], F64);
      const xs = randomArray(rng, N), vs = randomArray(rng, N);
      const x = tensor(xs, [N], F64);
      const q = (y: Tensor) => y.mul(M.matmul(y)).sum().mul(0.5);
      const want = matmul2d(sym, vs, N, 1, N);
      for (const options of [{}, { method: 'forward' as const }, { step: 0.25 }]) {
        const r = antler.hvp(q, x, tensor(vs, [N], F64), options);
        expect(r.hvp).toBeInstanceOf(Tensor);
        expectClose(r.hvp.dataSync(), want, 1e-7, 1e-7, `M·v ${JSON.stringify(options)}`);
      }
      const zero = antler.hvp(q, x, antler.zeros([N], F64));
      expectExact(zero.hvp.dataSync(), new Array(N).fill(0), 'H·0');
      const xMx = xs.reduce((p, xi, i) => p + xi * matmul2d(sym, xs, N, 1, N)[i], 0);
      // Absolute tolerance on the terms' scale Σ|x_i M_ij x_j|: an indefinite M lets xᵀMx cancel toward 0.
      const terms = xs.reduce((p, xi, i) => p + xs.reduce((q, xj, j) => q + Math.abs(xi * sym[i * N + j] * xj), 0), 0);
      expectClose(zero.value.dataSync(), [0.5 * xMx], 1e-12, 1e-14 * terms, 'value with v = 0');
    });
  });

  // f(x) = Σ (d ⊙ x)³ with d = mask / (1 − p) ∈ {0, 2}: ∇f = 3 d³ ⊙ x², a quadratic, so H·v = 6 d³ ⊙ x ⊙ v,
  // exactly by the default method and up to rounding by central differences. A mask drawn afresh at each
  // evaluation gives no such product.
  test.each([
    ['the default method', undefined, 1e-7, 1e-9],
    ['central differences (the generator is rewound before each evaluation)', 'central' as const, 1e-6, 1e-8],
  ])('random draws repeat at every evaluation (one dropout mask throughout) by %s, and the generator ends where one call of f leaves it', (_, method, rtol, atol) => {
    tidy(() => {
      const N = 40;
      const xs = randomArray(rng, N), vs = randomArray(rng, N);
      const x = tensor(xs, [N], F64);
      const fd = (y: Tensor) => antler.dropout(y, 0.5).pow(3).sum();
      const seed = rng.int(1, 2 ** 30);
      antler.setSeed(seed);
      const d = antler.dropout(antler.ones([N], F64), 0.5).dataSync();
      const nextAfterOneCall = antler.rand([4], F64).dataSync();
      antler.setSeed(seed);
      const r = antler.hvp(fd, x, tensor(vs, [N], F64), method ? { method } : undefined);
      if (method) expect(r.method).toBe(method);
      expect(antler.rand([4], F64).dataSync()).toEqual(nextAfterOneCall);
      expect(d.some((v) => v === 0) && d.some((v) => v === 2)).toBe(true);
      expectClose(r.hvp.dataSync(), xs.map((xi, i) => 6 * d[i] ** 3 * xi * vs[i]), rtol, atol, 'H·v with the mask frozen');
      const cubes = xs.map((xi, i) => (d[i] * xi) ** 3);
      expectClose(r.value.dataSync(), [cubes.reduce((p, c) => p + c, 0)], 1e-12, 1e-14 * cubes.reduce((p, c) => p + Math.abs(c), 0), 'value with that mask');
    });
  });

  test('bad inputs are AntlerErrors naming what was passed, and leave nothing behind', () => {
    const before = tensorCounts();
    tidy(() => {
      const x = antler.ones([2, 3], F64), v = antler.ones([2, 3], F64);
      const s = (y: Tensor) => y.square().sum();
      const v32 = antler.ones([2, 3]), vT = antler.ones([3, 2], F64), i32 = antler.ones([2], { dtype: 'int32' });
      const cases: [() => unknown, string, RegExp][] = [
        [() => antler.hvp(3 as never, x, v), 'INVALID_ARGUMENT', /^hvp: expected a function; got 3$/],
        [() => antler.hvp(s, [], []), 'INVALID_ARGUMENT', /^hvp: inputs must be a Tensor or a non-empty array of Tensors; got an array of length 0$/],
        [() => antler.hvp(s, [x, 3 as never], [v, v]), 'INVALID_ARGUMENT', /^hvp: inputs\[1\] must be a Tensor; got 3$/],
        [() => antler.hvp(s, x, [v] as never), 'INVALID_ARGUMENT', /v must match inputs .*got one input and 1 tensors in v/],
        [() => antler.hvp(s, [x, x], [v]), 'INVALID_ARGUMENT', /got 2 inputs and 1 tensors in v/],
        [() => antler.hvp(s, x, vT), 'SHAPE_MISMATCH', /^hvp: v has shape \[3, 2\]; expected the shape of inputs, \[2, 3\]$/],
        [() => antler.hvp(s, x, v32), 'DTYPE_MISMATCH', /^hvp: v is float32; expected inputs's dtype, float64$/],
        [() => antler.hvp(s, i32, i32), 'DTYPE_MISMATCH', /inputs is int32; second derivatives need a floating-point input/],
        [() => antler.hvp(s, x, v, { method: 'second' as never }), 'INVALID_ARGUMENT', /^hvp: method must be 'exact', 'central' or 'forward'; got 'second'$/],
        [() => antler.hvp(s, x, v, { method: 'exact', step: 0.1 }), 'INVALID_ARGUMENT', /^hvp: step applies to the finite differences \('central', 'forward'\), not to method 'exact'$/],
        [() => antler.hvp(s, x, v, { step: -1 }), 'INVALID_ARGUMENT', /^hvp: step must be a positive number; got -1$/],
        [() => antler.hvp(s, x, v, { methd: 'forward' } as never), 'INVALID_ARGUMENT', /^hvp: unknown option 'methd'; expected one of 'method', 'step'$/],
        [() => antler.hvp((y: Tensor) => y.square(), x, v), 'SHAPE_MISMATCH', /^hvp: f must return a scalar Tensor; got shape \[2, 3\]$/],
        [() => antler.hvp(() => 1 as never, x, v), 'INVALID_ARGUMENT', /^hvp: f must return a scalar Tensor; got 1$/],
      ];
      for (const [call, code, message] of cases) {
        const inner = tensorCounts();
        expectAntlerError(call, code as never, message);
        expect(tensorCounts()).toEqual(inner);
      }
      const gone = antler.ones([2], F64);
      gone.dispose();
      expectAntlerError(() => antler.hvp(s, gone, v), 'DISPOSED');
    });
    expect(tensorCounts()).toEqual(before);
  });
});

describe('types of the functional API (checked when this file compiles)', () => {
  test('valueAndGrad/grad give one gradient per argument; arraySync names its nesting', () => {
    tidy(() => {
      const A = antler.ones([2, 2], F64), b = antler.ones([2], F64);
      const f = (a: Tensor, v: Tensor) => a.matmul(v).sum();
      const { grads } = antler.valueAndGrad(f)(A, b);
      const pair: [Tensor, Tensor] = grads;
      const [gA, gb] = antler.grad(f)(A, b);
      expect([pair[0].shape, pair[1].shape, gA.shape, gb.shape]).toEqual([[2, 2], [2], [2, 2], [2]]);
      const rows: number[][] = gA.arraySync<number[][]>();
      expect(rows).toEqual([[1, 1], [1, 1]]);
      const unchecked = () => {
        // @ts-expect-error f takes two tensors
        antler.grad(f)(A);
      };
      expect(typeof unchecked).toBe('function');
    });
  });
});

describe(`valueAndGrad, grad and hvp: recording, nesting, ownership (seed ${rng.seed})`, () => {
  test('under noGrad() they still differentiate (as torch.func.grad and functional.hvp turn recording on)', () =>
    tidy(() => {
      const v = randomArray(rng, 3), w = randomArray(rng, 3);
      const x = tensor(v, [3], { dtype: 'float64' });
      const cube = (t: Tensor) => antler.sum(antler.mul(antler.mul(t, t), t));
      const g = antler.noGrad(() => antler.grad(cube)(x))[0];
      expectClose(g.dataSync(), v.map((a) => 3 * a * a), 1e-14, 1e-14, 'd/dx Σx³ under noGrad');
      const h = antler.noGrad(() => antler.hvp(cube, x, tensor(w, [3], { dtype: 'float64' }))).hvp;
      expectClose(h.dataSync(), v.map((a, i) => 6 * a * w[i]), 1e-6, 1e-6, 'H·w of Σx³ under noGrad');
      expect(antler.isGradEnabled()).toBe(true);
      expect(antler.noGrad(() => antler.isGradEnabled())).toBe(false);
    }));

  test("grad inside another grad's f is a second derivative (torch.func's grad(grad(f))), to any depth", () =>
    tidy(() => {
      const v = randomArray(rng, 4, 0.5, 2);
      const x = tensor(v, [4], { dtype: 'float64' });
      const quartic = (y: Tensor) => antler.sum(antler.square(antler.square(y)));
      const d1 = (y: Tensor) => antler.grad(quartic)(y)[0];
      // Σ (d/dy Σy⁴) = Σ 4y³ → 12x²; one more level → 24x.
      const d2 = antler.grad((t: Tensor) => antler.sum(d1(t)))(x)[0];
      expectClose(d2.dataSync(), v.map((a) => 12 * a * a), 1e-14, 1e-14, 'd/dx Σ 4x³');
      const d3 = antler.grad((t: Tensor) => antler.sum(antler.grad((u: Tensor) => antler.sum(d1(u)))(t)[0]))(x)[0];
      expectClose(d3.dataSync(), v.map((a) => 24 * a), 1e-14, 1e-14, 'd/dx Σ 12x²');
      // valueAndGrad's value inside is differentiable too: d/dx (Σx⁴ + Σ 4x³).
      const both = antler.grad((t: Tensor) => {
        const r = antler.valueAndGrad(quartic)(t);
        return antler.add(r.value, antler.sum(r.grads[0]));
      })(x)[0];
      expectClose(both.dataSync(), v.map((a) => 4 * a ** 3 + 12 * a * a), 1e-14, 1e-14, 'value and gradient inside');
      // And afterwards a plain call works again.
      expectExact(antler.grad((t: Tensor) => antler.sum(antler.mul(t, 3)))(x)[0].dataSync(), [3, 3, 3, 3]);
    }));

  test('a tensor f returns as it is (a closed-over one) is never freed, not even when the call fails', () => {
    const w = tensor([5], [], { dtype: 'float64' }), u = tensor([5, 6], [2], { dtype: 'float64' });
    const x = tensor([1, 2], [2], { dtype: 'float64' });
    try {
      tidy(() => {
        const r = antler.valueAndGrad((_t: Tensor) => w)(x);
        expectExact(r.value.dataSync(), [5]);
        expectExact(r.grads[0].dataSync(), [0, 0]);
        r.value.dispose();
      });
      expectAntlerError(() => antler.grad((_t: Tensor) => u)(x), 'SHAPE_MISMATCH', /f must return a scalar Tensor/);
      expectAntlerError(() => antler.hvp(() => u, x, x), 'SHAPE_MISMATCH', /f must return a scalar Tensor/);
      expect([w.isDisposed, u.isDisposed]).toEqual([false, false]);
      const i32 = tensor([1, 2], [2], { dtype: 'int32' });
      expectAntlerError(() => antler.valueAndGrad((t: Tensor) => antler.sum(t))(i32), 'DTYPE_MISMATCH', /^valueAndGrad: argument 0 is int32/);
      i32.dispose();
    } finally {
      antler.dispose([w, u, x]);
    }
  });

  test('a leaf whose requiresGrad is turned off after the forward gets no .grad (a layer frozen mid-step)', () => {
    const x = tensor([1, 2], [2], { requiresGrad: true }), k = tensor([3, 4], [2], { requiresGrad: true });
    try {
      const y = tidy(() => antler.sum(antler.mul(x, k)));
      x.requiresGrad = false;
      y.backward();
      y.dispose();
      expect(x.grad).toBeNull();
      expectExact(k.grad!.dataSync(), [1, 2]);
    } finally {
      antler.dispose([x, k]);
    }
  });
});

describe(`assign() and autograd, as PyTorch's copy_ (seed ${SEED})`, () => {
  const r = rng;
  const vals = (n: number) => Array.from({ length: n }, () => r.uniform(-2, 2));
  const F64 = { dtype: 'float64' as const };
  const read = (t: Tensor) => Array.from(t.dataSync());

  test('a result of recorded ops overwritten by a constant passes no gradient to the graph it came from', () =>
    tidy(() => {
      const x = tensor(vals(3), [3], { ...F64, requiresGrad: true });
      const c = vals(3);
      const h = antler.mul(x, 2);
      h.assign(tensor(c, [3], F64));
      // Before this was recorded, backward went through mul(x, 2) with the new values: x.grad = 4c.
      // h still requires grad (as PyTorch's copy_ keeps it), but passes none.
      expect(h.requiresGrad).toBe(true);
      const l = antler.sum(antler.mul(h, x));
      l.backward();
      expectClose(read(x.grad!), c, 1e-15, 0, 'only through mul(h, x), h a constant');
      x.zeroGrad();
      antler.sum(h).backward();
      expect(x.grad).toBeNull();
    }));

  test('a write into storage other tensors share (a reshape or detach() of it, or what it was reshaped from) is refused when it would be recorded; nothing changes', () =>
    tidy(() => {
      const x = tensor(vals(3), [3], { ...F64, requiresGrad: true });
      const y = tensor(vals(3), [3], { ...F64, requiresGrad: true });
      const h = antler.mul(x, 2);
      const view = h.reshape([3, 1]);
      const before = read(h);
      expectAntlerError(() => view.assign(antler.mul(y, 3).reshape([3, 1])), 'INVALID_ARGUMENT', /^assign: the tensor written \(shape \[3, 1\]\) shares its storage with 1 other tensor .*noGrad/);
      expectAntlerError(() => h.assign(antler.mul(y, 3)), 'INVALID_ARGUMENT', /shares its storage/);
      expectExact(read(h), before);
      // Once the view is gone the write is recorded; unrecorded writes (noGrad, a plain tensor from a constant) are never refused.
      view.dispose();
      h.assign(antler.mul(y, 3));
      antler.sum(h).backward();
      expectExact(read(y.grad!), [3, 3, 3]);
      const plain = antler.zeros([3], F64), alias = plain.reshape([3]);
      plain.assign(tensor([1, 2, 3], [3], F64));
      expectExact(read(alias), [1, 2, 3]);
      antler.noGrad(() => antler.mul(x, 2).reshape([3]).assign(tensor([0, 0, 0], [3], F64)));
    }));

  test('the gradient goes to the source: overwritten non-leaf, plain tensor, h.assign(h), a source made from h', () =>
    tidy(() => {
      const xv = vals(3), sv = vals(3);
      let x = tensor(xv, [3], { ...F64, requiresGrad: true });
      const s = tensor(sv, [3], { ...F64, requiresGrad: true });
      let h = antler.mul(x, 2);
      h.assign(antler.mul(s, 3));
      antler.sum(antler.mul(h, h)).backward(); // d/ds Σ (3s)² = 18 s
      expect(x.grad).toBeNull();
      expectClose(read(s.grad!), sv.map((v) => 18 * v), 1e-15, 0, 's through the assign');
      // A plain tensor given a source that requires grad joins the graph (torch: CopyBackwards).
      const z = antler.zeros([3], F64);
      s.zeroGrad();
      z.assign(s);
      expect(z.requiresGrad).toBe(true);
      expect(z.isLeaf).toBe(false);
      antler.sum(antler.mul(z, z)).backward();
      expectClose(read(s.grad!), sv.map((v) => 2 * v), 1e-15, 0, 'plain tensor');
      // h.assign(h) keeps h's history (torch: x.grad = 8x for Σ (2x)²).
      x = tensor(xv, [3], { ...F64, requiresGrad: true });
      h = antler.mul(x, 2);
      h.assign(h);
      antler.sum(antler.mul(h, h)).backward();
      expectClose(read(x.grad!), xv.map((v) => 8 * v), 1e-15, 0, 'h.assign(h)');
      // A source computed from h: h ← 3(h + 1), Σ h → d/dx = 6.
      x = tensor(xv, [3], { ...F64, requiresGrad: true });
      h = antler.mul(x, 2);
      h.assign(antler.mul(antler.add(h, 1), 3));
      antler.sum(h).backward();
      expectExact(read(x.grad!), [6, 6, 6]);
      // A float32 gradient for a float64 source on the same device is cast back.
      const s32 = tensor(sv, [3], { requiresGrad: true });
      const p = antler.zeros([3]);
      p.assign(s32);
      antler.sum(p).backward();
      expectExact(read(s32.grad!), [1, 1, 1]);
    }));

  test('parameters and noGrad: the write is not recorded, as before', () =>
    tidy(() => {
      const w = tensor(vals(2), [2], { ...F64, requiresGrad: true });
      w.assign(tensor([0, 0], [2], F64));
      expect(w.isLeaf && w.requiresGrad).toBe(true);
      const xv = vals(3);
      const x = tensor(xv, [3], { ...F64, requiresGrad: true });
      const h = antler.mul(x, 2);
      const c = vals(3);
      antler.noGrad(() => h.assign(tensor(c, [3], F64)));
      // torch.no_grad keeps the old history: backward through mul(x, 2) sees the new values.
      antler.sum(antler.mul(h, h)).backward();
      expectClose(read(x.grad!), c.map((v) => 4 * v), 1e-15, 0, 'under noGrad');
      // loadStateDict writes unrecorded even from tensors that require grad.
      const lin = new antler.nn.Linear(2, 2, { dtype: 'float64' });
      const other = new antler.nn.Linear(2, 2, { dtype: 'float64' });
      lin.loadStateDict(other.stateDict());
      expect(lin.weight.isLeaf).toBe(true);
      antler.dispose([lin, other]);
    }));
});

describe(`.grad assignment owns what it replaces (seed ${SEED})`, () => {
  test('p.grad = null frees the gradient (PyTorch\'s p.grad = None): at the end of the enclosing tidy(), or at once outside; a swap keeps both; a shared .grad lives while one tensor holds it', () => {
    const w = tensor(randomArray(rng, 100), [100], { dtype: 'float64', requiresGrad: true });
    const v = tensor(randomArray(rng, 100), [100], { dtype: 'float64', requiresGrad: true });
    const before = tensorCounts();
    for (let i = 0; i < 20; i++)
      tidy(() => {
        antler.sum(antler.mul(w, w)).backward();
        w.grad = null;
      });
    expect(tensorCounts()).toEqual(before);
    // A swap inside tidy: each gradient is a .grad again, so neither is disposed.
    tidy(() => antler.sum(antler.add(antler.mul(w, 3), antler.mul(v, 5))).backward());
    const [gw, gv] = [w.grad!, v.grad!];
    tidy(() => {
      const t = w.grad;
      w.grad = v.grad;
      v.grad = t;
    });
    expect([w.grad, v.grad]).toEqual([gv, gw]);
    expectExact(Array.from(w.grad!.dataSync()), new Array(100).fill(5));
    // A gradient set inside tidy() belongs to the tensor, not to the scope.
    tidy(() => {
      w.grad = antler.onesLike(w);
    });
    expect(w.grad!.isDisposed).toBe(false);
    expect(gv.isDisposed).toBe(true); // replaced inside that scope
    // Outside any scope the replaced gradient is freed at once (PyTorch's p.grad = None), unless another tensor holds it.
    const old = w.grad!;
    v.grad = old;
    w.grad = null;
    expect(old.isDisposed).toBe(false);
    v.zeroGrad();
    expect(old.isDisposed).toBe(true);
    // zeroGrad() and dispose() leave a .grad another tensor still holds.
    const shared = antler.onesLike(w);
    w.grad = shared;
    v.grad = shared;
    w.zeroGrad();
    expect(shared.isDisposed).toBe(false);
    v.grad = null;
    expect(shared.isDisposed).toBe(true);
    // A training loop that sets .grad = null outside tidy() keeps its tensor count.
    const count = tensorCounts();
    for (let i = 0; i < 5; i++) {
      tidy(() => antler.sum(antler.mul(w, w)).backward());
      w.grad = null;
    }
    expect(tensorCounts()).toEqual(count);
    // tidy still hands a returned gradient to its caller.
    const g = tidy(() => {
      antler.sum(w).backward();
      return w.grad;
    });
    expect(g!.isDisposed).toBe(false);
    antler.dispose([w, v, g!]);
  });
});
