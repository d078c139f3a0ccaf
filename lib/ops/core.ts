/**
 * Differentiable tensor ops. Each op is defined once here: forward through the
 * native op table, its backward right below it (recorded only when an input
 * requires grad and grad mode is on).
 */
import { isGradEnabled, record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native, NativeHandle } from '../native';
import { checkTensor, Tensor } from '../tensor';
import { checkBoolean, checkOptions, describe } from '../validate';

/** @internal */
export function wrap(h: NativeHandle): Tensor {
  return new Tensor(h);
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** @internal Sums g over the dims that broadcasting expanded, giving `shape`. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  const reduced = wrap(native().reduce('sum', g.handle, axes, true));
  const out = wrap(native().reshape(reduced.handle, shape.slice()));
  reduced.dispose();
  return out;
}

// ---------------------------------------------------------------- binary

type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow';
type CompareName = 'equal' | 'notEqual' | 'less' | 'lessEqual' | 'greater' | 'greaterEqual';

function operands(op: string, a: Tensor | number, b: Tensor | number): [Tensor | number, Tensor | number] {
  if (typeof a === 'number' && typeof b === 'number') fail('INVALID_ARGUMENT', `${op}: at least one operand must be a Tensor; got two numbers`);
  // checkTensor rejects anything that is neither a number nor a live Tensor.
  if (typeof a !== 'number') checkTensor(a, op, 'a');
  if (typeof b !== 'number') checkTensor(b, op, 'b');
  if (typeof a !== 'number' && typeof b !== 'number') {
    if (a.device !== b.device) fail('DEVICE_MISMATCH', `${op}: operands are on ${a.device} and ${b.device}; move one with .to('${a.device}')`);
    if (a.dtype !== b.dtype) fail('DTYPE_MISMATCH', `${op}: operands have dtypes ${a.dtype} and ${b.dtype}; convert one with .cast('${a.dtype}')`);
  }
  return [a, b];
}

function forwardBinary(op: BinaryName | CompareName, a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof b === 'number') return wrap(native().binaryScalar(op, (a as Tensor).handle, b, false));
  if (typeof a === 'number') return wrap(native().binaryScalar(op, b.handle, a, true));
  return wrap(native().binary(op, a.handle, b.handle));
}

function binary(op: BinaryName, aIn: Tensor | number, bIn: Tensor | number): Tensor {
  const [a, b] = operands(op, aIn, bIn);
  const out = forwardBinary(op, a, b);
  const aT = a instanceof Tensor, bT = b instanceof Tensor;
  const na = aT && (a as Tensor).requiresGrad, nb = bT && (b as Tensor).requiresGrad;
  // Nothing to record: return before building the save list and the backward closure.
  if ((!na && !nb) || !isGradEnabled()) return out;
  const inputs = [a, b].filter((t): t is Tensor => t instanceof Tensor);
  // Only the values the backward formula reads are saved (as PyTorch does): fewer saved tensors
  // free memory sooner and leave the others free to change in place.
  const save: Tensor[] = [];
  const ia = aT && binaryReads(op, 'a', na, nb) ? save.push(a) - 1 : -1;
  const ib = bT && binaryReads(op, 'b', na, nb) ? save.push(b) - 1 : -1;
  const iy = binaryReads(op, 'y', na, nb) ? save.push(out) - 1 : -1;
  const aShape = aT ? a.shape : null, bShape = bT ? b.shape : null;
  return record(out, op, inputs, (gy, saved, needs) => {
    // An operand the formula does not read is passed as 0 (a number) or null.
    const sa = aT ? (ia >= 0 ? saved[ia] : 0) : (a as number);
    const sb = bT ? (ib >= 0 ? saved[ib] : 0) : (b as number);
    const [ga, gb] = binaryGrads(op, gy, sa, sb, iy >= 0 ? saved[iy] : null, aT && needs[0], bT && needs[aT ? 1 : 0]);
    const grads: (Tensor | null)[] = [];
    if (aShape) grads.push(ga ? sumToShape(ga, aShape) : null);
    if (bShape) grads.push(gb ? sumToShape(gb, bShape) : null);
    return grads;
  }, save);
}

