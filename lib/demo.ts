/**
 * `npm run demo`: what the library does at this stage. Backends, seeded
 * random numbers, then a linear model fitted by gradient descent written with
 * tensor ops, in tidy() scopes so memory stays flat.
 */
import { backends } from './device';
import { tidy, keep } from './engine';
import { memory } from './memory';
import { Tensor, matmul, randn, sub, tensor } from './tensor';

export async function runDemo(opts: { device: string; steps: number }): Promise<void> {
  const b = backends();
  const device = opts.device === 'auto' ? (b.cuda.available ? 'cuda:0' : 'cpu') : opts.device;
  console.log(`antler demo on ${device}`);
  console.log(`  CPU: ${b.cpu.threads} threads, ${b.cpu.blas}`);
  console.log(`  CUDA: ${b.cuda.available ? b.cuda.devices.map((d) => d.name).join(', ') : `unavailable (${b.cuda.reason})`}`);

  const a = randn([3], { seed: 42, device });
  const again = randn([3], { seed: 42, device });
  console.log(`\nrandn([3], {seed: 42}) twice: ${fmt(a.dataSync())} and ${fmt(again.dataSync())}`);
  a.dispose();
  again.dispose();

  // Fit y = X w* + noise by gradient descent on the mean squared error:
  //   grad = (2/n) Xᵀ (X w − y)
  const n = 4096, features = 64;
  const X = randn([n, features], { seed: 1, device });
  const wTrue = randn([features, 1], { seed: 2, device });
  const y = tidy(() => matmul(X, wTrue).add(randn([n, 1], { seed: 3, device, stddev: 0.01 })));
  let w: Tensor = keep(tensor(new Float32Array(features), [features, 1], { device }));
  const lr = 0.1;
  const before = memory().numTensors;
  const t0 = performance.now();
  console.log(`\nfitting a linear model: X [${n}, ${features}], ${opts.steps} steps of gradient descent, lr ${lr}`);
  for (let step = 1; step <= opts.steps; step++) {
    const [next, loss] = tidy(() => {
      const residual = sub(matmul(X, w), y);
      const grad = matmul(X, residual, { transposeA: true }).mul(2 / n);
      const lossValue = residual.mul(residual).sum().div(n);
      return [keep(sub(w, grad.mul(lr))), lossValue];
    });
    w.dispose();
    w = next;
    if (step === 1 || step % Math.max(1, Math.floor(opts.steps / 6)) === 0 || step === opts.steps)
      console.log(`  step ${String(step).padStart(4)}  loss ${loss.item().toExponential(3)}`);
    loss.dispose();
  }
  const ms = performance.now() - t0;
  const err = tidy(() => {
    const d = sub(w, wTrue);
    return Math.sqrt(d.mul(d).sum().item());
  });
  console.log(`done in ${ms.toFixed(0)} ms (${((opts.steps * 1000) / ms).toFixed(0)} steps/s); |w − w*| = ${err.toExponential(2)}`);
  console.log(`tensors alive before the loop: ${before}, after: ${memory().numTensors} (the loop leaks nothing)`);
  for (const t of [X, wTrue, y, w]) t.dispose();
}

function fmt(v: ArrayLike<number>): string {
  return `[${Array.from(v, (x) => x.toFixed(4)).join(', ')}]`;
}
