/**
 * conv1d (torch.nn.functional.conv1d): im2col by one row gather of the
 * padded input channels-last (every output position's taps), then one
 * batched GEMM over the samples and groups straight into the output's
 * layout; the gradients come from autograd (the gather's is a row
 * scatter-add, the GEMM's are GEMMs). A depthwise convolution (one input
 * channel per group) is one native kernel instead (nativeDepthwise,
 * native/kernels/depthwise.h; any stride, padding, dilation and channel
 * multiplier), its two gradients native kernels too.
 * convTranspose1d (torch.nn.functional.conv_transpose1d) is the reverse: one
 * GEMM giving every (input position, tap, output channel) contribution, then
 * one row scatter-add (col2im) into the output positions. conv2d /
 * convTranspose2d and conv3d / convTranspose3d are one k-D implementation
 * (convNd, convTransposeNd) with the kernel taps over k spatial axes (the
 * per-axis geometry shared with the 1-D ops).
 */
import { noGrad, record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, tensor, Tensor } from '../tensor';
import { checkOptions, checkShape, describe, shapeText } from '../validate';
import { add, concat, matmul, mul, permute, reshape, slice, sliceBackward, stack, sum, wrap } from './core';
import { gatherRows, indexSelect, scatterAddRows } from './indexing';
import { linear } from './nn';
import { native } from '../native';
import { pad } from './shape';

/** Options of {@link conv1d}. */
export interface Conv1dOptions {
  stride?: number;
  /** Zeros on both ends: a number, 'valid' (0) or 'same' (the output as long as the input; stride 1 only). */
  padding?: number | 'valid' | 'same';
  dilation?: number;
  /** Channel groups (PyTorch's groups): input and output channels split into this many independent convolutions; groups = inChannels is a depthwise convolution. */
  groups?: number;
}

/** @internal The padding on each side and the output length along one spatial axis (`axis` names it in messages: 'length', 'height', 'width'); checks the options. */
export function convGeometry(op: string, L: number, K: number, o: Conv1dOptions, axis = 'length'): { left: number; right: number; stride: number; dilation: number; Lout: number } {
  const positive = (v: unknown, what: string) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail('INVALID_ARGUMENT', `${op}: ${what} must be a positive integer; got ${describe(v)}`);
    return v;
  };
  const stride = o.stride === undefined ? 1 : positive(o.stride, 'stride');
  const dilation = o.dilation === undefined ? 1 : positive(o.dilation, 'dilation');
  const span = dilation * (K - 1);
  let left: number, right: number;
  if (o.padding === undefined || o.padding === 'valid') left = right = 0;
  else if (o.padding === 'same') {
    if (stride !== 1) fail('INVALID_ARGUMENT', `${op}: padding 'same' needs stride 1 (as PyTorch); got stride ${stride}`);
    left = Math.floor(span / 2);
    right = span - left;
  } else if (typeof o.padding === 'number' && Number.isInteger(o.padding) && o.padding >= 0) left = right = o.padding;
  else fail('INVALID_ARGUMENT', `${op}: padding must be an integer ≥ 0, 'valid' or 'same'; got ${describe(o.padding)}`);
  const Lout = Math.floor((L + left + right - span - 1) / stride) + 1;
  if (Lout < 1)
    fail('SHAPE_MISMATCH', `${op}: the input's ${axis} ${L} (padded to ${L + left + right}) is shorter than the kernel's span ${span + 1} (kernel ${K}, dilation ${dilation})`);
  return { left, right, stride, dilation, Lout };
}

/**
 * A 1-D convolution (cross-correlation, as PyTorch's): x [N, Cin, L] (or
 * [Cin, L]), weight [Cout, Cin / groups, K], bias [Cout] or null → [N, Cout,
 * Lout] (or [Cout, Lout]); Lout = ⌊(L + 2·padding − dilation·(K − 1) − 1) / stride⌋ + 1.
 * A depthwise convolution (groups = inChannels > 1, weight [m·Cin, 1, K]) is one native kernel, its gradients
 * native kernels too (differentiable again); other groupings are im2col and a GEMM.
 */