/**
 * Whether the backward of y = op(a, b) reads operand x, given which operands
 * need a gradient (na, nb): mul reads b for a's gradient and a for b's; div b
 * for both and y for b's; pow a and b for both and y for b's.
 */
function binaryReads(op: BinaryName, x: 'a' | 'b' | 'y', na: boolean, nb: boolean): boolean {
  switch (op) {
    case 'add':
    case 'sub':
      return false;
    case 'mul':
      return x === 'a' ? nb : x === 'b' ? na : false;
    case 'div':
      return x === 'b' || (x === 'y' && nb);
    case 'pow':
      return x !== 'y' || nb;
    case 'maximum':
    case 'minimum':
      return x !== 'y';
  }
}

// Gradients of y = op(a, b) for the given upstream gy; a or b may be a number.
// Only those asked for (na, nb) are computed; the other is null.
function binaryGrads(op: BinaryName, gy: Tensor, a: Tensor | number, b: Tensor | number, y: Tensor | null, na: boolean, nb: boolean): [Tensor | null, Tensor | null] {
  const pair = (fa: () => Tensor | null, fb: () => Tensor | null): [Tensor | null, Tensor | null] => [na ? fa() : null, nb ? fb() : null];
  switch (op) {
    case 'add':
      return pair(() => gy, () => gy);
    case 'sub':
      return pair(() => gy, () => neg(gy));
    case 'mul':
      return pair(() => mul(gy, b), () => mul(gy, a));
    case 'div':
      // d/da = 1/b; d/db = −a/b² = −y/b
      return pair(() => div(gy, b), () => neg(mul(gy, div(y!, b))));
    case 'maximum':
    case 'minimum': {
      // PyTorch: ties split the gradient evenly.
      const aWins = forwardBinary(op === 'maximum' ? 'greater' : 'less', a, b);
      const tie = forwardBinary('equal', a, b);
      const wa = add(aWins, mul(tie, 0.5));
      return pair(() => mul(gy, wa), () => mul(gy, sub(1, wa)));
    }
    case 'pow':
      // d/da = b a^(b−1), 0 where b = 0; d/db = y ln a, 0 where a = 0 and b ≥ 0 (PyTorch's
      // conventions: 0^b is flat in b there, and a^0 in a, instead of 0·∞ = NaN). a may be a number.
      return pair(
        () => {
          if (typeof b === 'number') return b === 0 ? mul(gy, 0) : mul(gy, mul(pow(a, b - 1), b));
          return where(forwardBinary('equal', b, 0), 0, mul(gy, mul(b, pow(a, sub(b, 1)))));
        },
        () => {
          if (typeof b === 'number') return null;
          const term = mul(gy, mul(y!, typeof a === 'number' ? Math.log(a) : log(a)));
          if (typeof a === 'number') return a === 0 ? where(forwardBinary('greaterEqual', b, 0), 0, term) : term;
          return where(mul(forwardBinary('equal', a, 0), forwardBinary('greaterEqual', b, 0)), 0, term);
        },
      );
  }
}

/** a + b, broadcasting (either may be a number). */
export const add = (a: Tensor | number, b: Tensor | number): Tensor => binary('add', a, b);
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => binary('sub', a, b);
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => binary('mul', a, b);
export const div = (a: Tensor | number, b: Tensor | number): Tensor => binary('div', a, b);
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => binary('maximum', a, b);
export const minimum = (a: Tensor | number, b: Tensor | number): Tensor => binary('minimum', a, b);
/** a ** b elementwise; for a scalar exponent prefer the unary pow(x, p). */
export function pow(a: Tensor | number, b: Tensor | number): Tensor {
  if (a instanceof Tensor && typeof b === 'number') return unary('pow', a, b);
  return binary('pow', a, b);
}

