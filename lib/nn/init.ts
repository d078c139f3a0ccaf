/**
 * torch.nn.init: fills a tensor (usually a parameter) in place and returns it.
 * Names are PyTorch's in camelCase without the trailing underscore
 * (xavier_uniform_ → xavierUniform), with PyTorch's positional arguments and
 * defaults; an options argument `{ seed }`, last or right after the
 * tensor or any positional argument (`xavierUniform(w, { seed })`), makes
 * one call repeatable, as `rand`'s does (otherwise the global generator is
 * used, see setSeed).
 * Nothing is recorded by autograd.
 */
import { noGrad } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { checkTensor, full, rand, randn, tensor, Tensor } from '../tensor';
import { checkFinite, checkInteger, checkNumber, checkOptions, describe, shapeText, numel } from '../validate';

/** The last argument of every random initialiser. */
export interface InitOptions {
  /** Fixes the draw: the same seed gives the same values on every call and device. */
  seed?: number;
}

/** The nonlinearities calculateGain knows (PyTorch's names; camelCase spellings accepted). */
export type Nonlinearity =
  | 'linear' | 'identity' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'convTranspose1d' | 'convTranspose2d' | 'convTranspose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'leakyRelu' | 'selu';

const UNIT_GAIN = ['linear', 'identity', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d',
  'convTranspose1d', 'convTranspose2d', 'convTranspose3d', 'sigmoid'];

/**
 * torch.nn.init.calculate_gain: the gain that keeps activations' variance
 * through the nonlinearity: 1 for linear, convolutions and sigmoid, 5/3 for
 * tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu (param: the negative
 * slope, default 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  const op = 'calculateGain';
  if (UNIT_GAIN.includes(nonlinearity)) return 1;
  if (nonlinearity === 'tanh') return 5 / 3;
  if (nonlinearity === 'relu') return Math.SQRT2;
  if (nonlinearity === 'selu') return 3 / 4;
  if (nonlinearity === 'leaky_relu' || nonlinearity === 'leakyRelu') {
    const slope = param === undefined ? 0.01 : checkFinite(param, op, 'the negative slope (param)');
    return Math.sqrt(2 / (1 + slope * slope));
  }
  fail('INVALID_ARGUMENT', `${op}: unsupported nonlinearity ${describe(nonlinearity)}; expected one of ${[...UNIT_GAIN.filter((n) => !/[A-Z]/.test(n)), 'tanh', 'relu', 'leaky_relu', 'selu'].map((n) => `'${n}'`).join(', ')}`);
}

/** torch.nn.init.uniform_: U(a, b). */
export function uniform(t: Tensor, a: number | InitOptions = 0, b: number | InitOptions = 1, options?: InitOptions): Tensor {
  const op = 'init.uniform';
  [a, b, options] = early([a, b], [0, 1], options, op) as [number, number, InitOptions | undefined];
  const x = floatTarget(t, op);
  checkFinite(a, op, 'a');
  checkFinite(b, op, 'b');
  if (a > b) fail('INVALID_ARGUMENT', `${op}: a (${a}) must not exceed b (${b})`);
  const { seed } = initOptions(options, op);
  return fill(x, () => rand(x.shape, { minval: a, maxval: b, dtype: x.dtype, device: x.device, seed }));
}

/** torch.nn.init.normal_: N(mean, std²). */
export function normal(t: Tensor, mean: number | InitOptions = 0, std: number | InitOptions = 1, options?: InitOptions): Tensor {
  const op = 'init.normal';
  [mean, std, options] = early([mean, std], [0, 1], options, op) as [number, number, InitOptions | undefined];
  const x = floatTarget(t, op);
  checkFinite(mean, op, 'mean');
  checkFinite(std, op, 'std');
  if (std < 0) fail('INVALID_ARGUMENT', `${op}: std must be >= 0; got ${std}`);
  const { seed } = initOptions(options, op);
  return fill(x, () => randn(x.shape, { mean, stddev: std, dtype: x.dtype as 'float32' | 'float64', device: x.device, seed }));
}

/**
 * torch.nn.init.trunc_normal_: N(mean, std²) conditioned on [a, b] (values
 * outside are redrawn, not clamped). Drawn exactly by rejection (Robert 1995:
 * normal, uniform or exponential proposals by where [a, b] lies), so a
 * window far in a tail is as exact as one around the mean.
 */
