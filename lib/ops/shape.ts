/**
 * Shape helpers PyTorch and TensorFlow.js users reach for: squeeze,
 * unsqueeze/expandDims, flatten, split/chunk/unstack, tile and pad. Each is
 * a composition of reshape, slice, broadcastTo and concat (pad's reflect,
 * replicate and circular modes: indexSelect), so gradients come from those
 * ops and every device runs them.
 */
import { isGradEnabled } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, full, tensor, Tensor } from '../tensor';
import { checkAxis as axisOf, checkNumber, checkOptions, checkShape, describe, shapeText, numel } from '../validate';
import { broadcastTo, concat, reshape, slice, sliceBackward } from './core';
import { indexSelect } from './indexing';

/**
 * Removes axes of size 1: all of them, or those listed (torch.squeeze, tf.squeeze).
 * A listed axis whose size is not 1 is left as it is, as in PyTorch.
 */
export function squeeze(x: Tensor, axis?: number | readonly number[]): Tensor {
  checkTensor(x, 'squeeze', 'x');
  const list = axis === undefined ? null : (Array.isArray(axis) ? axis : [axis]).map((a) => axisOf(x, a, 'squeeze'));
  const drop = (d: number, i: number) => d === 1 && (list === null || list.includes(i));
  return reshape(x, x.shape.filter((d, i) => !drop(d, i)));
}

/** Inserts an axis of size 1 at `axis` (in [−rank−1, rank]; torch.unsqueeze, tf.expandDims). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  checkTensor(x, 'unsqueeze', 'x');
  const rank = x.rank + 1;
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank)
    fail('INVALID_ARGUMENT', `unsqueeze: axis must be an integer in [${-rank}, ${rank}) to add an axis to shape ${shapeText(x.shape)}; got ${describe(axis)}`);
  const at = axis < 0 ? axis + rank : axis;
  return reshape(x, [...x.shape.slice(0, at), 1, ...x.shape.slice(at)]);
}

/** tf.expandDims: unsqueeze with axis 0 by default. */
export const expandDims = (x: Tensor, axis = 0): Tensor => unsqueeze(x, axis);

/** Merges axes startAxis … endAxis (inclusive; default all) into one (torch.flatten). A 0-d tensor becomes [1]. */
export function flatten(x: Tensor, startAxis = 0, endAxis = -1): Tensor {
  checkTensor(x, 'flatten', 'x');
  if (x.rank === 0) {
    axisOf(x, startAxis, 'flatten');
    axisOf(x, endAxis, 'flatten');
    return reshape(x, [1]);
  }
  const s = axisOf(x, startAxis, 'flatten'), e = axisOf(x, endAxis, 'flatten');
  if (s > e) fail('INVALID_ARGUMENT', `flatten: startAxis (${startAxis}) comes after endAxis (${endAxis}) for shape ${shapeText(x.shape)}`);
  const merged = numel(x.shape.slice(s, e + 1));
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/**
 * The slice at `index` along `axis`, that axis removed (torch.select;
 * PyTorch's x[:, -1] is `x.select(1, -1)`, the last step of a [B, T, H]
 * output): a negative index counts from the end. The gradient lands in that
 * slice.
 */
export function select(x: Tensor, axis: number, index: number): Tensor {
  checkTensor(x, 'select', 'x');
  if (x.rank === 0) fail('INVALID_ARGUMENT', 'select: x is 0-d; there is no axis to select along');
  const ax = axisOf(x, axis, 'select', x.rank);
  const n = x.shape[ax];
  if (typeof index !== 'number' || !Number.isInteger(index) || index < -n || index >= n)
    fail('INVALID_ARGUMENT', `select: index must be an integer in [${-n}, ${n}) for axis ${axis} of shape ${shapeText(x.shape)}; got ${describe(index)}`);
  const at = index < 0 ? index + n : index;
  return tidy(() => reshape(slice(x, x.shape.map((_, i) => (i === ax ? at : 0)), x.shape.map((d, i) => (i === ax ? 1 : d))), x.shape.filter((_, i) => i !== ax)));
}

/**
 * `length` elements along `axis` from `start` (torch.narrow; a negative
 * start counts from the end), the other axes whole.
 */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  return narrowAs('narrow', x, axis, start, length);
}

