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
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeRng, randomArray, tensorCounts } from '../helpers';
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
const NOT_DOUBLE = new Set<string>([]);

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

  // The test above takes each op's first sample only; a graph-building backward has its own formulas
  // (softmax along another axis, a 0-d input, broadcast batches, ignored rows …), so every sample is
  // checked here: its first-order gradient equals the plain backward's (the fused kernels, which
  // opinfo.test.ts checks against finite differences on these same samples).
  test("every sample of every op: a graph-building backward's first-order gradient equals the plain one", () =>
    tidy(() => {
      const bad: string[] = [];
      for (const op of OPS) {
        op.samples(rng).forEach((sample, si) => {
          if (NOT_DOUBLE.has(op.name.split('(')[0])) return;
          tidy(() => {
            const aux = (sample.aux ?? []).map(buildAux);
            const outShape = antler.noGrad(() => op.fn(sample.inputs.map(build), aux).shape);
            const W = tensor(randomArray(rng, outShape.reduce((a, b) => a * b, 1)), outShape, F64);
            const gradsOf = (createGraph: boolean) => {
              const leaves = sample.inputs.map((s) => build(s).requiresGrad_(true));
              antler.sum(antler.mul(op.fn(leaves, aux), W)).backward(undefined, { createGraph });
              return leaves.map((l) => (l.grad ? Array.from(l.grad.dataSync()) : null));
            };
            const graph = gradsOf(true), plain = gradsOf(false);
            plain.forEach((b, i) => {
              const a = graph[i];
              const ok = b === null ? a === null || a.every((v) => v === 0) : a !== null && relErr(a, b, 1e-12) < 1e-12;
              if (!ok) bad.push(`${op.name} sample ${si}${sample.note ? ` (${sample.note})` : ''} input ${i}: ${b === null || a === null ? `${a} vs ${b}` : relErr(a, b, 1e-12)}`);
            });
          });
        });
      }
      expect(bad).toEqual([]);
    }));
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
      // Central differences at h and h/2 combined by Richardson's rule (error O(h⁴)): the plain O(h²)
      // difference reached 2.8e-7 against the analytic value on a steep draw (seed 28302160).
      const up = moved(h), halfUp = moved(-h / 2), halfDown = moved(-h), down = moved(-h / 2);
      moved(h);
      const fd = (4 * (halfUp - halfDown) / h - (up - down) / (2 * h)) / 3;
      const analytic = g.reduce((s, gi, i) => s + gi.reduce((t, v, j) => t + v * d[i][j], 0), 0);
      expect(Math.abs(fd - analytic)).toBeLessThan(1e-7 * Math.max(1, Math.abs(analytic)));
      model.dispose();
    }));

  test('ops without a differentiable backward are refused by name (NOT_SUPPORTED) before any .grad changes; hvp falls back to differences by itself', () =>
    tidy(() => {
      // embedding with scaleGradByFreq has no second derivative: f(p) = Σ_i e^{p_idx(i)}, idx = [0, 0, 1, 3].
      const xs = randomArray(rng, 4, -0.5, 0.5);
      const idx = tensor([0, 0, 1, 3], [4], { dtype: 'int32' });
      const scaled = (y: Tensor) => antler.sum(antler.exp(antler.embedding(idx, antler.reshape(y, [4, 1]), { scaleGradByFreq: true })));
      const p = tensor(xs, [4], { ...F64, requiresGrad: true });
      const L = antler.mul(scaled(p), antler.sum(antler.square(p)));
      expectAntlerError(() => L.backward(undefined, { createGraph: true }), 'NOT_SUPPORTED', /^backward with createGraph \(a second derivative\): 'embedding' has no differentiable backward/);
      expect(p.grad).toBeNull();
      L.backward(); // the graph is intact: a plain backward runs
      expect(p.grad).not.toBeNull();
      const v = tensor(randomArray(rng, 4), [4], F64);
      expectAntlerError(() => antler.hvp(scaled, p.detach(), v, { method: 'exact' }), 'NOT_SUPPORTED', /^hvp: method 'exact' needs a second derivative of f; 'embedding' has no differentiable backward/);
      const auto = antler.hvp(scaled, p.detach(), v);
      expect(auto.method).toBe('central');
      // The scaled gradient is e^{p_j} for every used row (row 0's two uses averaged): its derivative is diagonal.
      const vv = Array.from(v.dataSync());
      expectClose(auto.hvp.dataSync(), xs.map((a, j) => (j === 2 ? 0 : Math.exp(a) * vv[j])), 1e-7, 1e-9, 'by differences');
      expectAntlerError(
        () => antler.grad((y: Tensor) => antler.sum(antler.grad(scaled)(y)[0]))(p.detach()),
        'NOT_SUPPORTED',
        /^grad: called inside the function of another valueAndGrad\/grad, which needs a second derivative; 'embedding' has no differentiable backward/,
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

  test('AdaHessian: exact products through the recurrent layers (SRU, LSTM, GRU in deer mode) equal central differences, one closure call per step', () => {
    const run = (hvp: 'exact' | 'central', seed: number, kind: 'sru' | 'lstm' | 'gru') =>
      tidy(() => {
        antler.setSeed(seed);
        const emb = new nn.Embedding(7, 4, F64);
        const rec =
          kind === 'sru'
            ? new nn.SRU(4, 3, { numLayers: 2, bidirectional: true, dtype: 'float64' })
            : kind === 'lstm'
              ? new nn.LSTM(4, 3, { dtype: 'float64', mode: 'sequential' })
              : new nn.GRU(4, 3, { dtype: 'float64', mode: 'deer' });
        const head = new nn.Linear(kind === 'sru' ? 6 : 3, 5, F64);
        const params = [...emb.parameters(), ...rec.parameters(), ...head.parameters()];
        const tokens = tensor(Array.from({ length: 12 }, (_, i) => (i * 5 + 1) % 7), [6, 2], { dtype: 'int32' });
        const labels = tensor(Array.from({ length: 12 }, (_, i) => (i * 3) % 5), [12], { dtype: 'int32' });
        const opt = new optim.AdaHessian(params, { lr: 0.05, hvp, seed: 5 });
        let calls = 0;
        const closure = () => {
          calls++;
          opt.zeroGrad();
          const out = rec.forward(emb.forward(tokens)).output;
          const l = antler.crossEntropy(head.forward(antler.reshape(out, [12, -1])), labels);
          l.backward();
          return l;
        };
        opt.step(closure);
        const D = params.map((p) => Array.from((opt.state.get(p)!.expHessianDiagSq as Tensor).dataSync(), Math.sqrt));
        const method = opt.lastHvpMethod;
        opt.dispose();
        for (const m of [emb, rec, head]) m.dispose();
        return { D, calls, method };
      });
    for (const kind of ['sru', 'lstm', 'gru'] as const) {
      const seed = rng.int(1, 2 ** 30);
      const exact = run('exact', seed, kind), central = run('central', seed, kind);
      expect({ kind, got: [exact.method, exact.calls, central.method, central.calls] }).toEqual({ kind, got: ['exact', 1, 'central', 3] });
      exact.D.forEach((d, i) => expect({ kind, i, err: relErr(d, central.D[i], 1e-8) < 1e-6 ? 'ok' : relErr(d, central.D[i], 1e-8) }).toEqual({ kind, i, err: 'ok' }));
    }
  });

  test("AdaHessian: 'auto' is exact through SRU and cells and uses forward differences through GRU/LSTM/RNN over a sequence and ctcLoss (their exact pass walks it step by step); 'exact' asks for it", () => {
    tidy(() => {
      antler.setSeed(rng.int(1, 2 ** 30));
      const x = antler.randn([6, 2, 3], F64);
      for (const [name, m] of [
        ['SRU', new nn.SRU(3, 3, { numLayers: 1, dtype: 'float64' })],
        ['LSTM', new nn.LSTM(3, 3, { dtype: 'float64' })],
        ['GRU', new nn.GRU(3, 3, { dtype: 'float64', mode: 'deer' })],
        ['RNN', new nn.RNN(3, 3, { dtype: 'float64' })],
      ] as const) {
        const methods = (['auto', 'exact'] as const).map((hvp) => {
          const opt = new optim.AdaHessian(m.parameters(), { lr: 0.01, seed: 3, hvp });
          opt.step(() => {
            opt.zeroGrad();
            const l = antler.mean(antler.square(m.forward(x).output));
            l.backward();
            return l;
          });
          // .grad holds plain values either way.
          for (const p of m.parameters()) expect(p.grad!.requiresGrad).toBe(false);
          opt.dispose();
          return opt.lastHvpMethod;
        });
        expect({ name, methods }).toEqual({ name, methods: [name === 'SRU' ? 'exact' : 'forward', 'exact'] });
        m.dispose();
      }
      // ctcLoss's exact pass walks the frames one recorded step at a time too.
      const head = new nn.Linear(3, 4, F64);
      const ctcMethods = (['auto', 'exact'] as const).map((hvp) => {
        const opt = new optim.AdaHessian(head.parameters(), { lr: 0.01, seed: 3, hvp });
        opt.step(() => {
          opt.zeroGrad();
          const l = antler.ctcLoss(antler.logSoftmax(head.forward(x), 2), [[1, 2], [3, 0]], [6, 5], [2, 1]);
          l.backward();
          return l;
        });
        opt.dispose();
        return opt.lastHvpMethod;
      });
      expect(ctcMethods).toEqual(['forward', 'exact']);
      head.dispose();
      // A cell called in the closure's own loop is one step per call: exact under 'auto'.
      const cell = new nn.GRUCell(3, 3, F64);
      const opt = new optim.AdaHessian(cell.parameters(), { lr: 0.01, seed: 3 });
      opt.step(() => {
        opt.zeroGrad();
        let h: Tensor | null = null;
        for (let t = 0; t < 3; t++) h = cell.forward(antler.reshape(antler.slice(x, [t], [1]), [2, 3]), h);
        const l = antler.mean(antler.square(h!));
        l.backward();
        return l;
      });
      expect(opt.lastHvpMethod).toBe('exact');
      opt.dispose();
      cell.dispose();
    });
  });

  test("AdaHessian: 'auto' falls back to forward differences through an op without a second derivative; 'exact' refuses it with NOT_SUPPORTED and changes nothing", () => {
    tidy(() => {
      antler.setSeed(rng.int(1, 2 ** 30));
      const emb = new nn.Embedding(6, 3, { ...F64, scaleGradByFreq: true });
      const sru = new nn.SRU(3, 4, { numLayers: 1, dtype: 'float64' });
      const params = [...emb.parameters(), ...sru.parameters()];
      const tokens = tensor([0, 1, 1, 4, 2, 5, 0, 3, 1, 2], [5, 2], { dtype: 'int32' });
      const lossOf = () => antler.mean(antler.square(sru.forward(emb.forward(tokens)).output));
      const auto = new optim.AdaHessian(params, { lr: 0.01, seed: 3 });
      let calls = 0;
      auto.step(() => {
        calls++;
        auto.zeroGrad();
        const l = lossOf();
        l.backward();
        return l;
      });
      expect([auto.lastHvpMethod, calls]).toEqual(['forward', 2]);
      const before = params.map((p) => Array.from(p.dataSync()));
      const exact = new optim.AdaHessian(params, { lr: 0.01, seed: 3, hvp: 'exact' });
      const closure = () => {
        exact.zeroGrad();
        const l = lossOf();
        l.backward();
        return l;
      };
      expectAntlerError(() => exact.step(closure), 'NOT_SUPPORTED', /^AdaHessian.step: hvp 'exact' needs a second derivative of the loss; 'embedding' has no differentiable backward/);
      params.forEach((p, i) => expectClose(p.dataSync(), before[i], 0, 0, `parameter ${i} unchanged`));
      auto.dispose();
      exact.dispose();
      emb.dispose();
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

  test('prod and cumprod have exact second derivatives (their gradients are recorded scans), zeros included', () =>
    tidy(() => {
      const xs = randomArray(rng, 5, 0.5, 1.5);
      xs[rng.int(0, 4)] = 0; // one zero factor: products of the others, no division
      const x = tensor(xs, [5], F64);
      const v = tensor(randomArray(rng, 5), [5], F64);
      const vv = Array.from(v.dataSync());
      const r = antler.hvp((y: Tensor) => antler.prod(y), x, v);
      expect(r.method).toBe('exact');
      // atol 1e-14: each entry sums up to 4 products of factors ≤ 1.5 (≤ 3.4 each), so a different summation order
      // moves an entry that cancels to ~0 by up to ~4·3.4·2⁻⁵³ ≈ 1.5e-15 (past a 1e-15 atol); a missing or wrong term moves it by |v_j|·Π x_m, typically 0.1–1.
      // H of Π x: H_ij = Π_{k ≠ i, j} x_k off the diagonal, 0 on it.
      const others = (i: number, j: number) => xs.reduce((a, b, k) => (k === i || k === j ? a : a * b), 1);
      expectClose(r.hvp.dataSync(), xs.map((_, i) => xs.reduce((s, _b, j) => s + (i === j ? 0 : others(i, j) * vv[j]), 0)), 1e-14, 1e-14, 'H·v of Π x');
      // Third derivative: d/dx_k of (H·v)_0 = Σ_j v_j Π_{m ∉ {0, j, k}} x_m (j, k ≠ 0, j ≠ k).
      const third = antler.grad((y: Tensor) => {
        const hv = antler.grad((u: Tensor) => antler.sum(antler.mul(antler.grad((w: Tensor) => antler.prod(w))(u)[0], v)))(y)[0];
        return antler.sum(antler.slice(hv, [0], [1]));
      })(x)[0];
      const only = (skip: number[]) => xs.reduce((a, b, m) => (skip.includes(m) ? a : a * b), 1);
      expectClose(third.dataSync(), xs.map((_, k) => (k === 0 ? 0 : vv.reduce((s, vj, j) => s + (j === 0 || j === k ? 0 : vj * only([0, j, k])), 0))), 1e-14, 1e-14, 'third derivative of Π x');
    }));

  test("solveIVP: method 'deer' (the implicit adjoint) has no second derivative and says that 'rk4' has one; 'rk4' (backprop through its steps) gives exact H·v, also through nn.NeuralODE", () =>
    tidy(() => {
      const W = tensor(randomArray(rng, 9, -0.8, 0.8), [3, 3], F64).requiresGrad_(true);
      const y0 = tensor(randomArray(rng, 6), [2, 3], F64);
      const grid = [0, 0.2, 0.5, 0.6, 1];
      const loss = (method: 'deer' | 'rk4') => () => antler.sum(antler.square(antler.deer.solveIVP((_t: Tensor, y: Tensor) => antler.tanh(antler.matmul(y, W)), y0, grid, { method }).y));
      expectAntlerError(() => antler.autograd.grad([loss('deer')()], [W], { createGraph: true }), 'NOT_SUPPORTED', /'solveIVP' has no differentiable backward \(solveIVP and NeuralODE with method 'rk4' have one/);
      expect(hvpAgainstDifferences([W], loss('rk4'))).toBeLessThan(1e-6);
      class Field extends nn.Module {
        net = this.registerModule('net', new nn.Sequential(new nn.Linear(3, 4, F64), new nn.Tanh(), new nn.Linear(4, 3, F64)));
        forward(_t: Tensor, y: Tensor): Tensor {
          return this.net.forward(y);
        }
      }
      const node = new nn.NeuralODE(new Field(), { method: 'rk4' });
      expect(hvpAgainstDifferences(node.parameters(), () => antler.sum(antler.square(node.forward(y0, grid).y)))).toBeLessThan(1e-6);
      node.dispose();
      W.dispose();
    }));

  test('ctcLoss has an exact second derivative (α and β as recorded recursions): lengths, repeats, empty targets, concatenated and unbatched targets, impossible targets, float32', () => {
    const T = 24, N = 4, C = 6;
    const logits = tensor(randomArray(rng, T * N * C, -2, 2), [T, N, C], F64).requiresGrad_(true);
    // Sample 1 repeats a label (a blank must separate the two), sample 3 has an empty target.
    const targets = [[1, 2, 3, 4, 5], [2, 2, 5, 0, 0], [3, 1, 4, 1, 0], [0, 0, 0, 0, 0]];
    const inLens = [T, T - 3, 17, 9], tgtLens = [5, 3, 4, 0];
    for (const [what, loss] of [
      ['padded targets, mean', () => antler.ctcLoss(antler.logSoftmax(logits, 2), targets, inLens, tgtLens)],
      ['concatenated targets, sum, blank 5', () => antler.ctcLoss(antler.logSoftmax(logits, 2), [1, 2, 3, 4, 0, 2, 2, 0, 3, 1, 4, 1], inLens, tgtLens, { blank: 5, reduction: 'sum' })],
      ['unbatched', () => antler.ctcLoss(antler.logSoftmax(antler.reshape(antler.slice(logits, [0, 0, 0], [T, 1, C]), [T, C]), 1), [3, 3, 1], T, 3)],
      // Every target empty: the lattice is one blank (a review: the shifted states once came out 3 wide).
      ['all targets empty', () => antler.ctcLoss(antler.logSoftmax(logits, 2), [[], [], [], []], inLens, [0, 0, 0, 0], { reduction: 'sum' })],
      ['unbatched, empty target', () => antler.ctcLoss(antler.logSoftmax(antler.reshape(antler.slice(logits, [0, 1, 0], [T, 1, C]), [T, C]), 1), [], T - 2, 0)],
    ] as const) {
      const err = hvpAgainstDifferences([logits], loss);
      expect({ what, err: err < 1e-6 ? 'ok' : err }).toEqual({ what, err: 'ok' });
    }
    tidy(() => {
      // An impossible target (3 labels with a repeat need 4 frames; sample 1 has 3): zeroInfinity gives 0 for it, the rest exact.
      const loss = (zeroInfinity: boolean) => antler.ctcLoss(antler.logSoftmax(logits, 2), [[1, 2], [4, 4, 2], [5, 1], [3, 0]], [T, 3, 12, 6], [2, 3, 2, 1], { zeroInfinity, reduction: 'sum' });
      expect(hvpAgainstDifferences([logits], () => loss(true))).toBeLessThan(1e-6);
      // Without it the loss is ∞ and the impossible sample's steps get NaN, as in the plain backward.
      const rowsOf = (g: Tensor) => Array.from(g.dataSync(), (v) => (Number.isNaN(v) ? 'nan' : 'finite'));
      const lp = antler.logSoftmax(logits.detach(), 2).requiresGrad_(true);
      const seed = tensor(randomArray(rng, N), [N], F64);
      const perSample = () => antler.ctcLoss(lp, [[1, 2], [4, 4, 2], [5, 1], [3, 0]], [T, 3, 12, 6], [2, 3, 2, 1], { reduction: 'none' });
      const built = antler.autograd.grad([perSample()], [lp], { createGraph: true, gradOutputs: [seed] })[0]!;
      const plain = antler.autograd.grad([perSample()], [lp], { gradOutputs: [seed] })[0]!;
      expect(rowsOf(built)).toEqual(rowsOf(plain));
      expect(rowsOf(built).filter((v) => v === 'nan').length).toBe(3 * C);
      const finite = (g: Tensor) => Array.from(g.dataSync(), (v) => (Number.isNaN(v) ? 0 : v));
      expectClose(finite(built), finite(plain), 1e-12, 1e-12, 'createGraph gradient with an impossible target');
      // float32: the recorded gradient equals the fused kernel's to float32 rounding.
      const lp32 = antler.logSoftmax(logits.detach().cast('float32'), 2).requiresGrad_(true);
      const f32 = (createGraph: boolean) => antler.autograd.grad([antler.ctcLoss(lp32, targets, inLens, tgtLens)], [lp32], { createGraph })[0]!.dataSync();
      expectClose(f32(true), f32(false), 1e-5, 1e-6, 'float32 createGraph gradient');
    });
    logits.dispose();
  });
});

/** The smallest |pre-activation| over every step of a one-layer, one-direction RNN (float64, by hand). */
function reluRnnMargin(m: nn.Module, x: Tensor, h0: Tensor): number {
  const p = new Map(m.namedParameters().map(([n, t]) => [n, t.dataSync()]));
  const [Wih, Whh, bih, bhh] = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'].map((n) => p.get(n)!);
  const [T, B, I] = x.shape, H = h0.shape[2], xs = x.dataSync();
  const h = Array.from(h0.dataSync());
  let margin = Infinity;
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      const pre = Array.from({ length: H }, (_, j) => {
        let s = bih[j] + bhh[j];
        for (let i = 0; i < I; i++) s += Wih[j * I + i] * xs[(t * B + b) * I + i];
        for (let k = 0; k < H; k++) s += Whh[j * H + k] * h[b * H + k];
        return s;
      });
      pre.forEach((v, j) => {
        margin = Math.min(margin, Math.abs(v));
        h[b * H + j] = Math.max(v, 0);
      });
    }
  return margin;
}

/**
 * max relative error of the exact H·v of loss() with respect to `leaves`
 * (a graph-building backward, then one more) against Richardson-extrapolated
 * central differences of the plain first-order gradient (the fused kernels),
 * moving every leaf along its v at once.
 */
function hvpAgainstDifferences(leaves: Tensor[], loss: () => Tensor): number {
  const every = (gs: (Tensor | null)[]) =>
    gs.map((g, i) => {
      if (g === null) throw new Error(`no gradient reached leaf ${i}`);
      return g;
    });
  return tidy(() => {
    const vs = leaves.map((p) => tensor(randomArray(rng, p.size), p.shape, F64));
    const gs = every(antler.autograd.grad([loss()], leaves, { createGraph: true }));
    const dot = gs.reduce((acc, g, i) => antler.add(acc, antler.sum(antler.mul(g, vs[i]))), tensor(0, [], F64));
    const exact = every(antler.autograd.grad([dot], leaves));
    const gradAt = (h: number) => {
      antler.noGrad(() => leaves.forEach((p, i) => p.assign(antler.add(p, antler.mul(vs[i], h)))));
      const g = every(antler.autograd.grad([loss()], leaves));
      antler.noGrad(() => leaves.forEach((p, i) => p.assign(antler.sub(p, antler.mul(vs[i], h)))));
      return g;
    };
    const D = (h: number) => {
      const plus = gradAt(h), minus = gradAt(-h);
      return plus.map((p, i) => antler.div(antler.sub(p, minus[i]), 2 * h));
    };
    const coarse = D(1e-4), fine = D(5e-5);
    return Math.max(...exact.map((e, i) => relErr(e.dataSync(), antler.div(antler.sub(antler.mul(fine[i], 4), coarse[i]), 3).dataSync())));
  });
}

describe(`second derivatives through the recurrent kernels and scans (seed ${rng.seed})`, () => {
  const rand = (shape: number[], scale = 1, requiresGrad = true) => tensor(randomArray(rng, shape.reduce((a, b) => a * b, 1), -scale, scale), shape, { ...F64, requiresGrad });
  const ok = (what: object, err: number, tol = 1e-6) => expect({ ...what, err: err < tol ? 'ok' : err }).toEqual({ ...what, err: 'ok' });

  test('deer.scan (dense and diagonal A) and deer.expm: exact H·v in A, b, y0 against differences; third derivatives through the scan', () =>
    tidy(() => {
      for (const dense of [true, false]) {
        const [T, B, n] = [6, 2, 3];
        const A = rand(dense ? [T, B, n, n] : [T, B, n], 0.7), b = rand([T, B, n]), y0 = rand([B, n]);
        const W = rand([T, B, n], 1, false);
        ok({ dense }, hvpAgainstDifferences([A, b, y0], () => antler.sum(antler.mul(antler.square(antler.deer.scan(A, b, y0)), W))));
      }
      const M = rand([2, 3, 3], 0.8), G = rand([2, 3, 3], 1, false);
      ok({ op: 'expm' }, hvpAgainstDifferences([M], () => antler.sum(antler.mul(antler.deer.expm(M), G))));
      // A third derivative: d/dy0 of a second one, exact, against differences of the exact second.
      const A = rand([4, 1, 2], 0.7), b = rand([4, 1, 2]);
      const second = (y0: Tensor) => {
        const g = antler.grad((a: Tensor) => antler.sum(antler.pow(antler.deer.scan(a, b, y0), 3)))(A)[0];
        return antler.sum(antler.square(g));
      };
      const y0 = tensor(randomArray(rng, 2), [1, 2], F64);
      const third = antler.grad(second)(y0)[0].dataSync();
      const h = 1e-5;
      const fd = [0, 1].map((j) => {
        const e = tensor([j === 0 ? h : 0, j === 1 ? h : 0], [1, 2], F64);
        return (second(antler.add(y0, e)).item() - second(antler.sub(y0, e)).item()) / (2 * h);
      });
      expectClose(third, fd, 1e-7, 1e-9, 'third derivative through the scan');
    }));

  test("nn.SRU: exact H·v in the weights, x and c0 against differences over k = 3 and 4, directions, layers, maskPad, lengths, activations, projection, layer norm, mode 'deer'", () => {
    const configs: [string, Record<string, unknown>, number, 'mask' | 'lengths' | null][] = [
      ['k = 3', {}, 3, null],
      ['k = 4, bidirectional, maskPad', { bidirectional: true }, 2, 'mask'],
      ['tanh, 2 layers, lengths', { activation: 'tanh', numLayers: 2 }, 3, 'lengths'],
      ['bidirectional tanh, no skip term', { bidirectional: true, activation: 'tanh', hasSkipTerm: false }, 3, 'mask'],
      ['projection, layer norm (after), highway bias, rescale', { projectionSize: 2, layerNorm: true, normalizeAfter: true, highwayBias: -1, rescale: true }, 3, null],
      ['layer norm (before), 2 bidirectional layers', { layerNorm: true, numLayers: 2, bidirectional: true }, 2, 'lengths'],
      ["mode 'deer' (parallel over time), bidirectional, maskPad", { mode: 'deer', bidirectional: true }, 3, 'mask'],
    ];
    for (const [name, o, inSize, pad] of configs)
      tidy(() => {
        antler.setSeed(rng.int(1, 2 ** 30));
        const d = 3, L = 5, B = 2;
        const sru = new nn.SRU(inSize, d, { numLayers: 1, dtype: 'float64', ...o });
        const dirs = o.bidirectional ? 2 : 1, layers = (o.numLayers as number) ?? 1;
        const x = rand([L, B, inSize]), c0 = rand([layers, B, dirs * d]);
        const maskPad = pad === 'mask' ? tensor([0, 0, 0, 0, 0, 0, 0, 1, 1, 1], [L, B], { dtype: 'int32' }) : null;
        const lengths = pad === 'lengths' ? [L, 3] : null;
        const loss = () => {
          const r = sru.forward(x, { c0, maskPad, lengths });
          return antler.add(antler.sum(antler.pow(r.output, 3)), antler.sum(antler.square(r.c)));
        };
        ok({ name }, hvpAgainstDifferences([...sru.parameters(), x, c0], loss));
        sru.dispose();
      });
  });

  test('nn.GRU, nn.LSTM, nn.RNN: exact H·v in the weights, x and h0 against differences in every mode (sequential, deer, quasi, elk), chunked, bidirectional, two layers, lengths; the cells too', () => {
    const kinds = [
      ['GRU', nn.GRU],
      ['LSTM', nn.LSTM],
      ['RNN', nn.RNN],
    ] as const;
    const modes: [string, Record<string, unknown>][] = [
      ['sequential', { mode: 'sequential' }],
      ['deer, chunked', { mode: 'deer', deer: { chunkSize: 2 } }],
      ['quasi, bidirectional', { mode: 'quasi', bidirectional: true }],
      ['elk, 2 layers', { mode: 'elk', numLayers: 2 }],
      ['sequential, relu', { mode: 'sequential', nonlinearity: 'relu' }],
    ];
    for (const [kindName, Cls] of kinds)
      for (const [modeName, o] of modes) {
        if (modeName.endsWith('relu') && kindName !== 'RNN') continue;
        tidy(() => {
          const H = 3, T = 5, B = 2;
          const dirs = o.bidirectional ? 2 : 1, layers = (o.numLayers as number) ?? 1;
          const lengths = modeName === 'sequential' ? [T, 3] : null;
          // relu has a kink: central differences (steps of 1e-4 along v move a pre-activation by ~1e-3 here) hold only where no
          // pre-activation lies within 5e-3 of 0; other draws are drawn again.
          let m: InstanceType<typeof Cls>, x: Tensor, h0: Tensor, c0: Tensor;
          for (let draw = 0; ; draw++) {
            antler.setSeed(rng.int(1, 2 ** 30));
            m = new Cls(2, H, { dtype: 'float64', ...o });
            [x, h0, c0] = [rand([T, B, 2]), rand([layers * dirs, B, H], 0.5), rand([layers * dirs, B, H], 0.5)];
            if (o.nonlinearity !== 'relu' || reluRnnMargin(m, x, h0) > 5e-3) break;
            m.dispose();
            if (draw === 50) throw new Error('no relu RNN draw without a pre-activation near 0 in 50');
          }
          const loss = () => {
            const r = kindName === 'LSTM' ? (m as nn.LSTM).forward(x, [h0, c0], { lengths }) : (m as nn.GRU).forward(x, h0, { lengths });
            const cell = 'cell' in r ? antler.sum(antler.square((r as { cell: Tensor }).cell)) : tensor(0, [], F64);
            return antler.add(antler.add(antler.sum(antler.pow(r.output, 3)), antler.sum(antler.square(r.hidden))), cell);
          };
          try {
            ok({ kindName, modeName }, hvpAgainstDifferences([...m.parameters(), x, h0, ...(kindName === 'LSTM' ? [c0] : [])], loss));
          } finally {
            m.dispose();
          }
        });
      }
    tidy(() => {
      antler.setSeed(rng.int(1, 2 ** 30));
      const gru = new nn.GRUCell(2, 3, F64), lstm = new nn.LSTMCell(2, 3, F64);
      const x = rand([4, 2]), h = rand([4, 3], 0.5), c = rand([4, 3], 0.5);
      ok({ cell: 'GRUCell' }, hvpAgainstDifferences([...gru.parameters(), x, h], () => antler.sum(antler.pow(gru.forward(x, h), 3))));
      ok({ cell: 'LSTMCell' }, hvpAgainstDifferences([...lstm.parameters(), x, h, c], () => {
        const [h1, c1] = lstm.forward(x, [h, c]);
        return antler.add(antler.sum(antler.pow(h1, 3)), antler.sum(antler.square(c1)));
      }));
      gru.dispose();
      lstm.dispose();
    });
  });
});

describe(`double backward: a review's cases (seed ${rng.seed})`, () => {
  const param = (n: number, lo = -1, hi = 1) => tensor(randomArray(rng, n, lo, hi), [n], { ...F64, requiresGrad: true });

  test("AdaHessian: a closure whose backward() calls do not all build a graph is not exact ('auto' → forward differences, 'exact' refuses), and .grad is left plain", () => {
    tidy(() => {
      const W = param(3, -0.5, 0.5);
      const lossOf = (opt: optim.AdaHessian) => () => {
        opt.zeroGrad();
        // No second derivative (embedding with scaleGradByFreq): Σ_i e^{W_i} with W as a [3, 1] table.
        tidy(() => antler.sum(antler.exp(antler.embedding(tensor([0, 1, 2], [3], { dtype: 'int32' }), antler.reshape(W, [3, 1]), { scaleGradByFreq: true }))).backward());
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
      // Both terms' Hessians (the exponential's and the quartic's) are in D.
      expect(relErr(D(auto), D(central), 1e-8)).toBeLessThan(1e-5);
      const exact = new optim.AdaHessian([W], { hvp: 'exact', seed });
      expectAntlerError(() => exact.step(lossOf(exact)), 'NOT_SUPPORTED', /^AdaHessian.step: hvp 'exact' needs a second derivative of the loss; 'embedding' has no differentiable backward/);
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

  test('only the ops on the way to the inputs need a second derivative: a closed-over op without one does not stop nested grad or exact hvp', () =>
    tidy(() => {
      const xs = randomArray(rng, 3, -0.5, 0.5), ys = randomArray(rng, 3);
      const x = tensor(xs, [3], F64), y = tensor(ys, [3], F64);
      // S(t) = Σ e^{t_i} through embedding with scaleGradByFreq (no second derivative).
      const idx = tensor([0, 1, 2], [3], { dtype: 'int32' });
      const S = (t: Tensor) => antler.sum(antler.exp(antler.embedding(idx, antler.reshape(t, [3, 1]), { scaleGradByFreq: true })));
      // d/dx Σ ∂/∂y (S(x) · Σy²) = d/dx (2 S(x) Σy) = 2 Σy · e^x.
      const Sy = ys.reduce((a, b) => a + b, 0);
      const got = antler.grad((t: Tensor) => antler.sum(antler.grad((u: Tensor) => antler.mul(S(t), antler.sum(antler.square(u))))(y)[0]))(x)[0];
      expectClose(got.dataSync(), xs.map((a) => 2 * Sy * Math.exp(a)), 1e-13, 1e-14, 'mixed partials through the embedding');
      const W = tensor(xs, [3], { ...F64, requiresGrad: true });
      const v = tensor(randomArray(rng, 3), [3], F64);
      const SW = xs.reduce((acc, a) => acc + Math.exp(a), 0);
      const r = antler.hvp((t: Tensor) => antler.mul(S(W), antler.sum(antler.pow(t, 3))), y, v, { method: 'exact' });
      expectClose(r.hvp.dataSync(), ys.map((a, i) => SW * 6 * a * Array.from(v.dataSync())[i]), 1e-13, 1e-14, 'S(W) · 6y ⊙ v');
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

describe(`gradients at the kinks: the graph-building backward keeps PyTorch's conventions (seed ${rng.seed})`, () => {
  // Where a function has no derivative, PyTorch picks one side (torch 1.13's derivatives.yaml and
  // its backward kernels): relu 0 at 0 (threshold_backward), abs 0 at 0 (sgn), leakyRelu the slope
  // at 0 (self > 0), elu α at 0 (self <= 0), clamp 1 at its bounds ((self >= min) & (self <= max)),
  // pow(x, 0) 0 everywhere. Finite differences cannot see these points, and the registry's samples
  // keep away from them; a backward that builds a graph (createGraph) has formulas of its own, so
  // both passes are checked here against the conventions, with random upstream gradients.
  const cases: [string, (x: Tensor) => Tensor, number[], (v: number) => number][] = [
    ['relu', (x) => antler.relu(x), [-1.5, -0, 0, 1e-300, 2], (v) => (v > 0 ? 1 : 0)],
    ['abs', (x) => antler.abs(x), [-2, -0, 0, 1e-300, 3], (v) => (v > 0 ? 1 : v < 0 ? -1 : 0)],
    ['leakyRelu(0.2)', (x) => antler.leakyRelu(x, 0.2), [-1, -0, 0, 1e-300, 1.5], (v) => (v > 0 ? 1 : 0.2)],
    ['elu(0.5)', (x) => antler.elu(x, 0.5), [-1, -0, 0, 1e-300, 1.5], (v) => (v > 0 ? 1 : 0.5 * Math.exp(v))],
    ['clamp(−0.5, 0.5)', (x) => antler.clamp(x, -0.5, 0.5), [-1, -0.5, -0.25, 0.5, 0.75], (v) => (v >= -0.5 && v <= 0.5 ? 1 : 0)],
    ['clamp(0.25) (lower bound only)', (x) => antler.clamp(x, 0.25), [-1, 0.25, 0.5], (v) => (v >= 0.25 ? 1 : 0)],
    ['pow(x, 0)', (x) => antler.pow(x, 0), [-1.5, -0, 0, 2], () => 0],
    ['pow(x, 1)', (x) => antler.pow(x, 1), [-1.5, 0, 2], () => 1],
  ];
  for (const [name, f, xs, slope] of cases)
    test(`${name}: plain and createGraph gradients at ${xs.map((v) => (Object.is(v, -0) ? '−0' : String(v))).join(', ')}`, () =>
      tidy(() => {
        const gs = randomArray(rng, xs.length, 0.5, 2);
        const want = xs.map((v, i) => gs[i] * slope(v));
        for (const createGraph of [false, true]) {
          const x = tensor(xs, [xs.length], { ...F64, requiresGrad: true });
          f(x).backward(tensor(gs, [xs.length], F64), { createGraph });
          expectClose(x.grad!.dataSync(), want, 1e-15, 0, `${name}, createGraph ${createGraph}`);
          // autograd.grad with createGraph takes the same formulas.
          if (createGraph) {
            const [g] = antler.autograd.grad(f(x), x, { gradOutputs: tensor(gs, [xs.length], F64), createGraph: true });
            expectClose(g!.dataSync(), want, 1e-15, 0, `${name}, autograd.grad with createGraph`);
          }
          x.dispose();
        }
      }));

  test('abs at NaN, ±0, ±inf and ±1 with upstream gradients 1, 0, −1, NaN, ±inf: gy·sgn(x) as torch 1.13 (NaN·0 is NaN), bit for bit; float32 and float64, plain and createGraph', () =>
    tidy(() => {
      // torch 1.13's abs backward is grad * sgn(self) (derivatives.yaml), sgn(NaN) = sgn(±0) = 0: a multiply, not a mask.
      const xs = [NaN, 0, -0, Infinity, -Infinity, 1, -1];
      const gs = [1, 0, -1, NaN, Infinity, -Infinity];
      const xv = xs.flatMap((x) => gs.map(() => x)), gv = xs.flatMap(() => gs);
      const sgn = (v: number) => (v > 0 ? 1 : v < 0 ? -1 : 0);
      const want = xv.map((x, i) => gv[i] * sgn(x));
      for (const dtype of ['float32', 'float64'] as const)
        for (const createGraph of [false, true]) {
          const x = tensor(xv, [xv.length], { dtype, requiresGrad: true });
          antler.abs(x).backward(tensor(gv, [gv.length], { dtype }), { createGraph });
          const got = Array.from(x.grad!.dataSync());
          const bad = got.flatMap((g, i) => (Object.is(g, want[i]) ? [] : [`x ${xv[i]}, gy ${gv[i]}: ${g}, torch ${want[i]}`]));
          expect([`${dtype}, createGraph ${createGraph}`, bad]).toEqual([`${dtype}, createGraph ${createGraph}`, []]);
          x.dispose();
        }
    }));

  test('cumprod along an axis of one element and of a 0-d tensor: exclusive gives 1 (gradient 0), inclusive x (gradient gy), plain and createGraph', () =>
    tidy(() => {
      const xs = randomArray(rng, 3, 0.5, 2), gs = randomArray(rng, 3, 0.5, 2);
      const s = rng.uniform(0.5, 2), gs0 = rng.uniform(0.5, 2);
      for (const createGraph of [false, true])
        for (const exclusive of [false, true])
          for (const reverse of [false, true]) {
            const what = `createGraph ${createGraph}, exclusive ${exclusive}, reverse ${reverse}`;
            const x = tensor(xs, [3, 1], { ...F64, requiresGrad: true });
            const y = antler.cumprod(x, 1, { exclusive, reverse });
            expectExact(y.dataSync(), exclusive ? [1, 1, 1] : xs, `[3, 1] along axis 1: ${what}`);
            y.backward(tensor(gs, [3, 1], F64), { createGraph });
            expectExact(x.grad!.dataSync(), exclusive ? [0, 0, 0] : gs, `[3, 1]'s gradient: ${what}`);
            const x0 = tensor(s, [], { ...F64, requiresGrad: true });
            const y0 = antler.cumprod(x0, 0, { exclusive, reverse });
            expect(y0.item()).toBe(exclusive ? 1 : s);
            y0.backward(tensor(gs0, [], F64), { createGraph });
            expect({ what, grad: x0.grad!.item() }).toEqual({ what, grad: exclusive ? 0 : gs0 });
            antler.dispose([x, y, x0, y0]);
          }
    }));
  test('ties: max and min share the gradient evenly among equal elements (torch.amax/amin); maximum and minimum give each operand half on a tie (torch), broadcasting; plain and createGraph', () =>
    tidy(() => {
      // Values from {0, 1, 2}: most rows and pairs tie.
      const [R, C] = [rng.int(2, 4), rng.int(3, 6)];
      const xs = Array.from({ length: R * C }, () => rng.int(0, 2));
      const bs = Array.from({ length: C }, () => rng.int(0, 2));
      const gRow = randomArray(rng, R, 0.5, 2), gAll = rng.uniform(0.5, 2), gPair = randomArray(rng, R * C, 0.5, 2);
      const pick = (op: 'max' | 'min', v: number[]) => (op === 'max' ? Math.max(...v) : Math.min(...v));
      for (const createGraph of [false, true])
        for (const op of ['max', 'min'] as const) {
          const what = `${op}, createGraph ${createGraph}`;
          const x = tensor(xs, [R, C], { ...F64, requiresGrad: true });
          antler[op](x, 1).backward(tensor(gRow, [R], F64), { createGraph });
          const rows = Array.from({ length: R }, (_, r) => xs.slice(r * C, (r + 1) * C));
          const wantRows = rows.flatMap((row, r) => row.map((v) => (v === pick(op, row) ? gRow[r] / row.filter((u) => u === pick(op, row)).length : 0)));
          expectClose(x.grad!.dataSync(), wantRows, 1e-15, 0, `${what} along axis 1`);
          x.zeroGrad();
          antler[op](x).backward(tensor(gAll, [], F64), { createGraph });
          const e = pick(op, xs), count = xs.filter((v) => v === e).length;
          expectClose(x.grad!.dataSync(), xs.map((v) => (v === e ? gAll / count : 0)), 1e-15, 0, `${what} of everything`);
          x.zeroGrad();
          // maximum(a, b) / minimum(a, b) with b [C] broadcast over the rows.
          const b = tensor(bs, [C], { ...F64, requiresGrad: true });
          const pair = op === 'max' ? antler.maximum(x, b) : antler.minimum(x, b);
          pair.backward(tensor(gPair, [R, C], F64), { createGraph });
          const wins = (u: number, w: number) => (op === 'max' ? u > w : u < w);
          const share = (u: number, w: number) => (u === w ? 0.5 : wins(u, w) ? 1 : 0);
          expectClose(x.grad!.dataSync(), xs.map((v, k) => gPair[k] * share(v, bs[k % C])), 1e-15, 0, `${what}imum: a's gradient`);
          const wantB = new Array<number>(C).fill(0);
          xs.forEach((v, k) => (wantB[k % C] += gPair[k] * share(bs[k % C], v)));
          expectClose(b.grad!.dataSync(), wantB, 1e-15, 0, `${what}imum: b's gradient (summed over the broadcast rows)`);
          antler.dispose([x, b, pair]);
        }
    }));
});
