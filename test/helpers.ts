/**
 * Shared test helpers: a seeded PRNG for fresh inputs, float64 references
 * written independently of the library, a JavaScript Philox4x32-10, and
 * the checks suites share: expected AntlerErrors and memory baselines.
 *
 * Every suite draws its inputs from `makeRng()`, whose seed comes from the
 * clock and the OS unless ANTLER_TEST_SEED is set; suites put the seed in
 * their describe() title so a failure names the seed that reproduces it.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { AntlerError, ErrorCode, Tensor } from '../lib'; // types only: erased

export type Num = ArrayLike<number>;

// Jest runs each suite in a vm context that lacks Node's Symbol.dispose;
// give it the registered symbol so `using` works as it does in plain Node.
// Suites that use `using` import this file before the library.
if (typeof (Symbol as { dispose?: symbol }).dispose !== 'symbol')
  Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('nodejs.dispose'), configurable: true });

/**
 * The class name of a typed array. The addon creates typed arrays in Node's
 * main realm, so `instanceof` against a jest context's constructors fails.
 */
export function typeName(x: unknown): string {
  return Object.prototype.toString.call(x).slice(8, -1);
}

// ---------------------------------------------------------------- PRNG

export interface Rng {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  /** A uint32. */
  u32(): number;
}

// Globals read inside hot loops are cached: in jest's vm context every global
// lookup (Math, ...) goes through an interceptor and costs ~100 ns.
const imul = Math.imul;
const floor = Math.floor;

/** mulberry32: tiny, fast, good enough to vary test inputs. */
export function mulberry32(seed: number): () => number {
  let a = seed | 0; // kept as int32 so V8 never boxes it
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let drawnSeed: number | undefined;
/**
 * The run's seed: ANTLER_TEST_SEED if set, else the clock mixed with OS
 * randomness, drawn once per test file (every call in a file returns the
 * same seed, so the one a title prints is the one its draws used).
 */
export function runSeed(): number {
  const env = process.env.ANTLER_TEST_SEED;
  if (env !== undefined && env !== '') return Number(env) >>> 0;
  drawnSeed ??= (Date.now() ^ randomBytes(4).readUInt32LE(0)) >>> 0;
  return drawnSeed;
}

export function makeRng(seed = runSeed()): Rng {
  const f = mulberry32(seed);
  const rng: Rng = {
    seed,
    next: f,
    int: (lo, hi) => lo + Math.floor(f() * (hi - lo + 1)),
    uniform: (lo, hi) => lo + (hi - lo) * f(),
    pick: (xs) => xs[Math.floor(f() * xs.length)],
    u32: () => Math.floor(f() * 4294967296) >>> 0,
  };
  return rng;
}

export function randomArray(rng: Rng, n: number, lo = -1, hi = 1): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(lo, hi);
  return out;
}

export function randomInts(rng: Rng, n: number, lo: number, hi: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(lo, hi);
  return out;
}

/** A random shape of the given rank with dims in [lo, hi]. */
export function randomShape(rng: Rng, rank: number, lo = 1, hi = 5): number[] {
  return Array.from({ length: rank }, () => rng.int(lo, hi));
}

// ---------------------------------------------------------------- assertions

/**
 * Slack for "a float32 draw stays within ±bound": a uniform draw v ≤ bound is
 * rounded to float32, which may land up to half an ulp (≤ 2^-24·bound) past a
 * float64 bound, and an init that scales in float32 rounds twice.
 */
export const F32_ROUNDING = 1 + 2 ** -23;

/**
 * The floor f for "a uniform init spreads over its bound", max |v| > f·bound, over n independent
 * U(−bound, bound) draws: P(max |v| ≤ f·bound) = fⁿ, so f = p^(1/n) fails a correct init with
 * probability p (default 1e-9). Over 640 draws f is 0.968; over 16 only 0.27, so a check that
 * must tell bounds apart (1/√in from 1/√(in·k)) pools enough draws for a floor above their ratio.
 */