export function conv1d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options?: Conv1dOptions): Tensor {
  const op = 'conv1d';
  checkTensor(x, op, 'input');
  checkTensor(weight, op, 'weight');
  if (bias !== null && bias !== undefined) checkTensor(bias, op, 'bias');
  const o = checkOptions<Conv1dOptions>(options, op, ['stride', 'padding', 'dilation', 'groups']);
  const G = o.groups === undefined ? 1 : o.groups;
  if (typeof G !== 'number' || !Number.isInteger(G) || G < 1) fail('INVALID_ARGUMENT', `${op}: groups must be a positive integer; got ${describe(G)}`);
  if (weight.rank !== 3) fail('SHAPE_MISMATCH', `${op}: weight has shape ${shapeText(weight.shape)}; expected [outChannels, inChannels / groups, kernelSize]`);
  const [Cout, Cg, K] = weight.shape;
  const Cin = Cg * G;
  if (K === 0 || Cg === 0) fail('SHAPE_MISMATCH', `${op}: weight has shape ${shapeText(weight.shape)}; a kernel size and input channels of 0 are not a convolution`);
  if (Cout < G) fail('SHAPE_MISMATCH', `${op}: weight has ${Cout} output channels (shape ${shapeText(weight.shape)}); ${G} groups need at least ${G}`);
  if (Cout % G !== 0) fail('SHAPE_MISMATCH', `${op}: weight has ${Cout} output channels (shape ${shapeText(weight.shape)}), not divisible into ${G} groups`);
  if (x.rank !== 2 && x.rank !== 3) fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; expected [N, ${Cin}, L] or unbatched [${Cin}, L]`);
  const unbatched = x.rank === 2;
  const [N, C, L] = unbatched ? [1, x.shape[0], x.shape[1]] : x.shape;
  if (C !== Cin)
    fail('SHAPE_MISMATCH', `${op}: input has ${C} channels (shape ${shapeText(x.shape)}); the weight ${shapeText(weight.shape)}${G > 1 ? ` with ${G} groups` : ''} expects ${Cin}`);
  if (x.dtype !== weight.dtype) fail('DTYPE_MISMATCH', `${op}: input is ${x.dtype} and weight ${weight.dtype}; expected one dtype`);
  // (int32 refused on every path, as the row gather's GEMM refuses it: the depthwise path's products would take it)
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: input and weight are int32; expected float32 or float64 (cast them first)`);
  if (x.device !== weight.device) fail('DEVICE_MISMATCH', `${op}: input is on ${x.device} and weight on ${weight.device}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== Cout)) fail('SHAPE_MISMATCH', `${op}: bias has shape ${shapeText(bias.shape)}; expected [${Cout}]`);
  if (bias) {
    if (bias.dtype !== weight.dtype) fail('DTYPE_MISMATCH', `${op}: bias is ${bias.dtype} and weight ${weight.dtype}; expected one dtype`);
    if (bias.device !== weight.device) fail('DEVICE_MISMATCH', `${op}: bias is on ${bias.device} and weight on ${weight.device}`);
  }
  const g = convGeometry(op, L, K, o);
  if (g.left || g.right) checkShape([N, Cin, L + g.left + g.right], op, 'the padded input shape');
  checkShape([N * G * g.Lout * K + 1, Cg], op, 'the unfolded input (every output position\'s kernel taps)');
  checkConvRows(op, [L + g.left + g.right]);
  return tidy(() => {
    const out = convForward(unbatched ? reshape(x, [1, Cin, L]) : x, weight, bias ?? null, [K], [g], G);
    return unbatched ? reshape(out, [Cout, g.Lout]) : out;
  });
}

/** Options of {@link convTranspose1d} (torch.nn.functional.conv_transpose1d's). */
export interface ConvTranspose1dOptions {
  stride?: number;
  /** dilation·(K − 1) − padding zeros on both ends of the input, as PyTorch's: the output loses `padding` positions at each end. An integer ≥ 0. */
  padding?: number;
  /** Positions added at the end of the output (PyTorch's output_padding), to pick among the lengths that a strided conv1d maps to one length; smaller than stride or than dilation. */
  outputPadding?: number;
  /** Channel groups: weight [inChannels, outChannels / groups, K]. */
  groups?: number;
  dilation?: number;
}

/** @internal The checked options and output length of a transposed convolution along one spatial axis (PyTorch's rules; `axis` names it in messages). */
export function convTransposeGeometry(op: string, L: number, K: number, o: ConvTranspose1dOptions, axis = 'length'): { stride: number; padding: number; outputPadding: number; dilation: number; Lout: number } {
  const integer = (v: unknown, what: string, min: number, dflt: number) => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail('INVALID_ARGUMENT', `${op}: ${what} must be ${min === 1 ? 'a positive integer' : 'an integer ≥ 0'}; got ${describe(v)}`);
    return v;
  };
  const stride = integer(o.stride, 'stride', 1, 1);
  const dilation = integer(o.dilation, 'dilation', 1, 1);
  const padding = integer(o.padding, 'padding', 0, 0);
  const outputPadding = integer(o.outputPadding, 'outputPadding', 0, 0);
  if (outputPadding >= stride && outputPadding >= dilation)
    fail('INVALID_ARGUMENT', `${op}: outputPadding must be smaller than either stride or dilation (as PyTorch); got outputPadding ${outputPadding}, stride ${stride}, dilation ${dilation}`);
  const Lout = (L - 1) * stride - 2 * padding + dilation * (K - 1) + outputPadding + 1;
  if (Lout < 1)
    fail('SHAPE_MISMATCH', `${op}: the output ${axis} (${L} − 1)·${stride} − 2·${padding} + ${dilation}·(${K} − 1) + ${outputPadding} + 1 = ${Lout} is less than 1 (input ${axis} ${L}, stride ${stride}, padding ${padding}, dilation ${dilation}, kernel ${K}, outputPadding ${outputPadding})`);
  return { stride, padding, outputPadding, dilation, Lout };
}

/** @internal Refuses more scatter-add rows than scatterBlocks's int32 index reaches (its block offsets b·R would wrap: silently wrong rows). */
function checkScatterRows(op: string, rows: number): void {
  if (rows > 2 ** 31) fail('INVALID_ARGUMENT', `${op}: the col2im scatter-add has ${rows} rows (samples · groups · (output positions + 1)); its int32 row indices reach 2^31 − 1`);
}

/**
 * @internal col2im of the transposed convolutions: sums the contribution rows of B blocks (a sample's group each;
 * contrib's rows in block order, Og columns) into [B, Q, Og], row r of a block landing in row local[r] of its block,
 * or nowhere when local[r] = Q (`dropped` says whether any does). The index is built on the device from the
 * per-block targets and the blocks' offsets: O(local + B) on the host, not O(B · local).
 */
function scatterBlocks(contrib: Tensor, local: Int32Array, B: number, Og: number, Q: number, dropped: boolean, device: string, op: string): Tensor {
  const per = local.length, R = dropped ? Q + 1 : Q;
  const offsets = tensor(Int32Array.from({ length: B }, (_, b) => b * R), [B, 1], { dtype: 'int32', device });
  const index = reshape(add(offsets, tensor(local, [1, per], { dtype: 'int32', device })), [B * per]);
  const y = scatterAddRows(reshape(contrib, [B * per, Og]), index, B * R, false, op); // in range by construction
  return dropped ? slice(reshape(y, [B, R, Og]), [0, 0, 0], [B, Q, Og]) : reshape(y, [B, Q, Og]);
}

/**
 * A 1-D transposed convolution (torch.nn.functional.conv_transpose1d, the
 * gradient of conv1d with respect to its input): x [N, Cin, L] (or [Cin,
 * L]), weight [Cin, Cout / groups, K], bias [Cout] or null → [N, Cout, Lout]
 * (or [Cout, Lout]), Lout = (L − 1)·stride − 2·padding + dilation·(K − 1) +
 * outputPadding + 1; y[n, co, i·stride + k·dilation − padding] += x[n, ci,
 * i]·w[ci, co mod (Cout / groups), k] over the input channels ci of co's
 * group, positions outside [0, Lout) dropped. One GEMM (batched over the
 * groups) of the input against the weight, then one row scatter-add into
 * the output positions; the gradients come from autograd.
 */
export function convTranspose1d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options?: ConvTranspose1dOptions): Tensor {
  const op = 'convTranspose1d';
  checkTensor(x, op, 'input');
  checkTensor(weight, op, 'weight');
  if (bias !== null && bias !== undefined) checkTensor(bias, op, 'bias');
  const o = checkOptions<ConvTranspose1dOptions>(options, op, ['stride', 'padding', 'outputPadding', 'groups', 'dilation']);
  const G = o.groups === undefined ? 1 : o.groups;
  if (typeof G !== 'number' || !Number.isInteger(G) || G < 1) fail('INVALID_ARGUMENT', `${op}: groups must be a positive integer; got ${describe(G)}`);
  if (weight.rank !== 3) fail('SHAPE_MISMATCH', `${op}: weight has shape ${shapeText(weight.shape)}; expected [inChannels, outChannels / groups, kernelSize]`);
  const [Cin, Og, K] = weight.shape;
  const Cout = Og * G;
  if (K === 0 || Og === 0 || Cin === 0) fail('SHAPE_MISMATCH', `${op}: weight has shape ${shapeText(weight.shape)}; a kernel size or channel count of 0 is not a convolution`);
  if (Cin % G !== 0) fail('SHAPE_MISMATCH', `${op}: weight has ${Cin} input channels (shape ${shapeText(weight.shape)}), not divisible into ${G} groups`);
  if (x.rank !== 2 && x.rank !== 3) fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; expected [N, ${Cin}, L] or unbatched [${Cin}, L]`);
  const unbatched = x.rank === 2;
  const [N, C, L] = unbatched ? [1, x.shape[0], x.shape[1]] : x.shape;
  if (C !== Cin) fail('SHAPE_MISMATCH', `${op}: input has ${C} channels (shape ${shapeText(x.shape)}); the weight ${shapeText(weight.shape)} expects ${Cin}`);
  if (L === 0) fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; its length is 0`);
  if (x.dtype !== weight.dtype) fail('DTYPE_MISMATCH', `${op}: input is ${x.dtype} and weight ${weight.dtype}; expected one dtype`);
  if (x.device !== weight.device) fail('DEVICE_MISMATCH', `${op}: input is on ${x.device} and weight on ${weight.device}`);
  if (bias) {
    if (bias.rank !== 1 || bias.shape[0] !== Cout) fail('SHAPE_MISMATCH', `${op}: bias has shape ${shapeText(bias.shape)}; expected [${Cout}]`);
    if (bias.dtype !== weight.dtype) fail('DTYPE_MISMATCH', `${op}: bias is ${bias.dtype} and weight ${weight.dtype}; expected one dtype`);
    if (bias.device !== weight.device) fail('DEVICE_MISMATCH', `${op}: bias is on ${bias.device} and weight on ${weight.device}`);
  }
  const g = convTransposeGeometry(op, L, K, o);
  const Cg = Cin / G;
  checkShape([N, Cout, g.Lout], op, 'the output shape');
  checkShape([N * G * L * K + 1, Og], op, 'the contributions');
  checkShape([N * G * (g.Lout + 1), Og], op, 'the scatter-add\'s rows');
  checkScatterRows(op, N * G * (g.Lout + 1));
  return tidy(() => {
    const xb = unbatched ? reshape(x, [1, Cin, L]) : x;
    // Every contribution x[n, ci, i]·w[ci, o, k] summed over ci of a group, as rows (n, g, i, k) of Og columns.
    let contrib: Tensor;
    if (G === 1) {
      const wk = reshape(permute(weight, [2, 1, 0]), [K * Og, Cin]); // [(k, o), ci]
      contrib = linear(permute(xb, [0, 2, 1]), wk, null); // [N, L, K·Og]
    } else {
      const xg = permute(reshape(xb, [N, G, Cg, L]), [0, 1, 3, 2]); // [N, G, L, Cg]
      const wg = reshape(permute(reshape(weight, [G, Cg, Og, K]), [0, 3, 2, 1]), [G, K * Og, Cg]);
      contrib = matmul(xg, wg, { transposeB: true }); // [N, G, L, K·Og]
    }
    // Row (b, i, k) lands in row i·stride + k·dilation − padding of block b (sample, group); Lout for those outside [0, Lout).
    const local = new Int32Array(L * K);
    let dropped = false;
    for (let i = 0; i < L; i++)
      for (let k = 0; k < K; k++) {
        const p = i * g.stride + k * g.dilation - g.padding;
        const inside = p >= 0 && p < g.Lout;
        if (!inside) dropped = true;
        local[i * K + k] = inside ? p : g.Lout;
      }
    const y = scatterBlocks(contrib, local, N * G, Og, g.Lout, dropped, x.device, op); // [N·G, Lout, Og]
    let out = G === 1 ? permute(reshape(y, [N, g.Lout, Cout]), [0, 2, 1]) : reshape(permute(reshape(y, [N, G, g.Lout, Og]), [0, 1, 3, 2]), [N, Cout, g.Lout]);
    if (bias) out = add(out, reshape(bias, [Cout, 1]));
    return unbatched ? reshape(out, [Cout, g.Lout]) : out;
  });
}

/** Options of {@link conv2d} (torch.nn.functional.conv2d's): each of stride, padding and dilation one number for both spatial axes or [height, width]. */
export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  /** Zeros on both sides of each spatial axis: a number, [height, width], 'valid' (0) or 'same' (the output as large as the input; stride 1 only). */
  padding?: number | readonly [number, number] | 'valid' | 'same';
  dilation?: number | readonly [number, number];
  /** Channel groups (PyTorch's groups): groups = inChannels is a depthwise convolution. */
  groups?: number;
}

/** Options of {@link conv3d} (torch.nn.functional.conv3d's): each of stride, padding and dilation one number for every spatial axis or [depth, height, width]. */
export interface Conv3dOptions {
  stride?: number | readonly [number, number, number];
  /** Zeros on both sides of each spatial axis: a number, [depth, height, width], 'valid' (0) or 'same' (the output as large as the input; stride 1 only). */
  padding?: number | readonly [number, number, number] | 'valid' | 'same';
  dilation?: number | readonly [number, number, number];
  /** Channel groups (PyTorch's groups): groups = inChannels is a depthwise convolution. */
  groups?: number;
}

/** The spatial axes' names (messages) and letters (shapes in messages) of the 2-D and 3-D ops. */
const AXES: Record<number, { names: string[]; letters: string; kernel: string }> = {
  2: { names: ['height', 'width'], letters: 'H, W', kernel: 'kernelHeight, kernelWidth' },
  3: { names: ['depth', 'height', 'width'], letters: 'D, H, W', kernel: 'kernelDepth, kernelHeight, kernelWidth' },
};

/** @internal A k-D option (one value for every spatial axis, or one per axis: [height, width] or [depth, height, width]) as its k values; the geometry checks each. */
export function convTuple<T>(op: string, what: string, v: T | readonly number[] | undefined, k: number): (T | number | undefined)[] {
  if (!Array.isArray(v)) return new Array<T | undefined>(k).fill(v as T | undefined);
  if (v.length !== k || !v.every((e) => typeof e === 'number'))
    fail('INVALID_ARGUMENT', `${op}: ${what} must be a number or [${AXES[k].names.join(', ')}]; got ${describe(v)}`);
  return v.slice();
}

/** @internal A 2-D option (one value for both spatial axes, or [height, width]) as its two values; the geometry checks each. */
export function convPair<T>(op: string, what: string, v: T | readonly number[] | undefined): [T | number | undefined, T | number | undefined] {
  return convTuple(op, what, v, 2) as [T | number | undefined, T | number | undefined];
}

/** @internal The k-D convolution's geometry: {@link convGeometry} along each spatial axis (sizes and kernel sizes per axis). */
export function convNdGeometry(op: string, sizes: readonly number[], ks: readonly number[], o: Conv2dOptions | Conv3dOptions): ReturnType<typeof convGeometry>[] {
  const k = sizes.length;
  const s = convTuple<number>(op, 'stride', o.stride, k);
  const p = convTuple<number | 'valid' | 'same'>(op, 'padding', o.padding, k);
  const d = convTuple<number>(op, 'dilation', o.dilation, k);
  return sizes.map((L, i) => convGeometry(op, L, ks[i], { stride: s[i] as number, padding: p[i] as number, dilation: d[i] as number }, AXES[k].names[i]));
}

/** @internal conv2d's geometry: {@link convGeometry} along the height and along the width. */
export function conv2dGeometry(op: string, H: number, W: number, kH: number, kW: number, o: Conv2dOptions): [ReturnType<typeof convGeometry>, ReturnType<typeof convGeometry>] {
  return convNdGeometry(op, [H, W], [kH, kW], o) as [ReturnType<typeof convGeometry>, ReturnType<typeof convGeometry>];
}

/** @internal The checks the k-D convolutions share: the groups and the input's dtype and device against the weight's (rank k + 2), and the bias's. */
function checkConvNd(op: string, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, groups: unknown, layout: string, k: number): number {
  checkTensor(x, op, 'input');
  checkTensor(weight, op, 'weight');
  if (bias !== null && bias !== undefined) checkTensor(bias, op, 'bias');
  const G = groups === undefined ? 1 : groups;
  if (typeof G !== 'number' || !Number.isInteger(G) || G < 1) fail('INVALID_ARGUMENT', `${op}: groups must be a positive integer; got ${describe(G)}`);
  if (weight.rank !== k + 2) fail('SHAPE_MISMATCH', `${op}: weight has shape ${shapeText(weight.shape)}; expected ${layout}`);
  if (x.dtype !== weight.dtype) fail('DTYPE_MISMATCH', `${op}: input is ${x.dtype} and weight ${weight.dtype}; expected one dtype`);
  if (x.device !== weight.device) fail('DEVICE_MISMATCH', `${op}: input is on ${x.device} and weight on ${weight.device}`);
  if (bias) {
    if (bias.dtype !== weight.dtype) fail('DTYPE_MISMATCH', `${op}: bias is ${bias.dtype} and weight ${weight.dtype}; expected one dtype`);
    if (bias.device !== weight.device) fail('DEVICE_MISMATCH', `${op}: bias is on ${bias.device} and weight on ${weight.device}`);
  }
  return G;
}

const product = (v: readonly number[]): number => v.reduce((a, b) => a * b, 1);

/** Row-major strides of a grid of the given sizes. */
const gridStrides = (sizes: readonly number[]): number[] => sizes.map((_, d) => product(sizes.slice(d + 1)));

/**
 * @internal Every (position, tap) pair of a k-D grid as a flat offset: positions row-major, then each position's taps
 * row-major ([P·T], P and T the products of the axes' counts and taps); each the sum over the axes of that axis's
 * offset(i, a), NaN where any axis's is NaN (outside). Built axis by axis in typed arrays (the host cost of the 2-D
 * loops it replaced).
 */
export function gridOffsets(axes: readonly { count: number; taps: number; offset: (i: number, a: number) => number }[]): Float64Array {
  let acc = new Float64Array([0]), P = 1, T = 1;
  for (const { count, taps, offset } of axes) {
    const table = new Float64Array(count * taps);
    for (let i = 0; i < count; i++) for (let a = 0; a < taps; a++) table[i * taps + a] = offset(i, a);
    const next = new Float64Array(P * count * T * taps);
    let at = 0;
    for (let p = 0; p < P; p++)
      for (let i = 0; i < count; i++)
        for (let t = 0; t < T; t++) {
          const base = acc[p * T + t];
          for (let a = 0; a < taps; a++) next[at++] = base + table[i * taps + a];
        }
    acc = next;
    P *= count;
    T *= taps;
  }
  return acc;
}

/** @internal Checks that im2col's padded input and its result fit a tensor. */
function checkIm2col(op: string, N: number, C: number, sizes: readonly number[], KK: number, gs: readonly ReturnType<typeof convGeometry>[]): void {
  if (gs.some((g) => g.left || g.right)) checkShape([N, C, ...sizes.map((L, d) => L + gs[d].left + gs[d].right)], op, 'the padded input shape');
  checkShape([N, C, product(gs.map((g) => g.Lout)) * KK], op, 'the unfolded input (every output position\'s kernel taps)');
}

/**
 * @internal im2col over k spatial axes (unfold's; the convolutions gather channels-last in convForward): x [N, C, ...sizes] zero-padded as the
 * geometry says, then one indexSelect of the flattened padded positions of
 * every output position's taps → [N, C, KK·P] (KK the kernel taps, P the
 * output positions, both row-major; tap major, then output position: [N, C·KK, P] by a reshape).
 */
function im2col(x: Tensor, ks: readonly number[], gs: readonly ReturnType<typeof convGeometry>[]): Tensor {
  const [N, C, ...sizes] = x.shape;
  const padded = sizes.map((L, d) => L + gs[d].left + gs[d].right), strides = gridStrides(padded);
  const xp = gs.some((g) => g.left || g.right) ? pad(x, [[0, 0], [0, 0], ...gs.map((g): [number, number] => [g.left, g.right])]) : x;
  const byPosition = gridOffsets(gs.map((g, d) => ({ count: g.Lout, taps: ks[d], offset: (i: number, a: number) => (i * g.stride + a * g.dilation) * strides[d] })));
  const KK = product(ks), P = byPosition.length / KK, taps = new Int32Array(byPosition.length);
  for (let p = 0; p < P; p++) for (let a = 0; a < KK; a++) taps[a * P + p] = byPosition[p * KK + a];
  return indexSelect(reshape(xp, [N, C, product(padded)]), 2, tensor(taps, [taps.length], { dtype: 'int32', device: x.device }));
}

/** conv2d and conv3d: the k-D convolution over x's last k axes (messages as `op`'s). */
function convNd(op: string, k: number, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, options: Conv2dOptions | Conv3dOptions | undefined): Tensor {
  const ax = AXES[k];
  const o = checkOptions<Conv2dOptions | Conv3dOptions>(options, op, ['stride', 'padding', 'dilation', 'groups']);
  const G = checkConvNd(op, x, weight, bias, o.groups, `[outChannels, inChannels / groups, ${ax.kernel}]`, k);
  // (int32 refused on every path, as the row gather's GEMM refuses it: the depthwise path's products would take it)
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: input and weight are int32; expected float32 or float64 (cast them first)`);
  const [Cout, Cg, ...ks] = weight.shape;
  const Cin = Cg * G, KK = product(ks);
  if (KK === 0 || Cg === 0) fail('SHAPE_MISMATCH', `${op}: weight has shape ${shapeText(weight.shape)}; a kernel size and input channels of 0 are not a convolution`);
  if (Cout < G) fail('SHAPE_MISMATCH', `${op}: weight has ${Cout} output channels (shape ${shapeText(weight.shape)}); ${G} groups need at least ${G}`);
  if (Cout % G !== 0) fail('SHAPE_MISMATCH', `${op}: weight has ${Cout} output channels (shape ${shapeText(weight.shape)}), not divisible into ${G} groups`);
  if (x.rank !== k + 1 && x.rank !== k + 2) fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; expected [N, ${Cin}, ${ax.letters}] or unbatched [${Cin}, ${ax.letters}]`);
  const unbatched = x.rank === k + 1;
  const [N, C, ...sizes] = unbatched ? [1, ...x.shape] : x.shape;
  if (C !== Cin)
    fail('SHAPE_MISMATCH', `${op}: input has ${C} channels (shape ${shapeText(x.shape)}); the weight ${shapeText(weight.shape)}${G > 1 ? ` with ${G} groups` : ''} expects ${Cin}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== Cout)) fail('SHAPE_MISMATCH', `${op}: bias has shape ${shapeText(bias.shape)}; expected [${Cout}]`);
  const gs = convNdGeometry(op, sizes, ks, o);
  const outSizes = gs.map((g) => g.Lout), P = product(outSizes);
  checkIm2col(op, N, Cin, sizes, KK, gs);
  checkShape([N * G * P * KK + 1, Cg], op, 'the unfolded input rows');
  checkConvRows(op, sizes.map((L, d) => L + gs[d].left + gs[d].right));
  return tidy(() => {
    const out = convForward(unbatched ? reshape(x, [1, ...x.shape]) : x, weight, bias ?? null, ks, gs, G);
    return unbatched ? reshape(out, [Cout, ...outSizes]) : out;
  });
}