export function truncNormal(t: Tensor, mean: number | InitOptions = 0, std: number | InitOptions = 1, a: number | InitOptions = -2, b: number | InitOptions = 2, options?: InitOptions): Tensor {
  const op = 'init.truncNormal';
  [mean, std, a, b, options] = early([mean, std, a, b], [0, 1, -2, 2], options, op) as [number, number, number, number, InitOptions | undefined];
  const x = floatTarget(t, op);
  checkFinite(mean, op, 'mean');
  checkFinite(std, op, 'std');
  // The bounds may be infinite (a half-normal: a = 0, b = Infinity).
  checkNumber(a, op, 'a');
  checkNumber(b, op, 'b');
  if (!(std > 0)) fail('INVALID_ARGUMENT', `${op}: std must be > 0; got ${std}`);
  if (!(a < b)) fail('INVALID_ARGUMENT', `${op}: a (${a}) must be below b (${b})`);
  const { seed } = initOptions(options, op);
  if (x.size === 0) return x;
  const next = hostGenerator(seed);
  const lo = (a - mean) / std, hi = (b - mean) / std;
  const values = new Float64Array(x.size);
  for (let i = 0; i < values.length; i++) values[i] = Math.min(b, Math.max(a, mean + std * truncatedStandardNormal(lo, hi, next)));
  return fill(x, () => tensor(values, x.shape, { dtype: 'float64' }));
}

/** torch.nn.init.constant_: every entry val (an integer for an int32 tensor). */
export function constant(t: Tensor, val: number): Tensor {
  const op = 'init.constant';
  const x = target(t, op);
  checkFinite(val, op, 'val');
  if (x.dtype === 'int32' && (!Number.isInteger(val) || val < -(2 ** 31) || val >= 2 ** 31))
    fail('INVALID_ARGUMENT', `${op}: val must be an int32 integer for an int32 tensor; got ${val}`);
  return fill(x, () => full(x.shape, val, { dtype: x.dtype, device: x.device }));
}

/** torch.nn.init.ones_. */
export function ones(t: Tensor): Tensor {
  return constant(target(t, 'init.ones'), 1);
}

/** torch.nn.init.zeros_. */
export function zeros(t: Tensor): Tensor {
  return constant(target(t, 'init.zeros'), 0);
}

/** torch.nn.init.eye_: the identity on a 2-D tensor (ones on the main diagonal of a rectangular one). */
export function eye(t: Tensor): Tensor {
  const op = 'init.eye';
  const x = target(t, op);
  if (x.rank !== 2) fail('SHAPE_MISMATCH', `${op}: expected a 2-D tensor; got shape ${shapeText(x.shape)}`);
  const [r, c] = x.shape;
  const values = new Float64Array(r * c);
  for (let i = 0; i < Math.min(r, c); i++) values[i * c + i] = 1;
  return fill(x, () => tensor(values, x.shape, { dtype: 'float64' }));
}

/**
 * torch.nn.init.dirac_: a convolution weight [out, in, ...kernel] (3 to 5
 * dims) that passes its input through: in each of `groups` groups of out /
 * groups output channels, channel d takes input channel d at the kernel's
 * centre (min(out / groups, in) of them; the rest are zero).
 */
export function dirac(t: Tensor, groups = 1): Tensor {
  const op = 'init.dirac';
  const x = target(t, op);
  if (x.rank < 3 || x.rank > 5) fail('SHAPE_MISMATCH', `${op}: expected a 3-, 4- or 5-D tensor [out, in, ...kernel]; got shape ${shapeText(x.shape)}`);
  checkInteger(groups, op, 'groups', 1);
  if (x.shape[0] % groups !== 0)
    fail('INVALID_ARGUMENT', `${op}: the ${x.shape[0]} output channels do not divide into ${groups} groups`);
  const [out, inCh, ...kernel] = x.shape;
  const perGroup = out / groups;
  const kernelSize = numel(kernel);
  // Row-major offset of the kernel's centre (⌊k / 2⌋ along each kernel axis).
  let centre = 0;
  for (const k of kernel) centre = centre * k + Math.floor(k / 2);
  const values = new Float64Array(x.size);
  for (let g = 0; g < groups; g++)
    for (let d = 0; d < Math.min(perGroup, inCh); d++) values[((g * perGroup + d) * inCh + d) * kernelSize + centre] = 1;
  return fill(x, () => tensor(values, x.shape, { dtype: 'float64' }));
}