/** narrow's work with its messages naming `op` (narrow, narrowCopy). */
export function narrowAs(op: string, x: Tensor, axis: number, start: number, length: number): Tensor {
  checkTensor(x, op, 'x');
  if (x.rank === 0) fail('INVALID_ARGUMENT', `${op}: x is 0-d; there is no axis to narrow`);
  const ax = axisOf(x, axis, op, x.rank);
  const n = x.shape[ax];
  if (typeof start !== 'number' || !Number.isInteger(start) || start < -n || start > n)
    fail('INVALID_ARGUMENT', `${op}: start must be an integer in [${-n}, ${n}] for axis ${axis} of shape ${shapeText(x.shape)}; got ${describe(start)}`);
  const from = start < 0 ? start + n : start;
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || from + length > n)
    fail('INVALID_ARGUMENT', `${op}: length must be an integer in [0, ${n - from}] (from ${from} along axis ${axis} of shape ${shapeText(x.shape)}); got ${describe(length)}`);
  return slice(x, x.shape.map((_, i) => (i === ax ? from : 0)), x.shape.map((d, i) => (i === ax ? length : d)));
}

/**
 * Splits x along axis into pieces: `sizes` lists each piece's size (they
 * must add up to the axis; tf.split with sizes, torch.split with a list), or
 * a number n of equal pieces (tf.split: the axis must divide by n).
 */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  checkTensor(x, 'split', 'x');
  if (x.rank === 0) fail('INVALID_ARGUMENT', 'split: a 0-d tensor has no axis to split');
  const ax = axisOf(x, axis, 'split');
  const n = x.shape[ax];
  let parts: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes < 1) fail('INVALID_ARGUMENT', `split: the number of pieces must be a positive integer; got ${describe(sizes)}`);
    if (n % sizes !== 0) fail('INVALID_ARGUMENT', `split: axis ${ax} has size ${n}, which does not divide into ${sizes} equal pieces; pass the sizes as an array, or use chunk()`);
    parts = new Array(sizes).fill(n / sizes);
  } else if (Array.isArray(sizes)) {
    sizes.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail('INVALID_ARGUMENT', `split: sizes[${i}] must be an integer >= 0; got ${describe(v)}`);
    });
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== n) fail('INVALID_ARGUMENT', `split: sizes ${shapeText(sizes)} add up to ${total}, but axis ${ax} has size ${n}`);
    parts = [...sizes];
  } else fail('INVALID_ARGUMENT', `split: expected a number of pieces or an array of sizes; got ${describe(sizes)}`);
  return pieces(x, ax, parts);
}

/**
 * @internal x cut along axis `ax` into pieces of the sizes `parts`. While a
 * graph is recorded the cuts halve the list recursively: a slice's gradient
 * is as large as the tensor it was cut from, so cutting every piece from x
 * would make backward cost O(x.size · pieces) (unstack over 1000 steps: 1000
 * full-size gradients summed), where halving costs O(x.size · log₂ pieces).
 */
export function pieces(x: Tensor, ax: number, parts: readonly number[]): Tensor[] {
  const cut = (t: Tensor, at: number, len: number) => slice(t, t.shape.map((_, i) => (i === ax ? at : 0)), t.shape.map((d, i) => (i === ax ? len : d)));
  if (parts.length > 2 && x.requiresGrad && isGradEnabled()) {
    const halve = (t: Tensor, ps: readonly number[]): Tensor[] => {
      if (ps.length === 1) return [t === x ? cut(t, 0, ps[0]) : t];
      const h = ps.length >> 1, left = ps.slice(0, h).reduce((a, b) => a + b, 0);
      return [...halve(cut(t, 0, left), ps.slice(0, h)), ...halve(cut(t, left, t.shape[ax] - left), ps.slice(h))];
    };
    // tidy frees the intermediate halves (their graph nodes keep what backward needs).
    return tidy(() => halve(x, parts));
  }
  const out: Tensor[] = [];
  try {
    let at = 0;
    for (const p of parts) {
      out.push(cut(x, at, p));
      at += p;
    }
    return out;
  } catch (err) {
    for (const t of out) t.dispose();
    throw err;
  }
}