/**
 * @internal Which convolution paths convForward may take (tests and the benchmark turn the depthwise paths off to compare
 * them with the row gather's). `depthwiseNative`: the native depthwise kernel (nativeDepthwise) for every depthwise
 * convolution; off (or an addon built before it), stride-1 depthwise convolutions take the sum over taps
 * (depthwiseConv) where takesDepthwise says so. `depthwiseCpuRule`: on the CPU, the depthwise path only where it measured faster than the
 * row gather (see {@link takesDepthwise}); tests turn the rule off to send small shapes down the depthwise path.
 */
export const convPaths = { depthwise: true, depthwiseCpuRule: true, depthwiseNative: true };

/**
 * @internal Output elements N·C·P from which the CPU takes the depthwise path (channel multiplier 1). Measured
 * (interleaved medians, loaded 2-core EPYC, float32, forward + backward, row gather / depthwise): [8, 512, 128] k 3
 * 0.76, k 15 0.58; [8, 128, 28, 28] 7×7 0.43; [8, 128, 32, 32] 3×3 0.64; [64, 512, 7, 7] 3×3 0.50; [512, 32, 8, 8] 0.51;
 * [8, 512, 512] k 3 1.2; [8, 512, 1024] k 3 1.45, k 15 1.23; [8, 256, 1024] k 31 1.01; [4, 32, 16, 32, 32] 3×3×3 1.5;
 * [32, 128, 56, 56] 3×3 1.5; [4, 64, 112, 112] 3×3 1.13. Multipliers m > 1 measured slower at every size
 * ([8, 64, 56, 56] m 2: 0.63; [8, 32, 56, 56] m 8: 0.33; [8, 32, 28, 28] m 8: 0.23).
 */