/** PyTorch's _calculate_fan_in_and_fan_out: [fan in, fan out] of a weight [out, in, ...receptive field]. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  const x = checkTensor(t, 'calculateFanInAndFanOut', 'tensor');
  return fans(x, 'calculateFanInAndFanOut');
}

/** torch.nn.init.xavier_uniform_ (Glorot): U(±gain·√(6 / (fan in + fan out))). */
export function xavierUniform(t: Tensor, gain: number | InitOptions = 1, options?: InitOptions): Tensor {
  return xavier('uniform', t, gain, options);
}

/** torch.nn.init.xavier_normal_ (Glorot): N(0, gain² · 2 / (fan in + fan out)). */
export function xavierNormal(t: Tensor, gain: number | InitOptions = 1, options?: InitOptions): Tensor {
  return xavier('normal', t, gain, options);
}

/** Which fan kaiming's variance is taken over: 'fan_in' keeps the forward pass's, 'fan_out' the backward's. */
export type FanMode = 'fan_in' | 'fan_out' | 'fanIn' | 'fanOut';

/**
 * torch.nn.init.kaiming_uniform_ (He): U(±gain·√(3 / fan)) with gain =
 * calculateGain(nonlinearity, a): `a` is leaky_relu's negative slope (0: relu's gain).
 */
export function kaimingUniform(t: Tensor, a: number | InitOptions = 0, mode: FanMode | InitOptions = 'fan_in', nonlinearity: Nonlinearity | InitOptions = 'leaky_relu', options?: InitOptions): Tensor {
  return kaiming('uniform', t, a, mode, nonlinearity, options);
}

/** torch.nn.init.kaiming_normal_ (He): N(0, gain² / fan), gain as in kaimingUniform. */
export function kaimingNormal(t: Tensor, a: number | InitOptions = 0, mode: FanMode | InitOptions = 'fan_in', nonlinearity: Nonlinearity | InitOptions = 'leaky_relu', options?: InitOptions): Tensor {
  return kaiming('normal', t, a, mode, nonlinearity, options);
}

type Dist = 'uniform' | 'normal';
const distName = (d: Dist): string => (d === 'uniform' ? 'Uniform' : 'Normal');

/** Fills x with U(±√3·std) or N(0, std²): the same variance either way. */
function fillScaled(x: Tensor, dist: Dist, std: number, seed: number | undefined): Tensor {
  const place = { dtype: x.dtype as 'float32' | 'float64', device: x.device, seed };
  const bound = Math.sqrt(3) * std;
  return fill(x, () => (dist === 'uniform' ? rand(x.shape, { minval: -bound, maxval: bound, ...place }) : randn(x.shape, { stddev: std, ...place })));
}

function xavier(dist: Dist, t: Tensor, gain: number | InitOptions, options: InitOptions | undefined): Tensor {
  const op = `init.xavier${distName(dist)}`;
  [gain, options] = early([gain], [1], options, op) as [number, InitOptions | undefined];
  const x = floatTarget(t, op);
  const std = xavierStd(x, gain, op);
  return fillScaled(x, dist, std, initOptions(options, op).seed);
}

function kaiming(dist: Dist, t: Tensor, a: number | InitOptions, mode: FanMode | InitOptions, nonlinearity: Nonlinearity | InitOptions, options: InitOptions | undefined): Tensor {
  const op = `init.kaiming${distName(dist)}`;
  [a, mode, nonlinearity, options] = early([a, mode, nonlinearity], [0, 'fan_in', 'leaky_relu'], options, op) as [number, FanMode, Nonlinearity, InitOptions | undefined];
  const x = floatTarget(t, op);
  const { seed } = initOptions(options, op);
  if (x.size === 0) return x; // PyTorch: a no-op, before the fans are asked for
  return fillScaled(x, dist, kaimingStd(x, a, mode, nonlinearity, op), seed);
}

/**
 * torch.nn.init.orthogonal_ (Saxe et al. 2013): the tensor, viewed as a
 * matrix [shape[0], rest], gets orthonormal rows or columns (whichever are
 * fewer), times gain: Q of the QR factorisation of a Gaussian matrix with R's
 * diagonal made positive, so the matrix is uniformly (Haar) distributed.
 * The factorisation runs in float64 on the CPU (LAPACK's when OpenBLAS is
 * loaded), whatever the tensor's device.
 */
