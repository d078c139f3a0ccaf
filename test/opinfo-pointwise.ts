// Registry entries of lib/ops/pointwise.ts (appended to OPS in test/opinfo.ts).
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import * as antler from '../lib';
import type { Tensor } from '../lib';
import type { Rng } from './helpers';
import type { InputSpec, OpInfo, Sample } from './opinfo';
import { awayFromSteps, awayFromZero, vals } from './opinfo';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const t64 = (values: number[], shape: number[]) => antler.tensor(values, shape, { dtype: 'float64' });

/** Pairs of the shapes a broadcasting binary op must handle, drawn by gen (per operand). */
function pairs(rng: Rng, genA: (r: Rng, s: number[]) => InputSpec, genB = genA): Sample[] {
  return [
    { inputs: [genA(rng, [2, 3]), genB(rng, [2, 3])], note: 'same shape' },
    { inputs: [genA(rng, [2, 1, 3]), genB(rng, [4, 1])], note: 'broadcast both' },
    { inputs: [genA(rng, [3]), genB(rng, [2, 3])], note: 'broadcast rank' },
    { inputs: [genA(rng, []), genB(rng, [2, 2])], note: 'scalar tensor' },
  ];
}

const anyVals = (rng: Rng, s: number[]) => vals(rng, s, -1.5, 1.5);
const positive = (rng: Rng, s: number[]) => vals(rng, s, 0.3, 2);

/**
 * atan2's y: values in (−1.5, 1.5) at least 1e-3 from 0, its branch cut (for x < 0 the value jumps by 2π as y
 * crosses 0). Central differences (h = 1e-6) straddled it when |y| < h met x < 0: ~12 such pairs over the four
 * samples at 6.7e-7 each, about 8e-6 a run.
 */
function offCut(rng: Rng, shape: number[]): InputSpec {
  const draw = (): number => {
    const v = rng.uniform(-1.5, 1.5);
    return Math.abs(v) >= 1e-3 ? v : draw();
  };
  return { shape, values: Array.from({ length: size(shape) }, draw) };
}

/** Values in (lo, hi) at least `gap` from every integer (the poles of lgamma and the polygammas below 0). */
function offIntegers(rng: Rng, shape: number[], lo: number, hi: number, gap = 0.1): InputSpec {
  const draw = (): number => {
    const v = rng.uniform(lo, hi);
    return Math.abs(v - Math.round(v)) > gap ? v : draw();
  };
  return { shape, values: Array.from({ length: size(shape) }, draw) };
}

/** Special-function samples: positive arguments, negative non-integers, and one of each shape class. */
function gammaSamples(rng: Rng): Sample[] {
  return [
    { inputs: [vals(rng, [2, 3], 0.2, 6)], note: 'positive' },
    { inputs: [offIntegers(rng, [5], -4, 0, 0.15)], note: 'negative, off the poles' },
    { inputs: [vals(rng, [], 0.5, 3)], note: 'scalar' },
  ];
}

/** fmod's operands with a/b at least 0.15 from an integer (its jumps); b broadcast over a's rows. */
function fmodPair(rng: Rng, shapeA: number[], shapeB: number[]): Sample {
  const b = awayFromZero(rng, shapeB);
  const nb = size(shapeB);
  const a = Array.from({ length: size(shapeA) }, (_, i) => (rng.int(-3, 3) + rng.uniform(0.15, 0.85)) * b.values[i % nb]);
  return { inputs: [{ shape: shapeA, values: a }, b] };
}

const badOperand = (f: (a: Tensor, b: Tensor) => Tensor): [string, () => unknown][] => [
  ['SHAPE_MISMATCH', () => f(t64([1, 2, 3], [3]), t64([1, 2], [2]))],
  ['INVALID_ARGUMENT', () => f('x' as unknown as Tensor, t64([1], [1]))],
];

/** Two operands whose entries differ by at least 0.1 (clampMin/Max's kinks at x = bound). */
function separated(rng: Rng, s: number[]): [InputSpec, InputSpec] {
  const a = vals(rng, s);
  return [a, { shape: s, values: a.values.map((v) => v + (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.1, 1)) }];
}

