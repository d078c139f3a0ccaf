// lib/ops/pointwise.ts's native kernels (native/kernels/pointwise.h) on CUDA against the CPU: the
// special functions and the binary ops on random and IEEE special inputs, both float dtypes, and
// a gradient through them. CUDA's libm (lgamma, atan2, erf, …) may differ from glibc's by an ulp or
// so, hence the tolerances. The composed ops are covered by the registry (opinfo.test.ts). Skips
// where no GPU is usable.
import * as antler from '../../lib';
import { digammaRef, expectClose, makeSeededRng, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('pointwise tests');

const read = (t: antler.Tensor) => Array.from(t.dataSync());
const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1, -1, -2, 0.5, -2.5, 1e-300];
const TOL = { float32: [2.4e-7, 1e-37], float64: [1e-13, 1e-300] } as const;
// Below ½, ψ⁽ⁿ⁾(x) is the reflection (−1)ⁿ ψ⁽ⁿ⁾(1 − x) − dⁿ/dxⁿ π cot(πx) (native/kernels/pointwise.h), whose two terms
// cancel at the zeros ψ and ψ⁽⁴⁾ have between the negative poles. CUDA's tan, log and pow are an ulp or two from glibc's,
// so CUDA and the CPU differ by a few ulps of the terms, unbounded relative to the result there: in a simulation of the
// test's 3000 draws on [−20, 40], 88% of runs have a point where one ulp of ψ's terms exceeds 1e-13 of ψ. These
// compare each element to TOL of |terms| (= |ψ⁽ⁿ⁾| at and above ½), the terms taken from the CPU's values.
const REFLECTED: Record<string, number> = { digamma: 0, 'polygamma(4)': 4 };

