/**
 * Differentiable tensor ops. Each op is defined once here: forward through the
 * native op table, its backward right below it (recorded only when an input
 * requires grad and grad mode is on).
 */
import { isGradEnabled, record } from '../autograd/graph';
import { cumprodDerivative, unaryDerivative } from './derivatives';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native, NativeHandle } from '../native';
import { checkTensor, Tensor, zeros } from '../tensor';
import { checkBoolean, checkOptions, checkShape, describe, shapeText, numel } from '../validate';

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
  // Recorded ops when recording is on (a backward that builds a graph differentiates this sum too);
  // else the native ops directly, as most backward passes run (no validation, no record() call).
  if (isGradEnabled()) {
    if (!axes.length) return reshape(g, shape);
    const summed = sum(g, axes, true);
    const out = reshape(summed, shape);
    summed.dispose();
    return out;
  }
  const reduced = wrap(native().reduce('sum', g.handle, axes, true));
  const out = wrap(native().reshape(reduced.handle, shape.slice()));
  reduced.dispose();
  return out;
}

// ---------------------------------------------------------------- binary

type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow' | 'remainder' | 'floorDivide';
type CompareName = 'equal' | 'notEqual' | 'less' | 'lessEqual' | 'greater' | 'greaterEqual';

/** @internal Checks a binary op's operands: tensors or numbers, at least one tensor, live, on one device (`names` in the messages). */
export function operands(op: string, a: unknown, b: unknown, names: readonly [string, string] = ["operand 'a'", "operand 'b'"]): [Tensor | number, Tensor | number] {
  if (typeof a === 'number' && typeof b === 'number') fail('INVALID_ARGUMENT', `${op}: at least one operand must be a Tensor; got two numbers`);
  // checkTensor rejects anything that is neither a number nor a live Tensor.
  if (typeof a !== 'number' && !(a instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: ${names[0]} must be a Tensor or a number; got ${describe(a)}`);
  if (typeof b !== 'number' && !(b instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: ${names[1]} must be a Tensor or a number; got ${describe(b)}`);
  if (typeof a !== 'number') checkTensor(a, op, names[0]);
  if (typeof b !== 'number') checkTensor(b, op, names[1]);
  if (typeof a !== 'number' && typeof b !== 'number' && a.device !== b.device)
    fail('DEVICE_MISMATCH', `${op}: operands are on ${a.device} and ${b.device}; move one with .to('${a.device}')`);
  return [a, b];
}

// ---------------------------------------------------------------- type promotion

type DTypeName = 'int32' | 'float32' | 'float64';
const DTYPE_ORDER: Record<DTypeName, number> = { int32: 0, float32: 1, float64: 2 };
const wider = (x: DTypeName | undefined, y: DTypeName): DTypeName => (x === undefined || DTYPE_ORDER[y] > DTYPE_ORDER[x] ? y : x);
/** PyTorch's combine_categories: a higher tier keeps its dtype unless it is integral and the lower one is floating. */
const combine = (higher: DTypeName | undefined, lower: DTypeName | undefined): DTypeName | undefined =>
  higher === undefined ? lower : higher === 'int32' && lower !== undefined && lower !== 'int32' ? lower : higher;

/**
 * @internal The dtype of an op on these operands, by PyTorch's result_type:
 * tensors with dimensions decide, then 0-d tensors, then numbers, and a lower
 * tier counts only when it brings floating point to integers. A number is
 * an integer (int32) when it is integral, else a float (float32, PyTorch's
 * default dtype). So int32 + float32 → float32, float32 + float64 →
 * float64, int32 + 0.5 → float32, float32 + a 0-d float64 → float32.
 */
export function resultType(...xs: (Tensor | number)[]): DTypeName {
  let dim: DTypeName | undefined, zero: DTypeName | undefined, num: DTypeName | undefined;
  for (const v of xs) {
    if (typeof v === 'number') num = wider(num, Number.isInteger(v) ? 'int32' : 'float32');
    else if (v.rank > 0) dim = wider(dim, v.dtype as DTypeName);
    else zero = wider(zero, v.dtype as DTypeName);
  }
  return combine(dim, combine(zero, num)) ?? 'float32';
}

/** t in dtype (a recorded cast, so gradients flow back), or t itself; numbers pass through. */
function promoted(t: Tensor | number, dtype: DTypeName): Tensor | number {
  return typeof t === 'number' || t.dtype === dtype ? t : cast(t, dtype);
}

/** Runs fn on the operands promoted to dtype, freeing the promoted copies (a graph keeps its own views). */
function withPromoted<T>(a: Tensor | number, b: Tensor | number, dtype: DTypeName, fn: (a: Tensor | number, b: Tensor | number) => T): T {
  const pa = promoted(a, dtype), pb = promoted(b, dtype);
  try {
    return fn(pa, pb);
  } finally {
    // Only a promoted copy is freed (a number is never one: NaN !== NaN made this throw before).
    if (pa instanceof Tensor && pa !== a) pa.dispose();
    if (pb instanceof Tensor && pb !== b) pb.dispose();
  }
}

/** The common dtype when no promotion is needed (the usual case, checked without resultType's walk), else null. */
function commonDtype(a: Tensor | number, b: Tensor | number): DTypeName | null {
  if (typeof b === 'number') return (a as Tensor).dtype !== 'int32' || Number.isInteger(b) ? ((a as Tensor).dtype as DTypeName) : null;
  if (typeof a === 'number') return b.dtype !== 'int32' || Number.isInteger(a) ? (b.dtype as DTypeName) : null;
  return a.dtype === b.dtype ? (a.dtype as DTypeName) : null;
}

const needsPromotion = (a: Tensor | number, b: Tensor | number, dtype: DTypeName): boolean =>
  (typeof a !== 'number' && a.dtype !== dtype) || (typeof b !== 'number' && b.dtype !== dtype);

/**
 * An int32 result computed in float64 (exact for int32 operands) and brought
 * back to int32, or refused when it does not fit (antler has no int64).
 */
function int32Exact(op: string, compute: () => Tensor): Tensor {
  const wide = compute();
  try {
    // The extremes decide: two numbers read back, not the whole result.
    if (wide.size > 0)
      for (const v of tidy(() => readNumbers([extreme('min', wide, undefined, false), extreme('max', wide, undefined, false)])))
        if (!(v >= -2147483648 && v <= 2147483647))
          fail('DTYPE_MISMATCH', `${op}: the int32 result ${v} does not fit int32 (antler has no int64, and wrapping around would give a wrong number); compute in float64 instead: x.cast('float64').${op}(…)`);
    return wrap(native().cast(wide.handle, 'int32'));
  } finally {
    wide.dispose();
  }
}

/** @internal The values of a few one-element tensors, in one read (one device sync). */
export function readNumbers(ts: readonly Tensor[]): number[] {
  return tidy(() => {
    const parts = ts.map((t) => wrap(native().reshape((t.dtype === 'float64' ? t : cast(t, 'float64')).handle, [1])).handle);
    return Array.from(wrap(native().concat(parts, 0)).dataSync());
  });
}

function forwardBinary(op: BinaryName | CompareName, a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof b === 'number') return wrap(native().binaryScalar(op, (a as Tensor).handle, b, false));
  if (typeof a === 'number') return wrap(native().binaryScalar(op, b.handle, a, true));
  return wrap(native().binary(op, a.handle, b.handle));
}

