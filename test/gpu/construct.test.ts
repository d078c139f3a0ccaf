// lib/ops/construct.ts on CUDA against the CPU: every op is composed from recorded ops, so the
// CUDA path is those ops' kernels; this checks the composition carries the device through (the
// host-built index tables and combinations' positions made on x's device, the stacks' and
// blockDiag's reshapes and pads) and that values and gradients agree with the CPU's (to float64
// rounding, where the device sums in another order).
// Skips where no GPU is usable.
import * as antler from '../../lib';
import { Tensor } from '../../lib';
import { expectAntlerError, expectClose, expectExact, makeSeededRng, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('construct tests');
const read = (t: Tensor) => Array.from(t.dataSync());
const F64 = { dtype: 'float64' as const };

run(`construct ops on CUDA vs CPU (seed ${rng.seed})`, () => {
  test('each op: the same values on cuda:0 as on the CPU, results on cuda:0, and the same gradients', () =>
    antler.tidy(() => {
      const a = randomArray(rng, 6), b = randomArray(rng, 4), c = randomArray(rng, 3), y = randomArray(rng, 12);
      const calls: [string, (d: string) => { out: Tensor; leaves: Tensor[] }][] = [
        ['blockDiag', (d) => {
          const l = [antler.tensor(a, [2, 3], { ...F64, device: d, requiresGrad: true }), antler.tensor(c, [3], { device: d, requiresGrad: true })]; // float32 and float64: promoted
          return { out: antler.blockDiag(l), leaves: l };
        }],
        ['cartesianProd', (d) => {
          const l = [antler.tensor(b, [4], { ...F64, device: d, requiresGrad: true }), antler.tensor(c, [3], { ...F64, device: d, requiresGrad: true })];
          return { out: antler.cartesianProd(...l), leaves: l };
        }],
        ['combinations', (d) => {
          const l = [antler.tensor(b, [4], { ...F64, device: d, requiresGrad: true })];
          return { out: antler.combinations(l[0], 3, { withReplacement: true }), leaves: l };
        }],
        ['hstack', (d) => {
          const l = [antler.tensor(a, [3, 2], { ...F64, device: d, requiresGrad: true }), antler.tensor(c, [3, 1], { ...F64, device: d, requiresGrad: true })];
          return { out: antler.hstack(l), leaves: l };
        }],
        ['dstack', (d) => {
          const l = [antler.tensor(a, [2, 3], { ...F64, device: d, requiresGrad: true }), antler.tensor(a, [2, 3], { ...F64, device: d, requiresGrad: true })];
          return { out: antler.dstack(l), leaves: l };
        }],
        ['diagflat', (d) => {
          const l = [antler.tensor(a, [2, 3], { ...F64, device: d, requiresGrad: true })];
          return { out: antler.diagflat(l[0], -1), leaves: l };
        }],
        ['trapezoid', (d) => {
          const l = [antler.tensor(y, [3, 4], { ...F64, device: d, requiresGrad: true }), antler.tensor([0, 0.5, 1.5, 4], [4], { ...F64, device: d, requiresGrad: true })];
          return { out: antler.trapezoid(l[0], l[1]), leaves: l };
        }],
        ['cumulativeTrapezoid', (d) => {
          const l = [antler.tensor(y, [3, 4], { ...F64, device: d, requiresGrad: true })];
          return { out: antler.cumulativeTrapezoid(l[0], { dx: 0.5, axis: 0 }), leaves: l };
        }],
        ['hsplit', (d) => {
          const l = [antler.tensor(y, [3, 4], { ...F64, device: d, requiresGrad: true })];
          const [p, q] = antler.hsplit(l[0], [1]);
          return { out: antler.concat([antler.mul(p, 2), q], 1), leaves: l };
        }],
      ];
      for (const [name, make] of calls) {
        const [cpu, gpu] = ['cpu', 'cuda:0'].map(make);
        expect(gpu.out.device).toBe('cuda:0');
        expect(gpu.out.shape).toEqual(cpu.out.shape);
        // Sums and scans may add in another order on the device: float64 rounding apart.
        expectClose(read(gpu.out), read(cpu.out), 1e-12, 1e-12, `${name} values`);
        const w = randomArray(rng, cpu.out.size);
        for (const r of [cpu, gpu]) r.out.backward(antler.tensor(w, r.out.shape.slice(), { dtype: r.out.dtype, device: r.out.device }));
        cpu.leaves.forEach((l, i) => expectClose(read(gpu.leaves[i].grad!), read(l.grad!), 1e-12, 1e-12, `${name} gradient ${i}`));
      }
    }));

  test('triuIndices / trilIndices made on cuda:0 equal the CPU tables; blockDiag across devices is refused', () =>
    antler.tidy(() => {
      for (const [r, c, off] of [[4, 5, 1], [3, 3, -2], [0, 2, 0]]) {
        const g = antler.triuIndices(r, c, off, { device: 'cuda:0' }), h = antler.trilIndices(r, c, off, { device: 'cuda:0' });
        expect(g.device).toBe('cuda:0');
        expectExact(read(g), read(antler.triuIndices(r, c, off)));
        expectExact(read(h), read(antler.trilIndices(r, c, off)));
      }
      expectAntlerError(() => antler.blockDiag(antler.zeros([2]), antler.zeros([2], { device: 'cuda:0' })), 'DEVICE_MISMATCH', /tensors\[1\] is on cuda:0 and tensors\[0\] on cpu/);
    }));
});
