/**
 * torch.nn.functional.max_unpool1d/2d/3d: the inverse of a max pool with
 * returnIndices, composed of scatterReduce and gather (one implementation on
 * CPU and CUDA).
 */
import { noGrad, record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, full, arange, Tensor } from '../tensor';
import { checkInteger, checkOptions, describe } from '../validate';
import { add, cast, greaterEqual, maximum, readNumbers, reshape, where, max, min } from './core';
import { gather } from './indexing';
import { scatterReduce } from './selection';
import { Size2d, Size3d } from './pool';

/** Options of maxUnpool1d/2d/3d (torch's max_unpool keywords; each size a number or one per spatial axis). */
export interface MaxUnpoolOptions<S> {
  /** The pool's stride (default, or null: the kernel size). */
  stride?: S | null;
  /** The pool's padding (default 0). */
  padding?: S;
  /**
   * The output's spatial size (or its whole shape, [N, C, …] or [C, …]), for
   * a pool whose input size the default (in − 1)·stride − 2·padding + kernel
   * does not give back (an odd size, ceilMode); each within stride of the default.
   */
  outputSize?: readonly number[] | null;
}

const AXES = ['', 'length', '[h, w]', '[d, h, w]'];

/** A size option as k numbers, each an integer >= min. */
function sizes(v: unknown, op: string, what: string, k: number, min: number): number[] {
  const list = Array.isArray(v) ? v : [v];
  if (Array.isArray(v) && v.length !== k) fail('INVALID_ARGUMENT', `${op}: ${what} must be a number or ${AXES[k]}; got ${describe(v)}`);
  return (Array.isArray(v) ? list : new Array(k).fill(v)).map((n, i) => checkInteger(n, op, Array.isArray(v) ? `${what}[${i}]` : what, min));
}

/** @internal kernelSize, stride and padding of a k-D unpool, checked, one number per spatial axis (stride defaults to the kernel). */
export function unpoolGeometry(op: string, k: number, kernelSize: unknown, o: { stride?: unknown; padding?: unknown }): { kernel: number[]; stride: number[]; padding: number[] } {
  const kernel = sizes(kernelSize, op, 'kernelSize', k, 1);
  const stride = o.stride === undefined || o.stride === null ? kernel : sizes(o.stride, op, 'stride', k, 1);
  const padding = o.padding === undefined ? new Array<number>(k).fill(0) : sizes(o.padding, op, 'padding', k, 0);
  return { kernel, stride, padding };
}

/**
 * x [N, C, L] unpooled into [N, C, P]; owner [N, C, P]: which element of x lands where (−1: none), idx [N, C, L]
 * (int32) x's positions. x's gradient is the output's gradient read back at the indices (torch's gather, every
 * element of a repeated index included); that backward is itself recorded (gather), so it is twice differentiable.
 */
function unpoolRows(x: Tensor, idx: Tensor, owner: Tensor): Tensor {
  const out = noGrad(() => where(greaterEqual(owner, 0), gather(x, 2, cast(maximum(owner, 0), 'int32')), 0));
  return record(out, 'maxUnpool', [x], (gy, [sidx]) => [gather(gy, 2, sidx)], [idx], true);
}