/** An integer remainder or floor division by 0 is an error, as PyTorch's ZeroDivisionError (one read of b's entries). */
function checkIntDivisor(op: string, b: Tensor | number): void {
  const zero = typeof b === 'number' ? b === 0 : b.size > 0 && tidy(() => extreme('max', forwardBinary('equal', b, 0), undefined, false).item()) !== 0;
  if (zero) fail('INVALID_ARGUMENT', `${op}: integer division by zero (the divisor ${typeof b === 'number' ? 'is 0' : 'has a 0 entry'}); cast to float32 or float64 for ±inf/NaN there`);
}

function binary(op: BinaryName, aIn: Tensor | number, bIn: Tensor | number): Tensor {
  const [a0, b0] = operands(op, aIn, bIn);
  const same = commonDtype(a0, b0);
  let dtype = same ?? resultType(a0, b0);
  if (dtype === 'int32' && (op === 'remainder' || op === 'floorDivide')) checkIntDivisor(op, b0);
  if (same !== null && (same !== 'int32' || op !== 'div')) return binaryTyped(op, a0, b0);
  if (dtype === 'int32' && op === 'div') dtype = 'float32'; // true division, as torch's a / b
  return needsPromotion(a0, b0, dtype) ? withPromoted(a0, b0, dtype, (a, b) => binaryTyped(op, a, b)) : binaryTyped(op, a0, b0);
}

/** binary() on operands of one dtype (numbers fit it). */
function binaryTyped(op: BinaryName, a: Tensor | number, b: Tensor | number): Tensor {
  const out = forwardBinary(op, a, b);
  const aT = a instanceof Tensor, bT = b instanceof Tensor;
  const na = aT && (a as Tensor).requiresGrad, nb = bT && (b as Tensor).requiresGrad;
  // Nothing to record: return before building the save list and the backward closure. floorDivide is
  // piecewise constant: no gradient flows through it (PyTorch's has no derivative and fails at backward).
  if ((!na && !nb) || !isGradEnabled() || op === 'floorDivide') return out;
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
  }, save, true);
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
    case 'remainder':
      return x !== 'y' && nb;
    case 'floorDivide':
      return false;
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
      // PyTorch's rule: an operand gets the gradient unless it lost (for maximum, a < b loses a's),
      // halved on a tie; with a NaN neither lost, so both get it whole.
      // Selected, not multiplied by a 0/½/1 weight: an infinite gy reaches the loser as 0, as torch's masked_fill.
      const shared = where(forwardBinary('equal', a, b), mul(gy, 0.5), gy);
      const [aLoses, bLoses]: CompareName[] = op === 'maximum' ? ['less', 'greater'] : ['greater', 'less'];
      return pair(() => where(forwardBinary(aLoses, a, b), 0, shared), () => where(forwardBinary(bLoses, a, b), 0, shared));
    }
    case 'remainder':
      // a − b·⌊a/b⌋: d/da = 1, d/db = −⌊a/b⌋ (PyTorch's).
      return pair(() => gy, () => neg(mul(gy, binary('floorDivide', a, b))));
    case 'floorDivide':
      return [null, null];
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
/**
 * torch.remainder (Python's %): a − b·⌊a/b⌋, with the divisor's sign; exact
 * (by fmod). int32 stays int32 (a zero divisor throws, as PyTorch's).
 */
export const remainder = (a: Tensor | number, b: Tensor | number): Tensor => binary('remainder', a, b);
/**
 * torch.floor_divide (Python's //): ⌊a/b⌋, computed as ATen does (exact for
 * int32, which stays int32; a zero int32 divisor throws). No gradient flows
 * through it.
 */
export const floorDivide = (a: Tensor | number, b: Tensor | number): Tensor => binary('floorDivide', a, b);
/** a ** b elementwise; for a scalar exponent prefer the unary pow(x, p). */
export function pow(a: Tensor | number, b: Tensor | number): Tensor {
  if (a instanceof Tensor && typeof b === 'number') {
    if (a.dtype !== 'int32') return unary('pow', a, b);
    // An integer power of integers stays int32 (wrapping, as torch's; a fraction promotes); a
    // negative number has no integer value (torch refuses a negative Python int too; a tensor of
    // exponents follows its rule).
    if (Number.isInteger(b) && b < 0) fail('INVALID_ARGUMENT', `pow: integers to negative integer powers are not allowed (as in PyTorch); got the exponent ${b}; cast the base to float32 or float64 first`);
  }
  return binary('pow', a, b);
}

function compare(op: CompareName, a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands(op, a, b);
  if (commonDtype(x, y) !== null) return forwardBinary(op, x, y);
  const dtype = resultType(x, y);
  return needsPromotion(x, y, dtype) ? withPromoted(x, y, dtype, (p, q) => forwardBinary(op, p, q)) : forwardBinary(op, x, y);
}
/** 1 where a == b, else 0, in the operands' promoted dtype (no gradient). */
export const equal = (a: Tensor | number, b: Tensor | number): Tensor => compare('equal', a, b);
export const notEqual = (a: Tensor | number, b: Tensor | number): Tensor => compare('notEqual', a, b);
export const less = (a: Tensor | number, b: Tensor | number): Tensor => compare('less', a, b);
export const lessEqual = (a: Tensor | number, b: Tensor | number): Tensor => compare('lessEqual', a, b);
export const greater = (a: Tensor | number, b: Tensor | number): Tensor => compare('greater', a, b);
export const greaterEqual = (a: Tensor | number, b: Tensor | number): Tensor => compare('greaterEqual', a, b);