/**
 * torch.chunk: n pieces along axis, each of ceil(size / n) but the last
 * (so there may be fewer than n pieces).
 */
export function chunk(x: Tensor, n: number, axis = 0): Tensor[] {
  checkTensor(x, 'chunk', 'x');
  if (x.rank === 0) fail('INVALID_ARGUMENT', 'chunk: a 0-d tensor has no axis to split');
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) fail('INVALID_ARGUMENT', `chunk: the number of chunks must be a positive integer; got ${describe(n)}`);
  const ax = axisOf(x, axis, 'chunk');
  const size = x.shape[ax];
  const each = Math.ceil(size / n);
  if (each === 0) return pieces(x, ax, new Array(n).fill(0)); // an empty axis gives n empty pieces (torch)
  const parts: number[] = [];
  for (let at = 0; at < size; at += each) parts.push(Math.min(each, size - at));
  return pieces(x, ax, parts);
}

/** The slices of x along axis, with that axis removed (tf.unstack, torch.unbind). */
export function unstack(x: Tensor, axis = 0): Tensor[] {
  checkTensor(x, 'unstack', 'x');
  if (x.rank === 0) fail('INVALID_ARGUMENT', 'unstack: a 0-d tensor has no axis to unstack');
  const ax = axisOf(x, axis, 'unstack');
  const shape = x.shape.filter((_, i) => i !== ax);
  return tidy(() => pieces(x, ax, new Array<number>(x.shape[ax]).fill(1)).map((p) => reshape(p, shape)));
}

/**
 * Repeats x `reps[i]` times along each axis (tf.tile; torch's Tensor.repeat).
 * reps may be longer than x's rank (x gains leading axes of size 1 first, as
 * torch's repeat); the gradient sums over the copies.
 */
export function tile(x: Tensor, reps: readonly number[]): Tensor {
  checkTensor(x, 'tile', 'x');
  if (!Array.isArray(reps)) fail('INVALID_ARGUMENT', `tile: reps must be an array of integers, one per axis; got ${describe(reps)}`);
  reps.forEach((r, i) => {
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) fail('INVALID_ARGUMENT', `tile: reps[${i}] must be an integer >= 0; got ${describe(r)}`);
  });
  if (reps.length < x.rank) fail('INVALID_ARGUMENT', `tile: reps ${shapeText(reps)} has fewer entries than the tensor's ${x.rank} axes (shape ${shapeText(x.shape)})`);
  const shape = [...new Array(reps.length - x.rank).fill(1), ...x.shape];
  checkShape(shape.map((d, i) => d * reps[i]), 'tile', 'the tiled shape');
  return tidy(() => {
    // One axis at a time (four dims at most, whatever the rank): axis d of the current [pre, d, post]
    // becomes [reps[d], d] by broadcasting a new axis in front of it, then merges.
    const cur = shape.slice();
    let y = reshape(x, cur);
    cur.forEach((size, d) => {
      if (reps[d] === 1) return;
      const pre = numel(cur.slice(0, d)), post = numel(cur.slice(d + 1));
      const big = broadcastTo(reshape(y, [pre, 1, size, post]), [pre, reps[d], size, post]);
      cur[d] = size * reps[d];
      y = reshape(big, cur);
    });
    return y;
  });
}

/** How {@link pad} fills the new positions (torch.nn.functional.pad's modes). */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** Options of {@link pad}. */
export interface PadOptions {
  /** The constant of mode 'constant' (default 0). */
  value?: number;
  /**
   * 'constant' (default): `value`; 'reflect': the mirror image without the
   * edge (…, x2, x1 | x0, x1, x2, …), each side's padding less than the axis;
   * 'replicate': the edge element repeated; 'circular': the other end's
   * elements (wrapping around once at most: padding ≤ the axis).
   */
  mode?: PadMode;
}