function maxUnpoolNd(op: string, k: number, x: Tensor, indices: Tensor, kernelSize: unknown, options: MaxUnpoolOptions<unknown> | undefined): Tensor {
  checkTensor(x, op, 'x');
  checkTensor(indices, op, 'indices');
  const o = checkOptions<MaxUnpoolOptions<unknown>>(options, op, ['stride', 'padding', 'outputSize']);
  if (x.rank !== k + 1 && x.rank !== k + 2) fail('SHAPE_MISMATCH', `${op}: x must be [N, C, ${AXES[k].replace(/[[\]]/g, '')}] or unbatched (rank ${k + 2} or ${k + 1}); got [${x.shape.join(', ')}]`);
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: x must be float32 or float64; got int32`);
  if (indices.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: indices must be int32 (maxPool's returnIndices); got ${indices.dtype}`);
  if (indices.rank !== x.rank || indices.shape.some((d, i) => d !== x.shape[i]))
    fail('SHAPE_MISMATCH', `${op}: indices must have x's shape [${x.shape.join(', ')}]; got [${indices.shape.join(', ')}]`);
  if (indices.device !== x.device) fail('DEVICE_MISMATCH', `${op}: indices are on ${indices.device} and x on ${x.device}; expected one device`);
  const { kernel, stride, padding } = unpoolGeometry(op, k, kernelSize, o);
  const inSize = x.shape.slice(-k);
  const deflt = inSize.map((n, i) => (n - 1) * stride[i] - 2 * padding[i] + kernel[i]);
  let out = deflt;
  if (o.outputSize !== undefined && o.outputSize !== null) {
    const given = o.outputSize;
    if (!Array.isArray(given) || (given.length !== k && given.length !== x.rank))
      fail('INVALID_ARGUMENT', `${op}: outputSize must be ${k} spatial sizes (or the whole shape, ${x.rank} numbers); got ${describe(given)}`);
    out = (given as number[]).slice(-k).map((n, i) => checkInteger(n, op, `outputSize[${given.length - k + i}]`, 0));
    out.forEach((n, i) => {
      if (n < deflt[i] - stride[i] || n > deflt[i] + stride[i])
        fail('INVALID_ARGUMENT', `${op}: outputSize [${out.join(', ')}] is out of range: axis ${i} must be between ${deflt[i] - stride[i]} and ${deflt[i] + stride[i]} (the default ${deflt[i]} ± the stride ${stride[i]}); got ${n}`);
    });
  }
  if (out.some((n) => n <= 0)) fail('INVALID_ARGUMENT', `${op}: the output size [${out.join(', ')}] must be positive (kernelSize, stride, padding and x's size [${inSize.join(', ')}] give it)`);
  const unbatched = x.rank === k + 1;
  const N = unbatched ? 1 : x.shape[0];
  const C = x.shape[unbatched ? 0 : 1];
  const L = inSize.reduce((a, b) => a * b, 1);
  const P = out.reduce((a, b) => a * b, 1);
  const outShape = [...x.shape.slice(0, x.rank - k), ...out];
  return tidy(() => {
    const idx = reshape(indices, [N, C, L]);
    const empty = N * C * L === 0;
    if (!empty) {
      const [lo, hi] = readNumbers([min(idx), max(idx)]);
      // PyTorch raises for an index outside the output plane ("Found an invalid max index").
      if (lo < 0 || hi >= P)
        fail('INVALID_ARGUMENT', `${op}: indices must lie in [0, ${P}) (the flat position in the output plane [${out.join(', ')}]); found ${lo < 0 ? lo : hi}: pass the indices maxPool${k}d returned with returnIndices, and the same kernelSize, stride, padding (and outputSize for an odd input)`);
    }
    // Which element lands at each position: the last one naming it (PyTorch's CPU loop writes in order, the last write stays).
    const positions = add(full([N, C, L], 0, { dtype: 'float64', device: x.device }), arange(0, L, 1, { dtype: 'float64', device: x.device }));
    const owner = empty ? full([N, C, P], -1, { dtype: 'float64', device: x.device }) : scatterReduce(full([N, C, P], -1, { dtype: 'float64', device: x.device }), 2, idx, positions, 'amax');
    const y = unpoolRows(reshape(x, [N, C, L]), idx, owner);
    return reshape(y, outShape);
  });
}

/**
 * torch.nn.functional.max_unpool1d: the inverse of maxPool1d with
 * returnIndices: x [N, C, L] (or [C, L]) and its indices (int32, each the
 * flat position in the output row) → [N, C, Lout], zero everywhere but at
 * the indices, where x's values go; Lout = (L − 1)·stride − 2·padding +
 * kernelSize unless outputSize says (within stride of it). An index outside
 * the output is refused (INVALID_ARGUMENT, as PyTorch raises); where two
 * elements name one position (overlapping windows) the last one's value
 * stays, as PyTorch's CPU loop. The gradient of x is the output's gradient
 * read at the indices.
 */
export function maxUnpool1d(x: Tensor, indices: Tensor, kernelSize: number, options?: MaxUnpoolOptions<number>): Tensor {
  return maxUnpoolNd('maxUnpool1d', 1, x, indices, kernelSize, options);
}

/** torch.nn.functional.max_unpool2d: maxUnpool1d over [N, C, H, W] (or [C, H, W]); indices are flat in each H·W plane, as maxPool2d returns them. */
export function maxUnpool2d(x: Tensor, indices: Tensor, kernelSize: Size2d, options?: MaxUnpoolOptions<Size2d>): Tensor {
  return maxUnpoolNd('maxUnpool2d', 2, x, indices, kernelSize, options);
}

/** torch.nn.functional.max_unpool3d: maxUnpool1d over [N, C, D, H, W] (or [C, D, H, W]); indices flat in each D·H·W volume, as maxPool3d returns them. */
export function maxUnpool3d(x: Tensor, indices: Tensor, kernelSize: Size3d, options?: MaxUnpoolOptions<Size3d>): Tensor {
  return maxUnpoolNd('maxUnpool3d', 3, x, indices, kernelSize, options);
}