/**
 * cond != 0 ? a : b, broadcasting all three. a and b may be numbers, as in
 * torch.where (e.g. where(mask, logits, -Infinity)); a number takes the other
 * operand's dtype and device (cond's device when both are numbers), with
 * PyTorch's promotion. Gradients flow to the tensor operands.
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  checkTensor(cond, 'where', 'condition');
  if (typeof a !== 'number') checkTensor(a, 'where', "operand 'a'");
  if (typeof b !== 'number') checkTensor(b, 'where', "operand 'b'");
  const like = typeof a !== 'number' ? a : typeof b !== 'number' ? b : null;
  // The operands' promoted dtype, as torch.where's (two integers give int32, else float32).
  const dtype = resultType(a, b);
  const device = like ? like.device : cond.device;
  if (typeof a !== 'number' && typeof b !== 'number' && a.device !== b.device)
    fail('DEVICE_MISMATCH', `where: a is on ${a.device} and b on ${b.device}; move one with .to('${a.device}')`);
  const scalar = (v: number, what: string): Tensor => {
    if (dtype === 'int32' && !(v >= -2147483648 && v <= 2147483647))
      fail('DTYPE_MISMATCH', `where: ${what} is ${describe(v)}, outside int32's range, and the other operand is int32; cast it to float32 or float64 first`);
    return wrap(native().full([], dtype, device, v));
  };
  // Promoted tensor operands are recorded casts: the node below takes them as its inputs, so each
  // gradient goes back through its cast in its operand's own dtype.
  const at = typeof a === 'number' ? scalar(a, 'a') : (promoted(a, dtype) as Tensor);
  let bt: Tensor | undefined;
  try {
    bt = typeof b === 'number' ? scalar(b, 'b') : (promoted(b, dtype) as Tensor);
    const out = wrap(native().where(cond.handle, at.handle, bt.handle));
    const inputs: Tensor[] = [];
    if (typeof a !== 'number') inputs.push(at);
    if (typeof b !== 'number') inputs.push(bt);
    if (!inputs.length) return out;
    const aShape = at.shape, bShape = bt.shape;
    return record(out, 'where', inputs, (gy, [c]) => {
      const grads: Tensor[] = [];
      if (typeof a !== 'number') grads.push(sumToShape(where(c, gy, 0), aShape));
      if (typeof b !== 'number') grads.push(sumToShape(where(c, 0, gy), bShape));
      return grads;
    }, [cond], true);
  } finally {
    if (at !== a) at.dispose();
    if (bt !== undefined && bt !== b) bt.dispose();
  }
}

// ---------------------------------------------------------------- unary

export type UnaryName =
  | 'neg' | 'exp' | 'log' | 'tanh' | 'sigmoid' | 'relu' | 'softplus' | 'gelu' | 'sqrt' | 'abs' | 'pow' | 'clamp' | 'square' | 'reciprocal'
  | 'sin' | 'cos' | 'log1p' | 'expm1' | 'rsqrt' | 'sign' | 'floor' | 'ceil' | 'round' | 'leakyRelu' | 'elu' | 'silu'
  | 'erf' | 'erfc' | 'tan' | 'asin' | 'acos' | 'atan' | 'sinh' | 'cosh' | 'asinh' | 'acosh' | 'atanh' | 'trunc' | 'log2' | 'log10' | 'exp2';

/** @internal */
export function unary(op: UnaryName, x: Tensor, p0 = 0, p1 = 0): Tensor {
  checkTensor(x, op, 'x');
  // As PyTorch: exp, tanh, sqrt … of integers are float32 (the default dtype), and so is a clamp
  // to a fractional bound.
  const fractionalBound = op === 'clamp' && [p0, p1].some((v) => Number.isFinite(v) && !Number.isInteger(v));
  if (x.dtype === 'int32' && (!UNARY_INT.has(op) || fractionalBound)) {
    const f = wrap(native().cast(x.handle, 'float32'));
    try {
      return unary(op, f, p0, p1);
    } finally {
      f.dispose();
    }
  }
  const out = wrap(native().unary(op, x.handle, p0, p1));
  // Saves only what the formula reads (kernels/unary.h, unaryGradReadsX/Y); the backward kernel
  // does not load the other operand, so gy (same shape and dtype) stands in for it.
  const rx = UNARY_READS_X.has(op), ry = UNARY_READS_Y.has(op);
  return record(out, op, [x], (gy, saved) => {
    const sx = rx ? saved[0] : gy, sy = ry ? saved[rx ? 1 : 0] : gy;
    // Recording on means a backward that builds a graph (createGraph): the formula in recorded ops
    // (kernels/unary.h's, op by op), differentiable again; else the fused kernel.
    if (isGradEnabled()) return [unaryDerivative(op, sx, sy, gy, p0, p1)];
    return [wrap(native().unaryBackward(op, sx.handle, sy.handle, gy.handle, p0, p1))];
  }, rx && ry ? [x, out] : rx ? [x] : ry ? [out] : [], true);
}

