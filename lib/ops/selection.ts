/**
 * Reshaping, indexing and selection ops beyond shape.ts and indexing.ts, with
 * PyTorch's semantics: movedim, swapaxes, expand, repeat, repeatInterleave,
 * rot90, tensorSplit, take, takeAlongDim; indexAdd, indexCopy, indexFill,
 * scatterReduce, maskedSelect, maskedScatter; and the ops whose result size
 * depends on the data (nonzero, argwhere, unique, uniqueConsecutive), which
 * read a few numbers back (a device sync on CUDA, as PyTorch's). searchsorted
 * and bucketize are one native binary search per value (kernels/selection.h).
 * Every op is composed from recorded ops (permute, slice, gatherRows,
 * scatterAddRows, where, the stable sort), so gradients come from autograd
 * and every device runs them; scatterReduce's amax/amin record their own
 * backward (ties share the gradient evenly). Indices are int32.
 */
import { isGradEnabled, noGrad, record } from '../autograd/graph';
import { tidy } from '../engine';
import { AntlerError, fail } from '../errors';
import { native } from '../native';
import { arange, checkTensor, Tensor } from '../tensor';
import { broadcastShapes, checkAxis as axisOf, checkBoolean, checkInteger, checkNumber, checkOptions, checkShape, describe, shapeText, numel } from '../validate';
import {
  add, broadcastTo, clone, concat, cumprod, cumsum, div, equal, flip, floorDivide, greater, less, maximum, min, minimum, max, mul, notEqual, permute, readNumbers,
  remainder, reshape, resultType, slice, stack, sub, sum, transpose, where, wrap,
} from './core';
import { argsort, gather, gatherRows, indexSelect, position, scatterAddRows } from './indexing';
import { narrowAs, pieces, tile } from './shape';

// ---------------------------------------------------------------- helpers

