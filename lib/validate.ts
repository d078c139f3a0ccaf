/** Argument checks shared by every public function (the native side checks again). */
import { fail } from './errors';

export type DType = 'float32' | 'float64' | 'int32';
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32'];

/** The number of elements of a shape (1 for a scalar's []). */
export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v)) {
    const shown = smallArray(v, 2);
    return shown === null ? `an array of length ${v.length}` : `an array ${shown}`;
  }
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') {
    // Instances of a class by its name (a Tensor, a Linear, an Adam); plain objects as 'an object'.
    const name = (v as object).constructor?.name;
    if (!name || name === 'Object') return 'an object';
    return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
  }
  return String(v);
}

/**
 * A short array of numbers, strings, booleans, null or undefined (or of such
 * arrays, to `depth` levels) as its contents, [-1, 0]: what was passed reads
 * better than its length. Null when it is empty, long or holds anything else.
 */
function smallArray(v: readonly unknown[], depth: number): string | null {
  if (v.length === 0 || v.length > 8 || depth === 0) return null;
  const parts: string[] = [];
  for (let i = 0; i < v.length; i++) {
    // A hole, or an element whose getter throws (a Proxy): described by the length instead.
    if (!(i in v)) return null;
    let e: unknown;
    try {
      e = v[i];
    } catch {
      return null;
    }
    if (typeof e === 'string' && e.length > 24) return null;
    if (Array.isArray(e)) {
      const inner = smallArray(e, depth - 1);
      if (inner === null) return null;
      parts.push(inner);
    } else if (e === null || e === undefined || ['number', 'string', 'boolean', 'bigint'].includes(typeof e)) parts.push(describe(e));
    else return null;
  }
  return `[${parts.join(', ')}]`;
}

/** A shape as messages print it: [2, 3]. */
export const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** The broadcast of shapes (numpy rules), or null when they do not broadcast. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] | null {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes)
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i, d = s[i];
      if (d === out[j] || d === 1) continue;
      if (out[j] !== 1) return null;
      out[j] = d;
    }
  return out;
}

export function checkDtype(v: unknown, op: string): DType {
  if (typeof v !== 'string' || !(DTYPES as readonly string[]).includes(v))
    fail('INVALID_ARGUMENT', `${op}: dtype must be one of 'float32', 'float64', 'int32'; got ${describe(v)}`);
  return v as DType;
}

export function checkDevice(v: unknown, op: string): string {
  if (typeof v === 'string') {
    if (v === 'cpu') return 'cpu';
    if (v === 'cuda') return 'cuda:0';
    if (/^cuda:\d{1,3}$/.test(v)) return `cuda:${Number(v.slice(5))}`;
  }
  fail('INVALID_ARGUMENT', `${op}: device must be 'cpu', 'cuda' or 'cuda:N'; got ${describe(v)}`);
}

export function checkShape(v: unknown, op: string, what = 'shape'): number[] {
  if (!Array.isArray(v))
    fail('INVALID_ARGUMENT', `${op}: ${what} must be an array of non-negative integers; got ${describe(v)}${typeof v === 'number' && Number.isInteger(v) && v >= 0 ? ` (as an array: [${v}])` : ''}`);
  if (v.length > 8) fail('INVALID_ARGUMENT', `${op}: ${what} has ${v.length} dims; at most 8 are supported`);
  let count = 1;
  v.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      fail('INVALID_ARGUMENT', `${op}: ${what}[${i}] must be a non-negative integer; got ${describe(d)} in [${v.map(describe).join(', ')}]`);
    count *= d;
  });
  if (count > 2 ** 40) fail('INVALID_ARGUMENT', `${op}: ${what} [${v.join(', ')}] has more than 2^40 elements`);
  return v.slice();
}

/**
 * One axis of x in [−rank, rank), normalised (rank max(1, x.rank) unless given: a 0-d tensor takes 0
 * and −1, as PyTorch's wrap_dim); INVALID_ARGUMENT naming `what` and x's shape otherwise.
 */
export function checkAxis(x: { readonly rank: number; readonly shape: readonly number[] }, axis: unknown, op: string, rank = Math.max(1, x.rank), what = 'axis'): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank)
    fail('INVALID_ARGUMENT', `${op}: ${what} must be an integer in [${-rank}, ${rank}) for a tensor of shape ${shapeText(x.shape)}; got ${describe(axis)}`);
  return axis < 0 ? axis + rank : axis;
}

export function checkNumber(v: unknown, op: string, what: string): number {
  if (typeof v !== 'number') fail('INVALID_ARGUMENT', `${op}: ${what} must be a number; got ${describe(v)}`);
  return v;
}

export function checkFinite(v: unknown, op: string, what: string): number {
  const n = checkNumber(v, op, what);
  if (!Number.isFinite(n)) fail('INVALID_ARGUMENT', `${op}: ${what} must be finite; got ${describe(v)}`);
  return n;
}

export function checkInteger(v: unknown, op: string, what: string, min = 0): number {
  const n = checkNumber(v, op, what);
  if (!Number.isSafeInteger(n) || n < min) fail('INVALID_ARGUMENT', `${op}: ${what} must be an integer >= ${min}; got ${describe(v)}`);
  return n;
}

/** An integer that an int32 tensor can hold, [−2^31, 2^31): `why` says what makes it int32. */
export function checkInt32(v: unknown, op: string, what: string, why: string): number {
  const n = checkNumber(v, op, what);
  if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: ${what} must be an integer in [-2^31, 2^31) (${why}); got ${describe(v)}`);
  return n;
}

export function checkBoolean(v: unknown, op: string, what: string): boolean {
  if (typeof v !== 'boolean') fail('INVALID_ARGUMENT', `${op}: ${what} must be a boolean; got ${describe(v)}`);
  return v;
}

/**
 * Throws INVALID_ARGUMENT for the first key of `v` not in `allowed`, listing
 * the allowed ones. `where` places the option (' in parameter group 1');
 * `prefix` qualifies its name ('deer.' for a nested options object).
 */
export function checkKnownKeys(v: object, op: string, allowed: readonly string[], where = '', prefix = ''): void {
  for (const key of Object.keys(v))
    if (!allowed.includes(key))
      fail('INVALID_ARGUMENT', `${op}: unknown option '${prefix}${key}'${where}; expected one of ${allowed.map((k) => `'${k}'`).join(', ')}`);
}

/** Options must be undefined or a plain object; returns {} for undefined. */
export function checkOptions<T extends object>(v: unknown, op: string, allowed: readonly string[]): Partial<T> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v))
    fail('INVALID_ARGUMENT', `${op}: options must be an object; got ${describe(v)}`);
  checkKnownKeys(v, op, allowed);
  return v as Partial<T>;
}