/** The ops native kernels run on int32 (core/ops.cpp unarySupportsInt). */
const UNARY_INT: ReadonlySet<UnaryName> = new Set<UnaryName>(['neg', 'abs', 'relu', 'clamp', 'square', 'sign', 'floor', 'ceil', 'round', 'trunc']);
const UNARY_READS_X: ReadonlySet<UnaryName> = new Set<UnaryName>([
  'log', 'relu', 'softplus', 'gelu', 'abs', 'pow', 'clamp', 'square', 'sin', 'cos', 'log1p', 'leakyRelu', 'elu', 'silu',
  'erf', 'erfc', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'asinh', 'acosh', 'atanh', 'log2', 'log10',
]);
const UNARY_READS_Y: ReadonlySet<UnaryName> = new Set<UnaryName>(['exp', 'tanh', 'sigmoid', 'sqrt', 'reciprocal', 'expm1', 'rsqrt', 'tan', 'exp2']);

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** log(1 + e^x), linear above 20 (PyTorch's threshold). */
export const softplus = (x: Tensor): Tensor => unary('softplus', x);
/** @internal gelu's and nn.GELU's options checked: their `approximate` ('none' by default). */
export function geluApproximate(options: unknown, op: string): 'none' | 'tanh' {
  const approximate = checkOptions<{ approximate: 'none' | 'tanh' }>(options, op, ['approximate']).approximate ?? 'none';
  if (approximate !== 'none' && approximate !== 'tanh') fail('INVALID_ARGUMENT', `${op}: approximate must be 'none' or 'tanh' (PyTorch's); got ${describe(approximate)}`);
  return approximate;
}

/**
 * GELU, x Φ(x): exact (erf) by default, one native kernel; `{approximate:
 * 'tanh'}` is PyTorch's tanh form ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))),
 * composed from recorded ops.
 */
export function gelu(x: Tensor, options?: { approximate?: 'none' | 'tanh' }): Tensor {
  if (geluApproximate(options, 'gelu') === 'none') return unary('gelu', x);
  checkTensor(x, 'gelu', 'x');
  return tidy(() => {
    const inner = mul(add(x, mul(unary('square', x), mul(x, 0.044715))), Math.sqrt(2 / Math.PI));
    return mul(mul(x, 0.5), add(unary('tanh', inner), 1));
  });
}
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
/** Sine, x in radians. */
export const sin = (x: Tensor): Tensor => unary('sin', x);
/** Cosine, x in radians. */
export const cos = (x: Tensor): Tensor => unary('cos', x);
/** ln(1 + x), accurate for small |x|. */
export const log1p = (x: Tensor): Tensor => unary('log1p', x);
/** e^x − 1, accurate for small |x|. */
export const expm1 = (x: Tensor): Tensor => unary('expm1', x);
/** 1/√x. */
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
/** −1, 0 or 1 by the sign of x (±0 and NaN stay as they are); int32 stays int32. Gradient zero. */
export const sign = (x: Tensor): Tensor => unary('sign', x);
/** Largest integer ≤ x; int32 stays int32. Gradient zero. */
export const floor = (x: Tensor): Tensor => unary('floor', x);
/** Smallest integer ≥ x; int32 stays int32. Gradient zero. */
export const ceil = (x: Tensor): Tensor => unary('ceil', x);
/** Nearest integer, halves to even (torch.round: round(2.5) = 2, round(−0.5) = −0); int32 stays int32. Gradient zero. */
export const round = (x: Tensor): Tensor => unary('round', x);
/** The error function erf x = 2/√π ∫₀ˣ e^(−t²) dt (torch.erf). */
export const erf = (x: Tensor): Tensor => unary('erf', x);
/** 1 − erf x, accurate where erf x is near 1 (torch.erfc). */
export const erfc = (x: Tensor): Tensor => unary('erfc', x);
/** Tangent, x in radians. */
export const tan = (x: Tensor): Tensor => unary('tan', x);
/** Arcsine (radians; NaN outside [−1, 1]). */
export const asin = (x: Tensor): Tensor => unary('asin', x);
/** Arccosine (radians; NaN outside [−1, 1]). */
export const acos = (x: Tensor): Tensor => unary('acos', x);
/** Arctangent (radians). */
export const atan = (x: Tensor): Tensor => unary('atan', x);
export const sinh = (x: Tensor): Tensor => unary('sinh', x);
export const cosh = (x: Tensor): Tensor => unary('cosh', x);
export const asinh = (x: Tensor): Tensor => unary('asinh', x);
/** Inverse hyperbolic cosine (NaN below 1). */
export const acosh = (x: Tensor): Tensor => unary('acosh', x);
/** Inverse hyperbolic tangent (±∞ at ±1, NaN beyond). */
export const atanh = (x: Tensor): Tensor => unary('atanh', x);
/** x rounded toward zero (torch.trunc); int32 stays int32. Gradient zero. */
export const trunc = (x: Tensor): Tensor => unary('trunc', x);
export const log2 = (x: Tensor): Tensor => unary('log2', x);
export const log10 = (x: Tensor): Tensor => unary('log10', x);
/** 2^x. */
export const exp2 = (x: Tensor): Tensor => unary('exp2', x);
/** x > 0 ? x : negativeSlope · x (PyTorch's default slope 0.01). */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope))
    fail('INVALID_ARGUMENT', `leakyRelu: negativeSlope must be a finite number; got ${describe(negativeSlope)}`);
  return unary('leakyRelu', x, negativeSlope);
}
/** x > 0 ? x : alpha · (e^x − 1). */
export function elu(x: Tensor, alpha = 1): Tensor {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha))
    fail('INVALID_ARGUMENT', `elu: alpha must be a finite number; got ${describe(alpha)}`);
  return unary('elu', x, alpha);
}
/** x · σ(x) (SiLU, also called swish). */
export const silu = (x: Tensor): Tensor => unary('silu', x);
/** min(max(x, lo), hi); either bound may be omitted. With lo > hi every element is hi (torch.clamp). */
export function clamp(x: Tensor, lo = -Infinity, hi = Infinity): Tensor {
  if (typeof lo !== 'number' || typeof hi !== 'number' || Number.isNaN(lo) || Number.isNaN(hi))
    fail('INVALID_ARGUMENT', `clamp: bounds must be numbers; got ${describe(lo)} and ${describe(hi)}`);
  return unary('clamp', x, lo, hi);
}

// ---------------------------------------------------------------- reductions

/** @internal */
export function normAxes(x: Tensor, axis: number | readonly number[] | undefined, op: string): number[] {
  if (axis === undefined) return [];
  const list = Array.isArray(axis) ? axis : [axis];
  const rank = Math.max(1, x.rank);
  const seen = new Set<number>();
  for (const a of list) {
    if (typeof a !== 'number' || !Number.isInteger(a)) fail('INVALID_ARGUMENT', `${op}: axis must be an integer; got ${describe(a)}`);
    if (a < -rank || a >= rank) fail('INVALID_ARGUMENT', `${op}: axis ${a} is out of range for a tensor of rank ${x.rank}`);
    // Here rather than in the native reduction, so that an op built on sum or max names itself.
    if (seen.has(a < 0 ? a + rank : a)) fail('INVALID_ARGUMENT', `${op}: axis ${a} is listed twice`);
    seen.add(a < 0 ? a + rank : a);
  }
  return [...list];
}

/** @internal The number of elements each result of a reduction over `axes` (normAxes') sums: all of x when none are given; a scalar's axis 0 holds its one element. */
export function reducedCount(x: Tensor, axes: readonly number[]): number {
  return axes.length && x.rank > 0 ? axes.reduce((acc, a) => acc * x.shape[a < 0 ? a + x.rank : a], 1) : x.size;
}

/** keepDims is the third positional argument, a boolean (TF.js's order), not an options object. */
export function checkKeepDims(v: unknown, op: string): boolean {
  if (typeof v === 'boolean') return v;
  const hint = v !== null && typeof v === 'object' && 'keepDims' in v ? ` (pass it as the boolean itself: ${op}(x, axis, true))` : '';
  fail('INVALID_ARGUMENT', `${op}: the third argument, keepDims, must be a boolean; got ${describe(v)}${hint}`);
}