export function spreadFloor(n: number, p = 1e-9): number {
  return p ** (1 / n);
}

/**
 * κ̂ of a triangular factor for tolerances that grow with conditioning: max / min of |d| over its diagonal d
 * (U's pivots, R's diagonal), capped at `cap`; `cap` when the smallest is 0 (every pivot 0 included).
 */
export function diagonalSpread(d: readonly number[], cap: number): number {
  const a = d.map(Math.abs);
  return Math.min(cap, Math.max(...a) / Math.min(...a)) || cap;
}

export function prod(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Every exclusive/reverse combination of a running sum or product (cumsum, cumprod). */
export const SCAN_COMBOS = [
  { exclusive: false, reverse: false },
  { exclusive: true, reverse: false },
  { exclusive: false, reverse: true },
  { exclusive: true, reverse: true },
];

/**
 * The reference running sum or product (cumsum, cumprod) along axis: x viewed
 * as [outer, n, inner], each line accumulated in order (from the end when
 * reverse) in float64, exclusive leaving each element out of its own entry.
 */
export function runningRef(x: readonly number[], shape: readonly number[], axis: number, exclusive: boolean, reverse: boolean, op: 'sum' | 'prod'): number[] {
  const ax = shape.length === 0 ? 0 : axis < 0 ? axis + shape.length : axis;
  const n = shape.length === 0 ? 1 : shape[ax];
  const inner = prod(shape.slice(ax + 1)), outer = prod(shape.slice(0, ax));
  const out = new Array<number>(x.length);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < inner; j++) {
      let acc = op === 'sum' ? 0 : 1;
      for (let k = 0; k < n; k++) {
        const i = o * n * inner + (reverse ? n - 1 - k : k) * inner + j;
        if (exclusive) out[i] = acc;
        acc = op === 'sum' ? acc + x[i] : acc * x[i];
        if (!exclusive) out[i] = acc;
      }
    }
  return out;
}

function fmt(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

/**
 * Fails unless |actual[i] - expected[i]| <= atol + rtol * |expected[i]| for
 * every i (NaN matches only NaN, ±Infinity only itself). The message names the first bad index.
 */
export function expectClose(actual: Num, expected: Num, rtol: number, atol: number, msg = ''): void {
  if (actual.length !== expected.length)
    throw new Error(`${msg}: length ${actual.length}, expected ${expected.length}`);
  let bad = 0;
  let first = -1;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) && Number.isNaN(a)) continue;
    } else if (a === e || (Number.isFinite(e) && Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      // An infinite expected value matches only itself (rtol·∞ would accept anything).
      continue;
    }
    bad++;
    if (first < 0) first = i;
    const err = Math.abs(a - e);
    if (!(err <= worst)) worst = err;
  }
  if (bad)
    throw new Error(
      `${msg}: ${bad} of ${expected.length} values differ beyond rtol=${rtol}, atol=${atol}; ` +
        `first at [${first}]: got ${fmt(actual[first])}, expected ${fmt(expected[first])}; worst abs error ${worst}`,
    );
}

