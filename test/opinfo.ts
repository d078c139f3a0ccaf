// The op registry, in the spirit of PyTorch's OpInfo: every differentiable op
// is described once (how to draw sample inputs, how to call it, which bad
// calls must fail), and generic suites run the same checks over all of them:
// float64 gradients against central finite differences, float32 against
// float64, CUDA against CPU (gpu project), and bad inputs raising AntlerError.
// A new op is tested by adding one entry here.
import * as antler from '../lib';
import type { Tensor } from '../lib';
import { Rng } from './helpers';
import { POINTWISE_OPS, POINTWISE_NOT_OPS } from './opinfo-pointwise';
import { STATISTICS_OPS, STATISTICS_NOT_OPS } from './opinfo-statistics';
import { PRODUCTS_OPS, PRODUCTS_NOT_OPS } from './opinfo-products';
import { SELECTION_OPS, SELECTION_NOT_OPS } from './opinfo-selection';
import { LINALG_LU_OPS, LINALG_LU_NOT_OPS } from './opinfo-linalg-lu';
import { LINALG_QR_OPS, LINALG_QR_NOT_OPS } from './opinfo-linalg-qr';
import { LINALG_SPECTRAL_OPS, LINALG_SPECTRAL_NOT_OPS } from './opinfo-linalg-spectral';
import { LINALG_NORMS_OPS, LINALG_NORMS_NOT_OPS } from './opinfo-linalg-norms';
import { RANDOM_SPECIAL_OPS, RANDOM_SPECIAL_NOT_OPS } from './opinfo-random-special';
import { CONSTRUCT_OPS, CONSTRUCT_NOT_OPS } from './opinfo-construct';
import { GRID_OPS, GRID_NOT_OPS } from './opinfo-grid';
import { SIGNAL_OPS, SIGNAL_NOT_OPS } from './opinfo-signal';

export interface InputSpec {
  shape: number[];
  values: number[];
}

export interface AuxSpec {
  shape: number[];
  values: number[];
  dtype: 'int32' | 'float64';
}

export interface Sample {
  /** Differentiable inputs (float). */
  inputs: InputSpec[];
  /** Non-differentiable inputs (labels, indices, masks). */
  aux?: AuxSpec[];
  note?: string;
}

export interface OpInfo {
  name: string;
  samples(rng: Rng): Sample[];
  fn(xs: Tensor[], aux: Tensor[]): Tensor;
  /** Tolerance of the float32 run against float64, relative to max |ref| (default 1e-5). */
  f32rtol?: number;
  /** Bad calls: each must throw AntlerError with this code. */
  bad?: [string, () => unknown][];
}

const n = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Values in [lo, hi). */
export function vals(rng: Rng, shape: number[], lo = -1, hi = 1): InputSpec {
  return { shape, values: Array.from({ length: n(shape) }, () => rng.uniform(lo, hi)) };
}

/** Values with |x| in [0.1, 1.5], either sign: away from kinks at 0. */
export function awayFromZero(rng: Rng, shape: number[]): InputSpec {
  return { shape, values: Array.from({ length: n(shape) }, () => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.1, 1.5)) };
}

/** Values away from zero, with `zeros` of them (at random places) set to exactly 0: products' gradients there. */
function withZeros(rng: Rng, shape: number[], zeros: number): InputSpec {
  const spec = awayFromZero(rng, shape);
  for (const i of shuffled(rng, spec.values.map((_, i) => i)).slice(0, zeros)) spec.values[i] = 0;
  return spec;
}

/** Values in [−1.5, 1.5) at least 0.05 from each of `kinks`. */
function avoiding(rng: Rng, shape: number[], kinks: number[]): InputSpec {
  const draw = (): number => {
    const v = rng.uniform(-1.5, 1.5);
    return kinks.every((k) => Math.abs(v - k) > 0.05) ? v : draw();
  };
  return { shape, values: Array.from({ length: n(shape) }, draw) };
}

/**
 * klDiv's log-probabilities x and probabilities y in [0.05, 1) with x = log y − [0.1, 2.9]: every term y·(log y − x)
 * is positive, so a reduction cannot cancel toward 0, where float32's rounding, relative to |value|, fails at random
 * (independent draws did about 1 run in 10^4).
 */
function klPair(rng: Rng, shape: number[]): [InputSpec, InputSpec] {
  const y = vals(rng, shape, 0.05, 1);
  return [{ shape, values: y.values.map((v) => Math.log(v) - rng.uniform(0.1, 2.9)) }, y];
}

/** Two inputs whose elements differ by at least 0.1 everywhere (for maximum/minimum kinks). */
function separated(rng: Rng, shape: number[]): [InputSpec, InputSpec] {
  const a = vals(rng, shape);
  const b = { shape, values: a.values.map((v) => v + (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.1, 1)) };
  return [a, b];
}

function ints(rng: Rng, shape: number[], lo: number, hi: number): AuxSpec {
  return { shape, values: Array.from({ length: n(shape) }, () => rng.int(lo, hi)), dtype: 'int32' };
}

const t = (values: number[], shape: number[]) => antler.tensor(values, shape, { dtype: 'float64' });

const unaryEntry = (name: string, f: (x: Tensor) => Tensor, domain: (rng: Rng, s: number[]) => InputSpec, f32rtol?: number): OpInfo => ({
  name,
  samples: (rng) => [domain(rng, [2, 3]), domain(rng, [5]), domain(rng, [])].map((x) => ({ inputs: [x] })),
  fn: ([x]) => f(x),
  f32rtol,
  bad: [['INVALID_ARGUMENT', () => f('x' as unknown as Tensor)]],
});

const broadcastPairs = (rng: Rng, gen: (r: Rng, s: number[]) => InputSpec): Sample[] => [
  { inputs: [gen(rng, [2, 3]), gen(rng, [2, 3])], note: 'same shape' },
  { inputs: [gen(rng, [2, 1, 3]), gen(rng, [4, 1])], note: 'broadcast both' },
  { inputs: [gen(rng, [3]), gen(rng, [2, 3])], note: 'broadcast rank' },
  { inputs: [gen(rng, []), gen(rng, [2, 2])], note: 'scalar tensor' },
];

const positive = (rng: Rng, s: number[]) => vals(rng, s, 0.3, 2);
const anyVals = (rng: Rng, s: number[]) => vals(rng, s, -1.5, 1.5);

/**
 * Values in (−4, 4) whose fractional part lies in [0.1, 0.4] or [0.6, 0.9]:
 * away from the jumps of sign, floor, ceil (integers) and round (halves).
 */
export function awayFromSteps(rng: Rng, shape: number[]): InputSpec {
  return {
    shape,
    values: Array.from({ length: n(shape) }, () => rng.int(-4, 3) + rng.pick([0.1, 0.6]) + rng.uniform(0, 0.3)),
  };
}