/**
 * Pads x: `paddings[i] = [before, after]` for each axis, as tf.pad
 * (torch.nn.functional.pad lists them from the last axis backwards). Mode
 * 'constant' (default) adds `value` (default 0), and its gradient is the
 * slice of the unpadded region; a negative side crops that many elements
 * (as PyTorch's negative padding; 'constant' only, the crops at most the
 * axis); 'reflect', 'replicate' and 'circular' (as
 * torch.nn.functional.pad's, which takes them on the last one to three axes;
 * here on any axis) take each padded axis' positions with one indexSelect,
 * so the gradient scatter-adds the copies back.
 */
export function pad(x: Tensor, paddings: readonly (readonly [number, number])[], options?: PadOptions): Tensor {
  checkTensor(x, 'pad', 'x');
  const o = checkOptions<PadOptions>(options, 'pad', ['value', 'mode']);
  const mode = o.mode === undefined ? 'constant' : o.mode;
  if (!['constant', 'reflect', 'replicate', 'circular'].includes(mode as string))
    fail('INVALID_ARGUMENT', `pad: mode must be 'constant', 'reflect', 'replicate' or 'circular'; got ${describe(o.mode)}`);
  if (mode !== 'constant' && o.value !== undefined) fail('INVALID_ARGUMENT', `pad: mode '${mode}' takes no value (as PyTorch); got value ${describe(o.value)}`);
  const value = o.value === undefined ? 0 : checkNumber(o.value, 'pad', 'value');
  if (!Array.isArray(paddings) || paddings.length !== x.rank)
    fail('INVALID_ARGUMENT', `pad: paddings must hold one [before, after] pair per axis (${x.rank} for shape ${shapeText(x.shape)}); got ${describe(paddings)}`);
  paddings.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isInteger(v)))
      fail('INVALID_ARGUMENT', `pad: paddings[${i}] must be [before, after], integers; got ${describe(p)}`);
    if (mode !== 'constant' && (p[0] < 0 || p[1] < 0))
      fail('INVALID_ARGUMENT', `pad: paddings[${i}] must be [before, after], integers >= 0 in mode '${mode}' (a negative padding, a crop, is 'constant' only); got ${describe(p)}`);
    const n = x.shape[i], kept = n - Math.max(0, -p[0]) - Math.max(0, -p[1]);
    if (kept < 0)
      fail('INVALID_ARGUMENT', `pad: paddings[${i}] = [${p[0]}, ${p[1]}] crops ${n - kept} elements from axis ${i} of size ${n} (shape ${shapeText(x.shape)}); the crops must total at most its size`);
  });
  if (x.dtype === 'int32' && !Number.isInteger(value)) fail('DTYPE_MISMATCH', `pad: the value ${value} is not an integer and x is int32; cast x first`);
  if (mode !== 'constant')
    paddings.forEach(([before, after], ax) => {
      if (!before && !after) return;
      const n = x.shape[ax], most = Math.max(before, after);
      if (mode === 'reflect' && most >= n)
        fail('INVALID_ARGUMENT', `pad: reflect padding [${before}, ${after}] of axis ${ax} must be less than its size ${n} (shape ${shapeText(x.shape)}), as PyTorch`);
      if (mode === 'circular' && most > n)
        fail('INVALID_ARGUMENT', `pad: circular padding [${before}, ${after}] of axis ${ax} must be at most its size ${n} (shape ${shapeText(x.shape)}): it wraps around once at most, as PyTorch`);
      if (mode === 'replicate' && n === 0) fail('INVALID_ARGUMENT', `pad: replicate padding [${before}, ${after}] of axis ${ax} needs an element to repeat; the axis is empty (shape ${shapeText(x.shape)})`);
    });
  checkShape(x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]), 'pad', 'the padded shape');
  return tidy(() => {
    let y = x;
    if (mode === 'constant' && value === 0) {
      // Zeros: the crops (negative sides) first, then one native copy into zeros of the padded shape (no blocks).
      paddings.forEach(([before, after], ax) => {
        if (before < 0 || after < 0) y = narrow(y, ax, Math.max(0, -before), y.shape[ax] - Math.max(0, -before) - Math.max(0, -after));
      });
      if (paddings.some(([before, after]) => before > 0 || after > 0))
        y = sliceBackward(y, y.shape.map((n, ax) => n + Math.max(0, paddings[ax][0]) + Math.max(0, paddings[ax][1])), paddings.map(([before]) => Math.max(0, before)));
      return y === x ? reshape(x, x.shape) : y;
    }
    paddings.forEach(([before, after], ax) => {
      if (!before && !after) return;
      if (mode === 'constant') {
        // A negative side crops (PyTorch's negative padding): the kept middle first, then the blocks of value.
        if (before < 0 || after < 0) {
          const cropBefore = Math.max(0, -before);
          y = narrow(y, ax, cropBefore, y.shape[ax] - cropBefore - Math.max(0, -after));
          [before, after] = [Math.max(0, before), Math.max(0, after)];
        }
        const block = (n: number) => full(y.shape.map((d, i) => (i === ax ? n : d)), value, { dtype: x.dtype, device: x.device });
        if (before || after) y = concat([...(before ? [block(before)] : []), y, ...(after ? [block(after)] : [])], ax);
        return;
      }
      // The source position of each padded position j − before, j in [0, n + before + after).
      const n = y.shape[ax];
      const at = new Int32Array(n + before + after);
      for (let j = 0; j < at.length; j++) {
        const p = j - before;
        at[j] = p >= 0 && p < n ? p
          : mode === 'replicate' ? (p < 0 ? 0 : n - 1)
            : mode === 'reflect' ? (p < 0 ? -p : 2 * (n - 1) - p)
              : ((p % n) + n) % n;
      }
      y = indexSelect(y, ax, tensor(at, [at.length], { dtype: 'int32', device: x.device }));
    });
    return y === x ? reshape(x, x.shape) : y;
  });
}