/** @internal */
export function keptShape(x: Tensor, axes: number[]): number[] {
  if (!axes.length) return x.shape.map(() => 1);
  const norm = axes.map((a) => (a < 0 ? a + x.rank : a));
  return x.shape.map((d, i) => (norm.includes(i) ? 1 : d));
}

/** Sum over axis (all axes by default), accumulated in double precision. */
export function sum(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  checkTensor(x, 'sum', 'x');
  const axes = normAxes(x, axis, 'sum');
  checkKeepDims(keepDims, 'sum');
  if (x.dtype === 'int32') return int32Sum(x, axes, keepDims);
  const out = wrap(native().reduce('sum', x.handle, axes, keepDims));
  return record(out, 'sum', [x], (gy) => {
    // A scalar gy (a sum over everything) broadcasts as it is; otherwise its reduced axes come back as 1s first.
    // Recorded ops only when the backward builds a graph (see sumToShape).
    if (!isGradEnabled()) {
      const g = gy.rank === 0 ? gy : wrap(native().reshape(gy.handle, keptShape(x, axes)));
      return [wrap(native().broadcastTo(g.handle, x.shape.slice()))];
    }
    const g = gy.rank === 0 ? gy : reshape(gy, keptShape(x, axes));
    return [broadcastTo(g, x.shape)];
  }, [], true);
}

/**
 * An int32 sum, exact or refused: PyTorch sums int32 into int64, which antler
 * lacks, so the sums are taken in float64 (exact below 2^53) and one that
 * does not fit int32 throws instead of wrapping around. Reads the result
 * (a device sync on CUDA).
 */
function int32Sum(x: Tensor, axes: number[], keepDims: boolean): Tensor {
  return int32Exact('sum', () => {
    const wide = wrap(native().cast(x.handle, 'float64'));
    try {
      return wrap(native().reduce('sum', wide.handle, axes, keepDims));
    } finally {
      wide.dispose();
    }
  });
}

/** Mean over axis (all axes by default). */
export function mean(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  checkTensor(x, 'mean', 'x');
  const axes = normAxes(x, axis, 'mean');
  checkKeepDims(keepDims, 'mean');
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', 'mean: int32 input; cast to float32 or float64 first');
  const count = reducedCount(x, axes);
  // The sum is an intermediate: freed here, so mean outside tidy() leaves only its result (the graph keeps its own reference).
  const total = sum(x, axis, keepDims);
  const out = div(total, count);
  total.dispose();
  return out;
}

function extreme(op: 'max' | 'min', x: Tensor, axis: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  checkTensor(x, op, 'x');
  const axes = normAxes(x, axis, op);
  checkKeepDims(keepDims, op);
  const out = wrap(native().reduce(op, x.handle, axes, keepDims));
  return record(out, op, [x], (gy, [sx, sy]) => {
    // Ties share the gradient evenly (PyTorch's amax/amin); where the result is NaN, the NaN
    // elements share it (torch.max's evenly_distribute_backward) rather than NaN reaching all.
    const shape = keptShape(x, axes);
    const yk = wrap(native().reshape(sy.handle, shape));
    const gk = reshape(gy, shape);
    // The mask and count are constants (comparisons), so only gk carries a graph (createGraph).
    const mask = maximum(equal(sx, yk), mul(notEqual(sx, sx), notEqual(yk, yk)));
    const count = sum(mask, axes.length ? axes : undefined, true);
    return [mul(mask, div(gk, count))];
  }, [x, out], true);
}

