// Packed sequences on CUDA against the CPU: packPaddedSequence / padPackedSequence
// and a bidirectional 2-layer GRU on a PackedSequence (unsorted lengths),
// outputs, hidden state and every gradient. Skips where no GPU is usable.
import * as antler from '../../lib';
import { nn, PackedSequence, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, makeSeededRng, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('packed-sequence tests');

const read = (t: Tensor) => Array.from(t.dataSync());

run(`packed sequences on CUDA vs CPU (seed ${rng.seed})`, () => {
  test('a GRU (bidirectional, 2 layers) on a PackedSequence (unsorted): the same packing, output, hidden and gradients on both devices', () => {
    const I = 3, H = 4, B = 4, T = 5;
    const lens = Array.from({ length: B }, () => rng.int(1, T));
    lens[rng.int(0, B - 1)] = T;
    const x = randomArray(rng, T * B * I), h0 = randomArray(rng, 4 * B * H);
    const cpuNet = new nn.GRU(I, H, { numLayers: 2, bidirectional: true, dtype: 'float64', mode: 'sequential' });
    const gpuNet = new nn.GRU(I, H, { numLayers: 2, bidirectional: true, dtype: 'float64', mode: 'sequential', device: 'cuda' });
    try {
      tidy(() => gpuNet.loadStateDict(cpuNet.stateDict()));
      const on = (net: nn.GRU, device: string) =>
        tidy(() => {
          const xt = tensor(Float64Array.from(x), [T, B, I], { dtype: 'float64', device, requiresGrad: true });
          const ps = antler.packPaddedSequence(xt, lens, { enforceSorted: false });
          expect(ps.isCuda).toBe(device !== 'cpu');
          expect(ps.batchSizes.device).toBe('cpu');
          expect(ps.sortedIndices!.device).toBe(ps.data.device);
          const r = net.forward(ps, tensor(Float64Array.from(h0), [4, B, H], { dtype: 'float64', device }));
          expect(r.output).toBeInstanceOf(PackedSequence);
          const { output } = antler.padPackedSequence(r.output, { batchFirst: true, totalLength: T, paddingValue: -1 });
          antler.add(antler.sum(antler.square(output)), antler.sum(r.hidden)).backward();
          const grads = [xt.grad!, ...net.parameters().map((p) => p.grad!)].map(read);
          net.zeroGrad();
          return { data: read(ps.data), sorted: read(ps.sortedIndices!), out: read(output), hidden: read(r.hidden), grads };
        });
      const c = on(cpuNet, 'cpu'), g = on(gpuNet, 'cuda');
      expectExact(g.data, c.data, 'packed data');
      expect(g.sorted).toEqual(c.sorted);
      expectClose(g.out, c.out, 1e-12, 1e-12, `padded output, lengths [${lens}]`);
      expectClose(g.hidden, c.hidden, 1e-12, 1e-12, 'hidden');
      g.grads.forEach((v, i) => expectClose(v, c.grads[i], 1e-11, 1e-12, `gradient ${i}`));
      // to(): across devices and back; lengths must be on the host, as PyTorch's.
      tidy(() => {
        const ps = antler.packPaddedSequence(tensor(Float64Array.from(x), [T, B, I], { dtype: 'float64' }), lens, { enforceSorted: false });
        const there = ps.to('cuda');
        expect(there.isCuda).toBe(true);
        expect(there.batchSizes.device).toBe('cpu');
        expect(there.unsortedIndices!.device).toBe(there.device);
        expectExact(read(antler.padPackedSequence(there.to('cpu')).output), read(antler.padPackedSequence(ps).output), 'to cuda and back');
        expectAntlerError(() => antler.packPaddedSequence(antler.zeros([T, B, I], { device: 'cuda' }), tensor(lens, [B], { dtype: 'int32', device: 'cuda' }), { enforceSorted: false }),
          'DEVICE_MISMATCH', /^packPaddedSequence: lengths must be on the CPU/);
      });
    } finally {
      cpuNet.dispose();
      gpuNet.dispose();
    }
  });
});