export const DEPTHWISE_CPU_MIN = 2 ** 21;

/**
 * @internal Whether convForward sends a convolution to depthwiseConv: one input channel per group (groups > 1), stride 1
 * on every axis; on the CPU (unless convPaths.depthwiseCpuRule is off) only with multiplier 1 and at least
 * DEPTHWISE_CPU_MIN output elements, where it measured faster than the row gather (per-tap passes over short
 * windows cost more than the gather and GEMM below that). Other devices always (not measured).
 */
function takesDepthwise(x: Tensor, weight: Tensor, gs: readonly ReturnType<typeof convGeometry>[], G: number): boolean {
  if (!convPaths.depthwise || G <= 1 || weight.shape[1] !== 1 || !gs.every((g) => g.stride === 1)) return false;
  if (!convPaths.depthwiseCpuRule || x.device !== 'cpu') return true;
  return weight.shape[0] === G && x.shape[0] * G * product(gs.map((g) => g.Lout)) >= DEPTHWISE_CPU_MIN;
}

/** @internal Rows one int32 row gather can index (0 … 2^31 − 1). */
export const GATHER_ROWS = 2 ** 31;

/** @internal Refuses a padded input whose positions per channel S alone exceed a gather's int32 index (convForward splits N·G·S, never S; unfold's indexSelect takes S positions). */
function checkConvRows(op: string, padded: readonly number[]): void {
  const S = product(padded);
  if (S > GATHER_ROWS) fail('INVALID_ARGUMENT', `${op}: the padded input has ${S} positions per channel ([${padded.join(', ')}]); the gather's int32 indices reach 2^31 − 1`);
}