function compare(op: CompareName, a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands(op, a, b);
  return forwardBinary(op, x, y);
}
/** 1 where a == b, else 0, in the operands' dtype (no gradient). */
export const equal = (a: Tensor | number, b: Tensor | number): Tensor => compare('equal', a, b);
export const notEqual = (a: Tensor | number, b: Tensor | number): Tensor => compare('notEqual', a, b);
export const less = (a: Tensor | number, b: Tensor | number): Tensor => compare('less', a, b);
export const lessEqual = (a: Tensor | number, b: Tensor | number): Tensor => compare('lessEqual', a, b);
export const greater = (a: Tensor | number, b: Tensor | number): Tensor => compare('greater', a, b);
export const greaterEqual = (a: Tensor | number, b: Tensor | number): Tensor => compare('greaterEqual', a, b);

/**
 * cond != 0 ? a : b, broadcasting all three. a and b may be numbers, as in
 * torch.where (e.g. where(mask, logits, -Infinity)); a number takes the other
 * operand's dtype and device (float32 and cond's device when both are
 * numbers). Gradients flow to the tensor operands.
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  checkTensor(cond, 'where', 'condition');
  if (typeof a !== 'number') checkTensor(a, 'where', 'a');
  if (typeof b !== 'number') checkTensor(b, 'where', 'b');
  const like = typeof a !== 'number' ? a : typeof b !== 'number' ? b : null;
  const dtype = like ? like.dtype : 'float32';
  const device = like ? like.device : cond.device;
  const scalar = (v: number, what: string): Tensor => {
    if (dtype === 'int32' && !(Number.isInteger(v) && v >= -2147483648 && v <= 2147483647))
      fail('DTYPE_MISMATCH', `where: ${what} is ${describe(v)}, which is not an int32, and the other operand is int32; cast it to float32 or float64 first`);
    return wrap(native().full([], dtype, device, v));
  };
  const at = typeof a === 'number' ? scalar(a, 'a') : a;
  const bt = typeof b === 'number' ? scalar(b, 'b') : b;
  let out: Tensor;
  try {
    out = wrap(native().where(cond.handle, at.handle, bt.handle));
  } finally {
    if (at !== a) at.dispose();
    if (bt !== b) bt.dispose();
  }
  const inputs = [a, b].filter((t): t is Tensor => typeof t !== 'number');
  if (!inputs.length) return out;
  return record(out, 'where', inputs, (gy, [c]) => {
    const zero = zerosScalar(gy);
    const grads: Tensor[] = [];
    if (typeof a !== 'number') grads.push(sumToShape(wrap(native().where(c.handle, gy.handle, zero.handle)), a.shape));
    if (typeof b !== 'number') grads.push(sumToShape(wrap(native().where(c.handle, zero.handle, gy.handle)), b.shape));
    return grads;
  }, [cond]);
}

function zerosScalar(like: Tensor): Tensor {
  return wrap(native().full([], like.dtype, like.device, 0));
}

// ---------------------------------------------------------------- unary

export type UnaryName =
  | 'neg' | 'exp' | 'log' | 'tanh' | 'sigmoid' | 'relu' | 'softplus' | 'gelu' | 'sqrt' | 'abs' | 'pow' | 'clamp' | 'square' | 'reciprocal';

/** @internal */
export function unary(op: UnaryName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  checkTensor(x, op, 'x');
  const out = wrap(native().unary(op, x.handle, p0, p1));
  // Saves only what the formula reads (kernels/unary.h, unaryGradReadsX/Y); the backward kernel
  // does not load the other operand, so gy (same shape and dtype) stands in for it.
  const rx = UNARY_READS_X.has(op), ry = UNARY_READS_Y.has(op);
  return record(out, op, [x], (gy, saved) => {
    const sx = rx ? saved[0] : gy, sy = ry ? saved[rx ? 1 : 0] : gy;
    return [wrap(native().unaryBackward(op, sx.handle, sy.handle, gy.handle, p0, p1))];
  }, rx && ry ? [x, out] : rx ? [x] : ry ? [out] : []);
}