/**
 * torch.roll: shifts the elements along each of `axes` by the matching
 * entry of `shifts` (positive towards higher indices), wrapping around;
 * without axes, over the flattened tensor, keeping its shape. The gradient
 * rolls back.
 */
export function roll(x: Tensor, shifts: number | readonly number[], axes?: number | readonly number[]): Tensor {
  checkTensor(x, 'roll', 'x');
  const sh = typeof shifts === 'number' ? [shifts] : shifts;
  if (!Array.isArray(sh) || sh.some((s) => typeof s !== 'number' || !Number.isInteger(s)))
    fail('INVALID_ARGUMENT', `roll: shifts must be an integer or an array of integers; got ${describe(shifts)}`);
  if (axes === undefined) {
    if (sh.length !== 1) fail('INVALID_ARGUMENT', `roll: without axes, shifts must be one integer (the flattened tensor is rolled); got ${describe(shifts)}`);
    return tidy(() => reshape(roll(reshape(x, [x.size]), sh[0], 0), x.shape));
  }
  const ax = typeof axes === 'number' ? [axes] : axes;
  if (!Array.isArray(ax) || ax.length !== sh.length)
    fail('INVALID_ARGUMENT', `roll: shifts ${describe(shifts)} and axes ${describe(axes)} must have one entry each, pair by pair`);
  const norm = ax.map((a) => axisOf(x, a, 'roll'));
  if (x.rank === 0) return reshape(x, []); // a scalar's one element stays where it is
  return tidy(() => {
    let y = x;
    norm.forEach((a, i) => {
      const n = y.shape[a];
      const k = n === 0 ? 0 : ((sh[i] % n) + n) % n;
      if (k === 0) return;
      // The last k along the axis come first.
      const cut = (at: number, len: number) => slice(y, y.shape.map((_, d) => (d === a ? at : 0)), y.shape.map((d, j) => (j === a ? len : d)));
      y = concat([cut(n - k, k), cut(0, n - k)], a);
    });
    // Always a new tensor, as every op returns (rolling by 0 copies).
    return y === x ? reshape(x, x.shape.slice()) : y;
  });
}
