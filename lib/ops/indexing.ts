/**
 * Indexing ops: argmax/argmin, topk, gather, indexSelect, oneHot and multinomial
 * sampling, with PyTorch's semantics. Indices are int32 (antler has no
 * int64; PyTorch returns int64 where these return int32). argmax/argmin are
 * one native op (argReduce), topk's indices another (topkIndices); the others are built from the native row gather
 * (the embedding kernel, which checks every index in the same pass) and the
 * elementwise ops, so they run on every device.
 */
import { record } from '../autograd/graph';
import { tidy } from '../engine';
import { AntlerError, fail } from '../errors';
import { native } from '../native';
import { nextDraw } from '../random';
import { arange, checkTensor, Tensor } from '../tensor';
import { checkAxis as oneAxis, checkBoolean, checkInteger, checkOptions, checkShape, describe, shapeText, numel } from '../validate';
import { add, checkKeepDims, equal, greater, greaterEqual, less, log, max, maximum, min, mul, neg, notEqual, permute, readNumbers, remainder, reshape, slice, sub, sum, where, wrap } from './core';

function checkIndexTensor(index: Tensor, op: string, what = 'index'): void {
  checkTensor(index, op, what);
  if (index.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: ${what} must be int32; got ${index.dtype} (cast it with .cast('int32'))`);
}

/** The arguments of an op that indexes x along axis with an int32 index on x's device; the axis, normalised. */
function checkIndexed(x: Tensor, axis: unknown, index: Tensor, op: string): number {
  checkTensor(x, op, 'x');
  checkIndexTensor(index, op);
  if (x.device !== index.device) fail('DEVICE_MISMATCH', `${op}: the input is on ${x.device} and the index on ${index.device}; move the index with .to('${x.device}')`);
  return oneAxis(x, axis, op);
}

// ---------------------------------------------------------------- argmax / argmin

function argExtreme(op: 'argmax' | 'argmin', x: Tensor, axis: number | undefined, keepDims: boolean): Tensor {
  checkTensor(x, op, 'x');
  checkKeepDims(keepDims, op);
  const flat = axis === undefined || axis === null;
  const ax = flat ? 0 : oneAxis(x, axis, op);
  const n = flat ? x.size : x.rank === 0 ? 1 : x.shape[ax];
  if (n === 0)
    fail('INVALID_ARGUMENT', `${op}: ${flat ? 'the input is empty' : `axis ${ax} of shape ${shapeText(x.shape)} is empty`}; the ${op} of no elements is undefined`);
  const outShape = flat ? (keepDims ? x.shape.map(() => 1) : []) : x.rank === 0 ? [] : keepDims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  return tidy(() => {
    const v = flat ? reshape(x, [x.size]) : x.rank === 0 ? reshape(x, [1]) : x;
    const a = flat || x.rank === 0 ? 0 : ax;
    // One native pass (kernels/argreduce.h): the first position holding the extreme; a NaN counts
    // as the extreme (torch.argmax), the first NaN when there are several.
    const first = wrap(native().argReduce(v.handle, a, op === 'argmax'));
    return reshape(first, outShape);
  });
}

/**
 * The index of the largest element along `axis` (of the flattened input
 * when axis is omitted), as int32: torch.argmax. The first one on ties; a NaN
 * is always the one picked. keepDims keeps the axis with size 1.
 */
export const argmax = (x: Tensor, axis?: number, keepDims = false): Tensor => argExtreme('argmax', x, axis, keepDims);
/** The index of the smallest element (torch.argmin); see argmax. */
export const argmin = (x: Tensor, axis?: number, keepDims = false): Tensor => argExtreme('argmin', x, axis, keepDims);

// ---------------------------------------------------------------- topk

/** Options of {@link topk}. */
export interface TopkOptions {
  /** The axis to select along (negative counts from the end); default −1. */
  axis?: number;
  /** The k largest (default) or, when false, the k smallest. */
  largest?: boolean;
  /**
   * torch.topk's `sorted`. Accepted for compatibility only: the result is
   * always sorted, best first, whatever its value (torch leaves the order
   * unspecified when false, so a sorted one is a valid answer).
   */
  sorted?: boolean;
}

/**
 * torch.topk: the k largest (or, with largest: false, smallest) elements of
 * each line of x along `axis`, best first, as `{ values, indices }` of x's
 * shape with that axis of size k; indices are int32. As torch's, a NaN
 * counts as larger than everything (first for the k largest, last for the k
 * smallest), and ties go to the lower index. float32, float64 and
 * int32; 0 ≤ k ≤ the axis' size; a 0-d x is one element (k = 1 gives 0-d
 * results). `values` is gather(x, axis, indices), so its gradient is the
 * upstream gradient scattered to the picked positions (zero elsewhere).
 */
export function topk(x: Tensor, k: number, options?: TopkOptions): { values: Tensor; indices: Tensor } {
  const op = 'topk';
  checkTensor(x, op, 'x');
  const o = checkOptions<TopkOptions>(options, op, ['axis', 'largest', 'sorted']);
  const ax = oneAxis(x, o.axis ?? -1, op);
  const largest = o.largest === undefined ? true : checkBoolean(o.largest, op, 'options.largest');
  if (o.sorted !== undefined) checkBoolean(o.sorted, op, 'options.sorted');
  const n = x.rank === 0 ? 1 : x.shape[ax];
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k > n)
    fail('INVALID_ARGUMENT', `${op}: k must be an integer in [0, ${n}] (the size of axis ${ax} of shape ${shapeText(x.shape)}); got ${describe(k)}`);
  if (n >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: axis ${ax} has ${n} elements; int32 indices reach 2^31 − 1`);
  // The values are gathered by int32 flat positions: refused before the sort rather than after it.
  if (x.size >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: the input has ${x.size} elements; at most 2^31 − 1 are supported (int32 positions)`);
  const scalar = x.rank === 0;
  const outShape = scalar ? (k === 1 ? [] : [k]) : x.shape.map((d, i) => (i === ax ? k : d));
  return tidy(() => {
    const v = scalar ? reshape(x, [1]) : x;
    const a = scalar ? 0 : ax;
    // One native pass (kernels/argreduce.h): the indices of the k best in topkBefore's total order.
    const idx = wrap(native().topkIndices(v.handle, a, k, largest));
    return { values: reshape(gather(v, a, idx), outShape), indices: reshape(idx, outShape) };
  });
}

// ---------------------------------------------------------------- sort

/** Options of {@link sort} and {@link argsort}. */
export interface SortOptions {
  /** The axis to sort along (negative counts from the end); default −1, as torch.sort. */
  axis?: number;
  /** Largest first (default false: smallest first). */
  descending?: boolean;
  /** torch.sort's `stable`. Accepted for compatibility only: the sort is always stable. */
  stable?: boolean;
}

function sortIndices(op: string, x: Tensor, options: SortOptions | undefined): { v: Tensor; axis: number; idx: Tensor; shape: number[] } {
  checkTensor(x, op, 'x');
  const o = checkOptions<SortOptions>(options, op, ['axis', 'descending', 'stable']);
  const ax = oneAxis(x, o.axis ?? -1, op);
  const descending = o.descending === undefined ? false : checkBoolean(o.descending, op, 'options.descending');
  if (o.stable !== undefined) checkBoolean(o.stable, op, 'options.stable');
  const n = x.rank === 0 ? 1 : x.shape[ax];
  if (n >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: axis ${ax} has ${n} elements; int32 indices reach 2^31 − 1`);
  // sort's values are gathered by int32 flat positions (argsort's indices alone would not need it).
  if (op === 'sort' && x.size >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: the input has ${x.size} elements; at most 2^31 − 1 are supported (int32 positions)`);
  const v = x.rank === 0 ? reshape(x, [1]) : x;
  const axis = x.rank === 0 ? 0 : ax;
  // topk with k = n (kernels/argreduce.h's total order): a full sort (std::sort on the CPU, a merge sort on CUDA).
  return { v, axis, idx: wrap(native().topkIndices(v.handle, axis, n, descending)), shape: x.shape.slice() };
}

/**
 * torch.sort: each line of x along `axis` (default −1) sorted, smallest first
 * (largest first with descending), as `{ values, indices }` of x's shape;
 * indices are int32 (where each value was). As torch's: a NaN sorts as
 * larger than everything (last ascending, first descending). The sort is
 * stable (equal values keep their order, as torch's `stable: true`), so
 * the result does not depend on the device. `values` is gather(x, axis,
 * indices), so it has a gradient. float32, float64 and int32.
 */
export function sort(x: Tensor, options?: SortOptions): { values: Tensor; indices: Tensor } {
  return tidy(() => {
    const { v, axis, idx, shape } = sortIndices('sort', x, options);
    return { values: reshape(gather(v, axis, idx), shape), indices: reshape(idx, shape) };
  });
}

/** torch.argsort: sort's indices only (int32; see sort). */
export function argsort(x: Tensor, options?: SortOptions): Tensor {
  return tidy(() => {
    const { idx, shape } = sortIndices('argsort', x, options);
    return reshape(idx, shape);
  });
}

// ---------------------------------------------------------------- gathers

/**
 * Rows of `table` [rows, cols] at int32 `flatIndex` (entries < 0 mark
 * indices already known to be out of range), recorded with the row
 * scatter-add as its gradient. An out-of-range entry throws `describe(pos)`.
 */
function gatherRowsChecked(table: Tensor, flatIndex: Tensor, op: string, describeBad: (pos: number) => string): Tensor {
  try {
    return gatherRows(table, flatIndex, op);
  } catch (err) {
    if (!(err instanceof AntlerError) || err.code !== 'INVALID_ARGUMENT') throw err;
    const flat = flatIndex.dataSync();
    const pos = flat.findIndex((v) => v < 0 || v >= table.shape[0]);
    if (pos < 0) throw err; // not an index the gather refused
    fail('INVALID_ARGUMENT', `${op}: ${describeBad(pos)}`);
  }
}

/**
 * @internal The rows of `table` at int32 `index` (any shape; entries in
 * range), as native gatherRows, recorded: the gradient is the rows'
 * scatter-add, recorded too, so a second derivative goes through both.
 */
export function gatherRows(table: Tensor, index: Tensor, name = 'gatherRows'): Tensor {
  const out = wrap(native().gatherRows(table.handle, index.handle));
  const rows = table.shape[0];
  // The forward gather checked these indices: the backward's scatter-add need not (no CUDA sync).
  return record(out, name, [table], (gy, [idx]) => [scatterAddRows(gy, idx, rows, false)], [index], true);
}

/**
 * @internal src's rows summed into `rows` rows at int32 `index` (native scatterAddRows), recorded as `name`: the
 * gradient is the gather of those rows. `checked`: whether CUDA reads back its index check (a stream sync); the
 * CPU always checks. Pass true only for indices nothing has validated yet (see native().scatterAddRows).
 */
export function scatterAddRows(src: Tensor, index: Tensor, rows: number, checked: boolean, name = 'scatterAddRows'): Tensor {
  const out = wrap(native().scatterAddRows(src.handle, index.handle, rows, checked));
  return record(out, name, [src], (gy, [idx]) => [gatherRows(gy, idx)], [index], true);
}

/** The multi-index of flat position p in a tensor of the given shape, as text. */
export function position(shape: readonly number[], p: number): string {
  const at: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    at.unshift(p % shape[d]);
    p = Math.floor(p / shape[d]);
  }
  return shapeText(at);
}

/**
 * torch.gather: out[i][j][k] = x[index[i][j][k]][j][k] for axis 0 (and so on
 * for the other axes). `index` is int32 of x's rank, no larger than x along
 * every other axis; its values must lie in [0, x.shape[axis]). The result has
 * index's shape; x's gradient is the scatter-add of the output's.
 */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const op = 'gather';
  const ax = checkIndexed(x, axis, index, op);
  checkIndexShape(x, index, ax, op);
  const n = x.rank === 0 ? 1 : x.shape[ax];
  const xShape = x.shape.slice();
  const iShape = index.shape.slice();
  return tidy(() => {
    const flat = flatPositions(xShape, ax, index, x.device);
    const rows = gatherRowsChecked(reshape(x, [x.size, 1]), reshape(flat, [flat.size]), op, (p) => {
      const v = index.dataSync()[p];
      return `index ${v} at ${position(iShape, p)} is outside [0, ${n}), the size of axis ${ax} of the input ${shapeText(xShape)}`;
    });
    return reshape(rows, iShape);
  });
}

/**
 * The row-major position in a tensor of shape xShape of each element an index
 * of the same rank addresses along axis ax (gather's and scatterAdd's
 * out[i][j][k] ↔ x[index[i][j][k]][j][k] for axis 0); an out-of-range index
 * becomes −1, so a check sees it even where its flattened position would
 * land inside x.
 */
function flatPositions(xShape: readonly number[], ax: number, index: Tensor, device: string): Tensor {
  const n = xShape.length === 0 ? 1 : xShape[ax];
  const iShape = index.shape;
  const strides = xShape.map((_, i) => numel(xShape.slice(i + 1)));
  let flat = mul(index, xShape.length === 0 ? 1 : strides[ax]);
  for (let d = 0; d < iShape.length; d++) {
    // A size-1 index axis adds nothing; a stride of 0 (x is empty) has nothing to address.
    if (d === ax || iShape[d] === 1 || strides[d] === 0) continue;
    const shape = iShape.map((s, i) => (i === d ? s : 1));
    flat = add(flat, reshape(arange(0, iShape[d] * strides[d], strides[d], { dtype: 'int32', device }), shape));
  }
  return where(maximum(less(index, 0), greaterEqual(index, n)), -1, flat);
}

/** gather's (and a number-valued scatter's) index: x's rank, no larger than x but along ax; int32 positions. */
function checkIndexShape(x: Tensor, index: Tensor, ax: number, op: string): void {
  if (index.rank !== x.rank)
    fail('SHAPE_MISMATCH', `${op}: index must have the input's rank (${x.rank}); got shape ${shapeText(index.shape)} for an input of shape ${shapeText(x.shape)}`);
  const bad = index.shape.findIndex((d, i) => i !== ax && d > x.shape[i]);
  if (bad >= 0)
    fail('SHAPE_MISMATCH', `${op}: index has shape ${shapeText(index.shape)}, larger than the input's ${shapeText(x.shape)} along axis ${bad}; only axis ${ax} may be larger`);
  if (x.size >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: the input has ${x.size} elements; at most 2^31 − 1 are supported (int32 positions)`);
}

/**
 * The checks scatterAdd and scatter share, and the flat position in x of each
 * element of index (int32 [index.size]; bad indices refused). Inside tidy().
 */
function scatterPlan(x: Tensor, axis: number, index: Tensor, src: Tensor | null, op: string): { ax: number; flat: Tensor } {
  const ax = checkIndexed(x, axis, index, op);
  if (src) {
    checkTensor(src, op, 'src');
    if (index.rank !== x.rank || src.rank !== x.rank)
      fail('SHAPE_MISMATCH', `${op}: index and src must have the input's rank (${x.rank}); got index ${shapeText(index.shape)} and src ${shapeText(src.shape)} for an input of shape ${shapeText(x.shape)}`);
    const big = index.shape.findIndex((d, i) => d > src.shape[i] || (i !== ax && d > x.shape[i]));
    if (big >= 0)
      fail('SHAPE_MISMATCH', `${op}: index has shape ${shapeText(index.shape)}; it may not be larger than src ${shapeText(src.shape)} along any axis, nor than the input ${shapeText(x.shape)} along any but axis ${ax} (axis ${big})`);
    if (src.dtype !== x.dtype) fail('DTYPE_MISMATCH', `${op}: src is ${src.dtype} and the input ${x.dtype}; expected one dtype`);
    if (src.device !== x.device) fail('DEVICE_MISMATCH', `${op}: src is on ${src.device} and the input on ${x.device}`);
    if (x.size >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: the input has ${x.size} elements; at most 2^31 − 1 are supported (int32 positions)`);
  } else checkIndexShape(x, index, ax, op);
  const n = x.rank === 0 ? 1 : x.shape[ax];
  const flat = reshape(flatPositions(x.shape, ax, index, x.device), [index.size]);
  if (index.size === 0) return { ax, flat };
  // The native scatter trusts its indices: find a bad one first (one reduction and a read).
  const worst = readNumbers([min(flat)])[0];
  if (worst < 0) {
    const f = flat.dataSync();
    const p = f.findIndex((v) => v < 0);
    fail('INVALID_ARGUMENT', `${op}: index ${index.dataSync()[p]} at ${position(index.shape, p)} is outside [0, ${n}), the size of axis ${ax} of the input ${shapeText(x.shape)}`);
  }
  return { ax, flat };
}

/** The corner of src that index addresses, as a column [index.size, 1]. */
function srcColumn(src: Tensor, index: Tensor): Tensor {
  const iShape = index.shape;
  const part = iShape.every((d, i) => d === src.shape[i]) ? src : slice(src, iShape.map(() => 0), iShape);
  return reshape(part, [index.size, 1]);
}

/**
 * torch.scatter_add (out of place): x with src's values added at the
 * positions index names along axis (out[index[i][j][k]][j][k] += src[i][j][k]
 * for axis 0, repeats summed). index is int32 of x's rank, no larger than src
 * along any axis nor than x along the others (only index's corner of src is
 * used); its values lie in [0, x.shape[axis]). x and src share a dtype.
 * Gradients: x's is the output's, src's is the output's gathered at index
 * (zero outside index's corner). On CUDA, float sums of repeats are
 * atomic adds, so their rounding may vary from run to run (as PyTorch's).
 */
export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  const op = 'scatterAdd';
  checkTensor(src, op, 'src');
  return tidy(() => {
    const { flat } = scatterPlan(x, axis, index, src, op);
    if (index.size === 0) return add(x, 0);
    const column = srcColumn(src, index);
    if (x.dtype === 'int32') {
      // No gradient to keep: the native scatter is float-only, and float64 sums int32 values exactly;
      // wrapped to int32 (two's complement, as PyTorch's scatter_add overflows), then added, wrapping.
      const sums = wrap(native().scatterAddRows(column.cast('float64').handle, flat.handle, x.size, false));
      const wrapped = sub(remainder(add(sums, 2 ** 31), 2 ** 32), 2 ** 31);
      return add(x, reshape(wrapped.cast('int32'), x.shape));
    }
    const added = scatterAddRows(column, flat, x.size, false, op); // scatterPlan checked flat
    return add(x, reshape(added, x.shape));
  });
}

/**
 * torch.scatter (out of place): x with the positions index names along axis
 * (out[index[i][j][k]][j][k] = src[i][j][k] for axis 0) overwritten by src's
 * values, or by one number `value` (torch.scatter's value form: a one-hot is
 * scatter(zeros([N, C]), 1, labels.reshape([N, 1]), 1)). index and src as
 * scatterAdd's. With src a tensor, an index naming one position twice is
 * refused (INVALID_ARGUMENT): PyTorch keeps one of the values there, which
 * one unspecified (it differs between CPU and CUDA); with a number, repeats
 * write the same value and are fine. Gradients: x's is the output's, zero
 * where overwritten; src's is the output's gathered at index. A number
 * written into int32 must be an integer in int32's range.
 */
export function scatter(x: Tensor, axis: number, index: Tensor, src: Tensor | number): Tensor {
  const op = 'scatter';
  const value = typeof src === 'number' ? src : null;
  if (value !== null) {
    checkTensor(x, op, 'x');
    if (Number.isNaN(value) && x.dtype === 'int32') fail('INVALID_ARGUMENT', `${op}: value NaN cannot be written into an int32 tensor`);
    if (x.dtype === 'int32' && !(Number.isInteger(value) && value >= -2147483648 && value <= 2147483647))
      fail('DTYPE_MISMATCH', `${op}: value ${value} is not an int32 (the input is int32); cast the input to float32 or float64 first`);
  } else if (!(src instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: src must be a Tensor or a number (torch.scatter's value); got ${describe(src)}`);
  return tidy(() => {
    const { flat } = scatterPlan(x, axis, index, value === null ? (src as Tensor) : null, op);
    if (index.size === 0) return add(x, 0);
    // How many times each position of x is named (float64 counts are exact).
    const ones = wrap(native().full([index.size, 1], 'float64', x.device, 1));
    const counts = reshape(wrap(native().scatterAddRows(ones.handle, flat.handle, x.size, false)), x.shape); // scatterPlan checked flat
    const hit = greater(counts, 0);
    if (value !== null) return where(hit, value, x);
    if (readNumbers([max(counts)])[0] > 1) {
      const c = counts.dataSync();
      const p = c.findIndex((v) => v > 1);
      fail('INVALID_ARGUMENT', `${op}: index names position ${position(x.shape, p)} of the input ${c[p]} times; with a tensor src PyTorch keeps one of the values there, which one unspecified, so antler refuses: give each position once, or use scatterAdd (to sum them)`);
    }
    const column = srcColumn(src as Tensor, index);
    if (x.dtype === 'int32') {
      // int32 values travel exactly through float64; no gradient to keep.
      const written = wrap(native().scatterAddRows(column.cast('float64').handle, flat.handle, x.size, false));
      return where(hit, reshape(written, x.shape).cast('int32'), x);
    }
    // Each position is written once at most, so the scatter-add of src is src put in place.
    const written = scatterAddRows(column, flat, x.size, false, op);
    return where(hit, reshape(written, x.shape), x);
  });
}

/**
 * torch.index_select: the entries of x at the int32 positions `index` (1-D,
 * values in [0, x.shape[axis])) along `axis`, in index's order (repeats
 * allowed). x's gradient sums the output's over repeated positions.
 */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  const op = 'indexSelect';
  const ax = checkIndexed(x, axis, index, op);
  if (index.rank > 1) fail('SHAPE_MISMATCH', `${op}: index must be 1-D (or 0-d); got shape ${shapeText(index.shape)}`);
  const n = x.rank === 0 ? 1 : x.shape[ax];
  const xShape = x.shape.slice();
  return tidy(() => {
    if (x.rank === 0) {
      if (index.size !== 1) fail('SHAPE_MISMATCH', `${op}: an index into a 0-d input holds one value (torch.index_select); got ${index.size}`);
      const rows = gatherRowsChecked(reshape(x, [1, 1]), reshape(index, [index.size]), op, (p) => `index ${index.dataSync()[p]} at [${p}] is outside [0, 1)`);
      return reshape(rows, []);
    }
    // Move the axis first, take whole rows, and move it back.
    const others = xShape.map((_, i) => i).filter((i) => i !== ax);
    const front = ax === 0 ? x : permute(x, [ax, ...others]);
    const rest = others.reduce((a, i) => a * xShape[i], 1);
    const k = index.size;
    const rows = gatherRowsChecked(reshape(front, [n, rest]), reshape(index, [k]), op, (p) => {
      const v = index.dataSync()[p];
      return `index ${v} at [${p}] is outside [0, ${n}), the size of axis ${ax} of the input ${shapeText(xShape)}`;
    });
    const moved = reshape(rows, [k, ...others.map((i) => xShape[i])]);
    if (ax === 0) return moved;
    const back = xShape.map((_, i) => (i === ax ? 0 : others.indexOf(i) + 1));
    return permute(moved, back);
  });
}

/**
 * torch.nn.functional.one_hot: int32 class numbers [...] → [..., numClasses]
 * with a 1 at each class (int32 by default, or `dtype`). numClasses −1
 * (the default) takes the largest class + 1. Classes outside
 * [0, numClasses) throw; checking them reads the indices (a device sync).
 */
export function oneHot(indices: Tensor, numClasses = -1, options?: { dtype?: 'int32' | 'float32' | 'float64' }): Tensor {
  const op = 'oneHot';
  checkIndexTensor(indices, op, 'indices');
  const o = checkOptions<{ dtype: 'int32' | 'float32' | 'float64' }>(options, op, ['dtype']);
  const dtype = o.dtype ?? 'int32';
  if (dtype !== 'int32' && dtype !== 'float32' && dtype !== 'float64') fail('INVALID_ARGUMENT', `${op}: dtype must be 'int32', 'float32' or 'float64'; got ${describe(dtype)}`);
  if (typeof numClasses !== 'number' || !Number.isInteger(numClasses) || (numClasses < 1 && numClasses !== -1))
    fail('INVALID_ARGUMENT', `${op}: numClasses must be a positive integer, or −1 to take the largest class + 1; got ${describe(numClasses)}`);
  let lo = 0, hi = -1;
  if (indices.size) {
    const [a, b] = tidy(() => readNumbers([min(indices), max(indices)]));
    lo = a;
    hi = b;
  }
  const C = numClasses === -1 ? hi + 1 : numClasses;
  if (numClasses === -1 && indices.size === 0) fail('INVALID_ARGUMENT', `${op}: numClasses −1 needs at least one index to take the number of classes from; the indices are empty`);
  if (lo < 0 || hi >= C) fail('INVALID_ARGUMENT', `${op}: class ${lo < 0 ? lo : hi} is outside [0, ${C})${numClasses === -1 ? '' : ` (numClasses ${C})`}`);
  if (C >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: numClasses must be below 2^31 (class indices are int32); got ${describe(numClasses)}`);
  checkShape([...indices.shape, C], op, 'the one-hot shape');
  return tidy(() => {
    const hot = equal(reshape(indices, [...indices.shape, 1]), arange(0, C, 1, { dtype: 'int32', device: indices.device }));
    return dtype === 'int32' ? hot : hot.cast(dtype);
  });
}

/**
 * torch.multinomial: `numSamples` class numbers (int32) drawn from each row
 * of non-negative weights `probs` ([C] or [B, C]; they need not sum to 1),
 * with or without replacement (default without, as PyTorch). The Gumbel-max
 * trick on log weights, so zero weights are never drawn; without replacement
 * the classes come in the order drawn (Gumbel top-k). It costs O(B·S·C) work
 * (PyTorch's binary search costs O(B·S·log C)): fine for sampling a few
 * tokens from a vocabulary, slow for millions of draws. Uses the
 * seeded generator (`seed` for a fixed draw). Weights that are negative, not
 * finite or all zero throw (checking them reads a few numbers back).
 */
export function multinomial(probs: Tensor, numSamples: number, options?: { replacement?: boolean; seed?: number }): Tensor {
  const op = 'multinomial';
  checkTensor(probs, op, 'probs');
  const o = checkOptions<{ replacement: boolean; seed: number }>(options, op, ['replacement', 'seed']);
  const replacement = o.replacement === undefined ? false : checkBoolean(o.replacement, op, 'replacement');
  if (probs.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: probs must be float32 or float64; got int32 (cast it with .cast('float32'))`);
  if (probs.rank !== 1 && probs.rank !== 2) fail('SHAPE_MISMATCH', `${op}: probs must be [C] or [B, C]; got shape ${shapeText(probs.shape)}`);
  const S = checkInteger(numSamples, op, 'numSamples', 1);
  const C = probs.shape[probs.rank - 1];
  const B = probs.rank === 2 ? probs.shape[0] : 1;
  if (C === 0) fail('INVALID_ARGUMENT', `${op}: probs has no classes (shape ${shapeText(probs.shape)})`);
  if (!replacement && S > C)
    fail('INVALID_ARGUMENT', `${op}: cannot draw ${S} samples without replacement from ${C} classes; pass {replacement: true} or ask for at most ${C}`);
  if (B === 0) return tidy(() => reshape(arange(0, 0, 1, { dtype: 'int32', device: probs.device }), probs.rank === 2 ? [0, S] : [S]));
  // One read: the smallest weight (NaN if any), the largest (∞ if any), the smallest row sum and
  // the fewest non-zero weights in a row.
  const stats = tidy(() => {
    const p = reshape(probs, [B, C]);
    return readNumbers([min(p), max(p), min(sum(p, 1)), min(sum(notEqual(p, 0), 1))]);
  });
  const [lo, hi, rowSum, nonZero] = stats;
  if (Number.isNaN(lo) || Number.isNaN(hi) || !Number.isFinite(hi)) fail('INVALID_ARGUMENT', `${op}: probs must be finite; it holds ${Number.isNaN(lo) || Number.isNaN(hi) ? 'NaN' : hi}`);
  if (lo < 0) fail('INVALID_ARGUMENT', `${op}: probs must be non-negative; it holds ${lo}`);
  if (!(rowSum > 0)) fail('INVALID_ARGUMENT', `${op}: every row of probs needs a positive sum; a row sums to ${rowSum}`);
  if (!replacement && nonZero < S)
    fail('INVALID_ARGUMENT', `${op}: a row has ${nonZero} non-zero weights, too few to draw ${S} samples without replacement`);
  const { seed, stream } = nextDraw(o.seed, op);
  // Gumbel(0, 1) keys −log(−log U) for U uniform in (0, 1): a draw of exactly 0 (1 in 2^24 in
  // float32) is moved up to the smallest positive value, so every key of a class of positive weight
  // is finite and beats the −∞ of a zero weight.
  const tiny = probs.dtype === 'float32' ? 2 ** -30 : 2 ** -60;
  const keysOf = (u: Tensor, logp: Tensor) => add(logp, neg(log(neg(log(maximum(u, tiny))))));
  const uniform = (shape: number[], stream: number) => wrap(native().random(shape, probs.dtype, probs.device, false, 0, 1, seed, stream));
  return tidy(() => {
    const logp = log(reshape(probs, [B, 1, C]));
    if (!replacement) {
      // Gumbel top-k: the S largest keys of each row, largest first, are a draw without replacement.
      const keys = reshape(keysOf(uniform([B, 1, C], stream), logp), [B, C]);
      return reshape(wrap(native().topkIndices(keys.handle, 1, S, true)), probs.rank === 2 ? [B, S] : [S]);
    }
    // With replacement, S independent argmaxes over [B, S, C] keys, taken in chunks of samples so
    // that no more than about 2^22 keys exist at once. Each chunk draws from a stream of its own:
    // the next ones of the seed given (a fixed draw), or new ones of the global generator.
    const per = Math.max(1, Math.floor(2 ** 22 / Math.max(1, B * C)));
    const parts: Tensor[] = [];
    for (let s0 = 0, k = 0; s0 < S; s0 += per, k++) {
      const n = Math.min(per, S - s0);
      const st = k === 0 ? stream : o.seed !== undefined ? stream + k : nextDraw(undefined, op).stream;
      parts.push(tidy(() => argmax(keysOf(uniform([B, n, C], st), logp), 2)));
    }
    const out = parts.length === 1 ? parts[0] : wrap(native().concat(parts.map((t) => t.handle), 1));
    return reshape(out, probs.rank === 2 ? [B, S] : [S]);
  });
}
