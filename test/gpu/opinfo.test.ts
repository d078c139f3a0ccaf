// Every op of the registry (test/opinfo.ts) on CUDA against the CPU: values
// and gradients, float32 and float64, on fresh random inputs. New buffers are
// poisoned (ANTLER_POISON=1 in the test environment) so an output element a
// CUDA kernel forgets to write shows up as NaN. Skips where no GPU is usable.
import * as antler from '../../lib';
import { Tensor } from '../../lib';
import { makeRng } from '../helpers';
import { AuxSpec, InputSpec, OPS } from '../opinfo';
import { gpuDescribe } from './suite';

const rng = makeRng();
const run = gpuDescribe('op registry');

function onDevice(specs: InputSpec[], aux: AuxSpec[], dtype: 'float32' | 'float64', device: string) {
  const xs = specs.map((s) => antler.tensor(s.values, s.shape, { dtype, device, requiresGrad: true }));
  const as = aux.map((a) => antler.tensor(a.values, a.shape, { dtype: a.dtype, device }));
  return { xs, as };
}

run(`op registry on CUDA vs CPU (seed ${rng.seed})`, () => {
  for (const op of OPS)
    for (const dtype of ['float32', 'float64'] as const)
      test(`${op.name} ${dtype}`, () => {
        const tol = dtype === 'float64' ? 1e-10 : 1e-4;
        for (const sample of op.samples(rng)) {
          antler.tidy(() => {
            const aux = sample.aux ?? [];
            const results = ['cpu', 'cuda:0'].map((device) => {
              const { xs, as } = onDevice(sample.inputs, aux, dtype, device);
              const out = op.fn(xs, as);
              const W = antler.tensor(Float64Array.from({ length: out.size }, (_, i) => Math.sin(i + 1)), out.shape.slice(), { dtype, device });
              out.backward(W);
              return { out: out.dataSync(), grads: xs.map((x) => (x.grad ? x.grad.dataSync() : null)) };
            });
            const [c, g] = results;
            const compare = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
              expect(b.length).toBe(a.length);
              const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
              for (let i = 0; i < a.length; i++) {
                if (Number.isNaN(b[i]) && !Number.isNaN(a[i])) throw new Error(`${op.name} ${what}[${i}] is NaN on CUDA (unwritten?)`);
                if (Math.abs(a[i] - b[i]) / scale > tol) throw new Error(`${op.name} ${what}[${i}]: cpu ${a[i]} vs cuda ${b[i]} (seed ${rng.seed})`);
              }
            };
            compare(c.out, g.out, 'output');
            c.grads.forEach((cg, i) => {
              if (cg && g.grads[i]) compare(cg, g.grads[i]!, `grad ${i}`);
              else expect(Boolean(g.grads[i])).toBe(Boolean(cg));
            });
          });
        }
      });

  test('nn.MultiheadAttention on CUDA equals the CPU: output, weights and every gradient (masks, bias_k/bias_v, zero attention)', () => {
    antler.tidy(() => {
      const [L, S, N, E, H] = [3, 5, 2, 8, 2];
      const cpu = new antler.nn.MultiheadAttention(E, H, { addBiasKv: true, addZeroAttn: true, batchFirst: true, dtype: 'float64' });
      const gpu = new antler.nn.MultiheadAttention(E, H, { addBiasKv: true, addZeroAttn: true, batchFirst: true, dtype: 'float64' }).to('cuda:0');
      gpu.loadStateDict(cpu.stateDict());
      const vals = (n: number) => Array.from({ length: n }, () => rng.uniform(-1, 1));
      const [qv, kv, vv] = [vals(N * L * E), vals(N * S * E), vals(N * S * E)];
      const kpm = Array.from({ length: N * S }, (_, i) => (i % S === S - 1 ? 1 : 0));
      const am = vals(L * S);
      const run = (m: antler.nn.MultiheadAttention, device: string) => {
        const mk = (v: number[], shape: number[]) => antler.tensor(v, shape, { dtype: 'float64', device, requiresGrad: true });
        const q = mk(qv, [N, L, E]), k = mk(kv, [N, S, E]), v = mk(vv, [N, S, E]);
        const [out, w] = m.forward(q, k, v, {
          keyPaddingMask: antler.tensor(kpm, [N, S], { dtype: 'int32', device }),
          attnMask: antler.tensor(am, [L, S], { dtype: 'float64', device }),
        });
        antler.add(antler.sum(antler.square(out)), antler.sum(w!)).backward();
        return [out, w!, q.grad!, k.grad!, v.grad!, ...m.parameters().map((p) => p.grad!)].map((t) => Float64Array.from(t.dataSync()));
      };
      const a = run(cpu, 'cpu'), b = run(gpu, 'cuda:0');
      a.forEach((x, i) => x.forEach((y, j) => expect(Math.abs(y - b[i][j])).toBeLessThan(1e-12)));
      cpu.dispose();
      gpu.dispose();
    });
  });

  test('SGD, Adam, RMSprop, Adagrad, RAdam, NAdam, Adamax, Adadelta, Rprop and ASGD steps on CUDA equal the CPU ones', () => {
    antler.tidy(() => {
      const values = Array.from({ length: 37 }, () => rng.uniform(-1, 1));
      const grads = Array.from({ length: 37 }, () => rng.uniform(-1, 1));
      const makers = [
        (p: Tensor) => new antler.optim.SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
        (p: Tensor) => new antler.optim.Adam([p], { lr: 0.01, amsgrad: true, weightDecay: 0.01 }),
        (p: Tensor) => new antler.optim.RMSprop([p], { lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.01 }),
        (p: Tensor) => new antler.optim.Adagrad([p], { lr: 0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1 }),
        // β2 = 0.9: rho_t passes 5 at step 6, so the 8 steps take both of RAdam's branches.
        (p: Tensor) => new antler.optim.RAdam([p], { lr: 0.01, betas: [0.9, 0.9], weightDecay: 0.01 }),
        (p: Tensor) => new antler.optim.RAdam([p], { lr: 0.01, betas: [0.8, 0.9], weightDecay: 0.1, decoupledWeightDecay: true, maximize: true }),
        (p: Tensor) => new antler.optim.NAdam([p], { lr: 0.01, momentumDecay: 0.1, weightDecay: 0.01 }),
        (p: Tensor) => new antler.optim.NAdam([p], { lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true, maximize: true }),
        (p: Tensor) => new antler.optim.Adamax([p], { lr: 0.01, weightDecay: 0.01, maximize: true }),
        (p: Tensor) => new antler.optim.Adadelta([p], { lr: 0.5, weightDecay: 0.01, maximize: true }),
        // Gradients that flip sign every third step (below): Rprop takes η+, η− and the zero product; the
        // second one's step sizes reach both bounds. ASGD with t0 2 averages from its fourth step.
        (p: Tensor) => new antler.optim.Rprop([p], { lr: 0.01, etas: [0.5, 2], stepSizes: [1e-3, 0.05] }),
        (p: Tensor) => new antler.optim.Rprop([p], { lr: 0.02, etas: [0.1, 3], stepSizes: [5e-3, 0.1], maximize: true }),
        (p: Tensor) => new antler.optim.ASGD([p], { lr: 0.05, lambd: 0.01, t0: 2, weightDecay: 0.01, maximize: true }),
      ];
      const finals = ['cpu', 'cuda:0'].map((device) =>
        makers.map((make) => {
          const p = antler.tensor(values, [37], { dtype: 'float64', device, requiresGrad: true });
          const opt = make(p);
          for (let s = 0; s < 8; s++) {
            p.grad = antler.tensor(grads.map((v, i) => v * (s + 1) * ((i + s) % 3 === 0 ? -1 : 1)), [37], { dtype: 'float64', device });
            opt.step();
          }
          opt.dispose();
          return p.dataSync();
        }),
      );
      for (let k = 0; k < makers.length; k++)
        for (let i = 0; i < 37; i++) expect(Math.abs(finals[0][k][i] - finals[1][k][i])).toBeLessThan(1e-12);
    });
  });
});