const UNARY_READS_X: ReadonlySet<UnaryName> = new Set<UnaryName>(['log', 'relu', 'softplus', 'gelu', 'abs', 'pow', 'clamp', 'square']);
const UNARY_READS_Y: ReadonlySet<UnaryName> = new Set<UnaryName>(['exp', 'tanh', 'sigmoid', 'sqrt', 'reciprocal']);

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** log(1 + e^x), linear above 20 (PyTorch's threshold). */
export const softplus = (x: Tensor): Tensor => unary('softplus', x);
/** Exact (erf) GELU. */
export const gelu = (x: Tensor): Tensor => unary('gelu', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
/** min(max(x, lo), hi); either bound may be omitted. With lo > hi every element is hi (torch.clamp). */
export function clamp(x: Tensor, lo = -Infinity, hi = Infinity): Tensor {
  if (typeof lo !== 'number' || typeof hi !== 'number' || Number.isNaN(lo) || Number.isNaN(hi))
    fail('INVALID_ARGUMENT', `clamp: bounds must be numbers; got ${describe(lo)} and ${describe(hi)}`);
  return unary('clamp', x, lo, hi);
}

// ---------------------------------------------------------------- reductions

function normAxes(x: Tensor, axis: number | number[] | undefined, op: string): number[] {
  if (axis === undefined) return [];
  const list = Array.isArray(axis) ? axis : [axis];
  for (const a of list)
    if (typeof a !== 'number' || !Number.isInteger(a) || a < -Math.max(1, x.rank) || a >= Math.max(1, x.rank))
      fail('INVALID_ARGUMENT', `${op}: axis ${describe(a)} is out of range for a tensor of rank ${x.rank}`);
  return list;
}

/** keepDims is the third positional argument, a boolean (TF.js's order), not an options object. */
function checkKeepDims(v: unknown, op: string): boolean {
  if (typeof v === 'boolean') return v;
  const hint = v !== null && typeof v === 'object' && 'keepDims' in v ? ` (pass it as the boolean itself: ${op}(x, axis, true))` : '';
  fail('INVALID_ARGUMENT', `${op}: the third argument, keepDims, must be a boolean; got ${describe(v)}${hint}`);
}

function keptShape(x: Tensor, axes: number[]): number[] {
  if (!axes.length) return x.shape.map(() => 1);
  const norm = axes.map((a) => (a < 0 ? a + x.rank : a));
  return x.shape.map((d, i) => (norm.includes(i) ? 1 : d));
}

/** Sum over axis (all axes by default), accumulated in double precision. */
export function sum(x: Tensor, axis?: number | number[], keepDims = false): Tensor {
  checkTensor(x, 'sum', 'x');
  const axes = normAxes(x, axis, 'sum');
  checkKeepDims(keepDims, 'sum');
  const out = wrap(native().reduce('sum', x.handle, axes, keepDims));
  return record(out, 'sum', [x], (gy) => {
    // A scalar gy (a sum over everything) broadcasts as it is; otherwise its reduced axes come back as 1s first.
    const g = gy.rank === 0 ? gy : wrap(native().reshape(gy.handle, keptShape(x, axes)));
    return [wrap(native().broadcastTo(g.handle, x.shape.slice()))];
  });
}

/** Mean over axis (all axes by default). */
export function mean(x: Tensor, axis?: number | number[], keepDims = false): Tensor {
  checkTensor(x, 'mean', 'x');
  const axes = normAxes(x, axis, 'mean');
  checkKeepDims(keepDims, 'mean');
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', 'mean: int32 input; cast to float32 or float64 first');
  const count = axes.length ? axes.reduce((acc, a) => acc * x.shape[a < 0 ? a + x.rank : a], 1) : x.size;
  // The sum is an intermediate: freed here, so mean outside tidy() leaves only its result (the graph keeps its own reference).
  const total = sum(x, axis, keepDims);
  const out = div(total, count);
  total.dispose();
  return out;
}

function extreme(op: 'max' | 'min', x: Tensor, axis: number | number[] | undefined, keepDims: boolean): Tensor {
  checkTensor(x, op, 'x');
  const axes = normAxes(x, axis, op);
  checkKeepDims(keepDims, op);
  const out = wrap(native().reduce(op, x.handle, axes, keepDims));
  return record(out, op, [x], (gy, [sx, sy]) => {
    // Ties share the gradient evenly (PyTorch's amax/amin); where the result is NaN, the NaN
    // elements share it (torch.max's evenly_distribute_backward) rather than NaN reaching all.
    const shape = keptShape(x, axes);
    const yk = wrap(native().reshape(sy.handle, shape));
    const gk = wrap(native().reshape(gy.handle, shape));
    const mask = maximum(equal(sx, yk), mul(notEqual(sx, sx), notEqual(yk, yk)));
    const count = sum(mask, axes.length ? axes : undefined, true);
    return [mul(mask, div(gk, count))];
  }, [x, out]);
}

export const max = (x: Tensor, axis?: number | number[], keepDims = false): Tensor => extreme('max', x, axis, keepDims);
export const min = (x: Tensor, axis?: number | number[], keepDims = false): Tensor => extreme('min', x, axis, keepDims);

// ---------------------------------------------------------------- shape

/** A view with a new shape (one dim may be -1). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, 'reshape', 'x');
  if (!Array.isArray(shape)) fail('INVALID_ARGUMENT', `reshape: shape must be an array of integers; got ${describe(shape)}`);
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < -1) fail('INVALID_ARGUMENT', `reshape: shape[${i}] must be an integer >= -1; got ${describe(d)}`);
  });
  const out = wrap(native().reshape(x.handle, shape.slice()));
  return record(out, 'reshape', [x], (gy) => [wrap(native().reshape(gy.handle, x.shape.slice()))]);
}

/** x itself when it already has `shape`, else reshape(x, shape) (for backward functions, which run under noGrad). */
function reshapeIfNeeded(x: Tensor, shape: readonly number[]): Tensor {
  return sameShape(x.shape, shape) ? x : reshape(x, shape);
}

/** Reorders axes (perm[i] is the input axis that becomes axis i). */
export function permute(x: Tensor, perm: number[]): Tensor {
  checkTensor(x, 'permute', 'x');
  if (!Array.isArray(perm)) fail('INVALID_ARGUMENT', `permute: perm must be an array of axes; got ${describe(perm)}`);
  const out = wrap(native().permute(x.handle, perm.slice()));
  const norm = perm.map((a) => (a < 0 ? a + x.rank : a));
  const inverse = norm.map((_, i) => norm.indexOf(i));
  return record(out, 'permute', [x], (gy) => [wrap(native().permute(gy.handle, inverse))]);
}

/** Swaps two axes (the last two by default); a copy, like TensorFlow.js's transpose. */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  checkTensor(x, 'transpose', 'x');
  if (x.rank < 2 && dim0 === -2 && dim1 === -1) return reshape(x, x.shape.slice());
  const perm = x.shape.map((_, i) => i);
  const a = dim0 < 0 ? dim0 + x.rank : dim0, b = dim1 < 0 ? dim1 + x.rank : dim1;
  if (!(a >= 0 && a < x.rank && b >= 0 && b < x.rank)) fail('INVALID_ARGUMENT', `transpose: dims ${dim0}, ${dim1} out of range for rank ${x.rank}`);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

/** TensorFlow.js-style slice: begin per dim, size per dim (−1 = to the end). */
export function slice(x: Tensor, begin: number[], size?: number[]): Tensor {
  checkTensor(x, 'slice', 'x');
  if (!Array.isArray(begin)) fail('INVALID_ARGUMENT', `slice: begin must be an array; got ${describe(begin)}`);
  const b = x.shape.map((_, i) => (i < begin.length ? begin[i] : 0));
  const s = x.shape.map((_, i) => (size && i < size.length ? size[i] : -1));
  const out = wrap(native().slice(x.handle, b, s));
  return record(out, 'slice', [x], (gy) => [wrap(native().sliceBackward(gy.handle, x.shape.slice(), b))]);
}

/** Reverses the order of elements along the given axes (torch.flip). */
export function flip(x: Tensor, axes: number | number[]): Tensor {
  checkTensor(x, 'flip', 'x');
  const ax = typeof axes === 'number' ? [axes] : axes;
  if (!Array.isArray(ax) || !ax.every((a) => Number.isInteger(a))) fail('INVALID_ARGUMENT', `flip: axes must be an integer or an array of integers; got ${describe(axes)}`);
  const out = wrap(native().flip(x.handle, ax));
  return record(out, 'flip', [x], (gy) => [wrap(native().flip(gy.handle, ax))]);
}

/** Joins tensors along an existing axis. */
export function concat(xs: Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) fail('INVALID_ARGUMENT', `concat: expected a non-empty array of tensors; got ${describe(xs)}`);
  xs.forEach((t, i) => checkTensor(t, 'concat', `tensors[${i}]`));
  const out = wrap(native().concat(xs.map((t) => t.handle), axis));
  const ax = axis < 0 ? axis + xs[0].rank : axis;
  return record(out, 'concat', xs, (gy) => {
    let at = 0;
    return xs.map((t) => {
      const begin = t.shape.map((_, i) => (i === ax ? at : 0));
      at += t.shape[ax];
      return wrap(native().slice(gy.handle, begin, t.shape.slice()));
    });
  });
}

/** Joins tensors of one shape along a new axis. */
export function stack(xs: Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) fail('INVALID_ARGUMENT', `stack: expected a non-empty array of tensors; got ${describe(xs)}`);
  xs.forEach((t, i) => checkTensor(t, 'stack', `tensors[${i}]`));
  const rank = xs[0].rank;
  const ax = axis < 0 ? axis + rank + 1 : axis;
  if (!(ax >= 0 && ax <= rank)) fail('INVALID_ARGUMENT', `stack: axis ${axis} is out of range for tensors of rank ${rank}`);
  for (const t of xs)
    if (!sameShape(t.shape, xs[0].shape)) fail('SHAPE_MISMATCH', `stack: shapes [${t.shape.join(', ')}] and [${xs[0].shape.join(', ')}] differ`);
  const expanded = xs.map((t) => reshape(t, [...t.shape.slice(0, ax), 1, ...t.shape.slice(ax)]));
  const out = concat(expanded, ax);
  for (const e of expanded) e.dispose();
  return out;
}