/**
 * @internal The convolutions' im2col and GEMM over k spatial axes (x batched [N, Cin, ...sizes], checked): the padded
 * input channels-last per group as rows [N·G·S, Cg] (one permute of the input), one row gather of every output
 * position's taps → [N, G, P, KK·Cg] (position major, then tap, then channel), and one batched GEMM of each group's
 * weights [Og, KK·Cg] against those patches transposed → [N, G, Og, P], already the output's [N, Cout, ...outSizes]
 * order: no copy of the KK-times larger columns is permuted (forward or backward). Gradients from autograd (the
 * gather's is a row scatter-add). More than `maxRows` (2^31) rows N·G·S in all are convolved in pieces of samples
 * and groups (the int32 row index reaches 2^31 − 1), the pieces concatenated. Depthwise convolutions (groups > 1 of one
 * input channel each) with stride 1 go to depthwiseConv (no gather; no row limit) where takesDepthwise says so.
 */
export function convForward(x: Tensor, weight: Tensor, bias: Tensor | null, ks: readonly number[], gs: readonly ReturnType<typeof convGeometry>[], G: number, maxRows = GATHER_ROWS): Tensor {
  const [N, , ...sizes] = x.shape;
  if (takesNativeDepthwise(weight, G)) {
    const y = nativeDepthwise(x, weight, gs);
    return bias ? add(y, reshape(bias, [weight.shape[0], ...ks.map(() => 1)])) : y;
  }
  if (takesDepthwise(x, weight, gs, G)) return depthwiseConv(x, weight, bias, ks, gs, G);
  const S = product(sizes.map((L, d) => L + gs[d].left + gs[d].right));
  if (N * G * S <= maxRows) return convBlocks(x, weight, bias, ks, gs, G);
  // Too many rows for one int32 index (block offsets b·S would wrap): groups in pieces of gc, samples in pieces of nc,
  // each piece's rows [nc·gc·S, Cg] within maxRows (S ≤ maxRows: checked by checkConvRows).
  if (S > maxRows) fail('INVALID_ARGUMENT', `convolution: ${S} padded positions per channel; the row gather's int32 indices reach ${maxRows - 1}`);
  const [Cout, Cg] = weight.shape;
  const Og = Cout / G, zeros = sizes.map(() => 0);
  const gc = Math.min(G, Math.floor(maxRows / S)), nc = Math.max(1, Math.min(N, Math.floor(maxRows / (gc * S))));
  const byGroups: Tensor[] = [];
  for (let g0 = 0; g0 < G; g0 += gc) {
    const gn = Math.min(gc, G - g0);
    const w = gn === G ? weight : slice(weight, [g0 * Og, 0, ...ks.map(() => 0)], [gn * Og, Cg, ...ks]);
    const b = bias && gn !== G ? slice(bias, [g0 * Og], [gn * Og]) : bias;
    const bySamples: Tensor[] = [];
    for (let n0 = 0; n0 < N; n0 += nc) {
      const nn = Math.min(nc, N - n0);
      bySamples.push(convBlocks(slice(x, [n0, g0 * Cg, ...zeros], [nn, gn * Cg, ...sizes]), w, b, ks, gs, gn));
    }
    byGroups.push(bySamples.length === 1 ? bySamples[0] : concat(bySamples, 0));
  }
  return byGroups.length === 1 ? byGroups[0] : concat(byGroups, 1);
}

/**
 * @internal The depthwise convolution (one input channel per group, groups > 1, any channel multiplier m = Cout / Cin;
 * stride 1 on every axis): a sum over the kernel taps of the padded input's shifted window times that tap's weight
 * per channel, no im2col (the row gather's rows would be one value wide). See {@link depthwiseTaps}.
 */
function depthwiseConv(x: Tensor, weight: Tensor, bias: Tensor | null, ks: readonly number[], gs: readonly ReturnType<typeof convGeometry>[], G: number): Tensor {
  const Cout = weight.shape[0], KK = product(ks), k = ks.length;
  const xp = gs.some((g) => g.left || g.right) ? zeroPad(x, gs.map((g) => g.left), gs.map((g) => g.left + g.right)) : x;
  // Each tap's window start along each axis (taps row-major, as the weight's).
  const starts = Array.from({ length: KK }, (_, a) => {
    const at = new Array<number>(k);
    for (let d = k - 1; d >= 0; d--) {
      at[d] = (a % ks[d]) * gs[d].dilation;
      a = Math.floor(a / ks[d]);
    }
    return at;
  });
  const y = depthwiseTaps(xp, reshape(weight, [G, Cout / G, KK]), starts, gs.map((g) => g.Lout));
  return bias ? add(y, reshape(bias, [Cout, ...new Array<number>(k).fill(1)])) : y;
}

/**
 * @internal x [N, C, ...sizes] zero-padded on its spatial axes: `before` zeros ahead of each axis, `extra` more
 * positions in all along it: one native copy into zeros (as pad()'s zero padding, without its checks); the gradient
 * is the slice of the unpadded region.
 */
function zeroPad(x: Tensor, before: readonly number[], extra: readonly number[]): Tensor {
  return sliceBackward(x, x.shape.map((n, i) => (i < 2 ? n : n + extra[i - 2])), [0, 0, ...before]);
}

/**
 * @internal y [N, C·m, ...outSizes] = Σ_a window_a(xp) · w[:, :, a] for xp [N, C, ...] and w [C, m, KK], window_a the
 * outSizes positions from starts[a] on (channel c's m outputs c·m … c·m + m − 1, as a depthwise convolution's with
 * multiplier m). Computed unrecorded (each tap's window, product and running sum freed as it goes) and recorded as
 * one node saving only xp and w (not KK output-sized windows); its backward is recorded ops, so twice differentiable:
 * the input's gradient is this op again (the output gradient zero-padded by each axis's span, the windows mirrored),
 * the weight's one product and sum per tap.
 */
function depthwiseTaps(xp: Tensor, w: Tensor, starts: readonly (readonly number[])[], outSizes: readonly number[]): Tensor {
  const [N, C, ...sizes] = xp.shape, m = w.shape[1];
  const ones = outSizes.map(() => 1);
  const window = (t: Tensor, at: readonly number[]) => slice(t, [0, 0, ...at], [N, C, ...outSizes]);
  const out = tidy(() => noGrad(() => {
    let acc: Tensor | null = null;
    starts.forEach((at, a) => {
      const next = tidy(() => {
        const v = window(xp, at);
        const t = mul(m === 1 ? v : reshape(v, [N, C, 1, ...outSizes]), reshape(slice(w, [0, 0, a], [C, m, 1]), m === 1 ? [C, ...ones] : [C, m, ...ones]));
        return acc ? add(acc, t) : t;
      });
      acc?.dispose();
      acc = next;
    });
    return reshape(acc as unknown as Tensor, [N, C * m, ...outSizes]);
  }));
  return record(out, 'depthwiseConv', [xp, w], (gy, [sx, sw], [needX, needW]) => {
    let gx: Tensor | null = null, gw: Tensor | null = null;
    if (needX) {
      // xp's gradient at s is Σ_a gy[s − starts[a]]·w_a: the same sum over the zero-padded gy with mirrored windows.
      const span = sizes.map((L, d) => L - outSizes[d]);
      const gyp = zeroPad(gy, span, span.map((e) => 2 * e));
      const g = depthwiseTaps(gyp, reshape(sw, [C * m, 1, starts.length]), starts.map((at) => at.map((v, d) => span[d] - v)), sizes);
      gx = m === 1 ? g : sum(reshape(g, [N, C, m, ...sizes]), 2);
    }
    if (needW) {
      // w[c, j, a]'s gradient: Σ over samples and positions of gy[n, c·m + j]·window_a(xp)[n, c].
      const gy4 = reshape(gy, [N, C, m, ...outSizes]), spatial = outSizes.map((_, d) => d + 3);
      // (the spatial axes summed first, then the samples: one strided reduction over [0, 3, …] took 2–3× as long; each
      // tap's output-sized window and product freed before the next tap's, not KK of them held to the end of backward)
      gw = stack(starts.map((at) => tidy(() => sum(sum(mul(gy4, reshape(window(sx, at), [N, C, 1, ...outSizes])), spatial), 0))), 2); // [C, m, KK]
    }
    return [gx, gw];
  }, [xp, w], true);
}