export function orthogonal(t: Tensor, gain: number | InitOptions = 1, options?: InitOptions): Tensor {
  const op = 'init.orthogonal';
  [gain, options] = early([gain], [1], options, op) as [number, InitOptions | undefined];
  const x = floatTarget(t, op);
  if (x.rank < 2) fail('SHAPE_MISMATCH', `${op}: expected a tensor of 2 or more dims; got shape ${shapeText(x.shape)}`);
  checkFinite(gain, op, 'gain');
  const { seed } = initOptions(options, op);
  if (x.size === 0) return x;
  const rows = x.shape[0], cols = x.size / rows;
  const m = Math.max(rows, cols), n = Math.min(rows, cols);
  if (m > 2 ** 31 - 1) fail('INVALID_ARGUMENT', `${op}: a matrix [${rows}, ${cols}] has a side above 2^31 − 1`);
  const q = tidy(() => randn([m * n], { dtype: 'float64', device: 'cpu', seed }).dataSync<'float64'>());
  native().orthonormalizeColumns(q, m, n, true);
  // q holds Q [m, n] column by column: read row by row that is Qᵀ [n, m], the rows ≤ cols case.
  const values = rows < cols ? q : transposed(q, n, m);
  if (gain !== 1) for (let i = 0; i < values.length; i++) values[i] *= gain;
  return fill(x, () => tensor(values, x.shape, { dtype: 'float64' }));
}

/**
 * torch.nn.init.sparse_: a 2-D tensor N(0, std²) with ⌈sparsity · rows⌉
 * entries of each column, chosen at random, set to zero.
 */
export function sparse(t: Tensor, sparsity: number, std: number | InitOptions = 0.01, options?: InitOptions): Tensor {
  const op = 'init.sparse';
  [std, options] = early([std], [0.01], options, op) as [number, InitOptions | undefined];
  const x = floatTarget(t, op);
  if (x.rank !== 2) fail('SHAPE_MISMATCH', `${op}: expected a 2-D tensor; got shape ${shapeText(x.shape)}`);
  checkFinite(sparsity, op, 'sparsity');
  if (sparsity < 0 || sparsity > 1) fail('INVALID_ARGUMENT', `${op}: sparsity must be in [0, 1]; got ${sparsity}`);
  checkFinite(std, op, 'std');
  if (std < 0) fail('INVALID_ARGUMENT', `${op}: std must be >= 0; got ${std}`);
  const { seed } = initOptions(options, op);
  if (x.size === 0) return x;
  const [rows, cols] = x.shape;
  const zeros = Math.ceil(sparsity * rows);
  const values = tidy(() => randn(x.shape, { stddev: std, dtype: 'float64', device: 'cpu', seed }).dataSync<'float64'>());
  // One random permutation of the rows per column (Fisher–Yates); its first `zeros` rows are zeroed.
  const next = hostGenerator(seed === undefined ? undefined : (seed + 1) % 2 ** 53);
  const order = new Int32Array(rows);
  for (let c = 0; c < cols; c++) {
    for (let i = 0; i < rows; i++) order[i] = i;
    for (let i = 0; i < zeros; i++) {
      const j = i + Math.floor(next() * (rows - i));
      const s = order[i]; order[i] = order[j]; order[j] = s;
      values[order[i] * cols + c] = 0;
    }
  }
  return fill(x, () => tensor(values, x.shape, { dtype: 'float64' }));
}

// ---------------------------------------------------------------------------

function target(t: Tensor, op: string): Tensor {
  return checkTensor(t, op, 'tensor');
}