export const max = (x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor => extreme('max', x, axis, keepDims);
export const min = (x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor => extreme('min', x, axis, keepDims);

/**
 * Cumulative sum along `axis` (torch.cumsum, tf.cumsum): out[…, i, …] = Σ_{j ≤ i} x[…, j, …].
 * `axis` defaults to 0, as TensorFlow.js's (torch requires it); negative axes count from the end,
 * and a 0-d tensor takes 0 or −1. `exclusive` sums j < i (the first element is 0), `reverse` sums
 * from the end (j ≥ i, or j > i with exclusive). Accumulates in double, output in x's dtype.
 * int32 sums are exact (taken in float64) or refused with DTYPE_MISMATCH when a partial sum
 * leaves int32's range (torch returns int64, which antler lacks); int32 has no gradient.
 * The gradient is the cumsum of the output gradient in the other direction.
 */
export function cumsum(x: Tensor, axis = 0, options?: { exclusive?: boolean; reverse?: boolean }): Tensor {
  checkTensor(x, 'cumsum', 'x');
  if (!Number.isInteger(axis)) fail('INVALID_ARGUMENT', `cumsum: axis must be an integer; got ${describe(axis)}`);
  const o = checkOptions<{ exclusive: boolean; reverse: boolean }>(options, 'cumsum', ['exclusive', 'reverse']);
  const exclusive = o.exclusive === undefined ? false : checkBoolean(o.exclusive, 'cumsum', 'exclusive');
  const reverse = o.reverse === undefined ? false : checkBoolean(o.reverse, 'cumsum', 'reverse');
  if (x.dtype === 'int32') return int32Cumulative('sum', x, axis, exclusive, reverse);
  const out = wrap(native().cumulative('sum', x.handle, axis, exclusive, reverse));
  return record(out, 'cumsum', [x], (gy) => [cumsum(gy, axis, { exclusive, reverse: !reverse })], [], true);
}

/**
 * An int32 cumsum or cumprod, exact or refused, as int32Sum: the partial sums or products taken in
 * float64 (exact below 2^53; a product past int32's range is refused before it could round).
 */
function int32Cumulative(op: 'sum' | 'prod', x: Tensor, axis: number, exclusive: boolean, reverse: boolean): Tensor {
  return int32Exact(op === 'sum' ? 'cumsum' : 'cumprod', () => {
    const wide = wrap(native().cast(x.handle, 'float64'));
    try {
      return wrap(native().cumulative(op, wide.handle, axis, exclusive, reverse));
    } finally {
      wide.dispose();
    }
  });
}

/**
 * Cumulative product along `axis` (torch.cumprod): out[…, i, …] = Π_{j ≤ i} x[…, j, …], with
 * cumsum's `axis` default (0) and its `exclusive` (Π_{j < i}, the first element 1) and `reverse`
 * options. Accumulates in double, output in x's dtype; int32 exact or refused, as cumsum's.
 * The gradient is computed without dividing by x (one pass each way along the axis), so zeros
 * in x get the exact gradient, as PyTorch's.
 */
export function cumprod(x: Tensor, axis = 0, options?: { exclusive?: boolean; reverse?: boolean }): Tensor {
  checkTensor(x, 'cumprod', 'x');
  if (!Number.isInteger(axis)) fail('INVALID_ARGUMENT', `cumprod: axis must be an integer; got ${describe(axis)}`);
  const o = checkOptions<{ exclusive: boolean; reverse: boolean }>(options, 'cumprod', ['exclusive', 'reverse']);
  const exclusive = o.exclusive === undefined ? false : checkBoolean(o.exclusive, 'cumprod', 'exclusive');
  const reverse = o.reverse === undefined ? false : checkBoolean(o.reverse, 'cumprod', 'reverse');
  if (x.dtype === 'int32') return int32Cumulative('prod', x, axis, exclusive, reverse);
  const out = wrap(native().cumulative('prod', x.handle, axis, exclusive, reverse));
  return record(out, 'cumprod', [x], (gy, [sx]) => [
    // Building a graph: the same gradient from recorded ops (a scan), so it is differentiable again.
    isGradEnabled() ? cumprodDerivative(sx, gy, axis, exclusive, reverse) : wrap(native().cumprodBackward(sx.handle, gy.handle, axis, exclusive, reverse)),
  ], [x], true);
}

/**
 * Product over axis (all axes by default; torch.prod, tf.prod), accumulated in double; an empty
 * reduction gives 1. int32 products are exact or refused with DTYPE_MISMATCH when they leave
 * int32's range (taken in float64: torch returns int64, which antler lacks). The gradient of
 * each element is the product of the others in its reduction, computed without division (an
 * exclusive cumprod from each end), so zeros get the exact gradient as in PyTorch, and an
 * infinity its true partial derivative where PyTorch's result/x gives NaN.
 */
export function prod(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  checkTensor(x, 'prod', 'x');
  const axes = normAxes(x, axis, 'prod');
  checkKeepDims(keepDims, 'prod');
  if (x.dtype === 'int32')
    return int32Exact('prod', () =>
      tidy(() => {
        const wide = wrap(native().cast(x.handle, 'float64'));
        // A zero factor makes the product 0 even after the running product overflowed (∞ · 0 is NaN).
        const hasZero = wrap(native().reduce('sum', equal(wide, 0).handle, axes, keepDims));
        return where(hasZero, 0, wrap(native().reduce('prod', wide.handle, axes, keepDims)));
      }),
    );
  const out = wrap(native().reduce('prod', x.handle, axes, keepDims));
  return record(out, 'prod', [x], (gy, [sx]) => {
    const g = gy.rank === 0 ? gy : reshape(gy, keptShape(x, axes));
    return [mul(g, othersProduct(sx, axes))];
  }, [x], true);
}

/**
 * For each element of x, the product of the other elements of its reduction
 * over axes (all when empty): prod's gradient. Taken in float64 for float32
 * (as the forward's accumulator), so partial products outside float32's
 * range do not overflow or underflow on the way.
 */
function othersProduct(x: Tensor, axes: readonly number[]): Tensor {
  // Building a graph (a second derivative): recorded casts and cumprods, differentiable again.
  const graph = isGradEnabled();
  if (x.dtype === 'float32')
    return graph ? cast(othersProduct(cast(x, 'float64'), axes), 'float32') : tidy(() => wrap(native().cast(othersProduct(wrap(native().cast(x.handle, 'float64')), axes).handle, 'float32')));
  if (x.rank === 0) return wrap(native().full([], x.dtype, x.device, 1));
  const reduced = (axes.length ? axes.map((a) => (a < 0 ? a + x.rank : a)) : x.shape.map((_, i) => i)).sort((a, b) => a - b);
  const both = (t: Tensor, axis: number): Tensor =>
    graph
      ? mul(cumprod(t, axis, { exclusive: true }), cumprod(t, axis, { exclusive: true, reverse: true }))
      : mul(wrap(native().cumulative('prod', t.handle, axis, true, false)), wrap(native().cumulative('prod', t.handle, axis, true, true)));
  if (reduced.length === 1) return both(x, reduced[0]);
  // Several axes: bring them last, as one axis, and back.
  const kept = x.shape.map((_, i) => i).filter((i) => !reduced.includes(i));
  const perm = [...kept, ...reduced];
  const moved = permute(x, perm);
  const flat = reshape(moved, [...kept.map((i) => x.shape[i]), reduced.reduce((n, i) => n * x.shape[i], 1)]);
  const back = reshape(both(flat, -1), moved.shape);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return permute(back, inverse);
}

// ---------------------------------------------------------------- shape

/** A view with a new shape (one dim may be -1). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, 'reshape', 'x');
  if (!Array.isArray(shape)) fail('INVALID_ARGUMENT', `reshape: shape must be an array of integers; got ${describe(shape)}`);
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < -1) fail('INVALID_ARGUMENT', `reshape: shape[${i}] must be an integer >= -1; got ${describe(d)}`);
  });
  const out = wrap(native().reshape(x.handle, shape.slice()));
  return record(out, 'reshape', [x], (gy) => [isGradEnabled() ? reshape(gy, x.shape) : wrap(native().reshape(gy.handle, x.shape.slice()))], [], true);
}

/** x itself when it already has `shape`, else reshape(x, shape) (for backward functions, which run under noGrad). */
function reshapeIfNeeded(x: Tensor, shape: readonly number[]): Tensor {
  return sameShape(x.shape, shape) ? x : reshape(x, shape);
}

/** Reorders axes (perm[i] is the input axis that becomes axis i). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  checkTensor(x, 'permute', 'x');
  if (!Array.isArray(perm)) fail('INVALID_ARGUMENT', `permute: perm must be an array of axes; got ${describe(perm)}`);
  const out = wrap(native().permute(x.handle, perm.slice()));
  const norm = perm.map((a) => (a < 0 ? a + x.rank : a));
  const inverse = norm.map((_, i) => norm.indexOf(i));
  return record(out, 'permute', [x], (gy) => [permute(gy, inverse)], [], true);
}

/** Swaps two axes (the last two by default); a copy, like TensorFlow.js's transpose. */
export function transpose(x: Tensor, dim0In?: number, dim1In?: number): Tensor {
  checkTensor(x, 'transpose', 'x');
  // Both dims or neither (the last two): one alone would be swapped with the last axis, silently.
  if ((dim0In === undefined) !== (dim1In === undefined))
    fail('INVALID_ARGUMENT', `transpose: give both dims to swap (transpose(x, 0, 1)), or none for the last two; got ${describe(dim0In)} and ${describe(dim1In)}`);
  const dim0 = dim0In ?? -2, dim1 = dim1In ?? -1;
  if (!Number.isInteger(dim0) || !Number.isInteger(dim1)) fail('INVALID_ARGUMENT', `transpose: dims must be integers; got ${describe(dim0)} and ${describe(dim1)}`);
  if (x.rank < 2 && dim0 === -2 && dim1 === -1) return reshape(x, x.shape.slice());
  // A scalar's only axis is 0 (or −1), as PyTorch's wrap_dim: swapping it with itself is the scalar.
  if (x.rank === 0 && [dim0, dim1].every((d) => d === 0 || d === -1)) return reshape(x, []);
  const perm = x.shape.map((_, i) => i);
  const a = dim0 < 0 ? dim0 + x.rank : dim0, b = dim1 < 0 ? dim1 + x.rank : dim1;
  if (!(a >= 0 && a < x.rank && b >= 0 && b < x.rank)) fail('INVALID_ARGUMENT', `transpose: dims ${dim0}, ${dim1} out of range for rank ${x.rank}`);
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

/** TensorFlow.js-style slice: begin per dim, size per dim (−1 = to the end). */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  checkTensor(x, 'slice', 'x');
  if (!Array.isArray(begin)) fail('INVALID_ARGUMENT', `slice: begin must be an array; got ${describe(begin)}`);
  if (size !== undefined && !Array.isArray(size)) fail('INVALID_ARGUMENT', `slice: size must be an array (−1 = to the end) or absent; got ${describe(size)}`);
  for (const [what, list] of [['begin', begin], ['size', size ?? []]] as const)
    if (list.length > x.rank)
      fail('INVALID_ARGUMENT', `slice: ${what} has ${list.length} entries ([${list.map(describe).join(', ')}]) for a tensor of rank ${x.rank} (shape [${x.shape.join(', ')}]); expected at most ${x.rank}`);
  const b = x.shape.map((_, i) => (i < begin.length ? begin[i] : 0));
  const s = x.shape.map((_, i) => (size && i < size.length ? size[i] : -1));
  const out = wrap(native().slice(x.handle, b, s));
  return record(out, 'slice', [x], (gy) => [sliceBackward(gy, x.shape, b)], [], true);
}

/**
 * @internal slice()'s gradient: gy placed at `begin` in zeros of `shape`, one native copy; recorded (its own
 * gradient is the slice back). Also pad()'s zero padding and the convolutions' padded input.
 */
export function sliceBackward(gy: Tensor, shape: readonly number[], begin: number[]): Tensor {
  const out = wrap(native().sliceBackward(gy.handle, shape.slice(), begin));
  return record(out, 'sliceBackward', [gy], (g) => [slice(g, begin, gy.shape)], [], true);
}

/** Reverses the order of elements along the given axes (torch.flip). */
export function flip(x: Tensor, axes: number | readonly number[]): Tensor {
  checkTensor(x, 'flip', 'x');
  const ax = typeof axes === 'number' ? [axes] : axes;
  if (!Array.isArray(ax) || !ax.every((a) => Number.isInteger(a))) fail('INVALID_ARGUMENT', `flip: axes must be an integer or an array of integers; got ${describe(axes)}`);
  const out = wrap(native().flip(x.handle, ax));
  return record(out, 'flip', [x], (gy) => [flip(gy, ax)], [], true);
}

/**
 * Joins tensors along an existing axis (torch.cat). As torch.cat (1.13), a 1-D tensor of shape [0] is
 * skipped whatever the others' rank and the axis (`concat([empty [0], x])` is a copy of x): it takes part in
 * the dtype promotion only, and its gradient is zeros of shape [0]. The axis is checked against the
 * tensors that are not skipped; when all are, the result is of shape [0].
 */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs as unknown) || xs.length === 0) fail('INVALID_ARGUMENT', `concat: expected a non-empty array of tensors; got ${describe(xs)}`);
  xs.forEach((t, i) => checkTensor(t, 'concat', `tensors[${i}]`));
  // Mixed dtypes promote as torch.cat's (recorded casts, so gradients go back in each input's dtype).
  const dtype = xs.every((t) => t.dtype === xs[0].dtype) ? null : resultType(...xs);
  if (dtype !== null) {
    const alike = xs.map((t) => promoted(t, dtype) as Tensor);
    try {
      return concat(alike, axis);
    } finally {
      alike.forEach((t, i) => t !== xs[i] && t.dispose());
    }
  }
  if (xs.some(skippedByCat)) return concatSkipping(xs, axis);
  const out = wrap(native().concat(xs.map((t) => t.handle), axis));
  const ax = axis < 0 ? axis + xs[0].rank : axis;
  return record(out, 'concat', xs, (gy) => {
    let at = 0;
    return xs.map((t) => {
      const begin = t.shape.map((_, i) => (i === ax ? at : 0));
      at += t.shape[ax];
      return slice(gy, begin, t.shape);
    });
  }, [], true);
}