/**
 * @internal Whether convForward sends a depthwise convolution (groups > 1 of one input channel each) to the native
 * kernel: always (every size, multiplier and stride; CUDA too, where it is not yet measured). Measured on this
 * project's loaded 2-core EPYC (load average 11–16 from other helpers' jobs), float32, interleaved medians of 5 in one
 * process, forward / forward + backward in ms, native vs sum over taps vs row gather: [8, 512, 128] k3 18.9/15.9 vs
 * 27.0/42.7 vs 46.8/67.7; [2, 64, 16, 16] 3×3 1.7/7.2 vs 21.4/71.8 vs 8.2/15.5; [8, 64, 56, 56] m 2 52.8/221 vs
 * 320/710 vs 278/665; [8, 32, 28, 28] m 8 37.3/98.9 vs 101/383 vs 175/244; [8, 128, 56, 56] 3×3 83.7/192 vs 291/1295
 * vs 874/1716; stride 2 (native vs row gather): [8, 128, 56, 56] 3×3 35.4/143 vs 262/318, [4, 512, 256] k3 7.4/11.8
 * vs 18.9/109, [4, 32, 16, 32, 32] 3×3×3 31.8/164 vs 403/612. No shape measured slower, so no size rule.
 */
function takesNativeDepthwise(weight: Tensor, G: number): boolean {
  return convPaths.depthwise && convPaths.depthwiseNative && G > 1 && weight.shape[1] === 1 && native().depthwiseConv !== undefined;
}

/** The per-axis parameters of a native depthwise convolution (padding: each axis's left zeros; the right ones only show in the output's size). */
interface DepthwiseParams {
  stride: number[];
  padding: number[];
  dilation: number[];
}

/**
 * @internal The native depthwise convolution y [N, C·m, ...outSizes] of x [N, C, ...sizes] with w [C·m, 1, ...ks]
 * (kernels/depthwise.h), recorded with native backward ops: gx = depthwiseInputGrad(gy, w), gw =
 * depthwiseWeightGrad(x, gy). Each of the three is recorded with a backward made of the others (the input gradient
 * is linear in (gy, w), the weight gradient bilinear in (x, gy)), so every order of derivative works.
 */
function nativeDepthwise(x: Tensor, weight: Tensor, gs: readonly ReturnType<typeof convGeometry>[]): Tensor {
  const p: DepthwiseParams = { stride: gs.map((g) => g.stride), padding: gs.map((g) => g.left), dilation: gs.map((g) => g.dilation) };
  return depthwiseForward(x, weight, gs.map((g) => g.Lout), p);
}

function depthwiseForward(x: Tensor, w: Tensor, outSizes: readonly number[], p: DepthwiseParams): Tensor {
  const out = wrap(native().depthwiseConv!(x.handle, w.handle, outSizes.slice(), p.stride, p.padding, p.dilation));
  return record(out, 'depthwiseConv', [x, w], (gy, [sx, sw], [needX, needW]) => [
    needX ? depthwiseInputGrad(gy, sw, sx.shape, p) : null,
    needW ? depthwiseWeightGrad(sx, gy, sw.shape.slice(2), p) : null,
  ], [x, w], true);
}

/** gx [N, C, ...] = the adjoint of depthwiseForward(·, w) applied to gy; its derivatives: gy's is depthwiseForward(ggx, w), w's depthwiseWeightGrad(ggx, gy). */
function depthwiseInputGrad(gy: Tensor, w: Tensor, inShape: readonly number[], p: DepthwiseParams): Tensor {
  const out = wrap(native().depthwiseConvBackwardInput!(gy.handle, w.handle, inShape.slice(), p.stride, p.padding, p.dilation));
  return record(out, 'depthwiseConvBackwardInput', [gy, w], (ggx, [sgy, sw], [needGy, needW]) => [
    needGy ? depthwiseForward(ggx, sw, sgy.shape.slice(2), p) : null,
    needW ? depthwiseWeightGrad(ggx, sgy, sw.shape.slice(2), p) : null,
  ], [gy, w], true);
}

/** gw [C·m, 1, ...ks] = Σ gy·(the input's taps); its derivatives: x's is depthwiseInputGrad(gy, ggw), gy's depthwiseForward(x, ggw). */
function depthwiseWeightGrad(x: Tensor, gy: Tensor, ks: readonly number[], p: DepthwiseParams): Tensor {
  const out = wrap(native().depthwiseConvBackwardWeight!(x.handle, gy.handle, ks.slice(), p.stride, p.padding, p.dilation));
  return record(out, 'depthwiseConvBackwardWeight', [x, gy], (ggw, [sx, sgy], [needX, needGy]) => [
    needX ? depthwiseInputGrad(sgy, ggw, sx.shape, p) : null,
    needGy ? depthwiseForward(sx, ggw, sgy.shape.slice(2), p) : null,
  ], [x, gy], true);
}

/** @internal convForward's one piece: every block's (sample, group) rows indexed by one int32 gather (N·G·S ≤ 2^31 rows). */
function convBlocks(x: Tensor, weight: Tensor, bias: Tensor | null, ks: readonly number[], gs: readonly ReturnType<typeof convGeometry>[], G: number): Tensor {
  const [N, Cin, ...sizes] = x.shape;
  const [Cout, Cg] = weight.shape;
  const Og = Cout / G, KK = product(ks), k = ks.length;
  const outSizes = gs.map((g) => g.Lout), P = product(outSizes);
  const padded = sizes.map((L, d) => L + gs[d].left + gs[d].right), S = product(padded), strides = gridStrides(padded);
  const xp = gs.some((g) => g.left || g.right) ? zeroPad(x, gs.map((g) => g.left), gs.map((g) => g.left + g.right)) : x;
  const rows = reshape(permute(reshape(xp, [N, G, Cg, S]), [0, 1, 3, 2]), [N * G * S, Cg]); // [(n, g, s), c]
  // Row of every (position, tap) in a block (sample, group), position major; the blocks' offsets added on the device.
  const local = Int32Array.from(gridOffsets(gs.map((g, d) => ({ count: g.Lout, taps: ks[d], offset: (i: number, a: number) => (i * g.stride + a * g.dilation) * strides[d] }))));
  const offsets = tensor(Int32Array.from({ length: N * G }, (_, b) => b * S), [N * G, 1], { dtype: 'int32', device: x.device });
  const index = add(offsets, tensor(local, [1, P * KK], { dtype: 'int32', device: x.device })); // [N·G, P·KK]
  const patches = reshape(gatherRows(rows, index), [N, G, P, KK * Cg]);
  // weight [Cout, Cg, ...ks] as [G, Og, (tap, c)] to match the patches' columns.
  const wg = reshape(permute(reshape(weight, [G, Og, Cg, KK]), [0, 1, 3, 2]), [G, Og, KK * Cg]);
  const y = reshape(matmul(wg, patches, { transposeB: true }), [N, Cout, ...outSizes]); // [N, G, Og, P]
  return bias ? add(y, reshape(bias, [Cout, ...new Array<number>(k).fill(1)])) : y;
}

/**
 * A 2-D convolution (cross-correlation, as PyTorch's
 * torch.nn.functional.conv2d): x [N, Cin, H, W] (or [Cin, H, W]), weight
 * [Cout, Cin / groups, kH, kW], bias [Cout] or null → [N, Cout, Hout, Wout]
 * (or [Cout, Hout, Wout]); along each axis Hout = ⌊(H + 2·padding −
 * dilation·(kH − 1) − 1) / stride⌋ + 1 ('same' pads dilation·(k − 1) split
 * with the extra zero after, as PyTorch). im2col by one row gather of the
 * padded input channels-last, then one GEMM (batched over the samples and
 * groups) into the output's layout; the gradients come from autograd. A
 * depthwise convolution (groups = inChannels > 1) is one native kernel
 * instead, its gradients native kernels too.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options?: Conv2dOptions): Tensor {
  return convNd('conv2d', 2, x, weight, bias, options);
}

/**
 * A 3-D convolution (cross-correlation, as PyTorch's
 * torch.nn.functional.conv3d): x [N, Cin, D, H, W] (or [Cin, D, H, W]),
 * weight [Cout, Cin / groups, kD, kH, kW], bias [Cout] or null → [N, Cout,
 * Dout, Hout, Wout] (or unbatched), each axis's size as conv2d's ('same'
 * pads dilation·(k − 1) split with the extra zero after, as PyTorch). The
 * same im2col and GEMM as conv2d over three axes; the gradients come from
 * autograd.
 */
