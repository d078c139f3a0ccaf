/**
 * autograd.grad (torch.autograd.grad): gradients of outputs with respect to
 * given tensors against backward()'s .grad and float64 formulas, several
 * outputs with gradOutputs, intermediate inputs, createGraph (a gradient
 * penalty on the input, against central differences of the whole loss),
 * retainGraph, allowUnused/materializeGrads, errors and memory.
 */
import * as antler from '../../lib';
import { autograd, nn, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeRng, randomArray, tensorCounts } from '../helpers';

const rng = makeRng();
expectNoLeaksInSuite(tensorCounts);
const F64 = { dtype: 'float64' as const };
const read = (t: Tensor | null) => Array.from(t!.dataSync());

describe(`autograd.grad (seed ${rng.seed})`, () => {
  test("equals backward()'s .grad on a small model, and changes no .grad", () =>
    tidy(() => {
      antler.setSeed(rng.int(1, 2 ** 30));
      const model = new nn.Sequential(new nn.Linear(4, 6, F64), new nn.Tanh(), new nn.Linear(6, 2, F64));
      const x = antler.randn([5, 4], F64), y = antler.randn([5, 2], F64);
      const params = model.parameters();
      const loss = antler.mseLoss(model.forward(x), y);
      const gs = autograd.grad(loss, params, { retainGraph: true });
      params.forEach((p) => expect(p.grad).toBeNull());
      loss.backward();
      params.forEach((p, i) => expectClose(read(gs[i]), read(p.grad), 1e-15, 1e-15, `parameter ${i}`));
      model.dispose();
    }));

  test('several outputs with gradOutputs: Σ gᵀ ∂out/∂x; an intermediate input; a scalar output needs no gradOutputs', () =>
    tidy(() => {
      const xs = randomArray(rng, 4), cs = randomArray(rng, 4), us = randomArray(rng, 4);
      const x = tensor(xs, [4], { ...F64, requiresGrad: true });
      const h = antler.tanh(x);
      const c = tensor(cs, [4], F64);
      const a = antler.sum(antler.mul(antler.square(h), c)); // scalar
      const b = antler.mul(h, 3); // [4]
      const [gx, gh] = autograd.grad([a, b], [x, h], { gradOutputs: [null, tensor(us, [4], F64)] });
      const hs = xs.map(Math.tanh);
      // d/dh: 2hc + 3u; d/dx through h: (2hc + 3u)(1 − h²).
      expectClose(read(gh), hs.map((v, i) => 2 * v * cs[i] + 3 * us[i]), 1e-14, 1e-15, 'd/dh');
      expectClose(read(gx), hs.map((v, i) => (2 * v * cs[i] + 3 * us[i]) * (1 - v * v)), 1e-14, 1e-15, 'd/dx');
    }));

  test('an input listed twice gets its gradient twice; the output itself as an input gets the seed; inputs along one chain each get theirs', () =>
    tidy(() => {
      const xs = randomArray(rng, 3);
      const x = tensor(xs, [3], { ...F64, requiresGrad: true });
      const h = antler.mul(x, x);
      const y = antler.sum(antler.exp(h));
      const [a, b, gh, gy] = autograd.grad(y, [x, x, h, y]);
      const dh = xs.map((v) => Math.exp(v * v));
      expectClose(read(gh), dh, 1e-15, 0, 'd/dh');
      expectClose(read(a), dh.map((v, i) => 2 * xs[i] * v), 1e-15, 0, 'd/dx');
      expect(read(b)).toEqual(read(a));
      expect(b).not.toBe(a);
      expect(read(gy)).toEqual([1]);
    }));

  test("gradOutputs that depend on the inputs are seeds, not differentiated (∇½‖r‖² with the residuals as seeds); a seed's graph stays whole; createGraph under noGrad() records", () =>
    tidy(() => {
      const xs = randomArray(rng, 3);
      const x = tensor(xs, [3], { ...F64, requiresGrad: true });
      const r1 = antler.mul(x, x), r2 = antler.sin(x);
      // Σ r1·∂r1 + r2·∂r2 = 2x³ + sin x cos x.
      const [g] = autograd.grad([r1, r2], x, { gradOutputs: [r1, r2] });
      expectClose(read(g), xs.map((v) => 2 * v ** 3 + Math.sin(v) * Math.cos(v)), 1e-14, 1e-15, '∇½‖r‖²');
      const v = antler.exp(x);
      const [h] = autograd.grad([antler.mul(x, x), antler.sin(x)], x, { gradOutputs: [v, antler.onesLike(x)] });
      expectClose(read(h), xs.map((t) => 2 * t * Math.exp(t) + Math.cos(t)), 1e-14, 1e-15, 'a seed that depends on x');
      expectClose(read(autograd.grad(antler.sum(v), x)[0]), xs.map(Math.exp), 1e-15, 0, "the seed's own graph");
      const u = tensor(randomArray(rng, 3), [3], { ...F64, requiresGrad: true });
      expectAntlerError(() => autograd.grad([antler.mul(x, x), antler.sin(x)], [x, u], { gradOutputs: [u, antler.onesLike(x)] }), 'INVALID_ARGUMENT', /inputs\[1\] \(shape \[3\]\) was not used/);
      const y = antler.sum(antler.pow(x, 3));
      const r = antler.noGrad(() => autograd.grad(y, [x, x], { createGraph: true }));
      expect(r.map((t) => t!.requiresGrad)).toEqual([true, true]);
      expectClose(read(autograd.grad(antler.sum(antler.add(r[0]!, r[1]!)), x)[0]), xs.map((t) => 12 * t), 1e-14, 1e-15, 'd/dx of 2·3x² under noGrad');
      expectAntlerError(() => autograd.grad(antler.sum(x), x, { materializeGrads: true, allowUnused: false }), 'INVALID_ARGUMENT', /allowUnused must be true or left out/);
    }));

  test('createGraph: a gradient penalty on the input (as WGAN-GP), differentiated to the weights, against central differences of the whole loss', () =>
    tidy(() => {
      antler.setSeed(rng.int(1, 2 ** 30));
      const D = new nn.Sequential(new nn.Linear(3, 8, F64), new nn.Tanh(), new nn.Linear(8, 1, F64));
      const x0 = antler.randn([6, 3], F64);
      const params = D.parameters();
      const lossAt = (build: boolean): Tensor => {
        const x = x0.clone().requiresGrad_(true);
        const out = antler.sum(D.forward(x));
        const [gx] = autograd.grad(out, x, { createGraph: build });
        const norms = antler.sqrt(antler.sum(antler.square(gx!), -1));
        return antler.add(out, antler.mean(antler.square(antler.sub(norms, 1))));
      };
      const gs = autograd.grad(lossAt(true), params);
      const d = params.map((p) => randomArray(rng, p.size));
      const h = 1e-5;
      const moved = (s: number) => {
        antler.noGrad(() => params.forEach((p, i) => p.assign(antler.add(p, antler.mul(tensor(d[i], p.shape, F64), s)))));
        return lossAt(false).item();
      };
      const up = moved(h), down = moved(-2 * h);
      moved(h);
      const analytic = gs.reduce((acc, g, i) => acc + read(g).reduce((t, v, j) => t + v * d[i][j], 0), 0);
      expect(Math.abs((up - down) / (2 * h) - analytic)).toBeLessThan(1e-7 * Math.max(1, Math.abs(analytic)));
      D.dispose();
    }));

  test('retainGraph: off by default (a second call through the same ops is refused), on keeps it; allowUnused and materializeGrads', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 3), [3], { ...F64, requiresGrad: true });
      const unused = tensor(randomArray(rng, 2), [2], { ...F64, requiresGrad: true });
      const y = antler.sum(antler.exp(x));
      autograd.grad(y, x, { retainGraph: true });
      autograd.grad(y, x);
      expectAntlerError(() => autograd.grad(y, x), 'INVALID_ARGUMENT', /already freed by an earlier backward\(\); pass \{retainGraph: true\}/);
      const z = antler.sum(antler.square(x));
      expectAntlerError(() => autograd.grad(z, [x, unused], { retainGraph: true }), 'INVALID_ARGUMENT', /^autograd\.grad: inputs\[1\] \(shape \[2\]\) was not used to compute the outputs; pass allowUnused: true/);
      expect(autograd.grad(z, [x, unused], { allowUnused: true, retainGraph: true })[1]).toBeNull();
      expect(read(autograd.grad(z, [x, unused], { materializeGrads: true })[1])).toEqual([0, 0]);
    }));

  test('bad calls are AntlerErrors naming what was passed; createGraph through an op without a second derivative is NOT_SUPPORTED', () =>
    tidy(() => {
      const x = tensor([1, 2], [2], { ...F64, requiresGrad: true });
      const plain = tensor([1, 2], [2], F64);
      const v = antler.mul(x, x);
      const bad: [() => unknown, string, RegExp][] = [
        [() => autograd.grad(antler.sum(plain), x), 'INVALID_ARGUMENT', /^autograd\.grad: outputs\[0\] does not require grad/],
        [() => autograd.grad(antler.sum(v), plain), 'INVALID_ARGUMENT', /^autograd\.grad: inputs\[0\] \(shape \[2\]\) does not require grad/],
        [() => autograd.grad(v, x), 'SHAPE_MISMATCH', /^autograd\.grad: outputs\[0\] has shape \[2\]; a gradient in gradOutputs is needed/],
        [() => autograd.grad(v, x, { gradOutputs: antler.ones([3], F64) }), 'SHAPE_MISMATCH', /^autograd\.grad: gradOutputs\[0\] has shape \[3\]; expected outputs\[0\]'s, \[2\]$/],
        [() => autograd.grad(v, x, { gradOutputs: [antler.ones([2], F64), null] }), 'INVALID_ARGUMENT', /gradOutputs has 2 entries for 1 outputs/],
        [() => autograd.grad([], x), 'INVALID_ARGUMENT', /^autograd\.grad: outputs must be a Tensor or a non-empty array of Tensors; got an array of length 0$/],
        [() => autograd.grad(antler.sum(v), x, { create_graph: true } as never), 'INVALID_ARGUMENT', /unknown option 'create_graph'/],
        [
          () => autograd.grad(antler.sum(antler.embedding(tensor([0, 1, 1], [3], { dtype: 'int32' }), antler.reshape(v, [2, 1]), { scaleGradByFreq: true })), x, { createGraph: true }),
          'NOT_SUPPORTED',
          /^autograd\.grad: createGraph needs a second derivative; 'embedding' has no differentiable backward/,
        ],
      ];
      for (const [f, code, msg] of bad) expectAntlerError(f, code as never, msg);
      // The graph is intact after the refusals.
      expect(read(autograd.grad(antler.sum(v), x)[0])).toEqual([2, 4]);
    }));

  test('memory: 20 calls with and without createGraph keep the tensor count flat', () => {
    const x = tensor(randomArray(rng, 8), [8], { ...F64, requiresGrad: true });
    const once = () =>
      tidy(() => {
        const y = antler.sum(antler.tanh(antler.mul(x, x)));
        const [g] = autograd.grad(y, x, { createGraph: true });
        autograd.grad(antler.sum(antler.square(g!)), x);
      });
    once();
    const base = tensorCounts().numTensors;
    for (let k = 0; k < 20; k++) once();
    expect(tensorCounts().numTensors).toBe(base);
    x.dispose();
  });
});
