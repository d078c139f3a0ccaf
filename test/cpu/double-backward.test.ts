/**
 * Double backward (PyTorch's create_graph): over every op of the registry
 * (test/opinfo.ts), the exact Hessian-vector product of Σ W ⊙ op(x) against
 * central finite differences of the op's first-order gradient (the fused
 * backward kernels, an independent computation), in float64 on fresh random
 * inputs; the first-order gradient a graph-building backward gives against
 * the plain one; ops without a differentiable backward refused by name.
 * Then backward({createGraph}), nested grad and AdaHessian's exact products
 * on whole models, and memory over long loops.
 */
import * as antler from '../../lib';
import { AntlerError, nn, optim, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeRng, randomArray, tensorCounts } from '../helpers';
import { AuxSpec, InputSpec, OPS } from '../opinfo';

const rng = makeRng();
expectNoLeaksInSuite(tensorCounts);
const F64 = { dtype: 'float64' as const };

const build = (spec: InputSpec) => tensor(spec.values, spec.shape, F64);
const buildAux = (spec: AuxSpec) => tensor(spec.values, spec.shape, { dtype: spec.dtype });

/** max |a − b| / max(max |b|, floor). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  let num = 0, den = floor;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/**
 * The ops whose backward is a fused kernel with no differentiable form
 * (yet): a second derivative through them throws NOT_SUPPORTED. Kept here
 * so that the list in the README stays true.
 */
const NOT_DOUBLE = new Set<string>(['ctcLoss', 'cumprod', 'prod']);

describe(`double backward over the op registry (seed ${rng.seed})`, () => {
  const unsupported: string[] = [];
  for (const op of OPS) {
    test(`${op.name}: exact H·v against central differences of the first-order gradient; createGraph's gradient equals the plain one`, () =>
      tidy(() => {
        const sample = op.samples(rng)[0];
        const xs = sample.inputs.map(build);
        const aux = (sample.aux ?? []).map(buildAux);
        const outShape = antler.noGrad(() => op.fn(xs, aux).shape);
        const W = tensor(randomArray(rng, outShape.reduce((a, b) => a * b, 1)), outShape, F64);
        const f = (...ys: Tensor[]) => antler.sum(antler.mul(op.fn(ys, aux), W));
        const vs = xs.map((x) => tensor(randomArray(rng, x.size), x.shape, F64));
        let exact: Tensor[];
        try {
          exact = antler.hvp(f, xs, vs, { method: 'exact' }).hvp;
        } catch (err) {
          expect(err).toBeInstanceOf(AntlerError);
          expect((err as AntlerError).code).toBe('NOT_SUPPORTED');
          expect((err as AntlerError).message).toMatch(/^hvp: method 'exact' needs a second derivative of f; '.+' (has|have) no differentiable backward/);
          unsupported.push(op.name.split('(')[0]);
          return;
        }
        // Central differences of the plain gradient along v, extrapolated (Richardson: (4·D(h/2) − D(h))/3,
        // error O(h⁴) + u·|g|/h), h = 1e-4: near-singular losses (BCE at p = 0.05) have large f⁗.
        const gradAt = (s: number) => antler.grad(f)(...xs.map((x, i) => antler.add(x, antler.mul(vs[i], s))));
        const D = (h: number) => {
          const plus = gradAt(h), minus = gradAt(-h);
          return plus.map((p, i) => antler.div(antler.sub(p, minus[i]), 2 * h));
        };
        const coarse = D(1e-4), fine = D(5e-5);
        xs.forEach((_, i) => {
          const fd = antler.div(antler.sub(antler.mul(fine[i], 4), coarse[i]), 3).dataSync();
          expect({ op: op.name, input: i, err: relErr(exact[i].dataSync(), fd) < 1e-6 ? 'ok' : relErr(exact[i].dataSync(), fd) }).toEqual({ op: op.name, input: i, err: 'ok' });
        });
        // First order: a backward that builds a graph (composite formulas) against the fused kernels.
        const leavesA = xs.map((x) => x.clone().requiresGrad_(true));
        f(...leavesA).backward(undefined, { createGraph: true });
        const leavesB = xs.map((x) => x.clone().requiresGrad_(true));
        f(...leavesB).backward();
        leavesA.forEach((l, i) => {
          const a = l.grad, b = leavesB[i].grad;
          if (!b) return expect(a === null || Array.from(a.dataSync()).every((v) => v === 0)).toBe(true);
          expect({ op: op.name, input: i, err: relErr(a!.dataSync(), b.dataSync(), 1e-12) < 1e-12 ? 'ok' : relErr(a!.dataSync(), b.dataSync(), 1e-12) }).toEqual({ op: op.name, input: i, err: 'ok' });
        });
        [...leavesA, ...leavesB].forEach((l) => l.dispose());
      }));
  }
  test('the ops without a differentiable backward are the known ones', () => {
    expect([...new Set(unsupported)].sort()).toEqual([...NOT_DOUBLE].sort());
  });
});