export const POINTWISE_OPS: OpInfo[] = [
  { name: 'atan2', samples: (rng) => pairs(rng, offCut, awayFromZero), fn: ([y, x]) => antler.atan2(y, x), bad: badOperand(antler.atan2) },
  { name: 'hypot', samples: (rng) => pairs(rng, awayFromZero), fn: ([a, b]) => antler.hypot(a, b), bad: badOperand(antler.hypot) },
  {
    name: 'fmod',
    samples: (rng) => [fmodPair(rng, [2, 3], [2, 3]), fmodPair(rng, [2, 3], [3]), fmodPair(rng, [4], [])],
    fn: ([a, b]) => antler.fmod(a, b),
    bad: badOperand(antler.fmod),
  },
  { name: 'copysign', samples: (rng) => pairs(rng, awayFromZero), fn: ([a, b]) => antler.copysign(a, b), bad: badOperand(antler.copysign) },
  { name: 'xlogy', samples: (rng) => pairs(rng, anyVals, positive), fn: ([x, y]) => antler.xlogy(x, y), bad: badOperand(antler.xlogy) },
  { name: 'xlogy(number, y)', samples: (rng) => [{ inputs: [positive(rng, [2, 3])] }], fn: ([y]) => antler.xlogy(1.7, y) },
  { name: 'logaddexp', samples: (rng) => pairs(rng, anyVals), fn: ([a, b]) => antler.logaddexp(a, b), bad: badOperand(antler.logaddexp) },
  { name: 'logaddexp2', samples: (rng) => pairs(rng, anyVals), fn: ([a, b]) => antler.logaddexp2(a, b), bad: badOperand(antler.logaddexp2) },
  {
    name: 'lerp',
    samples: (rng) => [
      { inputs: [anyVals(rng, [2, 3]), anyVals(rng, [2, 3]), vals(rng, [2, 3], -0.5, 1.5)], note: 'same shape' },
      { inputs: [anyVals(rng, [2, 1]), anyVals(rng, [3]), vals(rng, [2, 3], 0, 1)], note: 'broadcast' },
    ],
    fn: ([s, e, w]) => antler.lerp(s, e, w),
    bad: [
      ['SHAPE_MISMATCH', () => antler.lerp(t64([1, 2, 3], [3]), t64([1, 2], [2]), 0.5)],
      ['INVALID_ARGUMENT', () => antler.lerp(t64([1], [1]), 'e' as unknown as Tensor, 0.5)],
    ],
  },
  {
    name: 'lerp(number weight)',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3]), anyVals(rng, [3])] }],
    fn: ([s, e]) => antler.add(antler.lerp(s, e, 0.3), antler.lerp(s, e, 0.8)),
  },
  {
    name: 'clampMin',
    samples: (rng) => {
      const bound = [-0.6, 0.05, 0.55];
      const draw = (i: number): number => {
        const v = rng.uniform(-1, 1);
        return Math.abs(v - bound[i % 3]) > 0.1 ? v : draw(i);
      };
      return [
        { inputs: separated(rng, [2, 3]), note: 'same shape' },
        { inputs: [{ shape: [2, 3], values: Array.from({ length: 6 }, (_, i) => draw(i)) }, { shape: [3], values: bound }], note: 'broadcast bound' },
      ];
    },
    fn: ([x, m]) => antler.clampMin(x, m),
    bad: [
      ['SHAPE_MISMATCH', () => antler.clampMin(t64([1, 2, 3], [3]), t64([1, 2], [2]))],
      ['INVALID_ARGUMENT', () => antler.clampMin(t64([1], [1]), NaN)],
    ],
  },
  { name: 'clampMin(number)', samples: (rng) => [{ inputs: [awayFromZero(rng, [2, 3])] }], fn: ([x]) => antler.clampMin(x, 0) },
  {
    name: 'clampMax',
    samples: (rng) => [{ inputs: separated(rng, [2, 3]) }, { inputs: separated(rng, []) }],
    fn: ([x, m]) => antler.clampMax(x, m),
    bad: [['INVALID_ARGUMENT', () => antler.clampMax(t64([1], [1]), 'm' as unknown as Tensor)]],
  },
  { name: 'clampMax(number)', samples: (rng) => [{ inputs: [awayFromZero(rng, [2, 3])] }], fn: ([x]) => antler.clampMax(x, 0) },
  { name: 'lgamma', samples: gammaSamples, fn: ([x]) => antler.lgamma(x), bad: [['INVALID_ARGUMENT', () => antler.lgamma('x' as unknown as Tensor)]] },
  { name: 'digamma', samples: gammaSamples, fn: ([x]) => antler.digamma(x), bad: [['INVALID_ARGUMENT', () => antler.digamma('x' as unknown as Tensor)]] },
  {
    name: 'polygamma(1, x)',
    samples: gammaSamples,
    fn: ([x]) => antler.polygamma(1, x),
    bad: [
      ['INVALID_ARGUMENT', () => antler.polygamma(-1, t64([1], [1]))],
      ['INVALID_ARGUMENT', () => antler.polygamma(1.5, t64([1], [1]))],
    ],
  },
  { name: 'polygamma(3, x)', samples: gammaSamples, fn: ([x]) => antler.polygamma(3, x) },
  { name: 'erfinv', samples: (rng) => [vals(rng, [2, 3], -0.95, 0.95), vals(rng, [5], -0.5, 0.5), vals(rng, [], 0.5, 0.9)].map((x) => ({ inputs: [x] })), fn: ([x]) => antler.erfinv(x) },
  {
    name: 'sinc',
    samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }, { inputs: [{ shape: [3], values: [0, 2.5, -0.3] }], note: 'x = 0' }],
    fn: ([x]) => antler.sinc(x),
  },
  { name: 'deg2rad', samples: (rng) => [{ inputs: [vals(rng, [2, 3], -360, 360)] }], fn: ([x]) => antler.deg2rad(x) },
  { name: 'rad2deg', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }], fn: ([x]) => antler.rad2deg(x) },
  { name: 'frac', samples: (rng) => [{ inputs: [awayFromSteps(rng, [2, 3])] }], fn: ([x]) => antler.frac(x) },
  { name: 'nanToNum', samples: (rng) => [{ inputs: [anyVals(rng, [2, 3])] }], fn: ([x]) => antler.nanToNum(x, { nan: 1 }) },
  {
    // float64 whatever the inputs: cast back so that the float32 run compares in its own dtype.
    name: 'floatPower',
    samples: (rng) => [{ inputs: [vals(rng, [2, 3], 0.2, 2), vals(rng, [3], -1.5, 1.5)] }, { inputs: [vals(rng, [4], 0.2, 2), vals(rng, [], 0.5, 2.5)] }],
    fn: ([x, e]) => antler.floatPower(x, e).cast(x.dtype),
    bad: [['INVALID_ARGUMENT', () => antler.floatPower(2 as unknown as Tensor, 3)], ['SHAPE_MISMATCH', () => antler.floatPower(t64([1, 2], [2]), t64([1, 2, 3], [3]))]],
  },
];
/** Exported functions of lib/ops/pointwise.ts that are not differentiable ops of their own (tested in their own files). */
export const POINTWISE_NOT_OPS: string[] = ['heaviside', 'signbit'];