/** torch.cat's legacy rule: a 1-D tensor of no elements is left out (its shape needs to match nothing). */
function skippedByCat(t: Tensor): boolean {
  return t.rank === 1 && t.shape[0] === 0;
}

/** concat() of tensors of one dtype, some of them skipped (1-D, shape [0]): the others' concat; zeros [0] the skipped ones' gradients. */
function concatSkipping(xs: readonly Tensor[], axis: number): Tensor {
  if (typeof axis !== 'number' || !Number.isInteger(axis)) fail('INVALID_ARGUMENT', `concat: axis must be an integer; got ${describe(axis)}`);
  xs.forEach((t, i) => {
    if (t.device !== xs[0].device) fail('DEVICE_MISMATCH', `concat: tensors[${i}] is on ${t.device} and tensors[0] on ${xs[0].device}; move one with .to()`);
  });
  const kept = xs.map((t, i) => [t, i] as const).filter(([t]) => !skippedByCat(t));
  let out: Tensor;
  let ax = 0;
  if (kept.length === 0) {
    // All skipped: torch.cat gives shape [0] whatever the axis.
    out = wrap(native().concat([xs[0].handle], 0));
  } else {
    const [first, i0] = kept[0];
    const rank = first.rank;
    ax = axis < 0 ? axis + rank : axis;
    if (rank === 0) fail('INVALID_ARGUMENT', `concat: tensors[${i0}] is 0-d; scalars cannot be concatenated, reshape them to [1] first`);
    if (!(ax >= 0 && ax < rank)) fail('INVALID_ARGUMENT', `concat: axis ${axis} is out of range for tensors of rank ${rank} (tensors[${i0}] has shape ${shapeText(first.shape)}; 1-D tensors of shape [0] are skipped); expected ${-rank} to ${rank - 1}`);
    for (const [t, i] of kept)
      if (t.rank !== rank || t.shape.some((d, k) => k !== ax && d !== first.shape[k]))
        fail('SHAPE_MISMATCH', `concat: tensors[${i}] has shape ${shapeText(t.shape)} and tensors[${i0}] ${shapeText(first.shape)}; all dims but axis ${ax} must match (1-D tensors of shape [0] are skipped)`);
    out = wrap(native().concat(kept.map(([t]) => t.handle), ax));
  }
  return record(out, 'concat', xs, (gy) => {
    let at = 0;
    return xs.map((t) => {
      if (skippedByCat(t)) return zeros([0], { dtype: t.dtype, device: t.device });
      const begin = t.shape.map((_, i) => (i === ax ? at : 0));
      at += t.shape[ax];
      return slice(gy, begin, t.shape);
    });
  }, [], true);
}

