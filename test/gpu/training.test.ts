// The same MLP, same initial weights and data, trained on CPU and on CUDA:
// the loss curves must agree step for step (float64, so only rounding differs).
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
  test('Adam loss curves agree over 50 steps', () => {
    const n = 64;
    const xs = Array.from({ length: n * 4 }, () => rng.uniform(-1, 1));
    const ys = Array.from({ length: n }, (_, i) => (xs[4 * i] * xs[4 * i + 1] > 0 ? 1 : 0) + (xs[4 * i + 2] > 0.5 ? 1 : 0));
    const curves = ['cpu', 'cuda:0'].map((device) => {
      antler.setSeed(rng.seed);
      const model = new antler.nn.Sequential(
        new antler.nn.Linear(4, 32, { dtype: 'float64', device }),
        new antler.nn.Tanh(),
        new antler.nn.Linear(32, 3, { dtype: 'float64', device }),
      );
      const opt = new antler.optim.Adam(model.parameters(), { lr: 0.01 });
      const x = antler.tensor(xs, [n, 4], { dtype: 'float64', device });
      const y = antler.tensor(ys, [n], { dtype: 'int32', device });
      const losses: number[] = [];
      for (let s = 0; s < 50; s++) {
        opt.zeroGrad();
        const loss = antler.tidy(() => antler.crossEntropy(model.forward(x), y));
        loss.backward();
        losses.push(loss.item());
        loss.dispose();
        opt.step();
      }
      opt.dispose();
      model.dispose();
      x.dispose();
      y.dispose();
      return losses;
    });
    for (let s = 0; s < 50; s++) expect(Math.abs(curves[0][s] - curves[1][s])).toBeLessThan(1e-9 * Math.max(1, curves[0][s]));
    expect(curves[1][49]).toBeLessThan(curves[1][0]);
  });
});