export const OPS: OpInfo[] = [
  {
    name: 'add',
    samples: (rng) => broadcastPairs(rng, anyVals),
    fn: ([a, b]) => antler.add(a, b),
    bad: [
      ['SHAPE_MISMATCH', () => antler.add(t([1, 2, 3], [3]), t([1, 2], [2]))],
      ['INVALID_ARGUMENT', () => antler.add(antler.tensor([1], [1], { dtype: 'int32' }), 2 ** 31)],
    ],
  },
  { name: 'sub', samples: (rng) => broadcastPairs(rng, anyVals), fn: ([a, b]) => antler.sub(a, b) },
  { name: 'mul', samples: (rng) => broadcastPairs(rng, anyVals), fn: ([a, b]) => antler.mul(a, b) },
  { name: 'div', samples: (rng) => broadcastPairs(rng, positive), fn: ([a, b]) => antler.div(a, b) },
  {
    // a = (k + f)·b with f in [0.15, 0.85]: away from remainder's jumps (a/b an integer).
    name: 'remainder',
    samples: (rng) => [2, 3].map((len) => {
      const b = vals(rng, [len], 0.5, 2).values.map((v, i) => (i % 2 ? -v : v));
      const a = b.map((v) => (rng.int(-3, 3) + rng.uniform(0.15, 0.85)) * v);
      return { inputs: [{ shape: [len], values: a }, { shape: [len], values: b }] };
    }),
    fn: ([a, b]) => antler.remainder(a, b),
  },
  {
    name: 'roll',
    samples: (rng) => [
      { inputs: [anyVals(rng, [3, 4])], note: 'axes 0 and 1' },
      { inputs: [anyVals(rng, [5])], note: 'flattened' },
    ],
    fn: ([x]) => (x.rank === 2 ? antler.roll(x, [1, -3], [0, 1]) : antler.roll(x, 7)),
  },
  { name: 'add(scalar)', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }], fn: ([a]) => antler.add(a, 0.75) },
  { name: 'sub(scalar, x)', samples: (rng) => [{ inputs: [anyVals(rng, [4])] }], fn: ([a]) => antler.sub(2, a) },
  { name: 'mul(scalar)', samples: (rng) => [{ inputs: [anyVals(rng, [3, 2])] }], fn: ([a]) => antler.mul(a, -1.5) },
  { name: 'div(scalar, x)', samples: (rng) => [{ inputs: [positive(rng, [5])] }], fn: ([a]) => antler.div(3, a) },
  {
    name: 'maximum',
    samples: (rng) => [{ inputs: separated(rng, [2, 3]) }, { inputs: separated(rng, [4]) }],
    fn: ([a, b]) => antler.maximum(a, b),
  },
  {
    name: 'minimum',
    samples: (rng) => [{ inputs: separated(rng, [2, 3]) }, { inputs: separated(rng, [4]) }],
    fn: ([a, b]) => antler.minimum(a, b),
  },
  { name: 'pow(x, 2.5)', samples: (rng) => [{ inputs: [positive(rng, [2, 3])] }], fn: ([a]) => antler.pow(a, 2.5) },
  { name: 'pow(x, -1)', samples: (rng) => [{ inputs: [positive(rng, [4])] }], fn: ([a]) => antler.pow(a, -1) },
  { name: 'pow(x, y)', samples: (rng) => [{ inputs: [positive(rng, [2, 3]), anyVals(rng, [3])] }], fn: ([a, b]) => antler.pow(a, b) },
  { name: 'pow(2.5, x)', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }], fn: ([b]) => antler.pow(2.5, b) },
  unaryEntry('neg', antler.neg, anyVals),
  unaryEntry('exp', antler.exp, anyVals),
  unaryEntry('log', antler.log, positive),
  unaryEntry('tanh', antler.tanh, anyVals),
  unaryEntry('sigmoid', antler.sigmoid, anyVals),
  unaryEntry('relu', antler.relu, awayFromZero),
  unaryEntry('softplus', antler.softplus, (rng, s) => vals(rng, s, -3, 3)),
  unaryEntry('gelu', antler.gelu, (rng, s) => vals(rng, s, -3, 3)),
  // ½x(1 + tanh u) loses float32's relative accuracy where tanh u → −1 (1 + tanh u ≈ 2.4e-3 at x = −3: ~3e-5,
  // PyTorch's too); the 0-d sample, measured against its own value, stays above −2 (1 + tanh u ≥ 0.05, ≤ 3e-6).
  unaryEntry('gelu(tanh)', (x: Tensor) => antler.gelu(x, { approximate: 'tanh' }), (rng, s) => vals(rng, s, s.length ? -3 : -2, 3)),
  unaryEntry('sqrt', antler.sqrt, positive),
  unaryEntry('abs', antler.abs, awayFromZero),
  unaryEntry('square', antler.square, anyVals),
  unaryEntry('reciprocal', antler.reciprocal, positive),
  unaryEntry('sin', antler.sin, (rng, s) => vals(rng, s, -4, 4)),
  unaryEntry('cos', antler.cos, (rng, s) => vals(rng, s, -4, 4)),
  unaryEntry('log1p', antler.log1p, (rng, s) => vals(rng, s, -0.7, 2)),
  unaryEntry('expm1', antler.expm1, (rng, s) => vals(rng, s, -2, 2)),
  unaryEntry('rsqrt', antler.rsqrt, positive),
  unaryEntry('sign', antler.sign, awayFromSteps),
  unaryEntry('floor', antler.floor, awayFromSteps),
  unaryEntry('ceil', antler.ceil, awayFromSteps),
  unaryEntry('round', antler.round, awayFromSteps),
  unaryEntry('trunc', antler.trunc, awayFromSteps),
  unaryEntry('erf', antler.erf, (rng, s) => vals(rng, s, -2.5, 2.5)),
  unaryEntry('erfc', antler.erfc, (rng, s) => vals(rng, s, -2.5, 2.5)),
  unaryEntry('tan', antler.tan, (rng, s) => vals(rng, s, -1.2, 1.2)),
  unaryEntry('asin', antler.asin, (rng, s) => vals(rng, s, -0.9, 0.9)),
  unaryEntry('acos', antler.acos, (rng, s) => vals(rng, s, -0.9, 0.9)),
  unaryEntry('atan', antler.atan, (rng, s) => vals(rng, s, -4, 4)),
  unaryEntry('sinh', antler.sinh, (rng, s) => vals(rng, s, -3, 3)),
  unaryEntry('cosh', antler.cosh, (rng, s) => vals(rng, s, -3, 3)),
  unaryEntry('asinh', antler.asinh, (rng, s) => vals(rng, s, -4, 4)),
  unaryEntry('acosh', antler.acosh, (rng, s) => vals(rng, s, 1.2, 4)),
  unaryEntry('atanh', antler.atanh, (rng, s) => vals(rng, s, -0.9, 0.9)),
  unaryEntry('log2', antler.log2, positive),
  unaryEntry('log10', antler.log10, positive),
  unaryEntry('exp2', antler.exp2, (rng, s) => vals(rng, s, -3, 3)),
  {
    ...unaryEntry('leakyRelu', (x) => antler.leakyRelu(x), awayFromZero),
    bad: [
      ['INVALID_ARGUMENT', () => antler.leakyRelu('x' as unknown as Tensor)],
      ['INVALID_ARGUMENT', () => antler.leakyRelu(t([1], [1]), NaN)],
    ],
  },
  unaryEntry('leakyRelu(x, 0.2)', (x) => antler.leakyRelu(x, 0.2), awayFromZero),
  {
    ...unaryEntry('elu', (x) => antler.elu(x), (rng, s) => ({ shape: s, values: awayFromZero(rng, s).values.map((v) => 2 * v) })),
    bad: [
      ['INVALID_ARGUMENT', () => antler.elu('x' as unknown as Tensor)],
      ['INVALID_ARGUMENT', () => antler.elu(t([1], [1]), Infinity)],
    ],
  },
  unaryEntry('elu(x, 0.5)', (x) => antler.elu(x, 0.5), awayFromZero),
  unaryEntry('silu', antler.silu, (rng, s) => vals(rng, s, -4, 4)),
  {
    name: 'clamp',
    samples: (rng) => [{ inputs: [{ shape: [3, 4], values: Array.from({ length: 12 }, () => rng.pick([-1, 1]) * rng.uniform(0.1, 0.4) + rng.pick([-0.5, 0, 0.5])) }] }],
    fn: ([x]) => antler.clamp(x, -0.5, 0.5),
    bad: [['INVALID_ARGUMENT', () => antler.clamp(t([1], [1]), NaN, 0)]],
  },
  {
    name: 'sum',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }],
    fn: ([x]) => antler.sum(x),
  },
  { name: 'sum(axis 1)', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }], fn: ([x]) => antler.sum(x, 1) },
  { name: 'sum(axes [0, 2], keepDims)', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }], fn: ([x]) => antler.sum(x, [0, -1], true) },
  { name: 'mean', samples: (rng) => [{ inputs: [anyVals(rng, [3, 4])] }], fn: ([x]) => antler.mean(x) },
  { name: 'mean(axis -1)', samples: (rng) => [{ inputs: [anyVals(rng, [3, 4])] }], fn: ([x]) => antler.mean(x, -1) },
  {
    name: 'max(axis 1)',
    samples: (rng) => [{ inputs: [{ shape: [3, 4], values: shuffledDistinct(rng, 12) }] }],
    fn: ([x]) => antler.max(x, 1),
    bad: [['INVALID_ARGUMENT', () => antler.max(t([1, 2], [2]), 3)]],
  },
  { name: 'max', samples: (rng) => [{ inputs: [{ shape: [2, 5], values: shuffledDistinct(rng, 10) }] }], fn: ([x]) => antler.max(x) },
  { name: 'min(axis 0, keepDims)', samples: (rng) => [{ inputs: [{ shape: [4, 3], values: shuffledDistinct(rng, 12) }] }], fn: ([x]) => antler.min(x, 0, true) },
  {
    name: 'softmax',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 5])] }, { inputs: [anyVals(rng, [2, 4, 3])], note: 'axis 1 of 3-D' }],
    fn: ([x]) => antler.softmax(x, x.rank === 3 ? 1 : -1),
  },
  {
    name: 'logSoftmax',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 5])] }, { inputs: [anyVals(rng, [2, 4, 3])] }],
    fn: ([x]) => antler.logSoftmax(x, x.rank === 3 ? 1 : -1),
  },
  {
    name: 'crossEntropy(mean)',
    samples: (rng) => [{ inputs: [anyVals(rng, [5, 4])], aux: [ints(rng, [5], 0, 3)] }],
    fn: ([x], [labels]) => antler.crossEntropy(x, labels),
    bad: [
      ['INVALID_ARGUMENT', () => antler.crossEntropy(t([0, 0, 0, 0], [2, 2]), antler.tensor([0, 5], [2], { dtype: 'int32' }))],
      ['DTYPE_MISMATCH', () => antler.crossEntropy(t([0, 0, 0, 0], [2, 2]), t([0, 1], [2]))],
      ['SHAPE_MISMATCH', () => antler.crossEntropy(t([0, 0, 0, 0], [2, 2]), antler.tensor([0, 1, 1], [3], { dtype: 'int32' }))],
    ],
  },
  {
    name: 'crossEntropy(sum, ignoreIndex)',
    samples: (rng) => [{ inputs: [anyVals(rng, [6, 3])], aux: [{ shape: [6], values: [0, -100, 2, 1, -100, 2], dtype: 'int32' }] }],
    fn: ([x], [labels]) => antler.crossEntropy(x, labels, { reduction: 'sum' }),
  },
  {
    name: 'crossEntropy(none, ignoreIndex 1)',
    samples: (rng) => [{ inputs: [anyVals(rng, [4, 3])], aux: [{ shape: [4], values: [0, 1, 2, 1], dtype: 'int32' }] }],
    fn: ([x], [labels]) => antler.crossEntropy(x, labels, { reduction: 'none', ignoreIndex: 1 }),
  },
  {
    name: 'mseLoss',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 4]), anyVals(rng, [3, 4])] }],
    fn: ([a, b]) => antler.mseLoss(a, b),
  },
  {
    name: 'embedding',
    samples: (rng) => [{ inputs: [anyVals(rng, [5, 3])], aux: [ints(rng, [2, 4], 0, 4)] }],
    fn: ([w], [idx]) => antler.embedding(idx, w),
    bad: [['INVALID_ARGUMENT', () => antler.embedding(antler.tensor([0, 9], [2], { dtype: 'int32' }), t([1, 2, 3, 4], [2, 2]))]],
  },
  {
    // Bags [0, 2), [2, 2) (empty), [2, 7) of a 7-index input; the default mode 'mean'.
    name: 'embeddingBag(mean, empty bag)',
    samples: (rng) => [{ inputs: [vals(rng, [5, 3])], aux: [ints(rng, [7], 0, 4), { shape: [3], values: [0, 2, 2], dtype: 'int32' }] }],
    fn: ([w], [idx, offsets]) => antler.embeddingBag(idx, w, { offsets }),
    bad: [
      ['INVALID_ARGUMENT', () => antler.embeddingBag(antler.tensor([0, 1], [2], { dtype: 'int32' }), t([1, 2, 3, 4], [2, 2]), { offsets: antler.tensor([1], [1], { dtype: 'int32' }) })],
      ['INVALID_ARGUMENT', () => antler.embeddingBag(antler.tensor([[0, 2]], [1, 2], { dtype: 'int32' }), t([1, 2, 3, 4], [2, 2]))],
      ['DTYPE_MISMATCH', () => antler.embeddingBag(t([0, 1], [1, 2]), t([1, 2, 3, 4], [2, 2]))],
    ],
  },
  {
    name: 'embeddingBag(sum, perSampleWeights, paddingIdx)',
    samples: (rng) => [{ inputs: [vals(rng, [4, 3]), vals(rng, [3, 3])], aux: [ints(rng, [3, 3], 0, 3)] }],
    fn: ([w, psw], [idx]) => antler.embeddingBag(idx, w, { mode: 'sum', perSampleWeights: psw, paddingIdx: 1 }),
    bad: [['INVALID_ARGUMENT', () => antler.embeddingBag(antler.tensor([[0, 1]], [1, 2], { dtype: 'int32' }), t([1, 2, 3, 4], [2, 2]), { perSampleWeights: t([1, 1], [1, 2]) })]],
  },
  {
    // Distinct table values (no ties within a bag, unless an index repeats: then one row).
    name: 'embeddingBag(max, includeLastOffset)',
    samples: (rng) => [{ inputs: [awayFromZero(rng, [6, 2])], aux: [ints(rng, [8], 0, 5), { shape: [4], values: [0, 3, 3, 8], dtype: 'int32' }] }],
    fn: ([w], [idx, offsets]) => antler.embeddingBag(idx, w, { offsets, mode: 'max', includeLastOffset: true }),
  },
  {
    name: 'dropout(mask)',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 4])], aux: [{ shape: [3, 4], values: Array.from({ length: 12 }, () => (rng.next() < 0.3 ? 0 : 1 / 0.7)), dtype: 'float64' }] }],
    fn: ([x], [mask]) => antler.dropout(x, 0.3, { mask: mask.dtype === x.dtype ? mask : mask.cast(x.dtype) }),
  },
  {
    // The new dropouts replay a 0/1 keep mask (aux), so float32, float64 and the devices see one draw.
    name: 'alphaDropout(keep)',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 4])], aux: [{ shape: [3, 4], values: Array.from({ length: 12 }, () => (rng.next() < 0.3 ? 0 : 1)), dtype: 'float64' }] }],
    fn: ([x], [keep]) => antler.alphaDropout(x, 0.3, { keep: keep.dtype === x.dtype ? keep : keep.cast(x.dtype) }),
    bad: [['INVALID_ARGUMENT', () => antler.alphaDropout(t([1, 2], [2]), 1.5)]],
  },
  {
    name: 'featureAlphaDropout(keep)',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])], aux: [{ shape: [2, 3, 1], values: [1, 0, 1, 1, 0, 1], dtype: 'float64' }] }],
    fn: ([x], [keep]) => antler.featureAlphaDropout(x, 0.4, { keep: keep.dtype === x.dtype ? keep : keep.cast(x.dtype) }),
    bad: [['SHAPE_MISMATCH', () => antler.featureAlphaDropout(t([1, 2], [2]), 0.5)]],
  },
  {
    name: 'dropout1d(keep)',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])], aux: [{ shape: [2, 3, 1], values: [0, 1, 1, 1, 0, 1], dtype: 'float64' }] }],
    fn: ([x], [keep]) => antler.dropout1d(x, 0.25, { keep: keep.dtype === x.dtype ? keep : keep.cast(x.dtype) }),
    bad: [['SHAPE_MISMATCH', () => antler.dropout1d(t([1, 2], [2]), 0.5)]],
  },
  {
    name: 'dropout2d(keep)',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 2, 2])], aux: [{ shape: [2, 3, 1, 1], values: [1, 0, 1, 0, 1, 1], dtype: 'float64' }] }],
    fn: ([x], [keep]) => antler.dropout2d(x, 0.25, { keep: keep.dtype === x.dtype ? keep : keep.cast(x.dtype) }),
    bad: [['SHAPE_MISMATCH', () => antler.dropout2d(t([1, 2], [1, 2]), 0.5)]],
  },
  {
    name: 'dropout3d(keep)',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 2, 2, 1, 2])], aux: [{ shape: [2, 2, 1, 1, 1], values: [0, 1, 1, 0], dtype: 'float64' }] }],
    fn: ([x], [keep]) => antler.dropout3d(x, 0.25, { keep: keep.dtype === x.dtype ? keep : keep.cast(x.dtype) }),
    bad: [['SHAPE_MISMATCH', () => antler.dropout3d(t([1, 2], [1, 1, 2]), 0.5)]],
  },
  {
    name: 'layerNorm',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 5]), anyVals(rng, [5]), anyVals(rng, [5])] }],
    fn: ([x, w, b]) => antler.layerNorm(x, w, b),
    f32rtol: 1e-4,
    bad: [['SHAPE_MISMATCH', () => antler.layerNorm(t([1, 2, 3, 4], [2, 2]), t([1, 2, 3], [3]))]],
  },
  {
    name: 'batchNorm(training)',
    samples: (rng) => [
      { inputs: [anyVals(rng, [4, 3]), anyVals(rng, [3]), anyVals(rng, [3])] },
      { inputs: [anyVals(rng, [2, 3, 4]), anyVals(rng, [3]), anyVals(rng, [3])], note: '[N, C, L]' },
    ],
    fn: ([x, w, b]) => antler.batchNorm(x, null, null, { weight: w, bias: b, training: true }),
    f32rtol: 1e-4,
    bad: [['SHAPE_MISMATCH', () => antler.batchNorm(t([1, 2, 3, 4], [2, 2]), null, null, { weight: t([1, 2, 3], [3]), training: true })]],
  },
  {
    name: 'batchNorm(running statistics)',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 2, 2]), anyVals(rng, [2]), anyVals(rng, [2])] }],
    fn: ([x, w, b]) =>
      antler.tidy(() => antler.batchNorm(x, antler.tensor([0.3, -0.2], [2], { dtype: x.dtype, device: x.device }), antler.tensor([0.5, 2], [2], { dtype: x.dtype, device: x.device }), { weight: w, bias: b })),
    bad: [['INVALID_ARGUMENT', () => antler.batchNorm(t([1, 2, 3, 4], [2, 2]), null, null)]],
  },
  { name: 'select', samples: (rng) => [{ inputs: [anyVals(rng, [3, 4, 2])] }], fn: ([x]) => antler.select(x, 1, -1), bad: [['INVALID_ARGUMENT', () => antler.select(t([1, 2], [2]), 0, 2)]] },
  { name: 'narrow', samples: (rng) => [{ inputs: [anyVals(rng, [3, 5])] }], fn: ([x]) => antler.narrow(x, 1, 1, 3), bad: [['INVALID_ARGUMENT', () => antler.narrow(t([1, 2], [2]), 0, 1, 2)]] },
  {
    name: 'maxPool1d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 3, 7])] },
      { inputs: [anyVals(rng, [3, 8])], note: 'unbatched, overlapping windows, padding, dilation, ceil mode' },
    ],
    fn: ([x]) => (x.rank === 3 ? antler.maxPool1d(x, 2) : antler.maxPool1d(x, 3, { stride: 2, padding: 1, dilation: 2, ceilMode: true })),
    bad: [['INVALID_ARGUMENT', () => antler.maxPool1d(t([1, 2, 3, 4], [1, 1, 4]), 2, { padding: 2 })]],
  },
  {
    name: 'avgPool1d',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 2, 7])] }],
    fn: ([x]) => antler.avgPool1d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
    bad: [['SHAPE_MISMATCH', () => antler.avgPool1d(t([1, 2], [1, 1, 2]), 3)]],
  },
  { name: 'adaptiveAvgPool1d', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 7])] }], fn: ([x]) => antler.adaptiveAvgPool1d(x, 3) },
  { name: 'adaptiveMaxPool1d', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 5])] }], fn: ([x]) => antler.adaptiveMaxPool1d(x, 3) },
  {
    name: 'maxPool2d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 2, 5, 6])] },
      { inputs: [anyVals(rng, [2, 6, 5])], note: 'unbatched, [h, w] sizes, overlapping windows, padding, dilation, ceil mode' },
    ],
    fn: ([x]) => (x.rank === 4 ? antler.maxPool2d(x, 2) : antler.maxPool2d(x, [3, 2], { stride: [2, 1], padding: [1, 1], dilation: [2, 1], ceilMode: true })),
    bad: [['INVALID_ARGUMENT', () => antler.maxPool2d(t([1, 2, 3, 4], [1, 1, 2, 2]), 2, { padding: [0, 2] })]],
  },
  {
    name: 'avgPool2d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 2, 5, 6])], note: 'ceil mode, padding left out of the divisor' },
      { inputs: [anyVals(rng, [2, 4, 5])], note: 'unbatched, divisorOverride' },
    ],
    fn: ([x]) =>
      x.rank === 4
        ? antler.avgPool2d(x, [3, 2], { stride: 2, padding: [1, 0], ceilMode: true, countIncludePad: false })
        : antler.avgPool2d(x, 2, { stride: 1, padding: 1, divisorOverride: 3 }),
    bad: [['SHAPE_MISMATCH', () => antler.avgPool2d(t([1, 2], [1, 1, 1, 2]), 2)]],
  },
  { name: 'adaptiveAvgPool2d', samples: (rng) => [{ inputs: [anyVals(rng, [2, 2, 5, 7])] }], fn: ([x]) => antler.adaptiveAvgPool2d(x, [3, 4]) },
  {
    name: 'adaptiveMaxPool2d',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 5, 4])], note: 'unbatched' }],
    fn: ([x]) => antler.adaptiveMaxPool2d(x, [3, null]),
    bad: [['INVALID_ARGUMENT', () => antler.adaptiveMaxPool2d(t([1, 2], [1, 1, 1, 2]), [0, 1])]],
  },
  {
    name: 'maxPool3d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [1, 2, 3, 4, 4])] },
      { inputs: [anyVals(rng, [2, 4, 3, 5])], note: 'unbatched, [d, h, w] sizes, overlapping windows, padding, dilation, ceil mode' },
    ],
    fn: ([x]) => (x.rank === 5 ? antler.maxPool3d(x, 2) : antler.maxPool3d(x, [2, 3, 2], { stride: [2, 1, 2], padding: [1, 1, 0], dilation: [1, 1, 2], ceilMode: true })),
    bad: [['INVALID_ARGUMENT', () => antler.maxPool3d(t([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 2, 2]), 2, { padding: [0, 0, 2] })]],
  },
  {
    name: 'avgPool3d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [1, 2, 4, 3, 5])], note: 'ceil mode, padding left out of the divisor' },
      { inputs: [anyVals(rng, [2, 3, 2, 3])], note: 'unbatched, divisorOverride' },
    ],
    fn: ([x]) =>
      x.rank === 5
        ? antler.avgPool3d(x, [2, 3, 2], { stride: 2, padding: [1, 1, 0], ceilMode: true, countIncludePad: false })
        : antler.avgPool3d(x, 2, { stride: 1, padding: 1, divisorOverride: 5 }),
    bad: [['SHAPE_MISMATCH', () => antler.avgPool3d(t([1, 2], [1, 1, 1, 1, 2]), 2)]],
  },
  { name: 'adaptiveAvgPool3d', samples: (rng) => [{ inputs: [anyVals(rng, [1, 2, 3, 5, 4])] }], fn: ([x]) => antler.adaptiveAvgPool3d(x, [2, 3, null]) },
  {
    name: 'adaptiveMaxPool3d',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 5, 4])], note: 'unbatched' }],
    fn: ([x]) => antler.adaptiveMaxPool3d(x, [2, null, 3]),
    bad: [['INVALID_ARGUMENT', () => antler.adaptiveMaxPool3d(t([1, 2], [1, 1, 1, 1, 2]), [1, 0, 1])]],
  },
  {
    name: 'maxUnpool1d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [1, 2, 3])], note: 'each value back in its window of 2 in a row of 6' },
      { inputs: [anyVals(rng, [2, 4])], note: 'unbatched, outputSize past the default (9 for 8)' },
    ],
    fn: ([x]) => {
      const at = (v: number[]) => antler.tensor(v, x.shape, { dtype: 'int32', device: x.device });
      return x.rank === 3
        ? antler.maxUnpool1d(x, at([1, 2, 5, 0, 3, 4]), 2)
        : antler.maxUnpool1d(x, at([0, 3, 4, 8, 1, 2, 5, 7]), 2, { outputSize: [9] });
    },
    bad: [['INVALID_ARGUMENT', () => antler.maxUnpool1d(t([1, 2], [1, 1, 2]), antler.tensor([0, -1], [1, 1, 2], { dtype: 'int32' }), 2)]],
  },
  {
    name: 'maxUnpool3d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [1, 2, 2, 1, 2])], note: 'each value back in its 2×2×2 window of a 4×2×4 volume' },
      { inputs: [anyVals(rng, [1, 1, 2, 2])], note: 'unbatched, stride 1 windows, distinct indices' },
    ],
    fn: ([x]) => {
      const at = (v: number[]) => antler.tensor(v, x.shape, { dtype: 'int32', device: x.device });
      return x.rank === 5
        ? antler.maxUnpool3d(x, at([0, 7, 27, 30, 9, 6, 17, 31]), 2)
        : antler.maxUnpool3d(x, at([0, 2, 7, 8]), [1, 2, 2], { stride: 1 });
    },
    bad: [['SHAPE_MISMATCH', () => antler.maxUnpool3d(t([1, 2], [1, 2]), antler.tensor([0, 1], [1, 2], { dtype: 'int32' }), 2)]],
  },
  {
    name: 'maxUnpool2d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [1, 2, 2, 2])], note: 'each value back in its 2×2 window of a 4×4 plane' },
      { inputs: [anyVals(rng, [2, 2, 3])], note: 'unbatched, outputSize past the default' },
    ],
    fn: ([x]) => {
      const at = (v: number[]) => antler.tensor(v, x.rank === 4 ? [1, 2, 2, 2] : [2, 2, 3], { dtype: 'int32', device: x.device });
      return x.rank === 4
        ? antler.nn.maxUnpool2d(x, at([5, 2, 12, 15, 0, 7, 9, 10]), 2)
        : antler.nn.maxUnpool2d(x, at([0, 8, 16, 24, 29, 1, 3, 7, 11, 13, 20, 27]), 2, { outputSize: [5, 6] });
    },
    bad: [['INVALID_ARGUMENT', () => antler.nn.maxUnpool1d(t([1, 2], [1, 1, 2]), antler.tensor([0, 4], [1, 1, 2], { dtype: 'int32' }), 2)]],
  },
  {
    name: 'groupNorm',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 4, 3]), anyVals(rng, [4]), anyVals(rng, [4])], note: '2 groups, [N, C, L]' },
      { inputs: [anyVals(rng, [3, 3]), anyVals(rng, [3]), anyVals(rng, [3])], note: 'groups = C, [N, C]' },
      { inputs: [anyVals(rng, [2, 2, 2, 2]), anyVals(rng, [2]), anyVals(rng, [2])], note: 'one group, 2 trailing dims' },
    ],
    fn: ([x, w, b]) => antler.groupNorm(x, x.rank === 2 ? 3 : x.rank === 3 ? 2 : 1, { weight: w, bias: b }),
    f32rtol: 1e-4,
    bad: [['INVALID_ARGUMENT', () => antler.groupNorm(t([1, 2, 3, 4, 5, 6], [2, 3]), 2)]],
  },
  {
    name: 'instanceNorm(input statistics)',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 3, 4]), anyVals(rng, [3]), anyVals(rng, [3])] },
      { inputs: [anyVals(rng, [1, 2, 2, 3]), anyVals(rng, [2]), anyVals(rng, [2])], note: '2 trailing dims' },
    ],
    fn: ([x, w, b]) => antler.instanceNorm(x, { weight: w, bias: b }),
    f32rtol: 1e-4,
    bad: [['INVALID_ARGUMENT', () => antler.instanceNorm(t([1, 2, 3, 4], [2, 2, 1]))]],
  },
  {
    name: 'instanceNorm(running statistics)',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 2, 2]), anyVals(rng, [2]), anyVals(rng, [2])] }],
    fn: ([x, w, b]) =>
      antler.tidy(() =>
        antler.instanceNorm(x, { runningMean: antler.tensor([0.3, -0.2], [2], { dtype: x.dtype, device: x.device }), runningVar: antler.tensor([0.5, 2], [2], { dtype: x.dtype, device: x.device }), weight: w, bias: b, useInputStats: false }),
      ),
    bad: [['INVALID_ARGUMENT', () => antler.instanceNorm(t([1, 2, 3, 4], [1, 2, 2]), { useInputStats: false })]],
  },
  { name: 'layerNorm(no affine)', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }], fn: ([x]) => antler.layerNorm(x), f32rtol: 1e-4 },
  {
    name: 'matmul',
    samples: (rng) => [
      { inputs: [anyVals(rng, [3, 4]), anyVals(rng, [4, 2])] },
      { inputs: [anyVals(rng, [2, 3, 4]), anyVals(rng, [4, 5])], note: 'batched @ 2-D' },
      { inputs: [anyVals(rng, [2, 1, 2, 3]), anyVals(rng, [3, 3, 2])], note: 'broadcast batch' },
      { inputs: [anyVals(rng, [4]), anyVals(rng, [4, 3])], note: '1-D @ 2-D' },
      { inputs: [anyVals(rng, [3, 4]), anyVals(rng, [4])], note: '2-D @ 1-D' },
      { inputs: [anyVals(rng, [5]), anyVals(rng, [5])], note: 'dot' },
    ],
    fn: ([a, b]) => antler.matmul(a, b),
    bad: [['SHAPE_MISMATCH', () => antler.matmul(t([1, 2, 3, 4, 5, 6], [2, 3]), t([1, 2, 3, 4], [2, 2]))]],
  },
  {
    name: 'matmul(transposeA, transposeB)',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 4, 3]), anyVals(rng, [5, 4])] }],
    fn: ([a, b]) => antler.matmul(a, b, { transposeA: true, transposeB: true }),
  },
  {
    name: 'matmul(transposeB)',
    samples: (rng) => [
      { inputs: [anyVals(rng, [3, 4]), anyVals(rng, [2, 4])] },
      { inputs: [anyVals(rng, [2, 3, 2, 4]), anyVals(rng, [5, 4])], note: 'batched @ shared 2-D' },
    ],
    fn: ([a, b]) => antler.matmul(a, b, { transposeB: true }),
  },
  {
    name: 'linear',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4]), anyVals(rng, [5, 4]), anyVals(rng, [5])] }],
    fn: ([x, w, b]) => antler.linear(x, w, b),
  },
  {
    name: 'concat',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3]), anyVals(rng, [2, 1]), anyVals(rng, [2, 2])] }],
    fn: (xs) => antler.concat(xs, 1),
    bad: [['SHAPE_MISMATCH', () => antler.concat([t([1, 2], [2, 1]), t([1, 2, 3], [3, 1])], 1)]],
  },
  { name: 'stack', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3]), anyVals(rng, [2, 3])] }], fn: (xs) => antler.stack(xs, 1) },
  {
    name: 'slice',
    samples: (rng) => [{ inputs: [anyVals(rng, [4, 5, 3])] }],
    fn: ([x]) => antler.slice(x, [1, 0, 1], [2, -1, 2]),
    bad: [['INVALID_ARGUMENT', () => antler.slice(t([1, 2, 3], [3]), [2], [5])]],
  },
  {
    name: 'flip',
    samples: (rng) => [{ inputs: [anyVals(rng, [4, 3, 2])] }],
    fn: ([x]) => antler.flip(x, [0, -1]),
    bad: [['INVALID_ARGUMENT', () => antler.flip(t([1, 2], [2, 1]), [0, 0])], ['INVALID_ARGUMENT', () => antler.flip(t([1, 2], [2, 1]), [2])]],
  },
  {
    name: 'cumsum(axis 1)',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }],
    fn: ([x]) => antler.cumsum(x, 1),
    bad: [
      ['INVALID_ARGUMENT', () => antler.cumsum(t([1, 2], [2, 1]), 2)],
      ['INVALID_ARGUMENT', () => antler.cumsum(t([1, 2], [2, 1]), -3)],
      ['INVALID_ARGUMENT', () => antler.cumsum(t([1, 2], [2, 1]), 0, { exclusiv: true } as unknown as { exclusive: boolean })],
      ['INVALID_ARGUMENT', () => antler.cumsum(t([1, 2], [2, 1]), 0, { reverse: 1 } as unknown as { reverse: boolean })],
      ['INVALID_ARGUMENT', () => antler.cumsum(t([1, 2], [2, 1]), 0.5)],
    ],
  },
  {
    name: 'cumsum(axis -1, exclusive)',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }, { inputs: [anyVals(rng, [5])] }, { inputs: [anyVals(rng, [])], note: '0-d' }],
    fn: ([x]) => antler.cumsum(x, -1, { exclusive: true }),
  },
  { name: 'cumsum(axis 0, reverse)', samples: (rng) => [{ inputs: [anyVals(rng, [3, 2, 4])] }], fn: ([x]) => antler.cumsum(x, 0, { reverse: true }) },
  {
    name: 'cumprod(axis 1)',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }, { inputs: [withZeros(rng, [3, 5], 4)], note: 'zeros' }],
    fn: ([x]) => antler.cumprod(x, 1),
    bad: [
      ['INVALID_ARGUMENT', () => antler.cumprod(t([1, 2], [2, 1]), 2)],
      ['INVALID_ARGUMENT', () => antler.cumprod(t([1, 2], [2, 1]), 0, { revers: true } as unknown as { reverse: boolean })],
      ['INVALID_ARGUMENT', () => antler.cumprod(t([1, 2], [2, 1]), 0.5)],
    ],
  },
  {
    name: 'cumprod(exclusive, reverse)',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 5, 3])] }, { inputs: [withZeros(rng, [6], 2)], note: 'zeros' }, { inputs: [anyVals(rng, [])], note: '0-d' }],
    fn: ([x]) => antler.cumprod(x, x.rank === 3 ? 1 : 0, { exclusive: true, reverse: true }),
  },
  { name: 'cumprod(axis -1, exclusive)', samples: (rng) => [{ inputs: [withZeros(rng, [4, 6], 5)], note: 'zeros' }], fn: ([x]) => antler.cumprod(x, -1, { exclusive: true }) },
  {
    name: 'prod',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 2])] }, { inputs: [withZeros(rng, [5], 1)], note: 'one zero' }, { inputs: [withZeros(rng, [2, 3], 2)], note: 'two zeros' }],
    fn: ([x]) => antler.prod(x),
    bad: [['INVALID_ARGUMENT', () => antler.prod(t([1, 2], [2]), 1)], ['INVALID_ARGUMENT', () => antler.prod(t([1, 2], [2]), [0, 0])]],
  },
  { name: 'prod(axis 1)', samples: (rng) => [{ inputs: [anyVals(rng, [3, 4, 2])] }, { inputs: [withZeros(rng, [3, 4], 3)], note: 'zeros' }], fn: ([x]) => antler.prod(x, 1) },
  { name: 'prod(axes [0, 2], keepDims)', samples: (rng) => [{ inputs: [withZeros(rng, [2, 3, 4], 3)], note: 'zeros' }], fn: ([x]) => antler.prod(x, [0, -1], true) },
  {
    name: 'cumsum(exclusive, reverse)',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 5, 3])] }, { inputs: [anyVals(rng, [6])] }],
    fn: ([x]) => antler.cumsum(x, x.rank === 3 ? 1 : 0, { exclusive: true, reverse: true }),
  },
  { name: 'transpose', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }], fn: ([x]) => antler.transpose(x) },
  {
    name: 'permute',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }],
    fn: ([x]) => antler.permute(x, [2, 0, 1]),
    bad: [['INVALID_ARGUMENT', () => antler.permute(t([1, 2], [2, 1]), [0, 0])]],
  },
  { name: 'reshape', samples: (rng) => [{ inputs: [anyVals(rng, [2, 6])] }], fn: ([x]) => antler.reshape(x, [3, -1, 2]) },
  { name: 'clone', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }], fn: ([x]) => antler.clone(x) },
  { name: 'squeeze', samples: (rng) => [{ inputs: [anyVals(rng, [1, 3, 1, 2])] }], fn: ([x]) => antler.squeeze(x, [0, 2]) },
  { name: 'unsqueeze', samples: (rng) => [{ inputs: [anyVals(rng, [3, 2])] }], fn: ([x]) => antler.unsqueeze(x, -2), bad: [['INVALID_ARGUMENT', () => antler.unsqueeze(t([1, 2], [2]), 2)]] },
  { name: 'expandDims', samples: (rng) => [{ inputs: [anyVals(rng, [3])] }], fn: ([x]) => antler.expandDims(x) },
  { name: 'flatten', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 2])] }], fn: ([x]) => antler.flatten(x, 1), bad: [['INVALID_ARGUMENT', () => antler.flatten(t([1, 2], [1, 2]), 1, 0)]] },
  {
    name: 'split',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 6])] }],
    fn: ([x]) => antler.concat(antler.split(x, [1, 3, 2], 1).map((p, i) => antler.mul(p, i + 1)), 1),
    bad: [['INVALID_ARGUMENT', () => antler.split(t([1, 2, 3], [3]), [1, 1])], ['INVALID_ARGUMENT', () => antler.split(t([1, 2, 3], [3]), 2)]],
  },
  { name: 'chunk', samples: (rng) => [{ inputs: [anyVals(rng, [5, 2])] }], fn: ([x]) => antler.concat(antler.chunk(x, 2).map((p, i) => antler.mul(p, i + 2)), 0) },
  { name: 'unstack', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }], fn: ([x]) => antler.stack(antler.unstack(x, 1).map((p, i) => antler.mul(p, i - 1)), 0) },
  {
    // While recording, the pieces are cut by halving (backward O(size · log pieces)): 7 pieces, three deep.
    name: 'unstack(7 pieces)',
    samples: (rng) => [{ inputs: [anyVals(rng, [7, 2])] }],
    fn: ([x]) => antler.stack(antler.unstack(x, 0).map((p, i) => antler.mul(p, i - 3)), 1),
  },
  {
    name: 'tile',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }, { inputs: [anyVals(rng, [3])], note: 'new leading axis' }],
    fn: ([x]) => antler.tile(x, x.rank === 2 ? [2, 3] : [2, 2]),
    bad: [['INVALID_ARGUMENT', () => antler.tile(t([1, 2], [1, 2]), [2])]],
  },
  {
    name: 'pad',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }, { inputs: [anyVals(rng, [3, 4])], note: 'negative sides crop' }],
    fn: ([x]) => antler.pad(x, x.shape[0] === 2 ? [[1, 0], [2, 1]] : [[-1, 2], [1, -2]], { value: 0.5 }),
    bad: [
      ['INVALID_ARGUMENT', () => antler.pad(t([1, 2], [2]), [[1, 1], [0, 0]])],
      ['INVALID_ARGUMENT', () => antler.pad(t([1, 2], [2]), [[-2, -1]])],
      ['INVALID_ARGUMENT', () => antler.pad(t([1, 2], [2]), [[-1, 0]], { mode: 'reflect' })],
    ],
  },
  {
    // One sample per mode, told apart by the input's shape; two padded axes in the first.
    name: 'pad(reflect, replicate, circular)',
    samples: (rng) => [
      { inputs: [anyVals(rng, [3, 4])], note: "reflect on both axes" },
      { inputs: [anyVals(rng, [2, 2, 3])], note: 'replicate, padding beyond the length' },
      { inputs: [anyVals(rng, [2, 5])], note: 'circular, padding up to the length' },
    ],
    fn: ([x]) =>
      x.rank === 3 ? antler.pad(x, [[0, 0], [0, 0], [4, 2]], { mode: 'replicate' })
        : x.shape[1] === 4 ? antler.pad(x, [[1, 2], [3, 2]], { mode: 'reflect' })
          : antler.pad(x, [[0, 0], [5, 2]], { mode: 'circular' }),
    bad: [
      ['INVALID_ARGUMENT', () => antler.pad(t([1, 2], [2]), [[2, 0]], { mode: 'reflect' })],
      ['INVALID_ARGUMENT', () => antler.pad(t([1, 2], [2]), [[3, 0]], { mode: 'circular' })],
      ['INVALID_ARGUMENT', () => antler.pad(t([1, 2], [2]), [[1, 0]], { mode: 'reflect', value: 1 })],
    ],
  },
  {
    name: 'ctcLoss',
    samples: (rng) => [
      { inputs: [anyVals(rng, [6, 2, 4])] },
      { inputs: [anyVals(rng, [40, 3, 5])], note: 'longer lattices, a repeated label' },
      { inputs: [anyVals(rng, [5, 4, 4])], note: 'input lengths of 0 (an empty target, and one that cannot fit: zeroInfinity)' },
    ],
    fn: ([lp]) => {
      const N = lp.shape[1];
      if (N === 2) return antler.ctcLoss(lp, [[1, 2], [3, 3]], [6, 5], [2, 2], { reduction: 'none' });
      if (N === 4) return antler.ctcLoss(lp, [[1, 2], [0, 0], [3, 0], [2, 0]], [5, 0, 0, 3], [2, 0, 1, 1], { reduction: 'none', zeroInfinity: true });
      return antler.ctcLoss(lp, [[1, 2, 3, 4, 1, 1], [2, 2, 4, 3, 3, 1], [4, 1, 4, 1, 2, 3]], [40, 33, 20], [6, 4, 5], { blank: 0, reduction: 'none' });
    },
    bad: [['INVALID_ARGUMENT', () => antler.ctcLoss(t([0, 0, 0, 0], [2, 1, 2]), [[0]], [2], [1])]],
  },
  {
    name: 'scatterAdd',
    samples: (rng) => [
      { inputs: [anyVals(rng, [3, 4]), anyVals(rng, [2, 5])], aux: [{ shape: [2, 4], values: Array.from({ length: 8 }, () => rng.int(0, 2)), dtype: 'int32' }], note: 'axis 0, repeats, src larger than index' },
      { inputs: [anyVals(rng, [2, 3]), anyVals(rng, [2, 4])], aux: [{ shape: [2, 4], values: Array.from({ length: 8 }, () => rng.int(0, 2)), dtype: 'int32' }], note: 'axis 1' },
    ],
    fn: ([x, src], aux) => antler.scatterAdd(x, x.shape[0] === 3 ? 0 : 1, aux[0], src),
    bad: [['INVALID_ARGUMENT', () => antler.scatterAdd(t([1, 2], [2]), 0, antler.tensor([2], [1], { dtype: 'int32' }), t([1], [1]))]],
  },
  // lib/ops/extra.ts: composites of the recorded ops (inputs away from their kinks).
  { name: 'maskedFill', samples: (rng) => [{ inputs: [anyVals(rng, [3, 4])], aux: [ints(rng, [1, 4], 0, 1)] }], fn: ([x], [m]) => antler.maskedFill(x, m, -2.5) },
  { name: 'tril(-1)', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])] }], fn: ([x]) => antler.tril(x, -1) },
  { name: 'triu(1)', samples: (rng) => [{ inputs: [anyVals(rng, [4, 3])] }], fn: ([x]) => antler.triu(x, 1) },
  {
    name: 'norm(p 2, 3, 1, ∞; axes)',
    samples: (rng) => [{ inputs: [awayFromZero(rng, [3, 4])] }, { inputs: [{ shape: [2, 3], values: [0, 0, 0, ...awayFromZero(rng, [3]).values] }], note: 'a zero row' }],
    fn: ([x]) => antler.add(antler.add(antler.norm(x, 2, 1), antler.norm(x, 3, 1)), antler.add(antler.norm(x, 1, 1), antler.norm(antler.mul(x, antler.tensor([1, 1.5, 2.25].concat(x.shape[1] === 4 ? [3] : []), [x.shape[1]], { dtype: x.dtype, device: x.device })), Infinity, 1))),
    bad: [['INVALID_ARGUMENT', () => antler.norm(t([1, 2], [2]), -1)], ['DTYPE_MISMATCH', () => antler.norm(antler.tensor([1], [1], { dtype: 'int32' }))]],
  },
  { name: 'norm (all, keepDims)', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }], fn: ([x]) => antler.norm(x, 'fro', undefined, true) },
  { name: 'normalize', samples: (rng) => [{ inputs: [awayFromZero(rng, [3, 4])] }], fn: ([x]) => antler.normalize(x) },
  {
    // |a| >= 0.1 and |b| <= 0.05: each difference is at least 0.05 from 0, where the norm is smooth; b broadcasts in the first.
    name: 'pairwiseDistance',
    samples: (rng) => [
      { inputs: [awayFromZero(rng, [3, 4]), vals(rng, [4], -0.05, 0.05)], note: 'x2 broadcast' },
      { inputs: [awayFromZero(rng, [2, 3]), vals(rng, [2, 3], -0.05, 0.05)], note: 'p 3, keepdim, eps 0' },
    ],
    fn: ([a, b]) => (a.shape[0] === 3 ? antler.pairwiseDistance(a, b) : antler.pairwiseDistance(a, b, { p: 3, keepdim: true, eps: 0 })),
    bad: [['SHAPE_MISMATCH', () => antler.pairwiseDistance(t([1, 2], [2]), t([1, 2, 3], [3]))], ['INVALID_ARGUMENT', () => antler.pairwiseDistance(t([1], [1]), t([1], [1]), { p: -2 })]],
  },
  {
    // One sample per mode, told apart by the length.
    name: 'interpolate',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 2, 3])], note: 'nearest, scaleFactor 2.5' },
      { inputs: [anyVals(rng, [1, 2, 4])], note: 'nearest-exact, size 7' },
      { inputs: [anyVals(rng, [2, 1, 5])], note: 'linear, size 8' },
      { inputs: [anyVals(rng, [1, 3, 6])], note: 'linear, alignCorners, size 4' },
      { inputs: [anyVals(rng, [2, 1, 7])], note: 'area, size 3' },
    ],
    fn: ([x]) => {
      const L = x.shape[2];
      if (L === 3) return antler.interpolate(x, { scaleFactor: 2.5 });
      if (L === 4) return antler.interpolate(x, { size: 7, mode: 'nearest-exact' });
      if (L === 5) return antler.interpolate(x, { size: 8, mode: 'linear' });
      if (L === 7) return antler.interpolate(x, { size: 3, mode: 'area' });
      return antler.interpolate(x, { size: 4, mode: 'linear', alignCorners: true });
    },
    bad: [['SHAPE_MISMATCH', () => antler.interpolate(t([1, 2], [1, 2]), { size: 3 })], ['INVALID_ARGUMENT', () => antler.interpolate(t([1, 2], [1, 1, 2]), { size: 3, scaleFactor: 2 })]],
  },
  {
    // 2-D resampling, one sample per mode, told apart by W; 'bicubic' reads clamped taps at the borders.
    name: 'interpolate (2-D)',
    samples: (rng) => [
      { inputs: [anyVals(rng, [1, 2, 3, 2])], note: 'nearest, scaleFactor [1.5, 2.5]' },
      { inputs: [anyVals(rng, [2, 1, 2, 3])], note: 'bilinear, size [3, 5]' },
      { inputs: [anyVals(rng, [1, 2, 3, 4])], note: 'bicubic, size [4, 3], alignCorners' },
      { inputs: [anyVals(rng, [1, 1, 4, 5])], note: 'bicubic, scaleFactor 1.7' },
      { inputs: [anyVals(rng, [1, 2, 4, 6])], note: 'area, size [2, 4]' },
    ],
    fn: ([x]) => {
      const W = x.shape[3];
      if (W === 2) return antler.interpolate(x, { scaleFactor: [1.5, 2.5] });
      if (W === 3) return antler.interpolate(x, { size: [3, 5], mode: 'bilinear' });
      if (W === 4) return antler.interpolate(x, { size: [4, 3], mode: 'bicubic', alignCorners: true });
      if (W === 5) return antler.interpolate(x, { scaleFactor: 1.7, mode: 'bicubic' });
      return antler.interpolate(x, { size: [2, 4], mode: 'area' });
    },
    bad: [
      ['INVALID_ARGUMENT', () => antler.interpolate(t([1, 2, 3, 4], [1, 1, 2, 2]), { size: 3, mode: 'trilinear' })],
      ['INVALID_ARGUMENT', () => antler.interpolate(t([1, 2, 3, 4], [1, 1, 2, 2]), { size: [3, 3, 3] })],
    ],
  },
  {
    name: 'interpolate (3-D)',
    samples: (rng) => [
      { inputs: [anyVals(rng, [1, 2, 2, 3, 2])], note: 'trilinear, size [3, 2, 4]' },
      { inputs: [anyVals(rng, [2, 1, 2, 2, 3])], note: 'trilinear, scaleFactor 1.5, alignCorners' },
      { inputs: [anyVals(rng, [1, 1, 3, 2, 4])], note: 'nearest-exact, size [2, 3, 3]' },
      { inputs: [anyVals(rng, [1, 2, 3, 4, 5])], note: "area (adaptiveAvgPool3d), size [2, 3, 2]" },
    ],
    fn: ([x]) => {
      const W = x.shape[4];
      if (W === 2) return antler.interpolate(x, { size: [3, 2, 4], mode: 'trilinear' });
      if (W === 3) return antler.interpolate(x, { scaleFactor: 1.5, mode: 'trilinear', alignCorners: true });
      if (W === 5) return antler.interpolate(x, { size: [2, 3, 2], mode: 'area' });
      return antler.interpolate(x, { size: [2, 3, 3], mode: 'nearest-exact' });
    },
    bad: [['INVALID_ARGUMENT', () => antler.interpolate(t([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 2, 2]), { size: 1, mode: 'bicubic' })]],
  },
  {
    name: 'pixelShuffle',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 8, 2, 3])], note: 'r 2' }, { inputs: [anyVals(rng, [2, 1, 9, 1, 2])], note: 'r 3, two batch axes' }],
    fn: ([x]) => antler.pixelShuffle(x, x.rank === 4 ? 2 : 3),
    bad: [['SHAPE_MISMATCH', () => antler.pixelShuffle(t([1, 2, 3], [1, 3, 1, 1]), 2)]],
  },
  {
    name: 'pixelUnshuffle',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 2, 4, 6])], note: 'r 2' }, { inputs: [anyVals(rng, [1, 3, 3])], note: 'r 3, unbatched' }],
    fn: ([x]) => antler.pixelUnshuffle(x, x.rank === 4 ? 2 : 3),
    bad: [['SHAPE_MISMATCH', () => antler.pixelUnshuffle(t([1, 2, 3], [1, 1, 3]), 2)]],
  },
  {
    name: 'channelShuffle',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 6, 3])], note: 'groups 3' }, { inputs: [anyVals(rng, [1, 4, 2, 2])], note: 'groups 2, 2-D' }],
    fn: ([x]) => antler.channelShuffle(x, x.rank === 3 ? 3 : 2),
    bad: [['SHAPE_MISMATCH', () => antler.channelShuffle(t([1, 2, 3], [1, 3, 1]), 2)]],
  },
  { name: 'cosineSimilarity', samples: (rng) => [{ inputs: [awayFromZero(rng, [3, 4]), awayFromZero(rng, [3, 4])] }], fn: ([a, b]) => antler.cosineSimilarity(a, b) },
  { name: 'outer', samples: (rng) => [{ inputs: [anyVals(rng, [3]), anyVals(rng, [4])] }], fn: ([a, b]) => antler.outer(a, b), bad: [['SHAPE_MISMATCH', () => antler.outer(t([1, 2], [1, 2]), t([1], [1]))]] },
  {
    // Positive factors: float32 rounds each product (a composite of mul and sum), so a mixed-sign dot product that cancels
    // toward 0 misses the check, relative to |value|, at random (~1.7e-3 a run).
    name: 'dot',
    samples: (rng) => [{ inputs: [positive(rng, [5]), positive(rng, [5])] }],
    fn: ([a, b]) => antler.dot(a, b),
    bad: [['SHAPE_MISMATCH', () => antler.dot(t([1, 2], [2]), t([1], [1]))]],
  },
  { name: 'logSigmoid', samples: (rng) => [{ inputs: [vals(rng, [7], -6, 6)] }], fn: ([x]) => antler.logSigmoid(x) },
  { name: 'hardtanh', samples: () => [{ inputs: [{ shape: [6], values: [-1.7, -0.4, 0.3, 0.9, 5.2, 6.8] }] }], fn: ([x]) => antler.hardtanh(x) },
  { name: 'relu6', samples: () => [{ inputs: [{ shape: [6], values: [-1.7, -0.4, 0.3, 0.9, 5.2, 6.8] }] }], fn: ([x]) => antler.relu6(x) },
  { name: 'softsign', samples: (rng) => [{ inputs: [awayFromZero(rng, [6])] }], fn: ([x]) => antler.softsign(x) },
  { name: 'mish', samples: (rng) => [{ inputs: [vals(rng, [6], -4, 4)] }], fn: ([x]) => antler.mish(x) },
  { name: 'selu', samples: (rng) => [{ inputs: [awayFromZero(rng, [6])] }], fn: ([x]) => antler.selu(x) },
  { name: 'hardswish', samples: () => [{ inputs: [{ shape: [6], values: [-4.5, -2.2, -0.7, 0.4, 2.6, 3.9] }] }], fn: ([x]) => antler.hardswish(x) },
  { name: 'hardsigmoid', samples: () => [{ inputs: [{ shape: [6], values: [-4.5, -2.2, -0.7, 0.4, 2.6, 3.9] }] }], fn: ([x]) => antler.hardsigmoid(x) },
  { name: 'glu', samples: (rng) => [{ inputs: [anyVals(rng, [3, 4])] }], fn: ([x]) => antler.glu(x), bad: [['SHAPE_MISMATCH', () => antler.glu(t([1, 2, 3], [3]))]] },
  { name: 'logit', samples: (rng) => [{ inputs: [vals(rng, [6], 0.05, 0.95)] }], fn: ([x]) => antler.logit(x) },
  { name: 'celu', samples: (rng) => [{ inputs: [awayFromZero(rng, [2, 3])] }, { inputs: [awayFromZero(rng, [5])], note: 'alpha −0.8' }], fn: ([x]) => antler.celu(x, x.rank === 2 ? 0.7 : -0.8), bad: [['INVALID_ARGUMENT', () => antler.celu(t([1], [1]), 0)]] },
  { name: 'softshrink', samples: (rng) => [{ inputs: [avoiding(rng, [2, 4], [-0.5, 0.5])] }], fn: ([x]) => antler.softshrink(x), bad: [['INVALID_ARGUMENT', () => antler.softshrink(t([1], [1]), -1)]] },
  { name: 'hardshrink', samples: (rng) => [{ inputs: [avoiding(rng, [2, 4], [-0.5, 0.5])] }], fn: ([x]) => antler.hardshrink(x) },
  { name: 'tanhshrink', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }], fn: ([x]) => antler.tanhshrink(x) },
  { name: 'threshold', samples: (rng) => [{ inputs: [avoiding(rng, [7], [0.3])] }], fn: ([x]) => antler.threshold(x, 0.3, -2), bad: [['INVALID_ARGUMENT', () => antler.threshold(t([1], [1]), 0, NaN)]] },
  { name: 'rrelu(eval)', samples: (rng) => [{ inputs: [awayFromZero(rng, [2, 3])] }], fn: ([x]) => antler.rrelu(x, { lower: 0.1, upper: 0.3 }), bad: [['INVALID_ARGUMENT', () => antler.rrelu(t([1], [1]), { lower: 0.5, upper: 0.1 })]] },
  {
    name: 'prelu',
    samples: (rng) => [
      { inputs: [awayFromZero(rng, [2, 3, 4]), vals(rng, [3], -0.5, 1)], note: 'a slope per channel' },
      { inputs: [awayFromZero(rng, [5]), vals(rng, [1], -0.5, 1)], note: 'one slope' },
    ],
    fn: ([x, w]) => antler.prelu(x, w),
    bad: [['SHAPE_MISMATCH', () => antler.prelu(t([1, 2, 3, 4], [2, 2]), t([1, 2, 3], [3]))], ['DTYPE_MISMATCH', () => antler.prelu(t([1], [1]), antler.tensor([1], [1]))]],
  },
  { name: 'softmin', samples: (rng) => [{ inputs: [anyVals(rng, [3, 4])] }], fn: ([x]) => antler.softmin(x, 0), bad: [['INVALID_ARGUMENT', () => antler.softmin(t([1], [1]), 2)]] },
  {
    name: 'bilinear',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 3, 2]), anyVals(rng, [2, 3, 4]), anyVals(rng, [3, 2, 4]), anyVals(rng, [3])], note: 'batch [2, 3], bias' },
      { inputs: [anyVals(rng, [3]), anyVals(rng, [2]), anyVals(rng, [4, 3, 2])], note: '1-D, no bias' },
    ],
    fn: ([x1, x2, w, b]) => antler.bilinear(x1, x2, w, b ?? null),
    bad: [['SHAPE_MISMATCH', () => antler.bilinear(t([1, 2], [1, 2]), t([1, 2, 3, 4], [2, 2]), t([1, 2, 3, 4], [1, 2, 2]))], ['DTYPE_MISMATCH', () => antler.bilinear(t([1], [1]), t([1], [1]), antler.tensor([1], [1, 1, 1]))]],
  },
  {
    name: 'scatter',
    samples: (rng) => [
      { inputs: [anyVals(rng, [3, 4]), anyVals(rng, [3, 5])], aux: [distinctAlong(rng, [2, 4], 0, 3)], note: 'axis 0, src larger than index' },
      { inputs: [anyVals(rng, [2, 5]), anyVals(rng, [2, 3])], aux: [distinctAlong(rng, [2, 3], 1, 5)], note: 'axis 1' },
    ],
    fn: ([x, src], aux) => antler.scatter(x, x.shape[0] === 3 ? 0 : 1, aux[0], src),
    bad: [['INVALID_ARGUMENT', () => antler.scatter(t([1, 2], [2]), 0, antler.tensor([1, 1], [2], { dtype: 'int32' }), t([1, 2], [2]))]],
  },
  {
    name: 'conv1d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 3, 9]), anyVals(rng, [4, 3, 3]), anyVals(rng, [4])], note: 'stride 2, padding 1' },
      { inputs: [anyVals(rng, [3, 8]), anyVals(rng, [2, 3, 4]), anyVals(rng, [2])], note: "unbatched, 'same' with an even kernel, dilation 2" },
      { inputs: [anyVals(rng, [2, 4, 7]), anyVals(rng, [6, 2, 3]), anyVals(rng, [6])], note: 'groups 2, padding 1' },
      { inputs: [anyVals(rng, [2, 3, 10]), anyVals(rng, [6, 1, 3]), anyVals(rng, [6])], note: 'depthwise (groups 3) multiplier 2, stride 2, padding 1, dilation 2' },
    ],
    fn: ([x, w, b]) =>
      x.rank === 3 && w.shape[1] === 1 ? antler.conv1d(x, w, b, { groups: 3, stride: 2, padding: 1, dilation: 2 })
      : x.rank === 2 ? antler.conv1d(x, w, b, { padding: 'same', dilation: 2 })
        : w.shape[1] * 2 === x.shape[1] ? antler.conv1d(x, w, b, { groups: 2, padding: 1 })
          : antler.conv1d(x, w, b, { stride: 2, padding: 1 }),
    bad: [['SHAPE_MISMATCH', () => antler.conv1d(t([1, 2, 3, 4], [1, 2, 2]), t([1, 2, 3, 4, 5, 6], [1, 3, 2]))]],
  },
  {
    // Told apart by the input's shape: [2, 3, 4] stride 2, padding 1, outputPadding 1; unbatched dilation 2, padding 2 (taps dropped at both ends); groups 2.
    name: 'convTranspose1d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 3, 4]), anyVals(rng, [3, 2, 3]), anyVals(rng, [2])], note: 'stride 2, padding 1, outputPadding 1' },
      { inputs: [anyVals(rng, [2, 5]), anyVals(rng, [2, 3, 3]), anyVals(rng, [3])], note: 'unbatched, dilation 2, padding 2, stride 3' },
      { inputs: [anyVals(rng, [2, 4, 3]), anyVals(rng, [4, 3, 2]), anyVals(rng, [6])], note: 'groups 2, stride 2, dilation 2' },
    ],
    fn: ([x, w, b]) =>
      x.rank === 2 ? antler.convTranspose1d(x, w, b, { dilation: 2, padding: 2, stride: 3 })
        : x.shape[1] === 4 ? antler.convTranspose1d(x, w, b, { groups: 2, stride: 2, dilation: 2 })
          : antler.convTranspose1d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
    bad: [
      ['SHAPE_MISMATCH', () => antler.convTranspose1d(t([1, 2, 3, 4], [1, 2, 2]), t([1, 2, 3], [1, 1, 3]))],
      ['INVALID_ARGUMENT', () => antler.convTranspose1d(t([1, 2], [1, 1, 2]), t([1, 2], [1, 1, 2]), null, { stride: 2, outputPadding: 2 })],
      ['SHAPE_MISMATCH', () => antler.convTranspose1d(t([1], [1, 1, 1]), t([1], [1, 1, 1]), null, { padding: 1 })],
    ],
  },
  {
    // Told apart by the input's shape: [2, 2, 5, 4] stride [2, 1], padding [1, 0]; unbatched 'same' with dilation [1, 2]; 4 channels depthwise (groups 4).
    name: 'conv2d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 2, 5, 4]), anyVals(rng, [3, 2, 3, 2]), anyVals(rng, [3])], note: 'stride [2, 1], padding [1, 0]' },
      { inputs: [anyVals(rng, [2, 4, 5]), anyVals(rng, [2, 2, 2, 3]), anyVals(rng, [2])], note: "unbatched, 'same' with an even kernel height, dilation [1, 2]" },
      { inputs: [anyVals(rng, [1, 4, 4, 3]), anyVals(rng, [4, 1, 2, 2]), anyVals(rng, [4])], note: 'depthwise (groups 4), padding 1, dilation 2' },
      { inputs: [anyVals(rng, [2, 3, 5, 6]), anyVals(rng, [6, 1, 3, 2]), anyVals(rng, [6])], note: 'depthwise (groups 3) multiplier 2, stride [2, 1], padding [1, 0], dilation [1, 2]' },
    ],
    fn: ([x, w, b]) =>
      x.rank === 4 && x.shape[1] === 3 ? antler.conv2d(x, w, b, { groups: 3, stride: [2, 1], padding: [1, 0], dilation: [1, 2] })
      : x.rank === 3 ? antler.conv2d(x, w, b, { padding: 'same', dilation: [1, 2] })
        : x.shape[1] === 4 ? antler.conv2d(x, w, b, { groups: 4, padding: 1, dilation: 2 })
          : antler.conv2d(x, w, b, { stride: [2, 1], padding: [1, 0] }),
    bad: [
      ['SHAPE_MISMATCH', () => antler.conv2d(t([1, 2, 3, 4], [1, 1, 2, 2]), t([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]))],
      ['INVALID_ARGUMENT', () => antler.conv2d(t([1, 2, 3, 4], [1, 1, 2, 2]), t([1], [1, 1, 1, 1]), null, { stride: [1, 0] })],
    ],
  },
  {
    // Told apart by the input's shape: [2, 2, 3, 2] stride [2, 3], padding [1, 0], outputPadding [1, 2]; unbatched dilation 2, padding [2, 1] (taps dropped); groups 2.
    name: 'convTranspose2d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 2, 3, 2]), anyVals(rng, [2, 2, 3, 2]), anyVals(rng, [2])], note: 'stride [2, 3], padding [1, 0], outputPadding [1, 2]' },
      { inputs: [anyVals(rng, [2, 3, 2]), anyVals(rng, [2, 2, 2, 3]), anyVals(rng, [2])], note: 'unbatched, dilation 2, padding [2, 1]' },
      { inputs: [anyVals(rng, [1, 4, 2, 3]), anyVals(rng, [4, 1, 2, 2]), anyVals(rng, [2])], note: 'groups 2, stride 2' },
    ],
    fn: ([x, w, b]) =>
      x.rank === 3 ? antler.convTranspose2d(x, w, b, { dilation: 2, padding: [2, 1] })
        : x.shape[1] === 4 ? antler.convTranspose2d(x, w, b, { groups: 2, stride: 2 })
          : antler.convTranspose2d(x, w, b, { stride: [2, 3], padding: [1, 0], outputPadding: [1, 2] }),
    bad: [
      ['SHAPE_MISMATCH', () => antler.convTranspose2d(t([1, 2, 3, 4], [1, 1, 2, 2]), t([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 2, 2]))],
      ['INVALID_ARGUMENT', () => antler.convTranspose2d(t([1, 2, 3, 4], [1, 1, 2, 2]), t([1], [1, 1, 1, 1]), null, { stride: 2, outputPadding: [0, 2] })],
    ],
  },
  {
    // Told apart by the input's shape: [1, 2, 3, 4, 3] stride [2, 1, 2], padding [1, 0, 1]; unbatched 'same' with an even kernel, dilation [1, 2, 1]; 4 channels depthwise (groups 4).
    name: 'conv3d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [1, 2, 3, 4, 3]), anyVals(rng, [2, 2, 2, 3, 2]), anyVals(rng, [2])], note: 'stride [2, 1, 2], padding [1, 0, 1]' },
      { inputs: [anyVals(rng, [2, 3, 2, 4]), anyVals(rng, [2, 2, 2, 1, 2]), anyVals(rng, [2])], note: "unbatched, 'same' with even kernels, dilation [1, 1, 2]" },
      { inputs: [anyVals(rng, [1, 4, 3, 3, 2]), anyVals(rng, [4, 1, 2, 2, 1]), anyVals(rng, [4])], note: 'depthwise (groups 4), padding 1, dilation 2' },
      { inputs: [anyVals(rng, [1, 2, 4, 3, 5]), anyVals(rng, [4, 1, 2, 2, 3]), anyVals(rng, [4])], note: 'depthwise (groups 2) multiplier 2, stride [1, 2, 2], padding [0, 1, 1]' },
    ],
    fn: ([x, w, b]) =>
      x.rank === 5 && w.shape[1] === 1 && x.shape[1] === 2 ? antler.conv3d(x, w, b, { groups: 2, stride: [1, 2, 2], padding: [0, 1, 1] })
      : x.rank === 4 ? antler.conv3d(x, w, b, { padding: 'same', dilation: [1, 1, 2] })
        : x.shape[1] === 4 ? antler.conv3d(x, w, b, { groups: 4, padding: 1, dilation: 2 })
          : antler.conv3d(x, w, b, { stride: [2, 1, 2], padding: [1, 0, 1] }),
    bad: [
      ['SHAPE_MISMATCH', () => antler.conv3d(t([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 2, 2]), t([1, 2], [1, 2, 1, 1, 1]))],
      ['INVALID_ARGUMENT', () => antler.conv3d(t([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 2, 2]), t([1], [1, 1, 1, 1, 1]), null, { stride: [1, 0, 1] })],
    ],
  },
  {
    // Told apart by the input's shape: [1, 2, 2, 3, 2] stride [2, 1, 3], padding [1, 0, 0], outputPadding [1, 0, 2]; unbatched dilation 2, padding [1, 2, 1] (taps dropped); groups 2.
    name: 'convTranspose3d',
    samples: (rng) => [
      { inputs: [anyVals(rng, [1, 2, 2, 3, 2]), anyVals(rng, [2, 2, 3, 2, 2]), anyVals(rng, [2])], note: 'stride [2, 1, 3], padding [1, 0, 0], outputPadding [1, 0, 2]' },
      { inputs: [anyVals(rng, [2, 2, 3, 2]), anyVals(rng, [2, 1, 2, 2, 3]), anyVals(rng, [1])], note: 'unbatched, dilation 2, padding [1, 2, 1]' },
      { inputs: [anyVals(rng, [1, 4, 2, 2, 2]), anyVals(rng, [4, 1, 2, 2, 2]), anyVals(rng, [2])], note: 'groups 2, stride 2' },
    ],
    fn: ([x, w, b]) =>
      x.rank === 4 ? antler.convTranspose3d(x, w, b, { dilation: 2, padding: [1, 2, 1] })
        : x.shape[1] === 4 ? antler.convTranspose3d(x, w, b, { groups: 2, stride: 2 })
          : antler.convTranspose3d(x, w, b, { stride: [2, 1, 3], padding: [1, 0, 0], outputPadding: [1, 0, 2] }),
    bad: [
      ['SHAPE_MISMATCH', () => antler.convTranspose3d(t([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 2, 2]), t([1, 2], [2, 1, 1, 1, 1]))],
      ['INVALID_ARGUMENT', () => antler.convTranspose3d(t([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 2, 2]), t([1], [1, 1, 1, 1, 1]), null, { stride: 2, outputPadding: [0, 0, 2] })],
    ],
  },
  {
    // Told apart by the input's rank: [2, 2, 4, 5] kernel [2, 3], stride [1, 2], padding 1; unbatched kernel 2, dilation [2, 1].
    name: 'unfold',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 2, 4, 5])], note: 'kernel [2, 3], stride [1, 2], padding 1' },
      { inputs: [anyVals(rng, [2, 3, 3])], note: 'unbatched, kernel 2, dilation [2, 1]' },
    ],
    fn: ([x]) => (x.rank === 3 ? antler.unfold(x, 2, { dilation: [2, 1] }) : antler.unfold(x, [2, 3], { stride: [1, 2], padding: 1 })),
    bad: [
      ['SHAPE_MISMATCH', () => antler.unfold(t([1, 2, 3, 4], [1, 2, 2]), 3)],
      ['INVALID_ARGUMENT', () => antler.unfold(t([1, 2, 3, 4], [1, 1, 2, 2]), 0)],
    ],
  },
  {
    // Told apart by the input's rank: [2, 8, 9] into [4, 5], kernel 2, stride 2, padding 1 (taps in the padding dropped); unbatched [4, 9] into [4, 4], kernel 2.
    name: 'fold',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 8, 9])], note: 'output [4, 5], kernel 2, stride 2, padding 1' },
      { inputs: [anyVals(rng, [4, 9])], note: 'unbatched, output [4, 4], kernel 2 (overlaps summed)' },
    ],
    fn: ([x]) => (x.rank === 2 ? antler.fold(x, [4, 4], 2) : antler.fold(x, [4, 5], 2, { stride: 2, padding: 1 })),
    bad: [
      ['SHAPE_MISMATCH', () => antler.fold(t([1, 2, 3, 4, 5, 6], [1, 3, 2]), [3, 3], 2)],
      ['INVALID_ARGUMENT', () => antler.fold(t([1, 2, 3, 4], [1, 4, 1]), [0, 2], 2)],
    ],
  },
  {
    name: 'scaledDotProductAttention',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 3, 4]), anyVals(rng, [2, 5, 4]), anyVals(rng, [2, 5, 3]), anyVals(rng, [3, 5])], note: 'a float mask (differentiable)' },
      {
        inputs: [anyVals(rng, [2, 1, 3, 2]), anyVals(rng, [3, 4, 2]), anyVals(rng, [4, 3])],
        aux: [{ shape: [3, 4], values: Array.from({ length: 12 }, (_, i) => (i % 4 === 0 || rng.next() < 0.5 ? 1 : 0)), dtype: 'int32' }],
        note: 'broadcast leading axes, an int32 mask',
      },
      { inputs: [anyVals(rng, [4, 3]), anyVals(rng, [6, 3]), anyVals(rng, [6, 2])], note: 'isCausal, scale 0.7' },
    ],
    fn: ([q, k, v, m], aux) =>
      m ? antler.scaledDotProductAttention(q, k, v, { attnMask: m }) : aux.length ? antler.scaledDotProductAttention(q, k, v, { attnMask: aux[0] }) : antler.scaledDotProductAttention(q, k, v, { isCausal: true, scale: 0.7 }),
    bad: [['SHAPE_MISMATCH', () => antler.scaledDotProductAttention(t([1, 2], [1, 2]), t([1, 2, 3], [1, 3]), t([1], [1, 1]))]],
  },
  {
    name: 'padSequence',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 2]), anyVals(rng, [1, 2]), anyVals(rng, [2, 2])] }, { inputs: [anyVals(rng, [2]), anyVals(rng, [4])], note: 'batchFirst' }],
    fn: (xs) => antler.padSequence(xs, { batchFirst: xs.length === 2, paddingValue: 0.5 }),
    bad: [['SHAPE_MISMATCH', () => antler.padSequence([t([1, 2], [2, 1]), t([1, 2], [1, 2])])]],
  },
  {
    name: 'packPaddedSequence',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 2, 2])], note: 'unsorted lengths [1, 3]' }, { inputs: [anyVals(rng, [3, 4])], note: 'batchFirst [3, 4], lengths [4, 2, 2]' }],
    fn: ([x]) =>
      x.rank === 3 ? antler.packPaddedSequence(x, [1, 3], { enforceSorted: false }).data : antler.packPaddedSequence(x, [4, 2, 2], { batchFirst: true }).data,
    bad: [['INVALID_ARGUMENT', () => antler.packPaddedSequence(t([1, 2, 3, 4], [2, 2]), [1, 2])]],
  },
  {
    name: 'padPackedSequence',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 3, 2])], note: 'unsorted, totalLength 4, paddingValue 0.5' }],
    fn: ([x]) => antler.padPackedSequence(antler.packPaddedSequence(x, [2, 3, 1], { enforceSorted: false }), { totalLength: 4, paddingValue: 0.5, batchFirst: true }).output,
    bad: [['INVALID_ARGUMENT', () => antler.padPackedSequence(antler.packPaddedSequence(t([1, 2, 3, 4], [2, 2]), [2, 1]), { totalLength: 1 })]],
  },
  {
    name: 'packSequence',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 2]), anyVals(rng, [3, 2]), anyVals(rng, [1, 2])], note: 'unsorted' }],
    fn: (xs) => antler.packSequence(xs, { enforceSorted: false }).data,
    bad: [['INVALID_ARGUMENT', () => antler.packSequence([t([1], [1]), t([1, 2], [2])])]],
  },
  {
    name: 'unpackSequence',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 3, 2])], note: 'unsorted lengths [2, 3, 1], the sequences concatenated' }],
    fn: ([x]) => antler.concat(antler.unpackSequence(antler.packPaddedSequence(x, [2, 3, 1], { enforceSorted: false })), 0),
    bad: [['INVALID_ARGUMENT', () => antler.unpackSequence(t([1, 2], [2]) as never)]],
  },
  {
    name: 'unpadSequence',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 2])], note: 'batchFirst, lengths [2, 3], the sequences concatenated' }],
    fn: ([x]) => antler.concat(antler.unpadSequence(x, [2, 3], { batchFirst: true }), 0),
    bad: [['INVALID_ARGUMENT', () => antler.unpadSequence(t([1, 2, 3, 4], [2, 2]), [3, 1])]],
  },
  { name: 'broadcastTo', samples: (rng) => [{ inputs: [anyVals(rng, [3, 1])] }], fn: ([x]) => antler.broadcastTo(x, [2, 3, 4]) },
  {
    name: 'where',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3]), anyVals(rng, [3])], aux: [ints(rng, [2, 3], 0, 1)] }],
    fn: ([a, b], [c]) => antler.where(c, a, b),
  },
  {
    name: 'gather(axis 1)',
    samples: (rng) => [
      { inputs: [anyVals(rng, [3, 4])], aux: [ints(rng, [2, 5], 0, 3)], note: 'repeats, index wider than x' },
      { inputs: [anyVals(rng, [2, 3, 2])], aux: [ints(rng, [2, 2, 1], 0, 2)] },
    ],
    fn: ([x], [idx]) => antler.gather(x, 1, idx),
    bad: [
      ['INVALID_ARGUMENT', () => antler.gather(t([1, 2, 3, 4], [2, 2]), 1, antler.tensor([[0, 2]], [1, 2], { dtype: 'int32' }))],
      ['INVALID_ARGUMENT', () => antler.gather(t([1, 2, 3, 4], [2, 2]), 0, antler.tensor([[-1, 0]], [1, 2], { dtype: 'int32' }))],
      ['SHAPE_MISMATCH', () => antler.gather(t([1, 2, 3, 4], [2, 2]), 1, antler.tensor([0, 1], [2], { dtype: 'int32' }))],
      ['SHAPE_MISMATCH', () => antler.gather(t([1, 2, 3, 4], [2, 2]), 1, antler.tensor([0, 1, 1], [3, 1], { dtype: 'int32' }))],
      ['DTYPE_MISMATCH', () => antler.gather(t([1, 2, 3, 4], [2, 2]), 1, t([0, 1], [2, 1]))],
      ['INVALID_ARGUMENT', () => antler.gather(t([1, 2, 3, 4], [2, 2]), 2, antler.tensor([0, 1], [2, 1], { dtype: 'int32' }))],
    ],
  },
  {
    name: 'gather(axis 0)',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 4])], aux: [ints(rng, [5, 4], 0, 2)] }],
    fn: ([x], [idx]) => antler.gather(x, 0, idx),
  },
  {
    name: 'sort(axis 1, descending)',
    samples: (rng) => [
      { inputs: [{ shape: [3, 5], values: shuffledDistinct(rng, 15) }], note: 'inner 1' },
      { inputs: [{ shape: [2, 20, 3], values: shuffledDistinct(rng, 120) }], note: 'inner 3, the CUDA merge sort' },
    ],
    fn: ([x]) => antler.sort(x, { axis: 1, descending: true }).values,
    bad: [['INVALID_ARGUMENT', () => antler.sort(t([1, 2, 3, 4], [2, 2]), { axis: 2 })]],
  },
  {
    name: 'topk(k 2, axis 1)',
    samples: (rng) => [
      { inputs: [{ shape: [3, 5], values: shuffledDistinct(rng, 15) }], note: 'inner 1' },
      { inputs: [{ shape: [2, 4, 3], values: shuffledDistinct(rng, 24) }], note: 'inner 3' },
    ],
    fn: ([x]) => antler.topk(x, 2, { axis: 1 }).values,
    bad: [
      ['INVALID_ARGUMENT', () => antler.topk(t([1, 2, 3, 4], [2, 2]), 3, { axis: 1 })],
      ['INVALID_ARGUMENT', () => antler.topk(t([1, 2, 3, 4], [2, 2]), 1, { axis: 2 })],
    ],
  },
  {
    name: 'indexSelect',
    samples: (rng) => [
      { inputs: [anyVals(rng, [3, 4, 2])], aux: [ints(rng, [5], 0, 3)], note: 'axis 1' },
      { inputs: [anyVals(rng, [4, 3])], aux: [ints(rng, [6], 0, 2)], note: 'axis 1 of 2-D' },
    ],
    fn: ([x], [idx]) => antler.indexSelect(x, 1, idx),
    bad: [
      ['INVALID_ARGUMENT', () => antler.indexSelect(t([1, 2, 3, 4], [2, 2]), 0, antler.tensor([2], [1], { dtype: 'int32' }))],
      ['SHAPE_MISMATCH', () => antler.indexSelect(t([1, 2, 3, 4], [2, 2]), 0, antler.tensor([0, 1], [1, 2], { dtype: 'int32' }))],
    ],
  },
  { name: 'indexSelect(axis 0)', samples: (rng) => [{ inputs: [anyVals(rng, [3, 2])], aux: [ints(rng, [4], 0, 2)] }], fn: ([x], [idx]) => antler.indexSelect(x, 0, idx) },
  {
    name: 'logSumExp',
    samples: (rng) => [{ inputs: [anyVals(rng, [3, 4])] }, { inputs: [vals(rng, [2, 3], 200, 210)], note: 'large, shifted' }],
    fn: ([x]) => antler.logSumExp(x, -1),
    bad: [['INVALID_ARGUMENT', () => antler.logSumExp(antler.tensor([1, 2], [2]), 1)]],
  },
  { name: 'logSumExp(all, keepDims)', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 2])] }], fn: ([x]) => antler.logSumExp(x, undefined, true) },
  {
    name: 'variance(axis 0)',
    samples: (rng) => [{ inputs: [anyVals(rng, [4, 3])] }],
    fn: ([x]) => antler.variance(x, 0),
    bad: [['INVALID_ARGUMENT', () => antler.variance(t([1, 2], [2]), 0, false, { correction: -1 })]],
  },
  { name: 'variance(correction 0, keepDims)', samples: (rng) => [{ inputs: [anyVals(rng, [2, 5])] }], fn: ([x]) => antler.variance(x, -1, true, { correction: 0 }) },
  { name: 'std', samples: (rng) => [{ inputs: [anyVals(rng, [3, 4])] }], fn: ([x]) => antler.std(x) },
  {
    name: 'l1Loss',
    samples: (rng) => [separated(rng, [3, 4])].map((p) => ({ inputs: p })),
    fn: ([a, b]) => antler.l1Loss(a, b),
    bad: [['SHAPE_MISMATCH', () => antler.l1Loss(t([1, 2], [2]), t([1, 2], [2, 1]))]],
  },
  {
    name: 'smoothL1Loss(beta 0.5, sum)',
    // a − b away from 0 and from ±beta, where the second derivative jumps (double backward's H·v by differences).
    samples: (rng) => [{ inputs: [avoiding(rng, [3, 4], [0, -0.5, 0.5]), { shape: [3, 4], values: new Array(12).fill(0) }] }],
    fn: ([a, b]) => antler.smoothL1Loss(a, b, { beta: 0.5, reduction: 'sum' }),
    bad: [['INVALID_ARGUMENT', () => antler.smoothL1Loss(t([1], [1]), t([1], [1]), { beta: -1 })]],
  },
  {
    name: 'huberLoss(delta 0.7, none)',
    samples: (rng) => [{ inputs: [avoiding(rng, [2, 5], [0, -0.7, 0.7]), { shape: [2, 5], values: new Array(10).fill(0) }] }],
    fn: ([a, b]) => antler.huberLoss(a, b, { delta: 0.7, reduction: 'none' }),
    bad: [['INVALID_ARGUMENT', () => antler.huberLoss(t([1], [1]), t([1], [1]), { delta: 0 })]],
  },
  {
    name: 'binaryCrossEntropy(weight)',
    samples: (rng) => [{ inputs: [vals(rng, [3, 4], 0.05, 0.95), vals(rng, [3, 4], 0, 1), vals(rng, [4], 0.5, 2)] }],
    fn: ([p, y, w]) => antler.binaryCrossEntropy(p, y, { weight: w }),
    bad: [['INVALID_ARGUMENT', () => antler.binaryCrossEntropy(t([0.5, 1.5], [2]), t([0, 1], [2]))]],
  },
  {
    name: 'binaryCrossEntropyWithLogits(posWeight, weight)',
    samples: (rng) => [{ inputs: [vals(rng, [3, 4], -4, 4), vals(rng, [3, 4], 0, 1), vals(rng, [4], 0.5, 3), vals(rng, [3, 1], 0.5, 2)] }],
    fn: ([x, y, pw, w]) => antler.binaryCrossEntropyWithLogits(x, y, { posWeight: pw, weight: w }),
    bad: [['SHAPE_MISMATCH', () => antler.binaryCrossEntropyWithLogits(t([1, 2], [2]), t([0, 1], [2]), { weight: t([1, 1, 1], [3]) })]],
  },
  { name: 'binaryCrossEntropyWithLogits', samples: (rng) => [{ inputs: [vals(rng, [5], -30, 30), vals(rng, [5], 0, 1)] }], fn: ([x, y]) => antler.binaryCrossEntropyWithLogits(x, y, { reduction: 'sum' }) },
  {
    // Log-probabilities against probabilities (a target of 0, not differentiable there, is checked in indexing.test.ts)
    // and, with logTarget, log-probabilities.
    name: 'klDiv(batchmean)',
    samples: (rng) => [{ inputs: klPair(rng, [3, 4]) }],
    fn: ([x, y]) => antler.klDiv(x, y, { reduction: 'batchmean' }),
    bad: [['SHAPE_MISMATCH', () => antler.klDiv(t([-1, -2], [2]), t([0.5, 0.5], [1, 2]))], ['INVALID_ARGUMENT', () => antler.klDiv(t([-1], [1]), t([1], [1]), { reduction: 'avg' as never })]],
  },
  { name: 'klDiv(logTarget, none)', samples: (rng) => [{ inputs: [vals(rng, [2, 5], -3, -0.1), vals(rng, [2, 5], -3, -0.1)] }], fn: ([x, y]) => antler.klDiv(x, y, { logTarget: true, reduction: 'none' }) },
  { name: 'klDiv(mean)', samples: (rng) => [{ inputs: klPair(rng, [4, 3]) }], fn: ([x, y]) => antler.klDiv(x, y) },
  {
    // Variances in [0.2, 2], away from the eps clamp; one per row (var without the last axis) and one per value.
    name: 'gaussianNllLoss(full, per row)',
    samples: (rng) => [{ inputs: [vals(rng, [3, 4]), vals(rng, [3, 4]), vals(rng, [3], 0.2, 2)] }],
    fn: ([x, y, v]) => antler.gaussianNllLoss(x, y, v, { full: true }),
    bad: [
      ['SHAPE_MISMATCH', () => antler.gaussianNllLoss(t([1, 2], [2]), t([1, 2], [2]), t([1, 1, 1], [3]))],
      ['INVALID_ARGUMENT', () => antler.gaussianNllLoss(t([1, 2], [2]), t([1, 2], [2]), t([1, -1], [2]))],
    ],
  },
  { name: 'gaussianNllLoss(none)', samples: (rng) => [{ inputs: [vals(rng, [2, 3]), vals(rng, [2, 3]), vals(rng, [2, 3], 0.2, 2)] }], fn: ([x, y, v]) => antler.gaussianNllLoss(x, y, v, { reduction: 'none' }) },
  {
    // Log-rates against counts (targets above 1, away from full's switch at 1).
    name: 'poissonNllLoss(full)',
    samples: (rng) => [{ inputs: [vals(rng, [3, 4], -2, 2), vals(rng, [3, 4], 1.5, 5)] }],
    fn: ([x, y]) => antler.poissonNllLoss(x, y, { full: true }),
    bad: [['SHAPE_MISMATCH', () => antler.poissonNllLoss(t([1, 2], [2]), t([1], [1]))]],
  },
  {
    // Counts to 2.5: every term x − y·log(x + 1e-8) ≥ 2.5 − 2.5·log 2.5 ≈ 0.21 for x in [0.3, 3], so the sum cannot cancel toward 0
    // (with counts to 4 it could, and float32's rounding, relative to |value|, failed at random).
    name: 'poissonNllLoss(rates, sum)',
    samples: (rng) => [{ inputs: [vals(rng, [5], 0.3, 3), vals(rng, [5], 0, 2.5)] }],
    fn: ([x, y]) => antler.poissonNllLoss(x, y, { logInput: false, reduction: 'sum' }),
  },
  {
    // Pairs at least 0.1 apart and margin 0: the hinge's argument −y·(x1 − x2) stays away from its kink.
    name: 'marginRankingLoss',
    samples: (rng) => [{ inputs: separated(rng, [2, 3]), aux: [{ shape: [2, 3], values: [1, -1, 1, -1, -1, 1], dtype: 'int32' }] }],
    fn: ([a, b], [y]) => antler.marginRankingLoss(a, b, y),
    bad: [['SHAPE_MISMATCH', () => antler.marginRankingLoss(t([1, 2], [2]), t([1, 2], [2]), t([1], [1, 1]))]],
  },
  {
    // Broadcast within one rank: x1 in [−3, −1] against x2 in [1, 3], so |x1 − x2| ≥ 2 > margin.
    name: 'marginRankingLoss(broadcast, none)',
    samples: (rng) => [{ inputs: [vals(rng, [3, 1], -3, -1), vals(rng, [1, 4], 1, 3)], aux: [ints(rng, [3, 4], 0, 1)] }],
    fn: ([a, b], [y]) => antler.marginRankingLoss(a, b, antler.sub(antler.mul(y, 2), 1), { margin: 0.5, reduction: 'none' }),
  },
  {
    // x = 1 ± [0.1, 1.5]: margin − x away from 0; targets 1, −1 and (both terms) 0 and 2.
    name: 'hingeEmbeddingLoss',
    samples: (rng) => {
      const x = awayFromZero(rng, [2, 4]);
      return [{ inputs: [{ shape: x.shape, values: x.values.map((v) => 1 + v) }], aux: [{ shape: [2, 4], values: [1, -1, 0, 2, -1, 1, -1, 1], dtype: 'int32' }] }];
    },
    fn: ([x], [y]) => antler.hingeEmbeddingLoss(x, y),
    bad: [['SHAPE_MISMATCH', () => antler.hingeEmbeddingLoss(t([1, 2], [2]), t([1], [1]))]],
  },
  { name: 'softMarginLoss', samples: (rng) => [{ inputs: [vals(rng, [3, 4], -3, 3), vals(rng, [3, 4])] }], fn: ([x, y]) => antler.softMarginLoss(x, y, { reduction: 'sum' }) },
  {
    // margin −1.5 < cos: the y = −1 hinge is always open (no kink); y = 0 rows give 0.
    name: 'cosineEmbeddingLoss',
    samples: (rng) => [{ inputs: [awayFromZero(rng, [4, 3]), awayFromZero(rng, [4, 3])], aux: [{ shape: [4], values: [1, -1, 0, -1], dtype: 'int32' }] }],
    fn: ([a, b], [y]) => antler.cosineEmbeddingLoss(a, b, y, { margin: -1.5, reduction: 'none' }),
    bad: [['SHAPE_MISMATCH', () => antler.cosineEmbeddingLoss(t([1, 2], [1, 2]), t([1, 2], [1, 2]), t([1, 1], [2]))]],
  },
  {
    // n − a in [1, 1.5] and p − a in [0.5, 0.6] per coordinate: d(p, n) < d(a, n) by a margin (swap picks it), margin 3 keeps the hinge open.
    name: 'tripletMarginLoss(p 1, swap)',
    samples: (rng) => {
      const a = vals(rng, [3, 4]);
      const shift = (lo: number, hi: number) => ({ shape: a.shape, values: a.values.map((v) => v + rng.uniform(lo, hi)) });
      return [{ inputs: [a, shift(0.5, 0.6), shift(1, 1.5)] }];
    },
    fn: ([a, p, n]) => antler.tripletMarginLoss(a, p, n, { p: 1, swap: true, margin: 3 }),
    bad: [['INVALID_ARGUMENT', () => antler.tripletMarginLoss(t([1, 2], [2]), t([1, 2], [2]), t([1, 2], [2]), { p: 0 })]],
  },
  {
    name: 'tripletMarginLoss(none)',
    samples: (rng) => {
      const a = vals(rng, [2, 3]);
      const shift = (lo: number, hi: number) => ({ shape: a.shape, values: a.values.map((v) => v + rng.uniform(lo, hi)) });
      return [{ inputs: [a, shift(-0.3, 0.3), shift(1, 1.5)] }];
    },
    fn: ([a, p, n]) => antler.tripletMarginLoss(a, p, n, { margin: 3, reduction: 'none' }),
  },
  {
    // Rows are permutations of 0, 0.3, 0.6, 0.9 (± 0.05): with margin 0.45, margin − x[y] + x[i] is at least 0.05 from 0.
    name: 'multiMarginLoss(p 2, weight)',
    samples: (rng) => {
      const rows = [0, 1, 2].flatMap(() => shuffled(rng, [0, 0.3, 0.6, 0.9]).map((v) => v + rng.uniform(-0.05, 0.05)));
      return [{ inputs: [{ shape: [3, 4], values: rows }], aux: [ints(rng, [3], 0, 3)] }];
    },
    // The class weight is a constant (PyTorch's gets no gradient), in the input's dtype and on its device.
    fn: ([x], [y]) => antler.multiMarginLoss(x, y, { p: 2, margin: 0.45, weight: antler.tensor([0.5, 2, 1, 1.5], [4], { dtype: x.dtype, device: x.device }) }),
    bad: [['INVALID_ARGUMENT', () => antler.multiMarginLoss(t([1, 2], [1, 2]), antler.tensor([2], [1], { dtype: 'int32' }))]],
  },
  {
    name: 'multiMarginLoss(unbatched, none)',
    samples: (rng) => [{ inputs: [{ shape: [4], values: shuffled(rng, [0, 0.3, 0.6, 0.9]).map((v) => v + rng.uniform(-0.05, 0.05)) }], aux: [ints(rng, [], 0, 3)] }],
    fn: ([x], [y]) => antler.multiMarginLoss(x, y, { margin: 0.45, reduction: 'none' }),
  },
  {
    // Rows are permutations of 0, 0.25, 0.5, 0.75 (± 0.03): every 1 − x[j] + x[i] is at least 0.19, away from the kink.
    name: 'multilabelMarginLoss',
    samples: (rng) => [{
      inputs: [{ shape: [3, 4], values: [0, 1, 2].flatMap(() => shuffled(rng, [0, 0.25, 0.5, 0.75]).map((v) => v + rng.uniform(-0.03, 0.03))) }],
      aux: [{ shape: [3, 4], values: [3, 0, -1, 1, 2, -1, 0, 0, 1, 1, 0, -1], dtype: 'int32' }],
    }],
    fn: ([x], [y]) => antler.multilabelMarginLoss(x, y, { reduction: 'none' }),
    bad: [['INVALID_ARGUMENT', () => antler.multilabelMarginLoss(t([1, 2], [2]), antler.tensor([4, -1], [2], { dtype: 'int32' }))]],
  },
  {
    name: 'multilabelSoftMarginLoss(weight)',
    samples: (rng) => [{ inputs: [vals(rng, [3, 4], -3, 3), vals(rng, [3, 4], 0, 1), vals(rng, [4], 0.5, 2)] }],
    fn: ([x, y, w]) => antler.multilabelSoftMarginLoss(x, y, { weight: w, reduction: 'none' }),
    bad: [['SHAPE_MISMATCH', () => antler.multilabelSoftMarginLoss(t([1, 2], [1, 2]), t([1, 2], [2]))]],
  },
  {
    name: 'nllLoss(weight, ignoreIndex)',
    // Log-probabilities (all negative): a mixed-sign x lets the weighted mean cancel toward 0, where the
    // float32-against-float64 check, relative to |value|, fails at random.
    samples: (rng) => [{ inputs: [vals(rng, [6, 4], -3, -0.05), vals(rng, [4], 0.5, 2)], aux: [{ shape: [6], values: [0, 3, -100, 2, 1, 3], dtype: 'int32' }] }],
    fn: ([x, w], [labels]) => antler.nllLoss(x, labels, { weight: w }),
    bad: [
      ['INVALID_ARGUMENT', () => antler.nllLoss(t([0, 0, 0, 0], [2, 2]), antler.tensor([0, 2], [2], { dtype: 'int32' }))],
      ['SHAPE_MISMATCH', () => antler.nllLoss(t([0, 0, 0, 0], [2, 2]), antler.tensor([0], [1], { dtype: 'int32' }))],
      ['SHAPE_MISMATCH', () => antler.nllLoss(t([0, 0, 0, 0], [2, 2]), antler.tensor([0, 1], [2], { dtype: 'int32' }), { weight: t([1, 1, 1], [3]) })],
    ],
  },
  { name: 'nllLoss(none, 3-D)', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3, 4])], aux: [ints(rng, [2, 3], 0, 3)] }], fn: ([x], [labels]) => antler.nllLoss(x, labels, { reduction: 'none' }) },
  {
    name: 'crossEntropy(weight, labelSmoothing, ignoreIndex)',
    samples: (rng) => [{ inputs: [anyVals(rng, [5, 4]), vals(rng, [4], 0.5, 2)], aux: [{ shape: [5], values: [1, -100, 3, 0, 3], dtype: 'int32' }] }],
    fn: ([x, w], [labels]) => antler.crossEntropy(x, labels, { weight: w, labelSmoothing: 0.2 }),
    bad: [['INVALID_ARGUMENT', () => antler.crossEntropy(t([0, 0, 0, 0], [2, 2]), antler.tensor([0, 1], [2], { dtype: 'int32' }), { labelSmoothing: 1.5 })]],
  },
  { name: 'crossEntropy(labelSmoothing, sum)', samples: (rng) => [{ inputs: [anyVals(rng, [3, 5])], aux: [ints(rng, [3], 0, 4)] }], fn: ([x], [labels]) => antler.crossEntropy(x, labels, { labelSmoothing: 0.1, reduction: 'sum' }) },
];

