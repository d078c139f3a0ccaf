// The same MLP, same initial weights and data, trained on CPU and on CUDA:
// the loss curves must agree step for step (float64, so only rounding differs),
// with Adam, L-BFGS (strong Wolfe) and AdaHessian (the same Rademacher draws
// on both devices: one seed, Philox).
import * as antler from '../../lib';
import { makeRng } from '../helpers';

const cuda = antler.backends().cuda;
const run = cuda.available ? describe : describe.skip;
if (!cuda.available && process.env.ANTLER_REQUIRE_GPU !== '1') console.log(`GPU training test skipped: ${cuda.reason}`);
if (!cuda.available && process.env.ANTLER_REQUIRE_GPU === '1')
  test('a CUDA device is required (ANTLER_REQUIRE_GPU=1)', () => {
    throw new Error(`CUDA is not available: ${cuda.reason}`);
  });

const rng = makeRng();

run(`MLP training on CPU and CUDA (seed ${rng.seed})`, () => {
  type Opt = antler.optim.Optimizer<{ lr: number }>;
  const curvesOf = (steps: number, makeOpt: (params: antler.Tensor[]) => Opt): number[][] => {
    const n = 64;
    const xs = Array.from({ length: n * 4 }, () => rng.uniform(-1, 1));
    const ys = Array.from({ length: n }, (_, i) => (xs[4 * i] * xs[4 * i + 1] > 0 ? 1 : 0) + (xs[4 * i + 2] > 0.5 ? 1 : 0));
    return ['cpu', 'cuda:0'].map((device) => {
      antler.setSeed(rng.seed);
      const model = new antler.nn.Sequential(
        new antler.nn.Linear(4, 32, { dtype: 'float64', device }),
        new antler.nn.Tanh(),
        new antler.nn.Linear(32, 3, { dtype: 'float64', device }),
      );
      const opt = makeOpt(model.parameters());
      const x = antler.tensor(xs, [n, 4], { dtype: 'float64', device });
      const y = antler.tensor(ys, [n], { dtype: 'int32', device });
      const closure = () => {
        opt.zeroGrad();
        const loss = antler.crossEntropy(model.forward(x), y);
        loss.backward();
        return loss;
      };
      const losses: number[] = [];
      for (let s = 0; s < steps; s++) {
        if (opt.requiresClosure) losses.push(opt.step(closure)!);
        else {
          losses.push(antler.tidy(() => closure().item()));
          opt.step();
        }
      }
      opt.dispose();
      model.dispose();
      x.dispose();
      y.dispose();
      return losses;
    });
  };
  const expectSameCurves = (curves: number[][], tol: number) => {
    curves[0].forEach((l, s) => expect(Math.abs(l - curves[1][s])).toBeLessThan(tol * Math.max(1, l)));
    expect(curves[1][curves[1].length - 1]).toBeLessThan(curves[1][0]);
  };

  test('Adam loss curves agree over 50 steps', () => {
    expectSameCurves(curvesOf(50, (p) => new antler.optim.Adam(p, { lr: 0.01 }) as Opt), 1e-9);
  });

  test('L-BFGS with strong Wolfe: loss curves agree over 5 steps of 10 iterations', () => {
    // The line search branches on comparisons of losses, so rounding could in
    // principle pick another step; over 5 steps it must not matter at 1e-6.
    expectSameCurves(curvesOf(5, (p) => new antler.optim.LBFGS(p, { maxIter: 10, lineSearchFn: 'strong_wolfe' }) as unknown as Opt), 1e-6);
  });

  test('AdaHessian: loss curves agree over 20 steps (same seed, same probes)', () => {
    // Central differences: the gradients' rounding enters D divided by h, and
    // forward differences' smaller h (1.5e-8) made the devices differ by 2e-7
    // where |D| is near 0 (under emulation); central ones by 4e-12.
    expectSameCurves(curvesOf(20, (p) => new antler.optim.AdaHessian(p, { lr: 0.05, seed: 1234, hvp: 'central' }) as unknown as Opt), 1e-8);
  });
});