describe(`second derivatives of whole computations (seed ${rng.seed})`, () => {
  test('analytic Hessians: Σx³ gives 6x ⊙ v and ½xᵀMx gives ½(M + Mᵀ)v, to rounding; hvp says it ran exactly', () =>
    tidy(() => {
      const N = 6;
      const xs = randomArray(rng, N), vs = randomArray(rng, N), ms = randomArray(rng, N * N);
      const x = tensor(xs, [N], F64), v = tensor(vs, [N], F64), M = tensor(ms, [N, N], F64);
      const cube = antler.hvp((y: Tensor) => antler.sum(antler.pow(y, 3)), x, v);
      expect(cube.method).toBe('exact');
      expectClose(cube.hvp.dataSync(), xs.map((a, i) => 6 * a * vs[i]), 1e-14, 1e-14, 'Σx³');
      const quad = antler.hvp((y: Tensor) => antler.mul(antler.dot(y, antler.matmul(M, y)), 0.5), x, v);
      const want = xs.map((_, i) => vs.reduce((s, vj, j) => s + 0.5 * (ms[i * N + j] + ms[j * N + i]) * vj, 0));
      expectClose(quad.hvp.dataSync(), want, 1e-13, 1e-14, '½xᵀMx');
    }));

  test('backward({createGraph}) makes .grad differentiable: a gradient penalty on a small model against central differences of the whole loss', () =>
    tidy(() => {
      antler.setSeed(rng.int(1, 2 ** 30));
      const model = new nn.Sequential(new nn.Linear(5, 7, F64), new nn.LayerNorm(7, F64), new nn.Tanh(), new nn.Linear(7, 3, F64));
      const x = antler.randn([6, 5], F64);
      const labels = tensor(Array.from({ length: 6 }, () => rng.int(0, 2)), [6], { dtype: 'int32' });
      const params = model.parameters();
      // L(θ) = CE(θ) + Σ_p ‖∂CE/∂p‖²: the penalty needs the gradient's own gradient.
      const lossAt = (create: boolean): Tensor => {
        const xin = x.clone();
        const ce = antler.crossEntropy(model.forward(xin), labels);
        model.zeroGrad();
        ce.backward(undefined, { createGraph: create });
        const penalty = params.map((p) => antler.sum(antler.square(p.grad!))).reduce((a, b) => antler.add(a, b));
        model.zeroGrad();
        return antler.add(ce, penalty);
      };
      const L = lossAt(true);
      expect(L.requiresGrad).toBe(true);
      L.backward();
      const g = params.map((p) => Array.from(p.grad!.dataSync()));
      model.zeroGrad();
      // The directional derivative along a random d against (L(θ + hd) − L(θ − hd)) / 2h.
      const d = params.map((p) => randomArray(rng, p.size));
      const h = 1e-5;
      const moved = (s: number) => {
        antler.noGrad(() => params.forEach((p, i) => p.assign(antler.add(p, tensor(d[i], p.shape, F64).mul(s)))));
        const value = lossAt(false).item();
        model.zeroGrad();
        return value;
      };
      const up = moved(h), down = moved(-2 * h);
      moved(h);
      const fd = (up - down) / (2 * h);
      const analytic = g.reduce((s, gi, i) => s + gi.reduce((t, v, j) => t + v * d[i][j], 0), 0);
      expect(Math.abs(fd - analytic)).toBeLessThan(1e-7 * Math.max(1, Math.abs(analytic)));
      model.dispose();
    }));

  test('ops without a differentiable backward are refused by name (NOT_SUPPORTED) before any .grad changes; hvp falls back to differences by itself', () =>
    tidy(() => {
      const xs = randomArray(rng, 4, 0.5, 1.5);
      const p = tensor(xs, [4], { ...F64, requiresGrad: true });
      const L = antler.sum(antler.mul(antler.prod(p), antler.square(p)));
      expectAntlerError(() => L.backward(undefined, { createGraph: true }), 'NOT_SUPPORTED', /^backward with createGraph \(a second derivative\): 'prod' has no differentiable backward/);
      expect(p.grad).toBeNull();
      L.backward(); // the graph is intact: a plain backward runs
      expect(p.grad).not.toBeNull();
      const f = (y: Tensor) => antler.prod(y);
      const v = tensor(randomArray(rng, 4), [4], F64);
      expectAntlerError(() => antler.hvp(f, p.detach(), v, { method: 'exact' }), 'NOT_SUPPORTED', /^hvp: method 'exact' needs a second derivative of f; 'prod' has no differentiable backward/);
      const auto = antler.hvp(f, p.detach(), v);
      expect(auto.method).toBe('central');
      // H of Π x: H_ij = Π x / (x_i x_j) off the diagonal, 0 on it.
      const P = xs.reduce((a, b) => a * b, 1), vv = Array.from(v.dataSync());
      expectClose(auto.hvp.dataSync(), xs.map((a, i) => xs.reduce((s, b, j) => s + (i === j ? 0 : (P / (a * b)) * vv[j]), 0)), 1e-7, 1e-9, 'Π x by differences');
      expectAntlerError(
        () => antler.grad((y: Tensor) => antler.sum(antler.grad((u: Tensor) => antler.prod(u))(y)[0]))(p.detach()),
        'NOT_SUPPORTED',
        /^grad: called inside the function of another valueAndGrad\/grad, which needs a second derivative; 'prod' has no differentiable backward/,
      );
    }));

  test('AdaHessian: exact products on an embedding → layer norm → MLP classifier equal central differences (D to 1e-6), one closure call per step', () => {
    const run = (hvp: 'exact' | 'central', seed: number) =>
      tidy(() => {
        antler.setSeed(seed);
        const emb = new nn.Embedding(10, 6, F64);
        const body = new nn.Sequential(new nn.LayerNorm(6, F64), new nn.Linear(6, 8, F64), new nn.GELU(), new nn.Linear(8, 4, F64));
        const params = [...emb.parameters(), ...body.parameters()];
        const tokens = tensor(Array.from({ length: 12 }, (_, i) => (i * 7) % 10), [12], { dtype: 'int32' });
        const labels = tensor(Array.from({ length: 12 }, (_, i) => i % 4), [12], { dtype: 'int32' });
        const opt = new optim.AdaHessian(params, { lr: 0.05, hvp, seed: 11, nProbes: 2 });
        let calls = 0;
        const closure = () => {
          calls++;
          opt.zeroGrad();
          const l = antler.crossEntropy(body.forward(emb.forward(tokens)), labels);
          l.backward();
          return l;
        };
        opt.step(closure);
        const D = params.map((p) => Array.from((opt.state.get(p)!.expHessianDiagSq as Tensor).dataSync(), Math.sqrt));
        const grads = params.map((p) => ({ requires: p.grad!.requiresGrad, values: Array.from(p.grad!.dataSync()) }));
        const method = opt.lastHvpMethod;
        opt.dispose();
        emb.dispose();
        body.dispose();
        return { D, grads, calls, method };
      });
    const seed = rng.int(1, 2 ** 30);
    const exact = run('exact', seed), central = run('central', seed);
    expect([exact.method, exact.calls, central.method, central.calls]).toEqual(['exact', 1, 'central', 5]);
    exact.D.forEach((d, i) => expect(relErr(d, central.D[i], 1e-8)).toBeLessThan(1e-6));
    // .grad is left as plain values (no graph), equal to the plain gradient.
    exact.grads.forEach((g, i) => {
      expect(g.requires).toBe(false);
      expectClose(g.values, central.grads[i].values, 1e-12, 1e-14, `grad ${i}`);
    });
  });

  test("AdaHessian: 'auto' falls back to forward differences through an SRU (fused kernel); 'exact' refuses it with NOT_SUPPORTED and changes nothing", () => {
    tidy(() => {
      antler.setSeed(rng.int(1, 2 ** 30));
      const sru = new nn.SRU(3, 4, { numLayers: 1, dtype: 'float64' });
      const x = antler.randn([5, 2, 3], F64);
      const lossOf = () => antler.mean(antler.square(sru.forward(x).output));
      const auto = new optim.AdaHessian(sru.parameters(), { lr: 0.01, seed: 3 });
      let calls = 0;
      auto.step(() => {
        calls++;
        auto.zeroGrad();
        const l = lossOf();
        l.backward();
        return l;
      });
      expect([auto.lastHvpMethod, calls]).toEqual(['forward', 2]);
      const before = sru.parameters().map((p) => Array.from(p.dataSync()));
      const exact = new optim.AdaHessian(sru.parameters(), { lr: 0.01, seed: 3, hvp: 'exact' });
      const closure = () => {
        exact.zeroGrad();
        const l = lossOf();
        l.backward();
        return l;
      };
      expectAntlerError(() => exact.step(closure), 'NOT_SUPPORTED', /^AdaHessian.step: hvp 'exact' needs a second derivative of the loss; 'sru(State)?'.* no differentiable backward/);
      sru.parameters().forEach((p, i) => expectClose(p.dataSync(), before[i], 0, 0, `parameter ${i} unchanged`));
      auto.dispose();
      exact.dispose();
      sru.dispose();
    });
  });

  test('memory: 30 exact AdaHessian steps, hvp calls and createGraph backwards keep the tensor count flat', () => {
    antler.setSeed(rng.int(1, 2 ** 30));
    const model = new nn.Sequential(new nn.Linear(4, 6, F64), new nn.Tanh(), new nn.Linear(6, 2, F64));
    const x = antler.randn([8, 4], F64), y = antler.randn([8, 2], F64);
    const opt = new optim.AdaHessian(model.parameters(), { hvp: 'exact', nProbes: 2 });
    const closure = () => {
      opt.zeroGrad();
      const l = antler.mseLoss(model.forward(x), y);
      l.backward();
      return l;
    };
    const iteration = () => {
      opt.step(closure);
      tidy(() => {
        const v = antler.randn([8, 4], F64);
        antler.hvp((z: Tensor) => antler.mseLoss(model.forward(z), y), x, v);
      });
      tidy(() => {
        const p = x.clone().requiresGrad_(true);
        antler.mseLoss(model.forward(p), y).backward(undefined, { createGraph: true });
        p.dispose();
      });
    };
    iteration();
    const base = tensorCounts().numTensors;
    const counts: number[] = [];
    for (let k = 0; k < 30; k++) {
      iteration();
      counts.push(tensorCounts().numTensors - base);
    }
    expect(counts.every((c) => c === counts[0])).toBe(true);
    expect(counts[0]).toBe(0);
    opt.dispose();
    model.dispose();
    antler.dispose([x, y]);
  });
});