function floatTarget(t: Tensor, op: string): Tensor {
  const x = target(t, op);
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: expected a float32 or float64 tensor; got int32 (shape ${shapeText(x.shape)})`);
  return x;
}

/**
 * The options object may come right after the tensor or any positional
 * argument (init.xavierUniform(w, { seed })): the positional arguments from
 * there on take their defaults.
 */
function early(args: unknown[], defaults: unknown[], options: InitOptions | undefined, op: string): unknown[] {
  const at = args.findIndex((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
  if (at < 0) return [...args, options];
  if (options !== undefined) fail('INVALID_ARGUMENT', `${op}: options were given twice (at argument ${at + 2} and last)`);
  return [...args.slice(0, at), ...defaults.slice(at), args[at]];
}

function initOptions(options: InitOptions | undefined, op: string): InitOptions {
  const o = checkOptions<InitOptions>(options, op, ['seed']);
  if (o.seed !== undefined) checkInteger(o.seed, op, 'seed');
  return o;
}

/** Writes make()'s values (any dtype and device) into x in place; temporaries are freed. */
function fill(x: Tensor, make: () => Tensor): Tensor {
  // Unrecorded, as torch.nn.init's (under no_grad), whatever x is.
  noGrad(() =>
    tidy(() => {
      const v = make();
      x.assign(v.dtype === x.dtype ? v : v.cast(x.dtype));
    }),
  );
  return x;
}

function fans(x: Tensor, op: string): [number, number] {
  if (x.rank < 2)
    fail('SHAPE_MISMATCH', `${op}: fan in and fan out need a tensor of 2 or more dims ([out, in, ...]); got shape ${shapeText(x.shape)}`);
  const receptive = numel(x.shape.slice(2));
  return [x.shape[1] * receptive, x.shape[0] * receptive];
}

function xavierStd(x: Tensor, gain: number, op: string): number {
  checkFinite(gain, op, 'gain');
  // A negative gain makes a negative spread (PyTorch's uniform_/normal_ then raise, naming themselves).
  if (gain < 0) fail('INVALID_ARGUMENT', `${op}: gain must be >= 0; got ${gain}`);
  const [fanIn, fanOut] = fans(x, op);
  return fanIn + fanOut === 0 ? 0 : gain * Math.sqrt(2 / (fanIn + fanOut));
}

function kaimingStd(x: Tensor, a: number, mode: FanMode, nonlinearity: Nonlinearity, op: string): number {
  checkFinite(a, op, 'a');
  // Any case, as PyTorch lower-cases it; fanIn / fanOut too.
  const m = typeof mode === 'string' ? mode.toLowerCase().replace('_', '') : '';
  if (m !== 'fanin' && m !== 'fanout') fail('INVALID_ARGUMENT', `${op}: mode must be 'fan_in' or 'fan_out'; got ${describe(mode)}`);
  const [fanIn, fanOut] = fans(x, op);
  const fan = m === 'fanin' ? fanIn : fanOut;
  const gain = calculateGain(nonlinearity, a);
  return fan === 0 ? 0 : gain / Math.sqrt(fan);
}

function transposed(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

/**
 * A host generator of uniforms in (0, 1) for rejection sampling and
 * permutations: xoshiro128** seeded with 124 bits drawn from antler's own
 * generator (so setSeed and `seed` govern it like every other draw).
 */
function hostGenerator(seed: number | undefined): () => number {
  const s = tidy(() => Uint32Array.from(rand([4], { dtype: 'int32', device: 'cpu', seed }).dataSync<'int32'>()));
  if (s[0] === 0 && s[1] === 0 && s[2] === 0 && s[3] === 0) s[0] = 1;  // xoshiro's one forbidden state
  return () => {
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 11);
    return (r + 0.5) / 4294967296;  // in (0, 1): log() never sees 0
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A standard normal draw conditioned on [lo, hi] (Robert 1995). */
function truncatedStandardNormal(lo: number, hi: number, next: () => number): number {
  if (lo >= 0) return upperTail(lo, hi, next);
  if (hi <= 0) return -upperTail(-hi, -lo, next);
  // The window holds 0: plain normal draws when it is wide, else uniform proposals weighted by the density.
  if (hi - lo >= Math.sqrt(2 * Math.PI)) {
    for (;;) {
      const z = gaussian(next);
      if (z >= lo && z <= hi) return z;
    }
  }
  for (;;) {
    const z = lo + (hi - lo) * next();
    if (next() <= Math.exp(-0.5 * z * z)) return z;
  }
}

/** A standard normal draw conditioned on [lo, hi] with 0 <= lo: exponential or uniform proposals. */
function upperTail(lo: number, hi: number, next: () => number): number {
  const root = Math.sqrt(lo * lo + 4);
  const rate = (lo + root) / 2;  // the best exponential proposal's rate
  // Robert's rule: exponential proposals beat uniform ones on windows wider than this.
  const width = (2 / (lo + root)) * Math.exp((lo * lo - lo * root) / 4 + 0.5);
  if (hi - lo > width) {
    for (;;) {
      const z = lo - Math.log(next()) / rate;
      if (z > hi) continue;
      if (next() <= Math.exp(-0.5 * (z - rate) * (z - rate))) return z;
    }
  }
  for (;;) {
    const z = lo + (hi - lo) * next();
    if (next() <= Math.exp(0.5 * (lo * lo - z * z))) return z;
  }
}

/** A standard normal draw (Marsaglia's polar method). */
function gaussian(next: () => number): number {
  for (;;) {
    const u = 2 * next() - 1, v = 2 * next() - 1;
    const s = u * u + v * v;
    if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
  }
}