export function conv3d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options?: Conv3dOptions): Tensor {
  return convNd('conv3d', 3, x, weight, bias, options);
}

/** Options of {@link convTranspose2d} (torch.nn.functional.conv_transpose2d's): each but groups one number for both spatial axes or [height, width]. */
export interface ConvTranspose2dOptions {
  stride?: number | readonly [number, number];
  /** dilation·(k − 1) − padding zeros on both sides of each axis of the input, as PyTorch's: the output loses `padding` positions at each end. */
  padding?: number | readonly [number, number];
  /** Positions added at the end of each axis of the output (PyTorch's output_padding); smaller than that axis's stride or dilation. */
  outputPadding?: number | readonly [number, number];
  /** Channel groups: weight [inChannels, outChannels / groups, kH, kW]. */
  groups?: number;
  dilation?: number | readonly [number, number];
}

/** Options of {@link convTranspose3d} (torch.nn.functional.conv_transpose3d's): each but groups one number for every spatial axis or [depth, height, width]. */
export interface ConvTranspose3dOptions {
  stride?: number | readonly [number, number, number];
  /** dilation·(k − 1) − padding zeros on both sides of each axis of the input, as PyTorch's: the output loses `padding` positions at each end. */
  padding?: number | readonly [number, number, number];
  /** Positions added at the end of each axis of the output (PyTorch's output_padding); smaller than that axis's stride or dilation. */
  outputPadding?: number | readonly [number, number, number];
  /** Channel groups: weight [inChannels, outChannels / groups, kD, kH, kW]. */
  groups?: number;
  dilation?: number | readonly [number, number, number];
}

/** @internal The k-D transposed convolution's geometry: {@link convTransposeGeometry} along each spatial axis. */
export function convTransposeNdGeometry(op: string, sizes: readonly number[], ks: readonly number[], o: ConvTranspose2dOptions | ConvTranspose3dOptions): ReturnType<typeof convTransposeGeometry>[] {
  const k = sizes.length;
  const s = convTuple<number>(op, 'stride', o.stride, k);
  const p = convTuple<number>(op, 'padding', o.padding, k);
  const op_ = convTuple<number>(op, 'outputPadding', o.outputPadding, k);
  const d = convTuple<number>(op, 'dilation', o.dilation, k);
  return sizes.map((L, i) =>
    convTransposeGeometry(op, L, ks[i], { stride: s[i] as number, padding: p[i] as number, outputPadding: op_[i] as number, dilation: d[i] as number }, AXES[k].names[i]));
}

/** convTranspose2d and convTranspose3d: the k-D transposed convolution over x's last k axes (messages as `op`'s). */
function convTransposeNd(op: string, k: number, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, options: ConvTranspose2dOptions | ConvTranspose3dOptions | undefined): Tensor {
  const ax = AXES[k];
  const o = checkOptions<ConvTranspose2dOptions | ConvTranspose3dOptions>(options, op, ['stride', 'padding', 'outputPadding', 'groups', 'dilation']);
  const G = checkConvNd(op, x, weight, bias, o.groups, `[inChannels, outChannels / groups, ${ax.kernel}]`, k);
  const [Cin, Og, ...ks] = weight.shape;
  const Cout = Og * G, KK = product(ks);
  if (KK === 0 || Og === 0 || Cin === 0) fail('SHAPE_MISMATCH', `${op}: weight has shape ${shapeText(weight.shape)}; a kernel size or channel count of 0 is not a convolution`);
  if (Cin % G !== 0) fail('SHAPE_MISMATCH', `${op}: weight has ${Cin} input channels (shape ${shapeText(weight.shape)}), not divisible into ${G} groups`);
  if (x.rank !== k + 1 && x.rank !== k + 2) fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; expected [N, ${Cin}, ${ax.letters}] or unbatched [${Cin}, ${ax.letters}]`);
  const unbatched = x.rank === k + 1;
  const [N, C, ...sizes] = unbatched ? [1, ...x.shape] : x.shape;
  if (C !== Cin) fail('SHAPE_MISMATCH', `${op}: input has ${C} channels (shape ${shapeText(x.shape)}); the weight ${shapeText(weight.shape)} expects ${Cin}`);
  if (sizes.includes(0))
    fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; its ${ax.names.slice(0, -1).join(', ')} or ${ax.names[k - 1]} is 0`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== Cout)) fail('SHAPE_MISMATCH', `${op}: bias has shape ${shapeText(bias.shape)}; expected [${Cout}]`);
  const gs = convTransposeNdGeometry(op, sizes, ks, o);
  const outSizes = gs.map((g) => g.Lout);
  const Cg = Cin / G, S = product(sizes), Q = product(outSizes);
  checkShape([N, Cout, ...outSizes], op, 'the output shape');
  checkShape([N * G * S * KK + 1, Og], op, 'the contributions');
  checkShape([N * G * (Q + 1), Og], op, 'the scatter-add\'s rows');
  checkScatterRows(op, N * G * (Q + 1));
  return tidy(() => {
    const xb = unbatched ? reshape(x, [1, ...x.shape]) : x;
    // Every contribution x[n, ci, i…]·w[ci, o, a…] summed over ci of a group, as rows (n, g, i…, a…) of Og columns.
    const taps = ks.map((_, d) => d + 2);
    let contrib: Tensor;
    if (G === 1) {
      const wk = reshape(permute(weight, [...taps, 1, 0]), [KK * Og, Cin]); // [(a…, o), ci]
      contrib = linear(permute(xb, [0, ...taps, 1]), wk, null); // [N, …sizes, KK·Og]
    } else {
      const xg = permute(reshape(xb, [N, G, Cg, S]), [0, 1, 3, 2]); // [N, G, S, Cg]
      const wg = reshape(permute(reshape(weight, [G, Cg, Og, KK]), [0, 3, 2, 1]), [G, KK * Og, Cg]);
      contrib = matmul(xg, wg, { transposeB: true }); // [N, G, S, KK·Og]
    }
    // Row (B, i…, a…) lands in the output's flat position of (i·s + a·d − p per axis) in block B (sample, group); Q for those outside.
    const outStrides = gridStrides(outSizes);
    const flat = gridOffsets(gs.map((g, d) => ({
      count: sizes[d],
      taps: ks[d],
      offset: (i: number, a: number) => {
        const p = i * g.stride + a * g.dilation - g.padding;
        return p >= 0 && p < g.Lout ? p * outStrides[d] : NaN;
      },
    })));
    const local = new Int32Array(S * KK);
    let dropped = false;
    for (let j = 0; j < local.length; j++) {
      const inside = !Number.isNaN(flat[j]);
      if (!inside) dropped = true;
      local[j] = inside ? flat[j] : Q;
    }
    const y = scatterBlocks(contrib, local, N * G, Og, Q, dropped, x.device, op); // [N·G, Q, Og]
    let out = G === 1 ? reshape(permute(reshape(y, [N, Q, Cout]), [0, 2, 1]), [N, Cout, ...outSizes])
      : reshape(permute(reshape(y, [N, G, Q, Og]), [0, 1, 3, 2]), [N, Cout, ...outSizes]);
    if (bias) out = add(out, reshape(bias, [Cout, ...outSizes.map(() => 1)]));
    return unbatched ? reshape(out, [Cout, ...outSizes]) : out;
  });
}

/**
 * A 2-D transposed convolution (torch.nn.functional.conv_transpose2d, the
 * gradient of conv2d with respect to its input): x [N, Cin, H, W] (or [Cin,
 * H, W]), weight [Cin, Cout / groups, kH, kW], bias [Cout] or null → [N,
 * Cout, Hout, Wout] (or [Cout, Hout, Wout]), along each axis Hout = (H −
 * 1)·stride − 2·padding + dilation·(kH − 1) + outputPadding + 1; y[n, co,
 * i·sH + a·dH − pH, j·sW + b·dW − pW] += x[n, ci, i, j]·w[ci, co mod (Cout /
 * groups), a, b] over the input channels ci of co's group, positions outside
 * the output dropped. One GEMM (batched over the groups), then one row
 * scatter-add (col2im), as convTranspose1d; the gradients come from autograd.
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options?: ConvTranspose2dOptions): Tensor {
  return convTransposeNd('convTranspose2d', 2, x, weight, bias, options);
}

/**
 * A 3-D transposed convolution (torch.nn.functional.conv_transpose3d, the
 * gradient of conv3d with respect to its input): x [N, Cin, D, H, W] (or
 * unbatched), weight [Cin, Cout / groups, kD, kH, kW], bias [Cout] or null →
 * [N, Cout, Dout, Hout, Wout], each axis's size as convTranspose2d's
 * (outputPadding per axis); the same GEMM and col2im scatter-add over three
 * axes; the gradients come from autograd.
 */