/** Bit-level equality of numbers (NaN equals NaN, 0 equals -0 unless strictZero). */
export function expectExact(actual: Num, expected: Num, msg = '', strictZero = false): void {
  if (actual.length !== expected.length)
    throw new Error(`${msg}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const same = strictZero ? Object.is(a, e) : a === e || (Number.isNaN(a) && Number.isNaN(e));
    if (!same) throw new Error(`${msg}: index ${i}: got ${fmt(a)}, expected ${fmt(e)} (length ${expected.length})`);
  }
}

/**
 * ANTLER_POISON=1 fills every new native buffer with 0xFF bytes: NaN for
 * floats. An output that should hold no NaN but does was never written.
 */
export function poisonCheck(values: Num, msg = ''): void {
  for (let i = 0; i < values.length; i++)
    if (Number.isNaN(values[i])) throw new Error(`${msg}: NaN at index ${i} of ${values.length} (an unwritten output under ANTLER_POISON)`);
}

export function maxAbs(xs: Num): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i]));
  return m;
}

/** Central differences (step h) of a scalar function of a float64 vector: its gradient at x. */
export function numGrad(f: (x: number[]) => number, x: number[], h: number): number[] {
  return x.map((_, i) => {
    const up = x.slice(), dn = x.slice();
    up[i] += h;
    dn[i] -= h;
    return (f(up) - f(dn)) / (2 * h);
  });
}

/** Σ y[i]·w[i]: a fixed random weighting that turns an output into the scalar numGrad differentiates. */
export const dotW = (y: ArrayLike<number>, w: ArrayLike<number>): number => Array.from(y).reduce((s, v, i) => s + v * w[i], 0);

// ---------------------------------------------------------------- float64 references

/** ln Γ(x) for x ≥ 15 by Stirling's series (terms to z^−13, below 1e-20 there). */
export function lgammaStirling(z: number): number {
  const w = 1 / (z * z);
  const series = (1 / z) * (1 / 12 - w * (1 / 360 - w * (1 / 1260 - w * (1 / 1680 - w * (1 / 1188 - w * (691 / 360360 - w / 156))))));
  return (z - 0.5) * Math.log(z) - z + 0.5 * Math.log(2 * Math.PI) + series;
}
/** ln|Γ(x)|: Stirling above 15, the recurrence Γ(x) = Γ(x + m)/(x(x+1)…) below as one product, reflection below ½. */
export function lgammaRef(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (!Number.isFinite(x)) return Infinity;
  if (x <= 0 && Number.isInteger(x)) return Infinity;
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * (x - Math.round(x))))) - lgammaRef(1 - x);
  if (x >= 15) return lgammaStirling(x);
  let prod = 1, z = x;
  while (z < 15) (prod *= z), (z += 1);
  return lgammaStirling(z) - Math.log(prod);
}

/** ψ(x): the recurrence up to z ≥ 40, then ln z − 1/(2z) − Σ B₂ₖ/(2k z²ᵏ) to k = 5 (error < 1e-20); reflection below ½. */
export function digammaRef(x: number): number {
  if (Number.isNaN(x) || x === -Infinity) return NaN;
  if (x === Infinity) return Infinity;
  if (x === 0) return Object.is(x, -0) ? Infinity : -Infinity;
  if (x < 0 && Number.isInteger(x)) return NaN;
  if (x < 0.5) return digammaRef(1 - x) - Math.PI / Math.tan(Math.PI * (x - Math.round(x)));
  const terms: number[] = [];
  let z = x;
  while (z < 40) (terms.push(1 / z), (z += 1));
  const w = 1 / (z * z);
  let acc = Math.log(z) - 0.5 / z - w * (1 / 12 - w * (1 / 120 - w * (1 / 252 - w * (1 / 240 - w / 132))));
  for (let i = terms.length - 1; i >= 0; i--) acc -= terms[i];
  return acc;
}


/** NumPy broadcast of two shapes, or null when they do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const nd = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < nd; i++) {
    const da = i < nd - a.length ? 1 : a[i - (nd - a.length)];
    const db = i < nd - b.length ? 1 : b[i - (nd - b.length)];
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * Elementwise f over broadcast operands: for every output multi-index, each
 * input is read at the same index with size-1 (and missing) dims pinned to 0.
 */
export function broadcastRef(
  a: Num,
  aShape: readonly number[],
  b: Num,
  bShape: readonly number[],
  f: (x: number, y: number) => number,
): { shape: number[]; values: Float64Array } {
  const shape = broadcastShape(aShape, bShape);
  if (!shape) throw new Error(`shapes [${aShape}] and [${bShape}] do not broadcast`);
  const n = prod(shape);
  const out = new Float64Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  const flat = (s: readonly number[]): number => {
    const off = shape.length - s.length;
    let pos = 0;
    for (let d = 0; d < s.length; d++) pos = pos * s[d] + (s[d] === 1 ? 0 : idx[d + off]);
    return pos;
  };
  for (let i = 0; i < n; i++) {
    let rem = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    out[i] = f(a[flat(aShape)], b[flat(bShape)]);
  }
  return { shape, values: out };
}

/** C = op(A) @ op(B) for one [m,k]x[k,n] product in float64, naive triple loop. */
export function matmul2d(a: Num, b: Num, m: number, n: number, k: number, transA = false, transB = false): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i] : a[i * k + p];
        const bv = transB ? b[j * k + p] : b[p * n + j];
        s += av * bv;
      }
      c[i * n + j] = s;
    }
  return c;
}

/**
 * PyTorch matmul semantics in float64: vectors promoted and their dim
 * dropped, batch dims broadcast, transposes on the last two dims.
 */
export function matmulRef(
  a: Num,
  aShape: readonly number[],
  b: Num,
  bShape: readonly number[],
  transA = false,
  transB = false,
): { shape: number[]; values: Float64Array } {
  const aVec = aShape.length === 1;
  const bVec = bShape.length === 1;
  const as = aVec ? [1, aShape[0]] : aShape.slice();
  const bs = bVec ? [bShape[0], 1] : bShape.slice();
  const m = transA ? as[as.length - 1] : as[as.length - 2];
  const k = transA ? as[as.length - 2] : as[as.length - 1];
  const kb = transB ? bs[bs.length - 1] : bs[bs.length - 2];
  const n = transB ? bs[bs.length - 2] : bs[bs.length - 1];
  if (k !== kb) throw new Error('inner dims differ');
  const aBatch = as.slice(0, -2);
  const bBatch = bs.slice(0, -2);
  const batch = broadcastShape(aBatch, bBatch)!;
  const nb = prod(batch);
  const out = new Float64Array(nb * m * n);
  const idx = new Array<number>(batch.length).fill(0);
  const batchOffset = (s: number[]): number => {
    const off = batch.length - s.length;
    let pos = 0;
    for (let d = 0; d < s.length; d++) pos = pos * s[d] + (s[d] === 1 ? 0 : idx[d + off]);
    return pos;
  };
  for (let t = 0; t < nb; t++) {
    let rem = t;
    for (let d = batch.length - 1; d >= 0; d--) {
      idx[d] = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
    }
    const ao = batchOffset(aBatch) * m * k;
    const bo = batchOffset(bBatch) * k * n;
    const sliceA = Array.prototype.slice.call(a, ao, ao + m * k) as number[];
    const sliceB = Array.prototype.slice.call(b, bo, bo + k * n) as number[];
    out.set(matmul2d(sliceA, sliceB, m, n, k, transA, transB), t * m * n);
  }
  const shape = batch.slice();
  if (!aVec) shape.push(m);
  if (!bVec) shape.push(n);
  return { shape, values: out };
}

/** Nests flat values row-major into arrays of the given shape. */
export function nestRef(values: Num, shape: readonly number[]): unknown {
  if (shape.length === 0) return values[0];
  let pos = 0;
  const go = (d: number): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? values[pos++] : go(d + 1));
    return out;
  };
  return go(0);
}

// ---------------------------------------------------------------- Philox4x32-10

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32, from 16-bit halves. */
function mulhi32(a: number, b: number): number {
  const ah = a >>> 16;
  const al = a & 0xffff;
  const bh = b >>> 16;
  const bl = b & 0xffff;
  const mid = ah * bl + al * bh + ((al * bl) >>> 16); // < 2^34: exact in a double
  return (ah * bh + floor(mid / 65536)) >>> 0;
}

/** Philox4x32-10 (Salmon et al., SC 2011) on counter (c0..c3) and key (k0, k1). */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): [number, number, number, number] {
  c0 >>>= 0;
  c1 >>>= 0;
  c2 >>>= 0;
  c3 >>>= 0;
  k0 >>>= 0;
  k1 >>>= 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi32(M0, c0);
    const lo0 = imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = imul(M1, c2) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** The same multiply with BigInt, to cross-check the 16-bit split version. */
export function mulhilo32BigInt(a: number, b: number): [number, number] {
  const p = BigInt(a >>> 0) * BigInt(b >>> 0);
  return [Number(p >> 32n), Number(p & 0xffffffffn)];
}
export { mulhi32 };

const TWO_POW_32 = 4294967296;

/** Words of block `block` for (seed, stream): key = seed, counter = (block, stream). */
export function philoxBlock(seed: number, stream: number, block: number): [number, number, number, number] {
  return philox4x32(block >>> 0, Math.floor(block / TWO_POW_32), stream >>> 0, Math.floor(stream / TWO_POW_32), seed >>> 0, Math.floor(seed / TWO_POW_32));
}

export const uniformFloat = (w: number): number => (w >>> 8) * 2 ** -24;
export const uniformDouble = (hi: number, lo: number): number => ((hi >>> 5) * 2 ** 26 + (lo >>> 6)) * 2 ** -53;

const f = Math.fround;
const TWO_PI_F = f(6.28318530717958647692);

function boxMullerFloat(u1: number, u2: number): [number, number] {
  const r = f(Math.sqrt(f(-2 * f(Math.log(f(1 - u1))))));
  const theta = f(TWO_PI_F * u2);
  return [f(r * f(Math.cos(theta))), f(r * f(Math.sin(theta)))];
}

function boxMullerDouble(u1: number, u2: number): [number, number] {
  const r = Math.sqrt(-2 * Math.log(1 - u1));
  const theta = 6.28318530717958647692 * u2;
  return [r * Math.cos(theta), r * Math.sin(theta)];
}

export type RandomDtype = 'float32' | 'float64' | 'int32';

/**
 * What rand/randn should produce for n elements, following philox.h:
 * float32 takes 4 values per block (uniform: one word each; normal: Box–Muller
 * on words (0,1) and (2,3)); float64 and int32 take 2 per block from
 * 53-bit doubles of words (0,1) and (2,3) (normal: one Box–Muller pair).
 * Uniform maps to a + (b - a) u, normal to a + b z; float32 in float
 * arithmetic; int32 is floor(a + (b - a) u) clamped to b - 1.
 */
export function philoxRandomRef(n: number, dtype: RandomDtype, normal: boolean, a: number, b: number, seed: number, stream: number): Float64Array {
  const out = new Float64Array(n);
  if (dtype === 'float32') {
    const fa = f(a);
    const fw = normal ? f(b) : f(b - a);
    for (let blk = 0; blk * 4 < n; blk++) {
      const w = philoxBlock(seed, stream, blk);
      let raw: number[];
      if (!normal) raw = w.map(uniformFloat);
      else raw = [...boxMullerFloat(uniformFloat(w[0]), uniformFloat(w[1])), ...boxMullerFloat(uniformFloat(w[2]), uniformFloat(w[3]))];
      for (let l = 0; l < 4 && blk * 4 + l < n; l++) out[blk * 4 + l] = f(fa + f(fw * raw[l]));
    }
    return out;
  }
  for (let blk = 0; blk * 2 < n; blk++) {
    const w = philoxBlock(seed, stream, blk);
    const u = [uniformDouble(w[0], w[1]), uniformDouble(w[2], w[3])];
    for (let l = 0; l < 2 && blk * 2 + l < n; l++) {
      let v: number;
      if (dtype === 'int32') {
        v = Math.floor(a + (b - a) * u[l]);
        if (b > a && v > b - 1) v = b - 1;
      } else if (normal) {
        v = a + b * boxMullerDouble(u[0], u[1])[l];
      } else {
        v = a + (b - a) * u[l];
      }
      out[blk * 2 + l] = v;
    }
  }
  return out;
}

// ---------------------------------------------------------------- native addon

/** Path of the addon the library loads (ANTLER_BINARY, else the local build). */
export function addonPath(): string {
  return process.env.ANTLER_BINARY
    ? path.resolve(process.env.ANTLER_BINARY)
    : path.resolve(__dirname, '..', 'build', 'Release', 'antler.node');
}

export const repoRoot = path.resolve(__dirname, '..');

// ---------------------------------------------------------------- library-facing helpers

// The library is required lazily, on first use, not imported (see the
// Symbol.dispose shim at the top: suites load this file before the library).
let libModule: typeof import('../lib') | undefined;
function lib(): typeof import('../lib') {
  return (libModule ??= require('../lib') as typeof import('../lib'));
}

/**
 * makeRng(), whose first draw also seeds the library's global generator:
 * for suites whose modules draw their initialisation from it.
 */
export function makeSeededRng(seed = runSeed()): Rng {
  const rng = makeRng(seed);
  lib().setSeed(rng.u32());
  return rng;
}

/** Runs fn in tidy(), backpropagates its scalar result, then frees it. */
export function backprop(fn: () => Tensor): void {
  const loss = lib().tidy(fn);
  try {
    loss.backward();
  } finally {
    loss.dispose();
  }
}

/**
 * What a call threw (verb 'throw') or a promise rejected with ('reject'),
 * as an AntlerError; fails if there was nothing or something else.
 * `what`, when given, starts the failure message.
 */
function asAntlerError(thrown: unknown, code: ErrorCode, verb: 'throw' | 'reject', what?: string): AntlerError {
  const at = what === undefined ? '' : `${what}: `;
  if (thrown === undefined) throw new Error(`${at}did not ${verb} (expected ${code})`);
  if (!(thrown instanceof lib().AntlerError))
    throw new Error(
      `${at}${verb === 'throw' ? 'threw' : 'rejected with'} ${(thrown as Error)?.constructor?.name} ${(thrown as Error)?.message}, not an AntlerError (expected ${code})`,
    );
  return thrown;
}

/** The AntlerError that call() throws; fails if it throws nothing or something else. Checks no code. */
export function thrownAntlerError(call: () => unknown, code: ErrorCode, what?: string): AntlerError {
  let thrown: unknown;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  return asAntlerError(thrown, code, 'throw', what);
}

/** call() must throw an AntlerError with this code (and a message matching `message`). */
export function expectAntlerError(call: () => unknown, code: ErrorCode, message?: RegExp): AntlerError {
  const thrown = thrownAntlerError(call, code);
  expect(thrown.code).toBe(code);
  if (message) expect(thrown.message).toMatch(message);
  return thrown;
}

/** expectAntlerError with the call inside tidy(), which frees whatever it made before it threw. */
export function expectAntlerErrorInTidy(call: () => unknown, code: ErrorCode, message?: RegExp): AntlerError {
  return expectAntlerError(
    () =>
      lib().tidy(() => {
        call();
      }),
    code,
    message,
  );
}

/** p must reject with an AntlerError with this code (and a message matching `message`). */
export async function expectRejects(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  let thrown: unknown;
  try {
    await p;
  } catch (e) {
    thrown = e;
  }
  const err = asAntlerError(thrown, code, 'reject');
  expect(err.code).toBe(code);
  if (message) expect(err.message).toMatch(message);
}

// ---------------------------------------------------------------- memory baselines

export interface TensorCounts {
  numTensors: number;
  numBytes: number;
}

export interface StorageCounts extends TensorCounts {
  numDataBuffers: number;
}

/** Live tensors and their bytes, from memory(). */
export function tensorCounts(): TensorCounts {
  const m = lib().memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}

/** Live tensors, data buffers and bytes, from memory(). */
export function storageCounts(): StorageCounts {
  const m = lib().memory();
  return { numTensors: m.numTensors, numDataBuffers: m.numDataBuffers, numBytes: m.numBytes };
}

export interface SuiteBaseline<C> {
  /**
   * For a test that reports its own leak: moves the baseline by what is live
   * now beyond `before`, so the suite's final check does not report it again.
   */
  excuse(before: C): void;
}

/**
 * Tests of this file that have failed so far: counted by the suites' jest
 * environment (test/jest-environment.js); 0 under any other environment.
 */
export function failedTestCount(): number {
  return (globalThis as { __antlerFailedTests?: number }).__antlerFailedTests ?? 0;
}

/**
 * The end-of-suite leak check: fails if any count is above its value at the
 * start. Fewer is no leak: memory() counts the worker's tensors, and garbage an
 * earlier file in the worker left to the finalizer can be counted at the start
 * and freed meanwhile (CI: tensor.test.ts, baseline 2, end 0; the environment,
 * test/jest-environment.js, collects it before each file, so this is the
 * fallback should some escape that collection). When a test has
 * failed since `failuresAtStart` the check is skipped, with a note on stderr: a
 * test that throws midway never reaches its dispose() calls, and its own failure
 * is the report.
 */
export function expectCountsAtMost<C extends { [K in keyof C]: number }>(now: C, start: C, failuresAtStart: number): void {
  const failed = failedTestCount() - failuresAtStart;
  if (failed > 0) {
    console.warn(`leak check skipped: ${failed} test(s) of this suite failed, leaving their tensors undisposed`);
    return;
  }
  const grown = (Object.keys(start) as (keyof C & string)[]).filter((k) => now[k] > start[k]);
  if (grown.length)
    throw new Error(`leak: ${grown.map((k) => `${k} ${start[k]} at the start, ${now[k]} at the end`).join('; ')}`);
}

/**
 * Registers beforeAll/afterAll hooks that fail the suite if counts() has grown
 * past its value from before the first test: every test disposes what it made,
 * so a leak anywhere shows here (see expectCountsAtMost: a count may shrink, and
 * the check is skipped after a failed test of the suite).
 */
export function expectNoLeaksInSuite<C extends { [K in keyof C]: number }>(counts: () => C): SuiteBaseline<C> {
  let start: C;
  let failuresAtStart = 0;
  beforeAll(() => {
    start = counts();
    failuresAtStart = failedTestCount();
  });
  afterAll(() => {
    expectCountsAtMost(counts(), start, failuresAtStart);
  });
  return {
    excuse(before) {
      const now = counts();
      const moved = { ...start };
      for (const k of Object.keys(start) as (keyof C)[]) moved[k] = (start[k] + now[k] - before[k]) as C[keyof C];
      start = moved;
    },
  };
}

// ---------------------------------------------------------------- recurrent cells (PyTorch's equations)

export type RefCellKind = 'gru' | 'lstm' | 'rnn_tanh' | 'rnn_relu';
const sigmoidRef = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * One step of PyTorch's GRU (gates r, z, n), LSTM (i, f, g, o; state [h, c])
 * or Elman RNN cell in float64: xp = W_ih x + b_ih [G], Whh [G, H] row-major,
 * bhh [G] or null, prev [n] -> next [n].
 */
export function cellStepRef(kind: RefCellKind, H: number, xp: ArrayLike<number>, Whh: ArrayLike<number>, bhh: ArrayLike<number> | null, prev: ArrayLike<number>): number[] {
  const G = (kind === 'gru' ? 3 : kind === 'lstm' ? 4 : 1) * H;
  const hh = new Array<number>(G);
  for (let row = 0; row < G; row++) {
    let acc = 0;
    for (let j = 0; j < H; j++) acc += Whh[row * H + j] * prev[j];
    hh[row] = acc + (bhh ? bhh[row] : 0);
  }
  const out = new Array<number>(kind === 'lstm' ? 2 * H : H);
  for (let u = 0; u < H; u++) {
    if (kind === 'gru') {
      const r = sigmoidRef(xp[u] + hh[u]);
      const z = sigmoidRef(xp[H + u] + hh[H + u]);
      const nn = Math.tanh(xp[2 * H + u] + r * hh[2 * H + u]);
      out[u] = (1 - z) * nn + z * prev[u];
    } else if (kind === 'lstm') {
      const i = sigmoidRef(xp[u] + hh[u]);
      const f = sigmoidRef(xp[H + u] + hh[H + u]);
      const g = Math.tanh(xp[2 * H + u] + hh[2 * H + u]);
      const o = sigmoidRef(xp[3 * H + u] + hh[3 * H + u]);
      const c = f * prev[H + u] + i * g;
      out[u] = o * Math.tanh(c);
      out[H + u] = c;
    } else {
      const p = xp[u] + hh[u];
      out[u] = kind === 'rnn_tanh' ? Math.tanh(p) : Math.max(p, 0);
    }
  }
  return out;
}

// ---------------------------------------------------------------- leaks

/**
 * Fails the file when it ends with more or fewer live tensors (or bytes) than
 * it started with: every tensor a test makes must be disposed (tidy,
 * dispose), not left to the garbage collector, whose finalizers would
 * otherwise run during a later file of the same worker.
 */
export function expectNoTensorLeaks(): void {
  expectNoLeaksInSuite(tensorCounts);
}

/** The multi-index of flat position p in a row-major tensor of the given shape. */
export function unravel(shape: readonly number[], p: number): number[] {
  const at: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    at.unshift(p % shape[d]);
    p = Math.floor(p / shape[d]);
  }
  return at;
}

/** The flat position of a multi-index in a row-major tensor of the given shape. */
export const ravel = (shape: readonly number[], at: readonly number[]): number => at.reduce((acc, v, d) => acc * shape[d] + v, 0);

/**
 * erfc by its continued fraction for x ≥ 1 (Lentz), else 1 − erf; erf by its
 * Taylor series for |x| < 2.5 (terms to 1e-17 of the sum), else 1 − erfc.
 */
export function erfcRef(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 1) return 1 - erfRef(x);
  if (x === Infinity) return 0;
  // erfc x = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  let f = x, c = x, d = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = x + a / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}
export function erfRef(x: number): number {
  if (Number.isNaN(x) || x === 0) return x; // ±0 keeps its sign
  if (Math.abs(x) >= 2.5) return Math.sign(x) * (1 - erfcRef(Math.abs(x)));
  let term = x, sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/**
 * Random operands of a DEER cell (the cpu and gpu deer-fused tests): xp [T, B, G] from ±gain, Whh [G, H]
 * and bhh [G] from ±gain/√H, y0 [B, n] from ±0.5; large gains make Newton diverge.
 */
export function randomCellValues(rng: Rng, kind: RefCellKind, T: number, B: number, H: number, gain = 1): { kind: RefCellKind; values: Float64Array[]; shapes: number[][] } {
  const G = (kind === 'gru' ? 3 : kind === 'lstm' ? 4 : 1) * H, n = kind === 'lstm' ? 2 * H : H;
  const bound = gain / Math.sqrt(H);
  return {
    kind,
    values: [randomArray(rng, T * B * G, -gain, gain), randomArray(rng, G * H, -bound, bound), randomArray(rng, G, -bound, bound), randomArray(rng, B * n, -0.5, 0.5)].map((a) => Float64Array.from(a)),
    shapes: [[T, B, G], [G, H], [G], [B, n]],
  };
}

/**
 * A dropout's output against the values it dropped from (never zero there): how many
 * entries are zero (dropped), the kept ones, and what each kept one should be, plain / (1 − p).
 */
export function splitDropped(out: ArrayLike<number>, plain: ArrayLike<number>, p: number): { zeros: number; kept: number[]; want: number[] } {
  let zeros = 0;
  const kept: number[] = [], want: number[] = [];
  for (let i = 0; i < out.length; i++) {
    if (out[i] === 0) zeros++;
    else {
      kept.push(out[i]);
      want.push(plain[i] / (1 - p));
    }
  }
  return { zeros, kept, want };
}