/** Repeats along broadcast dims to `shape` (a copy). */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, 'broadcastTo', 'x');
  const out = wrap(native().broadcastTo(x.handle, shape.slice()));
  return record(out, 'broadcastTo', [x], (gy) => [sumToShape(gy, x.shape)]);
}

/** A copy with its own storage. */
export function clone(x: Tensor): Tensor {
  const out = wrap(native().clone(checkTensor(x, 'clone', 'x').handle));
  return record(out, 'clone', [x], (gy) => [gy.clone()]);
}

/** A copy on another device; gradients flow back to the source device. */
export function toDevice(x: Tensor, device: string): Tensor {
  const out = wrap(native().to(checkTensor(x, 'to', 'x').handle, device));
  return record(out, 'to', [x], (gy) => [wrap(native().to(gy.handle, x.device))]);
}

/** A copy in another dtype; gradients are cast back (none for int32). */
export function cast(x: Tensor, dtype: string): Tensor {
  const out = wrap(native().cast(checkTensor(x, 'cast', 'x').handle, dtype));
  if (out.dtype === 'int32') return out;
  return record(out, 'cast', [x], (gy) => [wrap(native().cast(gy.handle, x.dtype))]);
}

// ---------------------------------------------------------------- matmul

/**
 * Matrix product with PyTorch's semantics: 1-D operands are promoted, batch
 * dims broadcast. transposeA/B transpose the last two dims of an operand.
 */