describe(`double backward: a review's cases (seed ${rng.seed})`, () => {
  const param = (n: number, lo = -1, hi = 1) => tensor(randomArray(rng, n, lo, hi), [n], { ...F64, requiresGrad: true });

  test("AdaHessian: a closure whose backward() calls do not all build a graph is not exact ('auto' → forward differences, 'exact' refuses), and .grad is left plain", () => {
    tidy(() => {
      const W = param(3, -0.5, 0.5);
      const lossOf = (opt: optim.AdaHessian) => () => {
        opt.zeroGrad();
        tidy(() => antler.prod(antler.add(W, 1)).backward()); // no second derivative
        const L = antler.sum(antler.pow(W, 4));
        L.backward(); // would build one
        return L;
      };
      const seed = rng.int(1, 1e6);
      const auto = new optim.AdaHessian([W], { lr: 0, betas: [0, 0], seed });
      auto.step(lossOf(auto));
      expect(auto.lastHvpMethod).toBe('forward');
      expect(W.grad!.requiresGrad).toBe(false);
      const central = new optim.AdaHessian([W], { lr: 0, betas: [0, 0], seed, hvp: 'central' });
      central.step(lossOf(central));
      const D = (o: optim.AdaHessian) => Array.from((o.state.get(W)!.expHessianDiagSq as Tensor).dataSync());
      // Both terms' Hessians (prod's and the quartic's) are in D.
      expect(relErr(D(auto), D(central), 1e-8)).toBeLessThan(1e-5);
      const exact = new optim.AdaHessian([W], { hvp: 'exact', seed });
      expectAntlerError(() => exact.step(lossOf(exact)), 'NOT_SUPPORTED', /^AdaHessian.step: hvp 'exact' needs a second derivative of the loss; 'prod' has no differentiable backward/);
      expect(W.grad!.requiresGrad).toBe(false);
      expect(exact.state.size).toBe(0);
      const byHand = new optim.AdaHessian([W], { hvp: 'exact' });
      expectAntlerError(
        () => byHand.step(() => {
          W.grad = antler.onesLike(W);
          return 0;
        }),
        'INVALID_ARGUMENT',
        /set \.grad without calling backward\(\)/,
      );
      for (const o of [auto, central, exact, byHand]) o.dispose();
    });
  });

  test('nested valueAndGrad leaves its value to the caller (no leak); a third derivative through it', () => {
    const xs = randomArray(rng, 3);
    const x = tensor(xs, [3], F64);
    const once = () =>
      tidy(() =>
        Array.from(
          antler.grad((t: Tensor) => {
            const { value, grads } = antler.valueAndGrad((s: Tensor) => antler.sum(antler.pow(s, 3)))(t);
            return antler.add(value, antler.sum(grads[0]));
          })(x)[0].dataSync(),
        ),
      );
    expectClose(once(), xs.map((a) => 3 * a * a + 6 * a), 1e-14, 1e-14, 'd/dx (Σx³ + Σ3x²)');
    const base = tensorCounts().numTensors;
    for (let k = 0; k < 5; k++) once();
    expect(tensorCounts().numTensors).toBe(base);
    x.dispose();
  });

  test('zeroGrad(false) after a createGraph backward cuts .grad from its graph (PyTorch detaches it): nothing accumulates over a loop', () => {
    const p = param(4);
    const step = () => {
      tidy(() => antler.sum(antler.exp(antler.mul(p, p))).backward(undefined, { createGraph: true }));
      p.zeroGrad(false);
    };
    step();
    const base = tensorCounts().numTensors;
    for (let k = 0; k < 5; k++) step();
    expect(tensorCounts().numTensors).toBe(base);
    expect(p.grad!.requiresGrad).toBe(false);
    expect(Array.from(p.grad!.dataSync())).toEqual([0, 0, 0, 0]);
    p.dispose();
  });

  test('a second createGraph backward adds out of place: a .grad held before keeps its values inside tidy(), the new .grad is the sum and differentiable', () =>
    tidy(() => {
      const vs = randomArray(rng, 2);
      const p = tensor(vs, [2], { ...F64, requiresGrad: true });
      antler.sum(antler.square(p)).backward();
      const g = p.grad!;
      antler.sum(antler.pow(p, 3)).backward(undefined, { createGraph: true });
      expectClose(g.dataSync(), vs.map((a) => 2 * a), 1e-15, 0, 'the earlier .grad');
      expectClose(p.grad!.dataSync(), vs.map((a) => 2 * a + 3 * a * a), 1e-15, 1e-15, 'the sum');
      // d/dp Σ(2p + 3p²): the first term came from a plain backward (a constant), so 6p.
      const h = antler.sum(p.grad!);
      p.grad = null;
      h.backward();
      expectClose(p.grad!.dataSync(), vs.map((a) => 6 * a), 1e-14, 1e-15, 'd/dp of the sum');
    }));

  test("embedding with scaleGradByFreq has no second derivative (NOT_SUPPORTED); hvp's default falls back to differences", () =>
    tidy(() => {
      const w = tensor(randomArray(rng, 3), [3, 1], F64);
      const idx = tensor([0, 0, 1], [3], { dtype: 'int32' });
      const f = (t: Tensor) => antler.sum(antler.exp(antler.embedding(idx, t, { scaleGradByFreq: true })));
      const v = antler.onesLike(w);
      expectAntlerError(() => antler.hvp(f, w, v, { method: 'exact' }), 'NOT_SUPPORTED', /'embedding' has no differentiable backward/);
      const r = antler.hvp(f, w, v);
      expect(r.method).toBe('central');
      // The scaled gradient is e^w for rows 0 and 1 (row 0's two uses averaged): its derivative e^w.
      const ws = Array.from(w.dataSync());
      expectClose(r.hvp.dataSync(), [Math.exp(ws[0]), Math.exp(ws[1]), 0], 1e-8, 1e-10, 'd/dw of the scaled gradient');
      // Without the option it is exact: Σ over the uses.
      const plain = antler.hvp((t: Tensor) => antler.sum(antler.exp(antler.embedding(idx, t))), w, v);
      expect(plain.method).toBe('exact');
      expectClose(plain.hvp.dataSync(), [2 * Math.exp(ws[0]), Math.exp(ws[1]), 0], 1e-14, 1e-15, 'exact without scaling');
    }));

  test('only the ops on the way to the inputs need a second derivative: a closed-over prod(W) does not stop nested grad or exact hvp', () =>
    tidy(() => {
      const xs = randomArray(rng, 3, 0.5, 1.5), ys = randomArray(rng, 3);
      const x = tensor(xs, [3], F64), y = tensor(ys, [3], F64);
      // d/dx Σ ∂/∂y (Πx · Σy²) = d/dx (2 Πx Σy) = 2 Σy · Πx / x.
      const P = xs.reduce((a, b) => a * b, 1), Sy = ys.reduce((a, b) => a + b, 0);
      const got = antler.grad((t: Tensor) => antler.sum(antler.grad((u: Tensor) => antler.mul(antler.prod(t), antler.sum(antler.square(u))))(y)[0]))(x)[0];
      expectClose(got.dataSync(), xs.map((a) => (2 * Sy * P) / a), 1e-13, 1e-14, 'mixed partials through prod');
      const W = tensor(xs, [3], { ...F64, requiresGrad: true });
      const v = tensor(randomArray(rng, 3), [3], F64);
      const r = antler.hvp((t: Tensor) => antler.mul(antler.prod(W), antler.sum(antler.pow(t, 3))), y, v, { method: 'exact' });
      expectClose(r.hvp.dataSync(), ys.map((a, i) => P * 6 * a * Array.from(v.dataSync())[i]), 1e-13, 1e-14, 'Πw · 6y ⊙ v');
    }));

  test('grad under noGrad() inside another grad is a plain gradient (not zeros); hvp of an f that calls grad is exact; hvp inside grad is refused', () =>
    tidy(() => {
      const xs = randomArray(rng, 3), cs = randomArray(rng, 3);
      const x = tensor(xs, [3], F64), c = tensor(cs, [3], F64);
      const cube = (y: Tensor) => antler.sum(antler.pow(y, 3));
      let inner: number[] = [];
      antler.grad((t: Tensor) => {
        inner = Array.from(antler.noGrad(() => antler.grad(cube)(t))[0].dataSync());
        return antler.sum(t);
      })(x);
      expectClose(inner, xs.map((a) => 3 * a * a), 1e-15, 1e-15, 'the inner gradient under noGrad');
      // f = Σ c ⊙ ∇Σy³ = Σ 3c y²: H = diag(6c), so H·1 = 6c.
      const f = (y: Tensor) => antler.sum(antler.mul(antler.grad(cube)(y)[0], c));
      const r = antler.hvp(f, x, antler.onesLike(x));
      expect(r.method).toBe('exact');
      expectClose(r.hvp.dataSync(), cs.map((ci) => 6 * ci), 1e-14, 1e-14, 'H·1 of Σ 3c x²');
      expectAntlerError(
        () => antler.grad((t: Tensor) => antler.sum(antler.hvp(cube, t, antler.onesLike(t)).hvp))(x),
        'INVALID_ARGUMENT',
        /^hvp: called inside the function of another valueAndGrad\/grad; its result is not differentiable there/,
      );
    }));

  test("AdaHessian's exact products leave no graph on tensors outside the optimizer (a frozen layer, an input): memory stays flat", () => {
    antler.setSeed(rng.int(1, 2 ** 30));
    const frozen = new nn.Linear(6, 6, F64), head = new nn.Linear(6, 3, F64);
    const x = antler.randn([10, 6], F64).requiresGrad_(true);
    const y = tensor(Array.from({ length: 10 }, (_, i) => i % 3), [10], { dtype: 'int32' });
    const opt = new optim.AdaHessian(head.parameters(), { lr: 0.01 });
    const step = () =>
      opt.step(() => {
        opt.zeroGrad();
        const l = antler.crossEntropy(head.forward(antler.tanh(frozen.forward(x))), y);
        l.backward();
        return l;
      });
    step();
    expect(opt.lastHvpMethod).toBe('exact');
    const base = tensorCounts().numTensors;
    for (let k = 0; k < 6; k++) step();
    expect(tensorCounts().numTensors).toBe(base);
    for (const t of [...frozen.parameters(), x, ...head.parameters()]) expect(t.grad!.requiresGrad).toBe(false);
    opt.dispose();
    frozen.dispose();
    head.dispose();
    antler.dispose([x, y]);
  });
});
