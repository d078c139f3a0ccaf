/** Checks shared by the normalisation suites (they load the addon, so they are not in helpers.ts). */
import * as antler from '../lib';
import { nn, Tensor, tensor, tidy } from '../lib';

/**
 * Linear(4, 8) → norm → ReLU → Linear(8, 1), trained by SGD (lr 0.05) for 150
 * steps on a linear target of 32 random inputs; expects every parameter to
 * get a gradient and returns the losses. Frees what it made (the norm too).
 *
 * Judge the fall by `lateBest`, not by the last loss: at this lr the loss
 * spikes now and then for a step or two (through GroupNorm most), and some
 * draws start slowly. Over 600–1,000 seeds each, the last loss of 60 steps
 * was above half the first for GroupNorm on 1% of seeds and reached 0.1× for
 * BatchNorm1d; the best of the last 20 of 150 steps stayed below 0.1× (GroupNorm)
 * and 0.03× (BatchNorm1d, 1,400 seeds) of the first.
 */
export function trainThroughNorm(norm: nn.Module, seed: number): number[] {
  return tidy(() => {
    antler.setSeed(seed);
    const model = new nn.Sequential(new nn.Linear(4, 8), norm, new nn.ReLU(), new nn.Linear(8, 1));
    const opt = new antler.optim.SGD(model.parameters(), { lr: 0.05 });
    const x = antler.randn([32, 4]);
    const target = antler.sum(antler.mul(x, tensor([1, -2, 0.5, 3])), 1, true);
    const losses: number[] = [];
    for (let i = 0; i < 150; i++)
      losses.push(
        tidy(() => {
          opt.zeroGrad();
          const l = antler.mseLoss(model.forward(x) as Tensor, target);
          l.backward();
          opt.step();
          return l.item();
        }),
      );
    for (const p of model.parameters()) expect(p.grad).not.toBeNull();
    opt.dispose();
    model.dispose();
    return losses;
  });
}

/** The lowest of the last 20 losses over the first one: below 1 when training lowered the loss to stay. */
export function lateBest(losses: readonly number[]): number {
  return Math.min(...losses.slice(-20)) / losses[0];
}

/**
 * A safetensors file as PyTorch's save_file(norm.state_dict()) writes it for
 * a 3-channel BatchNorm1d / InstanceNorm1d with affine and running
 * statistics: the F32 vectors of `sd`, the counter I64 [] (written here by
 * hand, not by antler's writer).
 */
export function torchStyleNormFile(sd: Record<string, Tensor>, counter: bigint): Buffer {
  const entries: [string, string, number[], Uint8Array][] = [
    ...(['weight', 'bias', 'running_mean', 'running_var'] as const).map((k): [string, string, number[], Uint8Array] => [k, 'F32', [3], new Uint8Array(Float32Array.from(sd[k].dataSync()).buffer)]),
    ['num_batches_tracked', 'I64', [], new Uint8Array(BigInt64Array.from([counter]).buffer)],
  ];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [k, dtype, shape, bytes] of entries) {
    header[k] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  return Buffer.concat([Buffer.from(BigUint64Array.from([BigInt(json.length)]).buffer), json, ...entries.map((e) => Buffer.from(e[3]))]);
}