export function matmul(a: Tensor, b: Tensor, options?: { transposeA?: boolean; transposeB?: boolean }): Tensor {
  const o = checkOptions<{ transposeA: boolean; transposeB: boolean }>(options, 'matmul', ['transposeA', 'transposeB']);
  checkTensor(a, 'matmul', 'a');
  checkTensor(b, 'matmul', 'b');
  const tA = o.transposeA === undefined ? false : checkBoolean(o.transposeA, 'matmul', 'transposeA');
  const tB = o.transposeB === undefined ? false : checkBoolean(o.transposeB, 'matmul', 'transposeB');
  // [..., m, k] @ a shared [k, n]: one GEMM over all the rows, so that the
  // backward's gradient for b is one GEMM too, not a [batch, k, n] product
  // summed over the batch. Mismatched shapes go on to the native check.
  if (a.rank > 2 && b.rank === 2 && !tA && a.shape[a.rank - 1] === b.shape[tB ? 1 : 0]) {
    const lead = a.shape.slice(0, -1);
    const rows = lead.reduce((p, v) => p * v, 1);
    return tidy(() => reshape(matmul(reshape(a, [rows, a.shape[a.rank - 1]]), b, { transposeB: tB }), [...lead, b.shape[tB ? 0 : 1]]));
  }
  const out = wrap(native().matmul(a.handle, b.handle, tA, tB));
  // Each gradient reads the other operand only (PyTorch saves a only when b needs a gradient,
  // and b only when a does); the shapes are kept as numbers.
  const keepA = b.requiresGrad, keepB = a.requiresGrad;
  const aShape = a.shape, bShape = b.shape;
  const a2Shape = aShape.length === 1 ? [1, aShape[0]] : aShape;
  const b2Shape = bShape.length === 1 ? [bShape[0], 1] : bShape;
  const save = keepA && keepB ? [a, b] : keepA ? [a] : keepB ? [b] : [];
  return record(out, 'matmul', [a, b], (gy, saved, [needA, needB]) => {
    // Work on the promoted (≥ 2-D) forms, then undo promotion and broadcasting.
    const sa = keepA ? saved[0] : null;
    const sb = keepB ? saved[keepA ? 1 : 0] : null;
    const a2 = sa && reshapeIfNeeded(sa, a2Shape);
    const b2 = sb && reshapeIfNeeded(sb, b2Shape);
    const outShape = [...gy.shape];
    if (aShape.length === 1) outShape.splice(outShape.length - (bShape.length === 1 ? 0 : 1), 0, 1);
    if (bShape.length === 1) outShape.push(1);
    const g2 = reshapeIfNeeded(gy, outShape);
    const mm = (x: Tensor, y: Tensor, ta: boolean, tb: boolean) => wrap(native().matmul(x.handle, y.handle, ta, tb));
    const ga = needA ? reshapeIfNeeded(sumToShape(tA ? mm(b2!, g2, tB, true) : mm(g2, b2!, false, !tB), a2Shape), aShape) : null;
    const gb = needB ? reshapeIfNeeded(sumToShape(tB ? mm(g2, a2!, true, tA) : mm(a2!, g2, !tA, false), b2Shape), bShape) : null;
    return [ga, gb];
  }, save);
}