function checkIndexTensor(index: unknown, x: Tensor, op: string, what = 'index'): Tensor {
  if (!(index instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: ${what} must be an int32 Tensor; got ${describe(index)}`);
  checkTensor(index, op, what);
  if (index.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: ${what} must be int32; got ${index.dtype} (cast it with .cast('int32'))`);
  if (index.device !== x.device) fail('DEVICE_MISMATCH', `${op}: the input is on ${x.device} and ${what} on ${index.device}; move it with .to('${x.device}')`);
  return index;
}

function checkSource(source: unknown, x: Tensor, op: string, what = 'source'): Tensor {
  if (!(source instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: ${what} must be a Tensor; got ${describe(source)}`);
  checkTensor(source, op, what);
  if (source.dtype !== x.dtype) fail('DTYPE_MISMATCH', `${op}: ${what} is ${source.dtype} and the input ${x.dtype}; expected one dtype`);
  if (source.device !== x.device) fail('DEVICE_MISMATCH', `${op}: ${what} is on ${source.device} and the input on ${x.device}`);
  return source;
}


/**
 * Rows of `table` [rows, cols] at the int32 positions `flat` [k], recorded
 * (gradient: the rows' scatter-add). A position outside [0, rows) throws
 * INVALID_ARGUMENT with `bad(p)`, p the first bad entry (found on the host
 * only when the native gather refused).
 */
function rowsAt(table: Tensor, flat: Tensor, op: string, bad: (p: number) => string): Tensor {
  try {
    return gatherRows(table, flat, op);
  } catch (err) {
    if (!(err instanceof AntlerError) || err.code !== 'INVALID_ARGUMENT') throw err;
    const f = flat.dataSync();
    const p = f.findIndex((v) => v < 0 || v >= table.shape[0]);
    if (p < 0) throw err;
    fail('INVALID_ARGUMENT', `${op}: ${bad(p)}`);
  }
}

/**
 * Refuses an int32 index with a value outside [lo, n) (one read of its
 * extremes, a device sync on CUDA), naming the first bad entry.
 */
function checkRange(index: Tensor, lo: number, n: number, op: string, what: string): void {
  if (index.size === 0) return;
  const [a, b] = tidy(() => readNumbers([min(index), max(index)]));
  if (a >= lo && b < n) return;
  const v = index.dataSync();
  const p = v.findIndex((e) => e < lo || e >= n);
  fail('INVALID_ARGUMENT', `${op}: index ${v[p]} at ${position(index.shape, p)} is outside [${lo}, ${n}), ${what}`);
}

/** x with axis ax first, as [n, rest], and the function that turns [k, rest] back into x's layout with k along ax. */
function frontRows(x: Tensor, ax: number): { rows: Tensor; back: (r: Tensor) => Tensor } {
  const shape = x.rank === 0 ? [1] : x.shape;
  const others = shape.map((_, i) => i).filter((i) => i !== ax);
  const moved = ax === 0 ? reshape(x, shape) : permute(x, [ax, ...others]);
  const rest = others.reduce((a, i) => a * shape[i], 1);
  const rows = reshape(moved, [shape[ax], rest]);
  const back = (r: Tensor): Tensor => {
    const k = r.shape[0];
    const m = reshape(r, [k, ...others.map((i) => shape[i])]);
    if (x.rank === 0) return reshape(m, []);
    if (ax === 0) return m;
    return permute(m, shape.map((_, i) => (i === ax ? 0 : others.indexOf(i) + 1)));
  };
  return { rows, back };
}

/** int32 values computed in float64 (exact integers), back to int32 with two's-complement wrap-around (PyTorch's integer overflow). */
function wrapInt32(t: Tensor): Tensor {
  return sub(remainder(add(t, 2 ** 31), 2 ** 32), 2 ** 31).cast('int32');
}

/** a == b, NaN equal to NaN, as a 0/1 tensor of a's dtype (a constant). */
function sameValue(a: Tensor, b: Tensor): Tensor {
  return maximum(equal(a, b), mul(notEqual(a, a), notEqual(b, b)));
}

// ---------------------------------------------------------------- movedim, swapaxes, expand, repeat

/**
 * torch.movedim (torch.moveaxis): the axes `source` (an integer or a list)
 * moved to the positions `destination` (as many, distinct), the other axes
 * keeping their order. A permute, so the gradient moves back.
 */
export function movedim(x: Tensor, source: number | readonly number[], destination: number | readonly number[]): Tensor {
  const op = 'movedim';
  checkTensor(x, op, 'x');
  const src = typeof source === 'number' ? [source] : source;
  const dst = typeof destination === 'number' ? [destination] : destination;
  if (!Array.isArray(src) || !Array.isArray(dst) || src.length !== dst.length)
    fail('INVALID_ARGUMENT', `${op}: source and destination must be integers or arrays of as many integers; got ${describe(source)} and ${describe(destination)}`);
  const s = src.map((a) => axisOf(x, a, op, Math.max(1, x.rank), 'source'));
  const d = dst.map((a) => axisOf(x, a, op, Math.max(1, x.rank), 'destination'));
  if (new Set(s).size !== s.length) fail('INVALID_ARGUMENT', `${op}: source ${describe(source)} repeats an axis`);
  if (new Set(d).size !== d.length) fail('INVALID_ARGUMENT', `${op}: destination ${describe(destination)} repeats an axis`);
  if (x.rank === 0) return reshape(x, []);
  const perm = new Array<number>(x.rank).fill(-1);
  s.forEach((a, i) => (perm[d[i]] = a));
  const rest = x.shape.map((_, i) => i).filter((i) => !s.includes(i));
  for (let i = 0, r = 0; i < x.rank; i++) if (perm[i] < 0) perm[i] = rest[r++];
  return permute(x, perm);
}

/** torch.swapaxes (torch.swapdims, torch.transpose): axes a and b exchanged (the repo's transpose(x, a, b)). */
export function swapaxes(x: Tensor, axis0: number, axis1: number): Tensor {
  checkTensor(x, 'swapaxes', 'x');
  axisOf(x, axis0, 'swapaxes', Math.max(1, x.rank), 'axis0');
  axisOf(x, axis1, 'swapaxes', Math.max(1, x.rank), 'axis1');
  return transpose(x, axis0, axis1);
}

/** The sizes of expand(x, 2, 3) or expand(x, [2, 3]). */
function sizesOf(sizes: readonly unknown[], op: string): number[] {
  const list = sizes.length === 1 && Array.isArray(sizes[0]) ? (sizes[0] as unknown[]) : sizes;
  list.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) fail('INVALID_ARGUMENT', `${op}: sizes[${i}] must be an integer; got ${describe(v)}`);
  });
  return list as number[];
}

/**
 * torch.Tensor.expand: x broadcast to `sizes` (given as numbers or one
 * array); −1 keeps x's size on that axis, new leading axes may be added
 * (not with −1). A copy (PyTorch's is a view); the gradient sums over the
 * copies (broadcastTo).
 */
export function expand(x: Tensor, ...sizes: number[] | [readonly number[]]): Tensor {
  const op = 'expand';
  checkTensor(x, op, 'x');
  const s = sizesOf(sizes, op);
  if (s.length < x.rank) fail('INVALID_ARGUMENT', `${op}: sizes ${shapeText(s)} have fewer entries than x's ${x.rank} axes (shape ${shapeText(x.shape)})`);
  const lead = s.length - x.rank;
  s.forEach((d, i) => {
    if (d < -1 || (d === -1 && i < lead)) fail('INVALID_ARGUMENT', `${op}: sizes[${i}] is ${d}; expected a size >= 0, or −1 on one of x's own axes (shape ${shapeText(x.shape)})`);
    if (i >= lead && d !== -1 && x.shape[i - lead] !== 1 && x.shape[i - lead] !== d)
      fail('SHAPE_MISMATCH', `${op}: x's axis ${i - lead} has size ${x.shape[i - lead]}, which expands only to itself (or −1), not ${d} (sizes ${shapeText(s)})`);
  });
  return broadcastTo(x, s);
}

/**
 * torch.Tensor.repeat: x repeated `sizes[i]` times along each axis (numbers
 * or one array; more entries than x's rank add leading axes). tile(x, sizes).
 */
export function repeat(x: Tensor, ...sizes: number[] | [readonly number[]]): Tensor {
  const op = 'repeat';
  checkTensor(x, op, 'x');
  const s = sizesOf(sizes, op);
  if (s.length < x.rank) fail('INVALID_ARGUMENT', `${op}: the repeats ${shapeText(s)} have fewer entries than x's ${x.rank} axes (shape ${shapeText(x.shape)}), as PyTorch requires`);
  s.forEach((r, i) => {
    if (r < 0) fail('INVALID_ARGUMENT', `${op}: sizes[${i}] must be >= 0; got ${r}`);
  });
  return tile(x, s);
}

// ---------------------------------------------------------------- repeatInterleave, rot90, tensorSplit

/** Options of {@link repeatInterleave}. */
export interface RepeatInterleaveOptions {
  /** The axis to repeat along; without it the flattened input (a 1-D result), as torch. */
  axis?: number;
  /** torch's output_size: the length of the result along the axis; checked against the repeats when given. */
  outputSize?: number;
}

/**
 * torch.repeat_interleave: each element (slice) of x along `axis` repeated
 * `repeats` times in place (x = [a, b], 2 → [a, a, b, b]); repeats is a
 * number, or an int32 tensor of one count per element (or one count). A
 * tensor of repeats is read back (a device sync on CUDA, as PyTorch's
 * without output_size). The gradient sums over the repeats.
 */
export function repeatInterleave(x: Tensor, repeats: number | Tensor, options?: RepeatInterleaveOptions): Tensor {
  const op = 'repeatInterleave';
  checkTensor(x, op, 'x');
  const o = checkOptions<RepeatInterleaveOptions>(options, op, ['axis', 'outputSize']);
  const flat = o.axis === undefined || o.axis === null;
  const ax = flat ? 0 : axisOf(x, o.axis, op);
  const shape = flat ? [x.size] : x.rank === 0 ? [1] : x.shape;
  const n = shape[ax];
  let counts: number[];
  if (typeof repeats === 'number') {
    checkInteger(repeats, op, 'repeats');
    counts = new Array<number>(n).fill(repeats);
  } else {
    if (!(repeats instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: repeats must be an integer or an int32 Tensor; got ${describe(repeats)}`);
    checkTensor(repeats, op, 'repeats');
    if (repeats.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: repeats must be int32; got ${repeats.dtype}`);
    if (repeats.rank > 1 || (repeats.size !== n && repeats.size !== 1))
      fail('SHAPE_MISMATCH', `${op}: repeats must hold one count per element along the axis (${n}) or one count; got shape ${shapeText(repeats.shape)}`);
    const v = Array.from(repeats.dataSync());
    const bad = v.findIndex((c) => c < 0);
    if (bad >= 0) fail('INVALID_ARGUMENT', `${op}: repeats must be >= 0; repeats[${bad}] is ${v[bad]}`);
    counts = v.length === n ? v : new Array<number>(n).fill(v[0]);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  if (o.outputSize !== undefined) {
    checkInteger(o.outputSize, op, 'options.outputSize');
    if (o.outputSize !== total) fail('INVALID_ARGUMENT', `${op}: outputSize is ${o.outputSize}, but the repeats add up to ${total}`);
  }
  const outShape = shape.map((d, i) => (i === ax ? total : d));
  checkShape(outShape, op, 'the result shape');
  return tidy(() => {
    const v = reshape(x, shape);
    if (typeof repeats === 'number') {
      // [pre, n, 1, post] broadcast to [pre, n, r, post]: no index needed.
      const pre = numel(shape.slice(0, ax)), post = numel(shape.slice(ax + 1));
      return reshape(broadcastTo(reshape(v, [pre, n, 1, post]), [pre, n, repeats, post]), outShape);
    }
    const at = new Int32Array(total);
    for (let i = 0, k = 0; i < n; i++) for (let r = 0; r < counts[i]; r++) at[k++] = i;
    return indexSelect(v, ax, wrap(native().fromData(at, [total], 'int32', x.device)));
  });
}

/**
 * torch.rot90: x rotated by k quarter turns in the plane of `axes` (default
 * [0, 1]), from the first axis towards the second (k may be negative). Flips
 * and a transpose, so the gradient rotates back.
 */
export function rot90(x: Tensor, k = 1, axes: readonly [number, number] = [0, 1]): Tensor {
  const op = 'rot90';
  checkTensor(x, op, 'x');
  if (typeof k !== 'number' || !Number.isInteger(k)) fail('INVALID_ARGUMENT', `${op}: k must be an integer; got ${describe(k)}`);
  if (!Array.isArray(axes) || axes.length !== 2) fail('INVALID_ARGUMENT', `${op}: axes must be two axes; got ${describe(axes)}`);
  if (x.rank < 2) fail('SHAPE_MISMATCH', `${op}: x must have at least 2 axes; got shape ${shapeText(x.shape)}`);
  const a = axisOf(x, axes[0], op), b = axisOf(x, axes[1], op);
  if (a === b) fail('INVALID_ARGUMENT', `${op}: axes ${describe(axes)} name one axis twice; expected two different axes`);
  const turns = ((k % 4) + 4) % 4;
  return tidy(() => {
    if (turns === 0) return reshape(x, x.shape);
    if (turns === 2) return flip(x, [a, b]);
    return transpose(flip(x, turns === 1 ? b : a), a, b);
  });
}

/**
 * torch.tensor_split: x cut along `axis` (default 0) into n pieces of sizes
 * differing by one at most (the first size % n one longer), or at the given
 * indices (Python slices between them: negative ones count from the end,
 * pieces may be empty). indicesOrSections may also be an int32 tensor, as
 * torch's tensor_indices_or_sections: 0-d for a number of sections, 1-D for
 * indices (read back: a device sync on CUDA). Slices, so gradients land in
 * place; the backward is O(x.size · log pieces) for indices in order
 * (consecutive halves), and for indices out of order at most that of one
 * slice per piece or of the pieces gathered and halved, whichever is less.
 */
export function tensorSplit(x: Tensor, indicesOrSections: number | readonly number[] | Tensor, axis = 0): Tensor[] {
  const op = 'tensorSplit';
  checkTensor(x, op, 'x');
  if (x.rank === 0) fail('INVALID_ARGUMENT', `${op}: x is 0-d; expected at least one axis to split`);
  const ax = axisOf(x, axis, op);
  const L = x.shape[ax];
  if (indicesOrSections instanceof Tensor) {
    const t = checkTensor(indicesOrSections, op, 'indicesOrSections');
    if (t.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: a tensor of indices or sections must be int32; got ${t.dtype}`);
    if (t.rank > 1) fail('SHAPE_MISMATCH', `${op}: a tensor of indices or sections must be 0-d (sections) or 1-D (indices); got shape ${shapeText(t.shape)}`);
    const v = Array.from(t.dataSync() as Int32Array);
    return tensorSplit(x, t.rank === 0 ? v[0] : v, ax);
  }
  if (typeof indicesOrSections === 'number') {
    const n = checkInteger(indicesOrSections, op, 'sections', 1);
    const q = Math.floor(L / n), r = L % n;
    return pieces(x, ax, Array.from({ length: n }, (_, i) => q + (i < r ? 1 : 0)));
  }
  if (!Array.isArray(indicesOrSections)) fail('INVALID_ARGUMENT', `${op}: expected a number of sections or an array of indices; got ${describe(indicesOrSections)}`);
  indicesOrSections.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) fail('INVALID_ARGUMENT', `${op}: indices[${i}] must be an integer; got ${describe(v)}`);
  });
  const clampAt = (v: number) => (v < 0 ? Math.max(0, v + L) : Math.min(v, L));
  const cuts = [0, ...indicesOrSections, L];
  const ranges = cuts.slice(1).map((_, i) => {
    const from = i === 0 ? 0 : clampAt(cuts[i]), to = i + 2 === cuts.length ? L : clampAt(cuts[i + 1]);
    return [from, Math.max(0, to - from)];
  });
  // Non-decreasing indices cut x into consecutive pieces: split's halving cuts (backward
  // O(x.size · log pieces)). Otherwise (an index below an earlier one: pieces overlap, or are empty)
  // one slice per piece costs a whole x-sized gradient per piece, O(x.size · pieces); when the pieces
  // hold fewer elements than that (total · log₂ pieces < L · pieces), their positions are gathered into
  // one tensor (one indexSelect, whose backward is one scatter-add) that is cut by halving instead.
  const lens = ranges.map(([, len]) => len);
  if (ranges.every(([from], i) => i === 0 || from === ranges[i - 1][0] + ranges[i - 1][1])) return pieces(x, ax, lens);
  const total = lens.reduce((a, b) => a + b, 0);
  if (!x.requiresGrad || !isGradEnabled() || total * Math.ceil(Math.log2(lens.length)) >= L * lens.length) {
    const out: Tensor[] = [];
    try {
      for (const [from, len] of ranges) out.push(slice(x, x.shape.map((_, d) => (d === ax ? (len ? from : 0) : 0)), x.shape.map((s, d) => (d === ax ? len : s))));
      return out;
    } catch (err) {
      for (const t of out) t.dispose();
      throw err;
    }
  }
  const at = new Int32Array(total);
  let k = 0;
  for (const [from, len] of ranges) for (let i = 0; i < len; i++) at[k++] = from + i;
  return tidy(() => pieces(indexSelect(x, ax, wrap(native().fromData(at, [total], 'int32', x.device))), ax, lens));
}

/**
 * torch.narrow_copy: a copy (its own storage) of `length` elements along
 * `axis` from `start` (negative counts from the end), the other axes whole;
 * narrow's checks. The gradient lands in place (torch 1.13's narrow_copy has
 * none).
 */
export function narrowCopy(x: Tensor, axis: number, start: number, length: number): Tensor {
  // narrow already copies into its own storage (no views in antler).
  return narrowAs('narrowCopy', x, axis, start, length);
}

/**
 * torch.vander: the Vandermonde matrix of the 1-D x, [x.size, N] (N = x.size
 * by default; N ≥ 0): column j is x^(N−1−j), or x^j with `increasing`.
 * Built as torch's, a running product (cumprod) of x after a column of ones,
 * so the powers are exact products (0^0 = 1) and the gradient is exact at
 * x = 0. float32, float64 and int32 (which stays int32, wrapping; torch's
 * int64).
 */
export function vander(x: Tensor, N?: number, increasing = false): Tensor {
  const op = 'vander';
  checkTensor(x, op, 'x');
  if (x.rank !== 1) fail('SHAPE_MISMATCH', `${op}: x must be 1-D; got shape ${shapeText(x.shape)}`);
  const n = x.size;
  const cols = N === undefined || N === null ? n : checkInteger(N, op, 'N');
  if (cols < 0) fail('INVALID_ARGUMENT', `${op}: N must be ≥ 0; got ${cols}`);
  checkBoolean(increasing, op, 'increasing');
  return tidy(() => {
    const ones = wrap(native().full([n, Math.min(cols, 1)], x.dtype, x.device, 1));
    if (cols <= 1) return ones;
    const powers = cumprod(broadcastTo(reshape(x, [n, 1]), [n, cols - 1]), 1);
    const v = concat([ones, powers], 1);
    return increasing ? v : flip(v, 1);
  });
}

// ---------------------------------------------------------------- take, takeAlongDim

/**
 * torch.take: the elements of x (read as flattened) at the int32 positions
 * `index` (any shape, the result's); negative positions count from the end;
 * outside [−size, size) throws. The gradient scatter-adds back.
 */
export function take(x: Tensor, index: Tensor): Tensor {
  const op = 'take';
  checkTensor(x, op, 'x');
  checkIndexTensor(index, x, op);
  const N = x.size;
  if (N >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: the input has ${N} elements; at most 2^31 − 1 are supported (int32 positions)`);
  const iShape = index.shape.slice();
  return tidy(() => {
    const flat = reshape(index, [index.size]);
    const wrapped = where(less(flat, 0), add(flat, N), flat);
    const out = rowsAt(reshape(x, [N, 1]), wrapped, op, (p) => `index ${index.dataSync()[p]} at ${position(iShape, p)} is outside [${-N}, ${N}) (the input ${shapeText(x.shape)} has ${N} elements)`);
    return reshape(out, iShape);
  });
}

/**
 * torch.take_along_dim: gather(x, axis, indices) after broadcasting x and
 * indices against each other on every axis but `axis` (same rank); without
 * an axis, the flattened x at the flattened indices (values in [0, size)).
 * The gradient scatter-adds back.
 */
export function takeAlongDim(x: Tensor, indices: Tensor, axis?: number): Tensor {
  const op = 'takeAlongDim';
  checkTensor(x, op, 'x');
  checkIndexTensor(indices, x, op, 'indices');
  const rethrow = (f: () => Tensor): Tensor => {
    try {
      return f();
    } catch (err) {
      if (err instanceof AntlerError && err.message.startsWith('gather:')) fail(err.code, `${op}:${err.message.slice('gather:'.length)}`);
      throw err;
    }
  };
  if (axis === undefined || axis === null)
    return tidy(() => rethrow(() => gather(reshape(x, [x.size]), 0, reshape(indices, [indices.size]))));
  const ax = axisOf(x, axis, op);
  if (indices.rank !== x.rank) fail('SHAPE_MISMATCH', `${op}: indices must have x's rank (${x.rank}); got shape ${shapeText(indices.shape)} for x ${shapeText(x.shape)}`);
  if (x.rank === 0) return tidy(() => rethrow(() => gather(x, 0, indices)));
  const both = broadcastShapes([x.shape.map((d, i) => (i === ax ? indices.shape[ax] : d)), indices.shape]);
  if (!both) fail('SHAPE_MISMATCH', `${op}: x ${shapeText(x.shape)} and indices ${shapeText(indices.shape)} do not broadcast on the axes other than ${ax}`);
  return tidy(() => {
    const ib = broadcastTo(indices, both);
    const xb = broadcastTo(x, both.map((d, i) => (i === ax ? x.shape[ax] : d)));
    return rethrow(() => gather(xb, ax, ib));
  });
}

// ---------------------------------------------------------------- indexAdd, indexCopy, indexFill

/** index (int32, 1-D or 0-d) and source (x's shape with `k` = index.size along ax) of indexAdd / indexCopy. */
function checkIndexSource(x: Tensor, axis: unknown, index: unknown, source: unknown, op: string): { ax: number; n: number; index: Tensor; source: Tensor } {
  checkTensor(x, op, 'x');
  const ax = axisOf(x, axis, op);
  const idx = checkIndexTensor(index, x, op);
  const src = checkSource(source, x, op);
  if (idx.rank > 1) fail('SHAPE_MISMATCH', `${op}: index must be 1-D (or 0-d); got shape ${shapeText(idx.shape)}`);
  const want = x.rank === 0 ? (idx.size === 1 ? [[], [1]] : [[idx.size]]) : [x.shape.map((d, i) => (i === ax ? idx.size : d))];
  if (!want.some((w) => w.length === src.rank && w.every((d, i) => d === src.shape[i])))
    fail('SHAPE_MISMATCH', `${op}: source must have shape ${shapeText(want[0])} (x ${shapeText(x.shape)} with index's ${idx.size} entries along axis ${ax}); got ${shapeText(src.shape)}`);
  return { ax, n: x.rank === 0 ? 1 : x.shape[ax], index: idx, source: src };
}

/** Options of {@link indexAdd}. */
export interface IndexAddOptions {
  /** The factor of source (default 1). */
  alpha?: number;
}

/**
 * torch.index_add (out of place): x with alpha·source's slices added at the
 * positions `index` (int32, 1-D, values in [0, size), repeats summed) along
 * `axis`; source is x's shape with index.size along the axis. Gradients: x's
 * is the output's, source's is alpha times the output's slices at index.
 * The index is range-checked (one read of its extremes).
 */
export function indexAdd(x: Tensor, axis: number, index: Tensor, source: Tensor, options?: IndexAddOptions): Tensor {
  const op = 'indexAdd';
  const o = checkOptions<IndexAddOptions>(options, op, ['alpha']);
  const alpha = o.alpha === undefined ? 1 : checkNumber(o.alpha, op, 'options.alpha');
  const { ax, n } = checkIndexSource(x, axis, index, source, op);
  if (x.dtype === 'int32' && !Number.isInteger(alpha)) fail('DTYPE_MISMATCH', `${op}: alpha ${alpha} is not an integer and x is int32`);
  checkRange(index, 0, n, op, `the size of axis ${ax} of the input ${shapeText(x.shape)}`);
  return tidy(() => {
    const idx = reshape(index, [index.size]);
    const { back } = frontRows(x, ax);
    const rows = frontRows(source, ax).rows;
    if (x.dtype === 'int32') {
      const sums = wrap(native().scatterAddRows(mul(rows.cast('float64'), alpha).handle, idx.handle, n, false)); // checkRange read it
      return wrapInt32(add(x.cast('float64'), back(sums)));
    }
    const added = scatterAddRows(alpha === 1 ? rows : mul(rows, alpha), idx, n, false, op);
    return add(x, back(added));
  });
}

/** How many times index names each of n rows, as float64 [n] (a constant); idx already range-checked (checkRange). */
function rowCounts(idx: Tensor, n: number, device: string): Tensor {
  const ones = wrap(native().full([idx.size, 1], 'float64', device, 1));
  return reshape(wrap(native().scatterAddRows(ones.handle, idx.handle, n, false)), [n]);
}

/** mask [n] (along ax) shaped to broadcast against x. */
function alongAxis(mask: Tensor, x: Tensor, ax: number): Tensor {
  return reshape(mask, x.rank === 0 ? [] : x.shape.map((d, i) => (i === ax ? d : 1)));
}

/**
 * torch.index_copy (out of place): x with its slices at `index` (int32, 1-D,
 * values in [0, size)) along `axis` replaced by source's. An index naming a
 * slice twice is refused (PyTorch keeps one of them, which unspecified), as
 * scatter's. Gradients: x's is the output's, zero where replaced; source's
 * is the output's slices at index. Checking reads the index's extremes and
 * the largest repeat count.
 */
export function indexCopy(x: Tensor, axis: number, index: Tensor, source: Tensor): Tensor {
  const op = 'indexCopy';
  const { ax, n } = checkIndexSource(x, axis, index, source, op);
  checkRange(index, 0, n, op, `the size of axis ${ax} of the input ${shapeText(x.shape)}`);
  return tidy(() => {
    const idx = reshape(index, [index.size]);
    const counts = rowCounts(idx, n, x.device);
    if (idx.size && readNumbers([max(counts)])[0] > 1) {
      const c = counts.dataSync();
      const p = c.findIndex((v) => v > 1);
      fail('INVALID_ARGUMENT', `${op}: index names position ${p} of axis ${ax} ${c[p]} times; PyTorch keeps one of the slices there, which one unspecified, so antler refuses: give each position once`);
    }
    const hit = alongAxis(greater(counts, 0), x, ax);
    const { back } = frontRows(x, ax);
    const rows = frontRows(source, ax).rows;
    // Each row is written once at most, so the scatter-add puts source's rows in place.
    const written = x.dtype === 'int32'
      ? back(wrap(native().scatterAddRows(rows.cast('float64').handle, idx.handle, n, false))).cast('int32')
      : back(scatterAddRows(rows, idx, n, false, op)); // checkRange read idx
    return where(hit, written, x);
  });
}

/**
 * torch.index_fill (out of place): x with `value` in its slices at `index`
 * (int32, 1-D or 0-d, values in [−size, size): negative ones count from the
 * end, as PyTorch's; repeats fine) along `axis`. The gradient passes where
 * not filled. Reads the index's extremes (range check).
 */
export function indexFill(x: Tensor, axis: number, index: Tensor, value: number): Tensor {
  const op = 'indexFill';
  checkTensor(x, op, 'x');
  const ax = axisOf(x, axis, op);
  checkIndexTensor(index, x, op);
  if (index.rank > 1) fail('SHAPE_MISMATCH', `${op}: index must be 1-D (or 0-d); got shape ${shapeText(index.shape)}`);
  checkNumber(value, op, 'value');
  if (x.dtype === 'int32' && !(Number.isInteger(value) && value >= -2147483648 && value <= 2147483647))
    fail('DTYPE_MISMATCH', `${op}: value ${value} is not an int32 (x is int32)`);
  const n = x.rank === 0 ? 1 : x.shape[ax];
  checkRange(index, -n, n, op, `the size of axis ${ax} of the input ${shapeText(x.shape)}`);
  return tidy(() => {
    const flat = reshape(index, [index.size]);
    const idx = where(less(flat, 0), add(flat, n), flat);
    return where(alongAxis(greater(rowCounts(idx, n, x.device), 0), x, ax), value, x);
  });
}

// ---------------------------------------------------------------- scatterReduce

/** The reductions of {@link scatterReduce}. */
export type ScatterReduction = 'sum' | 'prod' | 'mean' | 'amax' | 'amin';

/** Options of {@link scatterReduce}. */
export interface ScatterReduceOptions {
  /** Whether x's own value takes part in each reduction (default true); false: positions named by index take only src's values. */
  includeSelf?: boolean;
}

/** The row-major position in x of each element an index of x's rank names along ax (out[i][j][k] ↔ x[index[i][j][k]][j][k] for axis 0). */
function flatPositions(xShape: readonly number[], ax: number, index: Tensor, device: string): Tensor {
  const iShape = index.shape;
  const strides = xShape.map((_, i) => numel(xShape.slice(i + 1)));
  let flat = mul(index, xShape.length === 0 ? 1 : strides[ax]);
  for (let d = 0; d < iShape.length; d++) {
    if (d === ax || iShape[d] === 1 || strides[d] === 0) continue;
    const shape = iShape.map((s, i) => (i === d ? s : 1));
    flat = add(flat, reshape(arange(0, iShape[d] * strides[d], strides[d], { dtype: 'int32', device }), shape));
  }
  return reshape(flat, [index.size]);
}

/**
 * A segmented inclusive scan of v [M] (recorded ops: its gradient comes from
 * autograd): v[i] combined with every earlier element of its run of equal
 * keys (keys sorted). Hillis–Steele doubling: log₂ M steps of O(M) each.
 */
function segmentedScan(v: Tensor, keys: Tensor, combine: (a: Tensor, b: Tensor) => Tensor, identity: number): Tensor {
  const M = v.shape[0];
  for (let s = 1; s < M; s *= 2) {
    const same = concat([wrap(native().full([s], 'int32', keys.device, 0)), equal(slice(keys, [s], [M - s]), slice(keys, [0], [M - s]))], 0);
    const shifted = concat([wrap(native().full([s], v.dtype, v.device, identity)), slice(v, [0], [M - s])], 0);
    // The identity where the runs differ, so nothing from another run (an ∞, a NaN) reaches v or its gradient.
    v = combine(v, where(same, shifted, identity));
  }
  return v;
}

/**
 * torch.scatter_reduce (out of place): src's values reduced into x at the
 * positions index names along axis (out[index[i][j][k]][j][k] ⊕=
 * src[i][j][k] for axis 0) with reduce 'sum', 'prod', 'mean', 'amax' or
 * 'amin'; with includeSelf (default true) x's value takes part, else a
 * position named by index takes only src's values (one not named keeps x's).
 * index and src as scatterAdd's (index's corner of src is used). int32 is
 * reduced in float64 and wrapped back to int32 (exact while the sums and
 * products stay below 2^53); its 'mean' is the wrapped int32 sum divided
 * rounding down, as PyTorch's. Gradients to x and src: sum and mean
 * spread the output's; prod's is the product of the other factors (exact at
 * zeros, no division); amax/amin's is shared evenly by the elements equal to
 * the result (a NaN result: by the NaN elements, where PyTorch 1.13's
 * gradient is NaN; x's only when it takes part; PyTorch 1.13 also counts an
 * excluded x in the share, so its shares do not add up to one there).
 * The index is range-checked (one read of its extremes). prod, amax and
 * amin sort the positions (a stable sort) and reduce each run in log₂ steps.
 */
export function scatterReduce(x: Tensor, axis: number, index: Tensor, src: Tensor, reduce: ScatterReduction, options?: ScatterReduceOptions): Tensor {
  const op = 'scatterReduce';
  checkTensor(x, op, 'x');
  const ax = axisOf(x, axis, op);
  checkIndexTensor(index, x, op);
  checkSource(src, x, op, 'src');
  if (!['sum', 'prod', 'mean', 'amax', 'amin'].includes(reduce as string))
    fail('INVALID_ARGUMENT', `${op}: reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin'; got ${describe(reduce)}`);
  const o = checkOptions<ScatterReduceOptions>(options, op, ['includeSelf']);
  const includeSelf = o.includeSelf === undefined ? true : checkBoolean(o.includeSelf, op, 'options.includeSelf');
  if (index.rank !== x.rank || src.rank !== x.rank)
    fail('SHAPE_MISMATCH', `${op}: index and src must have the input's rank (${x.rank}); got index ${shapeText(index.shape)} and src ${shapeText(src.shape)} for an input of shape ${shapeText(x.shape)}`);
  const big = index.shape.findIndex((d, i) => d > src.shape[i] || (i !== ax && d > x.shape[i]));
  if (big >= 0)
    fail('SHAPE_MISMATCH', `${op}: index has shape ${shapeText(index.shape)}; it may not be larger than src ${shapeText(src.shape)} along any axis, nor than the input ${shapeText(x.shape)} along any but axis ${ax} (axis ${big})`);
  if (x.size >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: the input has ${x.size} elements; at most 2^31 − 1 are supported (int32 positions)`);
  const n = x.rank === 0 ? 1 : x.shape[ax];
  checkRange(index, 0, n, op, `the size of axis ${ax} of the input ${shapeText(x.shape)}`);
  if (index.size === 0) return tidy(() => add(x, 0));
  if (x.dtype === 'int32')
    return tidy(() => {
      // No gradient: reduced in float64 (exact integers), back to int32 wrapping as PyTorch's overflow.
      const xf = x.cast('float64'), sf = src.cast('float64');
      if (reduce !== 'mean') return wrapInt32(noGrad(() => scatterReduce(xf, ax, index, sf, reduce, { includeSelf })));
      // PyTorch sums in int32 (wrapping on overflow) and then divides by the count, rounding down: the sum is wrapped first.
      return noGrad(() => {
        const total = wrapInt32(scatterReduce(xf, ax, index, sf, 'sum', { includeSelf })).cast('float64');
        const ones = wrap(native().full(src.shape.slice(), 'float64', x.device, 1));
        const start = wrap(native().full(x.shape.slice(), 'float64', x.device, includeSelf ? 1 : 0));
        const count = maximum(scatterReduce(start, ax, index, ones, 'sum'), 1);
        return wrap(native().unary('floor', div(total, count).handle, 0, 0)).cast('int32');
      });
    });
  return tidy(() => {
    const size = x.size, shape = x.shape;
    const flat = flatPositions(shape, ax, index, x.device);
    const corner = index.shape.every((d, i) => d === src.shape[i]) ? src : slice(src, index.shape.map(() => 0), index.shape);
    const column = reshape(corner, [index.size]);
    const counts = reshape(rowCounts(flat, size, x.device), shape);
    const hit = greater(counts, 0);
    // index passed checkRange, so every flat position (and its sorted keys) is in range: unchecked scatter-adds.
    const placed = (rows: Tensor) => reshape(scatterAddRows(reshape(rows, [rows.size, 1]), flat, size, false, op), shape);
    if (reduce === 'sum') return includeSelf ? add(x, placed(column)) : where(hit, placed(column), x);
    if (reduce === 'mean') {
      const total = includeSelf ? add(x, placed(column)) : placed(column);
      const denom = (includeSelf ? add(counts, 1) : maximum(counts, 1)).cast(x.dtype);
      return where(hit, div(total, denom), x);
    }
    // Runs of equal positions, in index order within a run (a stable sort).
    const perm = argsort(flat);
    const keys = reshape(gatherRows(reshape(flat, [flat.size, 1]), perm), [flat.size]);
    const M = flat.size;
    const ends = concat([notEqual(slice(keys, [0], [M - 1]), slice(keys, [1], [M - 1])), wrap(native().full([1], 'int32', x.device, 1))], 0);
    // Each run's total sits at its last element; the others are replaced by 0 before the scatter-add.
    const runTotals = (scanned: Tensor) => reshape(wrap(native().scatterAddRows(reshape(where(ends, scanned, 0), [M, 1]).handle, keys.handle, size, false)), shape);
    if (reduce === 'prod') {
      const sorted = reshape(gatherRows(reshape(column, [M, 1]), perm), [M]);
      const scanned = segmentedScan(sorted, keys, mul, 1);
      const totals = reshape(scatterAddRows(reshape(where(ends, scanned, 0), [M, 1]), keys, size, false, op), shape);
      return where(hit, includeSelf ? mul(x, totals) : totals, x);
    }
    const pick = reduce === 'amax' ? maximum : minimum;
    const r = noGrad(() => {
      const sorted = reshape(wrap(native().gatherRows(reshape(column, [M, 1]).handle, perm.handle)), [M]);
      const totals = runTotals(segmentedScan(sorted, keys, pick, reduce === 'amax' ? -Infinity : Infinity));
      return where(hit, includeSelf ? pick(x, totals) : totals, x);
    });
    // The elements equal to the result share its gradient evenly (constants saved for backward).
    const selfIs = includeSelf ? sameValue(x, r) : where(hit, 0, sameValue(x, r));
    const srcIs = sameValue(column, reshape(wrap(native().gatherRows(reshape(r, [size, 1]).handle, flat.handle)), [M]));
    const share = add(selfIs, reshape(wrap(native().scatterAddRows(reshape(srcIs, [M, 1]).handle, flat.handle, size, false)), shape));
    return record(r, op, [x, column], (gy, [sIs, cIs, cnt, pos], needs) => {
      const g = div(gy, cnt);
      return [
        needs[0] ? mul(sIs, g) : null,
        needs[1] ? mul(cIs, reshape(gatherRows(reshape(g, [size, 1]), pos), [M])) : null,
      ];
    }, [selfIs, srcIs, share, flat], true);
  });
}

// ---------------------------------------------------------------- masks

/** The flat positions of x's non-zero elements (NaN counts), ascending, int32 [count]; one read (the count). */
function nonzeroPositions(x: Tensor): Tensor {
  return tidy(() => {
    const flags = reshape(notEqual(x, 0), [x.size]);
    const count = x.size ? readNumbers([sum(flags.cast('float64'))])[0] : 0;
    if (count === 0) return wrap(native().full([0], 'int32', x.device, 0));
    // The `count` largest flags (all 1), ties to the lower position: the positions in order.
    return wrap(native().topkIndices(flags.handle, 0, count, true));
  });
}

function checkMask(x: Tensor, mask: unknown, op: string): { mask: Tensor; shape: number[] } {
  if (!(mask instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: mask must be a Tensor; got ${describe(mask)}`);
  checkTensor(mask, op, 'mask');
  if (mask.device !== x.device) fail('DEVICE_MISMATCH', `${op}: mask is on ${mask.device} and x on ${x.device}`);
  const shape = broadcastShapes([x.shape, mask.shape]);
  if (!shape) fail('SHAPE_MISMATCH', `${op}: mask ${shapeText(mask.shape)} and x ${shapeText(x.shape)} do not broadcast together`);
  return { mask, shape };
}

/**
 * torch.masked_select: the elements of x where mask is non-zero (x and mask
 * broadcast together), in row-major order, as a 1-D tensor. The count is
 * read back (a device sync). The gradient scatters back to the selected
 * elements.
 */
export function maskedSelect(x: Tensor, mask: Tensor): Tensor {
  const op = 'maskedSelect';
  checkTensor(x, op, 'x');
  const { shape } = checkMask(x, mask, op);
  return tidy(() => {
    const xb = broadcastTo(x, shape);
    const pos = nonzeroPositions(broadcastTo(mask, shape));
    return reshape(gatherRows(reshape(xb, [xb.size, 1]), pos, op), [pos.size]);
  });
}

/**
 * torch.masked_scatter (out of place): x (broadcast with mask) with the
 * positions where mask is non-zero, in row-major order, filled by source's
 * first elements (source read as flattened; it needs at least as many).
 * Gradients: x's is the output's where mask is 0; source's is the output's
 * at the filled positions (zero for source's unused tail). Reads the count.
 */
export function maskedScatter(x: Tensor, mask: Tensor, source: Tensor): Tensor {
  const op = 'maskedScatter';
  checkTensor(x, op, 'x');
  const { shape } = checkMask(x, mask, op);
  checkSource(source, x, op);
  return tidy(() => {
    const m = reshape(notEqual(broadcastTo(mask, shape), 0), [numel(shape)]);
    const mf = m.cast('float64');
    const count = m.size ? readNumbers([sum(mf)])[0] : 0;
    if (count > source.size) fail('SHAPE_MISMATCH', `${op}: mask selects ${count} positions, but source ${shapeText(source.shape)} has only ${source.size} elements`);
    const xb = broadcastTo(x, shape);
    if (count === 0) return reshape(xb, shape);
    // The source element of each selected position: the number of selected positions before it.
    const at = where(m, sub(cumsum(mf, 0), 1), 0).cast('int32');
    const taken = reshape(gatherRows(reshape(source, [source.size, 1]), at, op), shape);
    return where(reshape(m, shape), taken, xb);
  });
}

// ---------------------------------------------------------------- data-dependent sizes

/** Options of {@link nonzero}. */
export interface NonzeroOptions {
  /** One 1-D int32 tensor per axis instead of one [n, rank] tensor (torch's as_tuple). */
  asTuple?: boolean;
}

/**
 * torch.nonzero: the positions of x's non-zero elements (NaN counts) in
 * row-major order, as int32 [n, rank] (torch: int64), or with asTuple one
 * int32 [n] per axis (a 0-d x gives one). The count is read back (a device
 * sync on CUDA, as PyTorch's).
 */
export function nonzero(x: Tensor, options: { asTuple: true }): Tensor[];
export function nonzero(x: Tensor, options?: { asTuple?: false }): Tensor;
export function nonzero(x: Tensor, options?: NonzeroOptions): Tensor | Tensor[];
export function nonzero(x: Tensor, options?: NonzeroOptions): Tensor | Tensor[] {
  const op = 'nonzero';
  checkTensor(x, op, 'x');
  const o = checkOptions<NonzeroOptions>(options, op, ['asTuple']);
  const asTuple = o.asTuple === undefined ? false : checkBoolean(o.asTuple, op, 'options.asTuple');
  if (x.size >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: the input has ${x.size} elements; at most 2^31 − 1 are supported (int32 positions)`);
  return tidy(() => {
    const pos = nonzeroPositions(x);
    const count = pos.size;
    const strides = x.shape.map((_, i) => numel(x.shape.slice(i + 1)));
    const coords = x.shape.map((d, i) => (count === 0 ? pos : floorDivide(remainder(pos, strides[i] * d), strides[i])));
    if (asTuple) return x.rank === 0 ? [pos] : coords;
    if (x.rank === 0) return wrap(native().full([count, 0], 'int32', x.device, 0));
    return count === 0 ? wrap(native().full([0, x.rank], 'int32', x.device, 0)) : stack(coords, 1);
  });
}

/** torch.argwhere: nonzero(x) (int32 [n, rank]). */
export function argwhere(x: Tensor): Tensor {
  checkTensor(x, 'argwhere', 'x');
  return nonzero(x);
}

/** What {@link unique} and {@link uniqueConsecutive} return when asked for more than the values. */
export interface UniqueResult {
  values: Tensor;
  /** Where each element of the input went in values (int32, the input's shape; [n] along the axis with `axis`). */
  inverse?: Tensor;
  /** How many input elements (slices) each value stands for (int32). */
  counts?: Tensor;
}

/** Options of {@link unique}. */
export interface UniqueOptions {
  /** torch's `sorted`: accepted for compatibility; the values are always sorted (a valid answer for false too). */
  sorted?: boolean;
  returnInverse?: boolean;
  returnCounts?: boolean;
  /** The slices along this axis are the elements (compared whole, ordered lexicographically); without it the flattened input. */
  axis?: number;
}

/** Options of {@link uniqueConsecutive}. */
export interface UniqueConsecutiveOptions {
  returnInverse?: boolean;
  returnCounts?: boolean;
  /** The slices along this axis are the elements; without it the flattened input. */
  axis?: number;
}

/**
 * The groups of consecutive equal rows of `rows` [n, rest] (NaN equal to
 * nothing, as PyTorch's): the first row of each (values), each row's group
 * and each group's size. Reads the group count.
 */
function groupRuns(rows: Tensor): { starts: Tensor; groupOf: Tensor; counts: Tensor } {
  const n = rows.shape[0];
  const dev = rows.device;
  if (n === 0) {
    const none = wrap(native().full([0], 'int32', dev, 0));
    return { starts: none, groupOf: none, counts: none };
  }
  const differs = n === 1 ? null : greater(sum(notEqual(slice(rows, [1, 0], [n - 1, -1]), slice(rows, [0, 0], [n - 1, -1])).cast('float64'), 1), 0);
  const first = wrap(native().full([1], 'float64', dev, 1));
  const newGroup = differs ? concat([first, differs.cast('float64')], 0) : first;
  const ids = cumsum(newGroup, 0);
  const G = readNumbers([slice(ids, [n - 1], [1])])[0];
  const groupOf = sub(ids, 1).cast('int32');
  // Each group's first row: the positions of the group starts summed into their group (one each).
  const at = where(newGroup, arange(0, n, 1, { dtype: 'float64', device: dev }), 0);
  const startsF = reshape(wrap(native().scatterAddRows(reshape(at, [n, 1]).handle, groupOf.handle, G, false)), [G]); // groupOf in [0, G) by construction
  const next = concat([slice(startsF, [1], [G - 1]), wrap(native().full([1], 'float64', dev, n))], 0);
  return { starts: startsF.cast('int32'), groupOf, counts: sub(next, startsF).cast('int32') };
}

function uniqueOf(op: string, x: Tensor, o: UniqueOptions, sortFirst: boolean): Tensor | UniqueResult {
  const returnInverse = o.returnInverse === undefined ? false : checkBoolean(o.returnInverse, op, 'options.returnInverse');
  const returnCounts = o.returnCounts === undefined ? false : checkBoolean(o.returnCounts, op, 'options.returnCounts');
  if (o.sorted !== undefined) checkBoolean(o.sorted, op, 'options.sorted');
  const byAxis = o.axis !== undefined && o.axis !== null;
  if (byAxis && x.rank === 0) fail('INVALID_ARGUMENT', `${op}: x is 0-d; there is no axis ${describe(o.axis)} to take slices along`);
  const ax = byAxis ? axisOf(x, o.axis, op) : 0;
  if (x.size >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: the input has ${x.size} elements; at most 2^31 − 1 are supported (int32 positions)`);
  return noGrad(() => tidy(() => {
    const { rows, back } = byAxis ? frontRows(x, ax) : { rows: reshape(x, [x.size, 1]), back: (r: Tensor) => reshape(r, [r.shape[0]]) };
    const n = rows.shape[0];
    let order: Tensor | null = null;
    const w = rows.shape[1];
    if (sortFirst && n > 1 && w === 1) order = argsort(reshape(rows, [n]));
    else if (sortFirst && n > 1 && x.device !== 'cpu') {
      // On a GPU, lexicographic order by stable sorts on the device, one per column, last column
      // first (reading the slices back would move all of x to the host).
      order = arange(0, n, 1, { dtype: 'int32', device: x.device });
      for (let c = w - 1; c >= 0; c--) {
        const col = reshape(gatherRows(slice(rows, [0, c], [n, 1]), order), [n]);
        order = reshape(gatherRows(reshape(order, [n, 1]), argsort(col)), [n]);
      }
    } else if (sortFirst && n > 1) {
      // On the CPU, lexicographic order of the rows: one sort of the row numbers, comparing rows
      // element by element up to the first difference (as torch's unique_dim), on the values in
      // host memory (NaN after everything, NaNs tied: the order the stable sorts by column give;
      // ties keep the input's order). O(n log n) comparisons, most ending in a few elements, where
      // a stable sort per column cost n · log n per element of a row.
      const v = rows.dataSync();
      const rank = (a: number, b: number) => (a < b ? -1 : a > b ? 1 : a === b ? 0 : a !== a ? (b !== b ? 0 : 1) : -1);
      const idx = Array.from({ length: n }, (_, i) => i);
      idx.sort((p, q) => {
        for (let c = 0, i = p * w, j = q * w; c < w; c++, i++, j++) {
          const r = rank(v[i], v[j]);
          if (r !== 0) return r;
        }
        return p - q;
      });
      order = wrap(native().fromData(Int32Array.from(idx), [n], 'int32', x.device));
    }
    const sorted = order ? gatherRows(rows, order) : rows;
    const { starts, groupOf, counts } = groupRuns(sorted);
    const values = back(gatherRows(sorted, starts));
    const result: UniqueResult = { values };
    if (returnInverse) {
      // Row order[i] of the input is in group groupOf[i]: put the groups back in the input's order.
      const inv = order && n ? wrap(native().scatterAddRows(reshape(groupOf.cast('float64'), [n, 1]).handle, order.handle, n, false)).cast('int32') : groupOf; // order: a permutation
      result.inverse = reshape(inv, byAxis ? [n] : x.shape);
    }
    if (returnCounts) result.counts = counts;
    return returnInverse || returnCounts ? result : values;
  }));
}

/**
 * torch.unique: the distinct values of x (flattened), sorted; with `axis`,
 * the distinct slices along that axis, in lexicographic order. Options
 * returnInverse (where each element went, int32) and returnCounts (int32)
 * give `{values, inverse?, counts?}`. The order is one stable sort, or with
 * an axis on the CPU one sort of the slices compared lexicographically (as
 * torch's unique_dim sorts them), on CUDA one stable sort per element of a
 * slice on the device. Every NaN is distinct from every other
 * value (as torch's values; torch 1.13's inverse and counts are wrong there).
 * No gradient. Reads the number of values (a device sync on CUDA).
 */
export function unique(x: Tensor, options: UniqueOptions & ({ returnInverse: true } | { returnCounts: true })): UniqueResult;
export function unique(x: Tensor, options?: UniqueOptions): Tensor;
export function unique(x: Tensor, options?: UniqueOptions): Tensor | UniqueResult {
  checkTensor(x, 'unique', 'x');
  return uniqueOf('unique', x, checkOptions<UniqueOptions>(options, 'unique', ['sorted', 'returnInverse', 'returnCounts', 'axis']), true);
}

/**
 * torch.unique_consecutive: x (flattened, or its slices along `axis`) with
 * each run of equal consecutive elements kept once; returnInverse and
 * returnCounts as unique's. NaN equals nothing. No gradient. Reads the
 * number of runs.
 */
export function uniqueConsecutive(x: Tensor, options: UniqueConsecutiveOptions & ({ returnInverse: true } | { returnCounts: true })): UniqueResult;
export function uniqueConsecutive(x: Tensor, options?: UniqueConsecutiveOptions): Tensor;
export function uniqueConsecutive(x: Tensor, options?: UniqueConsecutiveOptions): Tensor | UniqueResult {
  checkTensor(x, 'uniqueConsecutive', 'x');
  return uniqueOf('uniqueConsecutive', x, checkOptions<UniqueOptions>(options, 'uniqueConsecutive', ['returnInverse', 'returnCounts', 'axis']), false);
}

/** Options of {@link searchsorted}. */
export interface SearchsortedOptions {
  /** The last position that keeps the order (count of boundaries ≤ v) instead of the first (count < v). */
  right?: boolean;
  /** 'left' or 'right', as right (they must agree when both are given). */
  side?: 'left' | 'right';
  /** int32 positions that sort sortedSequence along its last axis (torch's sorter, argsort's result). */
  sorter?: Tensor;
}

/**
 * torch.searchsorted: for each value, the position in sortedSequence's last
 * axis where it would go to keep the order: the number of boundaries < v
 * (≤ v with right / side 'right'), int32. sortedSequence is 1-D (values any
 * shape) or [..., M] with values [..., K] of the same leading shape; mixed
 * dtypes promote. One binary search per value, PyTorch's step for step
 * (native/kernels/selection.h, on the CPU and CUDA): O(K·log M), no [K, M]
 * comparison. A NaN value goes after every boundary; a sequence holding NaN
 * (last, as torch.sort puts it) gives what PyTorch's search path gives.
 * No gradient.
 */
export function searchsorted(sortedSequence: Tensor, values: Tensor | number, options?: SearchsortedOptions): Tensor {
  const op = 'searchsorted';
  checkTensor(sortedSequence, op, 'sortedSequence');
  const o = checkOptions<SearchsortedOptions>(options, op, ['right', 'side', 'sorter']);
  let right = o.right === undefined ? false : checkBoolean(o.right, op, 'options.right');
  if (o.side !== undefined) {
    if (o.side !== 'left' && o.side !== 'right') fail('INVALID_ARGUMENT', `${op}: side must be 'left' or 'right'; got ${describe(o.side)}`);
    if (o.right === true && o.side === 'left') fail('INVALID_ARGUMENT', `${op}: right: true and side 'left' disagree; give one of them`);
    right = o.side === 'right';
  }
  if (sortedSequence.rank === 0) fail('SHAPE_MISMATCH', `${op}: sortedSequence must have at least one axis; got a 0-d tensor`);
  const seqShape = sortedSequence.shape;
  const M = seqShape[seqShape.length - 1];
  return noGrad(() => tidy(() => {
    // A number is a 0-d tensor of the sequence's dtype (float64 when it is not an integer and the sequence is int32).
    const numberDtype = sortedSequence.dtype === 'int32' && typeof values === 'number' && !Number.isInteger(values) ? 'float64' : sortedSequence.dtype;
    const v = typeof values === 'number' ? wrap(native().full([], numberDtype, sortedSequence.device, values)) : values;
    checkTensor(v, op, 'values');
    if (v.device !== sortedSequence.device) fail('DEVICE_MISMATCH', `${op}: values are on ${v.device} and sortedSequence on ${sortedSequence.device}`);
    let B: number, K: number;
    if (sortedSequence.rank === 1) {
      B = 1;
      K = v.size;
    } else {
      const lead = seqShape.slice(0, -1);
      if (v.rank !== sortedSequence.rank || !lead.every((d, i) => d === v.shape[i]))
        fail('SHAPE_MISMATCH', `${op}: values ${shapeText(v.shape)} must have sortedSequence's leading axes ${shapeText(lead)} (sortedSequence ${shapeText(seqShape)}), as torch's`);
      B = numel(lead);
      K = v.shape[v.rank - 1];
    }
    let seq = sortedSequence;
    if (o.sorter !== undefined) {
      const sorter = checkIndexTensor(o.sorter, sortedSequence, op, 'options.sorter');
      if (sorter.rank !== seq.rank || !sorter.shape.every((d, i) => d === seqShape[i]))
        fail('SHAPE_MISMATCH', `${op}: sorter must have sortedSequence's shape ${shapeText(seqShape)}; got ${shapeText(sorter.shape)}`);
      checkRange(sorter, 0, M, op, `the length ${M} of sortedSequence's last axis`);
      seq = gather(seq, seq.rank - 1, sorter);
    }
    const outShape = v.shape.slice();
    // One binary search per value (native/kernels/selection.h, PyTorch's), in the operands' promoted dtype.
    const dtype = resultType(seq, v);
    const s2 = reshape(seq.dtype === dtype ? seq : seq.cast(dtype), [B, M]);
    const v2 = reshape(v.dtype === dtype ? v : v.cast(dtype), [B, K]);
    const n = native();
    if (typeof n.searchsorted !== 'function') fail('INTERNAL', `${op}: the loaded addon was built before searchsorted's kernel; rebuild it: npm run build`);
    return reshape(wrap(n.searchsorted(s2.handle, v2.handle, right)), outShape);
  }));
}

/**
 * torch.bucketize: for each element of input, the index of its bucket among
 * the 1-D sorted `boundaries`: the number of boundaries < x (≤ x with
 * right), int32: searchsorted(boundaries, input, {right}).
 */
export function bucketize(input: Tensor | number, boundaries: Tensor, options?: { right?: boolean }): Tensor {
  const op = 'bucketize';
  checkTensor(boundaries, op, 'boundaries');
  const o = checkOptions<{ right: boolean }>(options, op, ['right']);
  if (boundaries.rank !== 1) fail('SHAPE_MISMATCH', `${op}: boundaries must be 1-D; got shape ${shapeText(boundaries.shape)}`);
  return searchsorted(boundaries, input, { right: o.right === undefined ? false : checkBoolean(o.right, op, 'options.right') });
}