export function convTranspose3d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options?: ConvTranspose3dOptions): Tensor {
  return convTransposeNd('convTranspose3d', 3, x, weight, bias, options);
}

/** Options of {@link unfold} and {@link fold} (torch.nn.functional.unfold's / fold's): each one number for both spatial axes or [height, width]. */
export interface UnfoldOptions {
  dilation?: number | readonly [number, number];
  /** Zeros on both sides of each spatial axis: a number or [height, width]. */
  padding?: number | readonly [number, number];
  stride?: number | readonly [number, number];
}

/** @internal unfold's and fold's options checked and their geometry for an [H, W] image (padding a number or a pair, as PyTorch's). */
function unfoldGeometry(op: string, H: number, W: number, kernelSize: unknown, options: UnfoldOptions | undefined): { kH: number; kW: number; gh: ReturnType<typeof convGeometry>; gw: ReturnType<typeof convGeometry> } {
  const o = checkOptions<UnfoldOptions>(options, op, ['dilation', 'padding', 'stride']);
  const [kH, kW] = convPair<number>(op, 'kernelSize', kernelSize as number);
  for (const k of [kH, kW])
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) fail('INVALID_ARGUMENT', `${op}: kernelSize must be a positive integer or [height, width] of them; got ${describe(kernelSize)}`);
  if (typeof o.padding === 'string') fail('INVALID_ARGUMENT', `${op}: padding must be an integer ≥ 0 or [height, width] of them; got ${describe(o.padding)}`);
  const [gh, gw] = conv2dGeometry(op, H, W, kH as number, kW as number, o);
  return { kH: kH as number, kW: kW as number, gh, gw };
}

/**
 * torch.nn.functional.unfold (im2col): the sliding kH × kW blocks of x [N,
 * C, H, W] (or [C, H, W]), zero-padded, as columns → [N, C·kH·kW, L] (or [C·kH·kW,
 * L]), row c·kH·kW + a·kW + b holding channel c's tap (a, b), column l = i·Wout
 * + j the block at (i·stride, j·stride), L = Hout·Wout with conv2d's output
 * sizes. One indexSelect (conv2d's im2col); the gradient is its scatter-add.
 */
export function unfold(x: Tensor, kernelSize: number | readonly [number, number], options?: UnfoldOptions): Tensor {
  const op = 'unfold';
  checkTensor(x, op, 'input');
  if (x.rank !== 3 && x.rank !== 4) fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; expected [N, C, H, W] or unbatched [C, H, W]`);
  const unbatched = x.rank === 3;
  const [N, C, H, W] = unbatched ? [1, ...x.shape] : x.shape;
  const { kH, kW, gh, gw } = unfoldGeometry(op, H, W, kernelSize, options);
  const KK = kH * kW, P = gh.Lout * gw.Lout;
  checkIm2col(op, N, C, [H, W], KK, [gh, gw]);
  checkConvRows(op, [H + gh.left + gh.right, W + gw.left + gw.right]);
  return tidy(() => {
    const out = reshape(im2col(unbatched ? reshape(x, [1, C, H, W]) : x, [kH, kW], [gh, gw]), [N, C * KK, P]); // [N, C, KK·P] as [N, C·KK, P]
    return unbatched ? reshape(out, [C * KK, P]) : out;
  });
}

/** @internal fold's outputSize (a number or [height, width]) as [H, W], checked. */
function foldSize(op: string, outputSize: unknown): [number, number] {
  const [H, W] = convPair<number>(op, 'outputSize', outputSize as number);
  for (const v of [H, W])
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail('INVALID_ARGUMENT', `${op}: outputSize must be a positive integer or [height, width] of them; got ${describe(outputSize)}`);
  return [H as number, W as number];
}

/** @internal Checks unfold's options (and fold's outputSize, when given) without an input: nn.Unfold and nn.Fold check theirs when built. */
export function checkUnfoldOptions(op: string, kernelSize: unknown, options: UnfoldOptions, outputSize?: unknown): void {
  if (outputSize === undefined) unfoldGeometry(op, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, kernelSize, options);
  else unfoldGeometry(op, ...foldSize(op, outputSize), kernelSize, options);
}

/**
 * torch.nn.functional.fold (col2im), the adjoint of {@link unfold}: x [N,
 * C·kH·kW, L] (or [C·kH·kW, L]) holding the blocks of an outputSize [H, W]
 * image → [N, C, H, W] (or [C, H, W]), each block's values added at its
 * positions (overlaps summed, those in the padding dropped); L must be the
 * number of blocks unfold gives for that size. One row scatter-add; the
 * gradient is its gather.
 */
export function fold(x: Tensor, outputSize: number | readonly [number, number], kernelSize: number | readonly [number, number], options?: UnfoldOptions): Tensor {
  const op = 'fold';
  checkTensor(x, op, 'input');
  const [H, W] = foldSize(op, outputSize);
  const { kH, kW, gh, gw } = unfoldGeometry(op, H, W, kernelSize, options);
  const KK = kH * kW, P = gh.Lout * gw.Lout, HW = H * W;
  if (x.rank !== 2 && x.rank !== 3) fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; expected [N, C·${KK}, ${P}] or unbatched [C·${KK}, ${P}]`);
  const unbatched = x.rank === 2;
  const [N, CK, L] = unbatched ? [1, ...x.shape] : x.shape;
  if (CK % KK !== 0 || CK === 0)
    fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; its ${unbatched ? 'first' : 'second'} axis ${CK} must be a positive multiple of the kernel's ${kH}·${kW} = ${KK} taps`);
  if (L !== P)
    fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; an output of [${H}, ${W}] with kernel [${kH}, ${kW}], stride [${gh.stride}, ${gw.stride}], padding [${gh.left}, ${gw.left}] and dilation [${gh.dilation}, ${gw.dilation}] has ${gh.Lout}·${gw.Lout} = ${P} blocks, not ${L}`);
  const C = CK / KK;
  checkShape([N, C, H, W], op, 'the output shape');
  // Its targets r·W + s (and HW, the spare row) are int32: they wrapped past 2^31 − 1.
  if (HW >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: the output has ${H}·${W} = ${HW} positions per channel; col2im's int32 row indices reach 2^31 − 1`);
  return tidy(() => {
    // Row (a, b, i, j) of the [KK·P, N·C] columns lands in image row r·W + s; one spare row past the end takes those in the padding.
    const target = new Int32Array(KK * P);
    let dropped = false, at = 0;
    for (let a = 0; a < kH; a++)
      for (let b = 0; b < kW; b++)
        for (let i = 0; i < gh.Lout; i++)
          for (let j = 0; j < gw.Lout; j++) {
            const r = i * gh.stride + a * gh.dilation - gh.left, s = j * gw.stride + b * gw.dilation - gw.left;
            const inside = r >= 0 && r < H && s >= 0 && s < W;
            if (!inside) dropped = true;
            target[at++] = inside ? r * W + s : HW;
          }
    const src = permute(reshape(x, [N * C, KK * P]), [1, 0]); // [KK·P, N·C]
    let y = scatterAddRows(src, tensor(target, [KK * P], { dtype: 'int32', device: x.device }), dropped ? HW + 1 : HW, false, op); // in range by construction
    if (dropped) y = slice(y, [0, 0], [HW, N * C]);
    const out = reshape(permute(y, [1, 0]), [N, C, H, W]);
    return unbatched ? reshape(out, [C, H, W]) : out;
  });
}