/** Joins tensors of one shape along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs as unknown) || xs.length === 0) fail('INVALID_ARGUMENT', `stack: expected a non-empty array of tensors; got ${describe(xs)}`);
  xs.forEach((t, i) => checkTensor(t, 'stack', `tensors[${i}]`));
  const rank = xs[0].rank;
  if (typeof axis !== 'number' || !Number.isInteger(axis)) fail('INVALID_ARGUMENT', `stack: axis must be an integer; got ${describe(axis)}`);
  const ax = axis < 0 ? axis + rank + 1 : axis;
  if (!(ax >= 0 && ax <= rank)) fail('INVALID_ARGUMENT', `stack: axis ${axis} is out of range for tensors of rank ${rank}`);
  if (rank >= 8) fail('INVALID_ARGUMENT', `stack: tensors of rank ${rank} would stack to rank ${rank + 1}; at most 8 dims are supported`);
  // What concat would refuse, refused before the expanded views exist (they would be left behind);
  // mixed dtypes promote there (torch.stack's).
  xs.forEach((t, i) => {
    if (!sameShape(t.shape, xs[0].shape)) fail('SHAPE_MISMATCH', `stack: tensors[${i}] has shape [${t.shape.join(', ')}] and tensors[0] [${xs[0].shape.join(', ')}]; stacked tensors need one shape`);
    if (t.device !== xs[0].device) fail('DEVICE_MISMATCH', `stack: tensors[${i}] is on ${t.device} and tensors[0] on ${xs[0].device}; move one with .to()`);
  });
  const expanded = xs.map((t) => reshape(t, [...t.shape.slice(0, ax), 1, ...t.shape.slice(ax)]));
  const out = concat(expanded, ax);
  for (const e of expanded) e.dispose();
  return out;
}

/** Repeats along broadcast dims to `shape` (a copy). */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, 'broadcastTo', 'x');
  // −1 keeps x's size on that axis (torch's expand); not on an axis x does not have.
  let target = shape;
  if (Array.isArray(shape) && shape.includes(-1)) {
    const lead = shape.length - x.rank;
    target = shape.map((d, i) => {
      if (d !== -1) return d;
      if (i < lead) fail('INVALID_ARGUMENT', `broadcastTo: shape[${i}] is −1 (keep x's size) on a new leading axis of ${shapeText(shape)}; x ${shapeText(x.shape)} has no size to keep there`);
      return x.shape[i - lead];
    });
  }
  const out = wrap(native().broadcastTo(x.handle, checkShape(target, 'broadcastTo')));
  return record(out, 'broadcastTo', [x], (gy) => [sumToShape(gy, x.shape)], [], true);
}

/** A copy with its own storage. */
export function clone(x: Tensor): Tensor {
  const out = wrap(native().clone(checkTensor(x, 'clone', 'x').handle));
  return record(out, 'clone', [x], (gy) => [clone(gy)], [], true);
}

/** A copy on another device; gradients flow back to the source device. */
export function toDevice(x: Tensor, device: string): Tensor {
  const out = wrap(native().to(checkTensor(x, 'to', 'x').handle, device));
  return record(out, 'to', [x], (gy) => [toDevice(gy, x.device)], [], true);
}

/** A copy in another dtype; gradients are cast back (none for int32). */
export function cast(x: Tensor, dtype: string): Tensor {
  const out = wrap(native().cast(checkTensor(x, 'cast', 'x').handle, dtype));
  if (out.dtype === 'int32') return out;
  return record(out, 'cast', [x], (gy) => [cast(gy, x.dtype)], [], true);
}

// ---------------------------------------------------------------- matmul

/**
 * Matrix product with PyTorch's semantics: 1-D operands are promoted, batch
 * dims broadcast. transposeA/B transpose the last two dims of an operand.
 */
export function matmul(a: Tensor, b: Tensor, options?: { transposeA?: boolean; transposeB?: boolean }): Tensor {
  const o = checkOptions<{ transposeA: boolean; transposeB: boolean }>(options, 'matmul', ['transposeA', 'transposeB']);
  checkTensor(a, 'matmul', "operand 'a'");
  checkTensor(b, 'matmul', "operand 'b'");
  const tA = o.transposeA === undefined ? false : checkBoolean(o.transposeA, 'matmul', 'transposeA');
  const tB = o.transposeB === undefined ? false : checkBoolean(o.transposeB, 'matmul', 'transposeB');
  // [..., m, k] @ a shared [k, n]: one GEMM over all the rows, so that the
  // backward's gradient for b is one GEMM too, not a [batch, k, n] product
  // summed over the batch. Mismatched shapes go on to the native check.
  if (a.rank > 2 && b.rank === 2 && !tA && a.shape[a.rank - 1] === b.shape[tB ? 1 : 0]) {
    const lead = a.shape.slice(0, -1);
    const rows = numel(lead);
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
    // The recorded matmul when the backward builds a graph; else the native one directly.
    const mm = isGradEnabled()
      ? (x: Tensor, y: Tensor, ta: boolean, tb: boolean) => matmul(x, y, { transposeA: ta, transposeB: tb })
      : (x: Tensor, y: Tensor, ta: boolean, tb: boolean) => wrap(native().matmul(x.handle, y.handle, ta, tb));
    const ga = needA ? reshapeIfNeeded(sumToShape(tA ? mm(b2!, g2, tB, true) : mm(g2, b2!, false, !tB), a2Shape), aShape) : null;
    const gb = needB ? reshapeIfNeeded(sumToShape(tB ? mm(g2, a2!, true, tA) : mm(a2!, g2, !tA, false), b2Shape), bShape) : null;
    return [ga, gb];
  }, save, true);
}