run(`pointwise kernels on CUDA vs CPU (seed ${rng.seed})`, () => {
  const unary: [string, (x: antler.Tensor) => antler.Tensor, number, number][] = [
    ['lgamma', antler.lgamma, -20, 40],
    ['digamma', antler.digamma, -20, 40],
    ['polygamma(1)', (x) => antler.polygamma(1, x), -10, 30],
    ['polygamma(4)', (x) => antler.polygamma(4, x), -10, 30],
    ['erfinv', antler.erfinv, -1, 1],
    ['sinc', antler.sinc, -10, 10],
    ['signbit', antler.signbit, -1, 1],
  ];
  for (const [name, f, lo, hi] of unary)
    test(`${name}: random and special inputs`, () =>
      antler.tidy(() => {
        const v = [...randomArray(rng, 3000, lo, hi), ...SPECIALS];
        for (const dtype of ['float32', 'float64'] as const) {
          const [c, g] = ['cpu', 'cuda:0'].map((device) => antler.tensor(v, [v.length], { dtype, device }));
          const out = f(g);
          expect(out.device).toBe('cuda:0');
          // CUDA's accuracy table bounds lgamma by 4 ulp only outside about (−23, −2.26), where log|Γ|
          // crosses 0 many times: an absolute tolerance there, as the relative one is unbounded at those zeros.
          const atol = name === 'lgamma' ? (dtype === 'float64' ? 1e-13 : 1e-6) : TOL[dtype][1];
          if (name in REFLECTED) {
            const sign = REFLECTED[name] % 2 ? -1 : 1;
            const xs = read(c), got = read(out), cpu = read(f(c));
            const mirror = read(f(antler.tensor(xs.map((x) => 1 - x), [xs.length], { dtype })));
            xs.forEach((x, i) => {
              const terms = x < 0.5 && Number.isFinite(x) ? Math.abs(mirror[i]) + Math.abs(cpu[i] - sign * mirror[i]) : Math.abs(cpu[i]);
              expectClose([got[i]], [cpu[i]], TOL[dtype][0], TOL[dtype][0] * terms + atol, `${name} ${dtype} at ${x} (seed ${rng.seed})`);
            });
          } else expectClose(read(out), read(f(c)), TOL[dtype][0], atol, `${name} ${dtype}`);
        }
      }));

  const binary: [string, (a: antler.Tensor | number, b: antler.Tensor | number) => antler.Tensor][] = [
    ['atan2', antler.atan2], ['hypot', antler.hypot], ['fmod', antler.fmod], ['copysign', antler.copysign],
    ['xlogy', antler.xlogy], ['logaddexp', antler.logaddexp], ['logaddexp2', antler.logaddexp2],
  ];
  for (const [name, f] of binary)
    test(`${name}: broadcast random operands and every pair of specials`, () =>
      antler.tidy(() => {
        const a = [...randomArray(rng, 600, -20, 20), ...SPECIALS.flatMap((x) => SPECIALS.map(() => x))];
        const b = [...randomArray(rng, 600, -20, 20), ...SPECIALS.flatMap(() => SPECIALS)];
        for (const dtype of ['float32', 'float64'] as const) {
          const [ca, ga] = ['cpu', 'cuda:0'].map((device) => antler.tensor(a, [a.length], { dtype, device }));
          const [cb, gb] = ['cpu', 'cuda:0'].map((device) => antler.tensor(b, [b.length], { dtype, device }));
          expectClose(read(f(ga, gb)), read(f(ca, cb)), TOL[dtype][0], TOL[dtype][1], `${name} ${dtype}`);
          const [cr, gr] = ['cpu', 'cuda:0'].map((device) => antler.tensor(a.slice(0, 12), [4, 1, 3], { dtype, device }));
          const [cc, gc] = ['cpu', 'cuda:0'].map((device) => antler.tensor(b.slice(0, 6), [2, 3], { dtype, device }));
          expectClose(read(f(gr, gc)), read(f(cr, cc)), TOL[dtype][0], TOL[dtype][1], `${name} ${dtype} broadcast`);
          // A number on either side (one 0-d value the kernel broadcasts), and a column against a row.
          expectClose(read(f(ga, -2.5)), read(f(ca, -2.5)), TOL[dtype][0], TOL[dtype][1], `${name} ${dtype} (x, number)`);
          expectClose(read(f(0.5, gb)), read(f(0.5, cb)), TOL[dtype][0], TOL[dtype][1], `${name} ${dtype} (number, x)`);
          const [ccol, gcol] = ['cpu', 'cuda:0'].map((device) => antler.tensor(a.slice(0, 40), [40, 1], { dtype, device }));
          const [crow, grow] = ['cpu', 'cuda:0'].map((device) => antler.tensor(b.slice(0, 30), [1, 30], { dtype, device }));
          const out = f(gcol, grow);
          expect(out.shape).toEqual([40, 30]);
          expectClose(read(out), read(f(ccol, crow)), TOL[dtype][0], TOL[dtype][1], `${name} ${dtype} column with row`);
        }
      }));

  test('gradients through lgamma and atan2 on CUDA match the CPU', () =>
    antler.tidy(() => {
      const x = randomArray(rng, 50, 0.2, 5), y = randomArray(rng, 50, -3, 3);
      const grads = (device: string) => {
        const X = antler.tensor(x, [50], { dtype: 'float64', device, requiresGrad: true });
        const Y = antler.tensor(y, [50], { dtype: 'float64', device, requiresGrad: true });
        antler.sum(antler.add(antler.lgamma(X), antler.atan2(Y, X))).backward();
        return [read(X.grad!), read(Y.grad!)];
      };
      const [c, g] = [grads('cpu'), grads('cuda:0')];
      // The x gradient is ψ(x) − y/(x² + y²): where the terms nearly cancel (about 5% of draws of 50 points
      // have one 250× below its terms), a few ulps of either term are a large error relative to the sum, so
      // each element's tolerance is 1e-13 of its terms' magnitudes.
      const terms = x.map((xv, i) => Math.abs(digammaRef(xv)) + Math.abs(y[i]) / (xv * xv + y[i] * y[i]));
      g[0].forEach((v, i) => expectClose([v], [c[0][i]], 0, 1e-13 * terms[i], `x gradient [${i}] (seed ${rng.seed})`));
      expectClose(g[1], c[1], 1e-13, 1e-300, 'y gradient');
    }));

  test("abs's backward on CUDA is gy·sgn(x) bit for bit (torch 1.13's: NaN·0 is NaN at x = ±0 and NaN), float32 and float64", () =>
    antler.tidy(() => {
      const xs = [NaN, 0, -0, Infinity, -Infinity, 1, -1], gs = [1, 0, -1, NaN, Infinity, -Infinity];
      const xv = xs.flatMap((x) => gs.map(() => x)), gv = xs.flatMap(() => gs);
      const sgn = (v: number) => (v > 0 ? 1 : v < 0 ? -1 : 0);
      const want = xv.map((x, i) => gv[i] * sgn(x));
      for (const dtype of ['float32', 'float64'] as const) {
        const X = antler.tensor(xv, [xv.length], { dtype, device: 'cuda:0', requiresGrad: true });
        antler.abs(X).backward(antler.tensor(gv, [gv.length], { dtype, device: 'cuda:0' }));
        const bad = read(X.grad!).flatMap((g, i) => (Object.is(g, want[i]) ? [] : [`x ${xv[i]}, gy ${gv[i]}: ${g}, want ${want[i]}`]));
        expect([dtype, bad]).toEqual([dtype, []]);
      }
    }));
});