/** v in a random order (Fisher–Yates, in place). */
function shuffled<T>(rng: Rng, v: T[]): T[] {
  for (let i = v.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

/** An int32 index of `shape` whose values along `axis` are distinct draws from [0, n): scatter names no position twice. */
function distinctAlong(rng: Rng, shape: number[], axis: number, n: number): AuxSpec {
  const values = new Array<number>(shape[0] * shape[1]);
  const lines = shape[1 - axis], len = shape[axis];
  for (let l = 0; l < lines; l++) {
    const picks = shuffled(rng, Array.from({ length: n }, (_, i) => i)).slice(0, len);
    picks.forEach((v, k) => (values[axis === 0 ? k * shape[1] + l : l * shape[1] + k] = v));
  }
  return { shape, values, dtype: 'int32' };
}

/** Values of `shape`, distinct and spaced 0.05 apart, in random order: no ties for max, sort, median, …. */
export function distinctValues(rng: Rng, shape: number[]): InputSpec {
  return { shape, values: shuffledDistinct(rng, n(shape)) };
}

function shuffledDistinct(rng: Rng, count: number): number[] {
  // Distinct values spaced 0.05 apart so max/min have no ties, in random order.
  return shuffled(rng, Array.from({ length: count }, (_, i) => -1 + 0.05 * i + rng.uniform(0, 0.01)));
}

// The op families with registries of their own.
OPS.push(...POINTWISE_OPS, ...STATISTICS_OPS, ...PRODUCTS_OPS, ...SELECTION_OPS, ...RANDOM_SPECIAL_OPS, ...CONSTRUCT_OPS, ...GRID_OPS, ...SIGNAL_OPS);
/** Exported functions of those families that are not differentiable ops (see opinfo.test.ts). */
export const FAMILY_NOT_OPS: string[] = [...POINTWISE_NOT_OPS, ...STATISTICS_NOT_OPS, ...PRODUCTS_NOT_OPS, ...SELECTION_NOT_OPS, ...RANDOM_SPECIAL_NOT_OPS, ...CONSTRUCT_NOT_OPS, ...GRID_NOT_OPS, ...SIGNAL_NOT_OPS];

// torch.linalg (antler.linalg): entries named `linalg.<function>`.
OPS.push(...LINALG_LU_OPS, ...LINALG_QR_OPS, ...LINALG_SPECTRAL_OPS, ...LINALG_NORMS_OPS);
/** Functions of antler.linalg that are not differentiable ops (see opinfo.test.ts). */
export const LINALG_NOT_OPS: string[] = [...LINALG_LU_NOT_OPS, ...LINALG_QR_NOT_OPS, ...LINALG_SPECTRAL_NOT_OPS, ...LINALG_NORMS_NOT_OPS];
