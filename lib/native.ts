/**
 * The only place the native addon is loaded. Candidates, in order:
 * `ANTLER_BINARY`, the local cmake-js build, the local node-gyp build, a
 * prebuilt platform package. If none loads, one error lists every attempt and
 * the commands that fix it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { AntlerError } from './errors';

/** Opaque handle to a native tensor. */
export interface NativeHandle {
  readonly __brand: 'TensorHandle';
}

export interface NativeMemory {
  numTensors: number;
  numDataBuffers: number;
  numBytes: number;
  peakBytes: number;
  cachedBytes: number;
}

export interface NativeBackends {
  cpu: {
    available: true;
    threads: number;
    openmp: boolean;
    blas: string;
    /** Whether LAPACK (from the OpenBLAS opened at run time) is there for the large-matrix linalg paths. */
    lapack: boolean;
    /** The copy of the compute-bound loops in use: 'avx2' where the CPU supports it, else 'baseline' (ANTLER_CPU_ISA=baseline forces it). */
    isa: 'avx2' | 'baseline';
    /** Whether this CPU and this build can run the AVX2 copy. */
    avx2Supported: boolean;
  };
  cuda: {
    available: boolean;
    reason?: string;
    compiled: boolean;
    devices: { name: string; memory: number; computeCapability: string; multiprocessors: number }[];
    runtimeVersion?: number;
    driverVersion?: number;
    archs?: string;
    cublas?: boolean;
    cublasPath?: string;
  };
}

export interface NativeBuildInfo {
  version: string;
  buildSystem: string;
  napiVersion: number;
  compiler: string;
  openmp: boolean;
  blas: string;
  cudaCompiled: boolean;
  cudaArchs: string;
}

type TypedArray = Float32Array | Float64Array | Int32Array;

export interface NativeAddon {
  setErrorClass(ctor: typeof AntlerError): void;
  /** Registers a save's temporary file, removed if this thread's environment is torn down before untrackTempFile (absent in older builds). */
  trackTempFile?(path: string): void;
  untrackTempFile?(path: string): void;
  buildInfo(): NativeBuildInfo;
  backends(): NativeBackends;
  fromData(values: TypedArray, shape: number[], dtype: string, device: string): NativeHandle;
  full(shape: number[], dtype: string, device: string, value: number): NativeHandle;
  arange(start: number, stop: number, step: number, dtype: string, device: string): NativeHandle;
  random(shape: number[], dtype: string, device: string, normal: boolean, a: number, b: number, seed: number, stream: number): NativeHandle;
  describe(h: NativeHandle): [number[], string, string];
  /** The Float64Array describeInto() writes: [rank, dtype code, device (-1 = cpu, else the CUDA index), dims…]. */
  metaBuffer(): Float64Array;
  /** Writes h's rank, dtype, device and dims into metaBuffer(); returns the rank. */
  describeInto(h: NativeHandle): number;
  dataSync(h: NativeHandle): TypedArray;
  dataAsync(h: NativeHandle): Promise<TypedArray>;
  dispose(h: NativeHandle): void;
  /** The sum of the tensors' storage versions (bumped by every in-place write). */
  versionSum(...h: NativeHandle[]): number;
  /** How many native tensors share x's storage (views: reshape, detach; autograd's aliases share one). */
  storageUsers?(x: NativeHandle): number;
  isDisposed(h: NativeHandle): boolean;
  clone(h: NativeHandle): NativeHandle;
  to(h: NativeHandle, device: string): NativeHandle;
  cast(h: NativeHandle, dtype: string): NativeHandle;
  reshape(h: NativeHandle, shape: number[]): NativeHandle;
  binary(op: string, a: NativeHandle, b: NativeHandle): NativeHandle;
  binaryScalar(op: string, a: NativeHandle, s: number, scalarFirst: boolean): NativeHandle;
  matmul(a: NativeHandle, b: NativeHandle, transposeA: boolean, transposeB: boolean): NativeHandle;
  sum(h: NativeHandle): NativeHandle;
  memory(): Record<string, NativeMemory>;
  synchronize(device: string): void;
  setNumThreads(n: number): void;
  linalgLibrary(code?: number): number;
  emptyCache(): void;
  unary(op: string, x: NativeHandle, p0: number, p1: number): NativeHandle;
  unaryBackward(op: string, x: NativeHandle, y: NativeHandle, gy: NativeHandle, p0: number, p1: number): NativeHandle;
  /** lib/ops/pointwise.ts's special functions (native/kernels/pointwise.h): b null for the unary ones; p the polygamma order. */
  pointwise(op: string, a: NativeHandle, b: NativeHandle | null, p: number): NativeHandle;
  reduce(op: 'sum' | 'max' | 'min' | 'prod', x: NativeHandle, axes: number[], keepDims: boolean): NativeHandle;
  permute(x: NativeHandle, perm: number[]): NativeHandle;
  slice(x: NativeHandle, begin: number[], size: number[]): NativeHandle;
  flip(x: NativeHandle, axes: number[]): NativeHandle;
  resetPeakMemory(): void;
  sliceBackward(g: NativeHandle, shape: number[], begin: number[]): NativeHandle;
  concat(xs: NativeHandle[], axis: number): NativeHandle;
  broadcastTo(x: NativeHandle, shape: number[]): NativeHandle;
  where(cond: NativeHandle, a: NativeHandle, b: NativeHandle): NativeHandle;
  softmax(x: NativeHandle, axis: number, log: boolean): NativeHandle;
  softmaxBackward(y: NativeHandle, gy: NativeHandle, axis: number, log: boolean): NativeHandle;
  /** cumsum ('sum') or cumprod ('prod') along axis, accumulated in double. */
  cumulative(op: 'sum' | 'prod', x: NativeHandle, axis: number, exclusive: boolean, reverse: boolean): NativeHandle;
  /** The gradient of cumulative('prod', x, …) for the output's gradient gy (no division: exact with zeros). */
  cumprodBackward(x: NativeHandle, gy: NativeHandle, axis: number, exclusive: boolean, reverse: boolean): NativeHandle;
  /** cummax (largest) or cummin along axis: [values (x's dtype), int32 indices] (a tie or NaN takes the index). */
  cumExtreme(x: NativeHandle, axis: number, largest: boolean): [NativeHandle, NativeHandle];
  /** logcumsumexp along axis (from the end when reverse), accumulated in double. Float types. */
  logCumSumExp(x: NativeHandle, axis: number, reverse: boolean): NativeHandle;
  /** logcumsumexp's gradient from x, its output y and y's gradient gy (kernels::logCumSumExpBackwardLine); absent from addons built before it. */
  logCumSumExpBackward?(x: NativeHandle, y: NativeHandle, gy: NativeHandle, axis: number, reverse: boolean): NativeHandle;
  /** Depthwise convolution (native/kernels/depthwise.h): x [N, C, in…], w [C·m, 1, k…] → [N, C·m, ...outSizes]; padding is each axis's left zeros. Absent from addons built before it. */
  depthwiseConv?(x: NativeHandle, w: NativeHandle, outSizes: number[], stride: number[], padding: number[], dilation: number[]): NativeHandle;
  /** depthwiseConv's input gradient from gy and w → inShape [N, C, in…]. */
  depthwiseConvBackwardInput?(gy: NativeHandle, w: NativeHandle, inShape: number[], stride: number[], padding: number[], dilation: number[]): NativeHandle;
  /** Max pooling (native/kernels/pool.h) of x [N, C, in…] → [values, int32 indices in the flattened in… plane (−1: a window with no input element)]; padding is each axis's left. Absent from addons built before it. */
  maxPool?(x: NativeHandle, outSizes: number[], kernel: number[], stride: number[], padding: number[], dilation: number[]): [NativeHandle, NativeHandle];
  /** Average pooling of x [N, C, in…] → [N, C, ...outSizes]; divisor 0: each window's own (the padding counted where includePad). */
  avgPool?(x: NativeHandle, outSizes: number[], kernel: number[], stride: number[], padding: number[], includePad: boolean, divisor: number): NativeHandle;
  /** avgPool's adjoint: gy [N, C, out…] → inShape [N, C, in…]. */
  avgPoolBackward?(gy: NativeHandle, inShape: number[], kernel: number[], stride: number[], padding: number[], includePad: boolean, divisor: number): NativeHandle;
  /** Adaptive max pooling (PyTorch's windows [⌊o·L/out⌋, ⌈(o+1)·L/out⌉) per axis) of x [N, C, in…] → [values, int32 indices in the flattened in… plane]. Absent from addons built before it. */
  adaptiveMaxPool?(x: NativeHandle, outSizes: number[]): [NativeHandle, NativeHandle];
  /** Adaptive average pooling of x [N, C, in…] → [N, C, ...outSizes] (each window's sum over its size). */
  adaptiveAvgPool?(x: NativeHandle, outSizes: number[]): NativeHandle;
  /** adaptiveAvgPool's adjoint: gy [N, C, out…] → inShape [N, C, in…]. */
  adaptiveAvgPoolBackward?(gy: NativeHandle, inShape: number[]): NativeHandle;
  /** depthwiseConv's weight gradient from x and gy → [C·m, 1, ...kernelSizes] (a fixed-order double sum). */
  depthwiseConvBackwardWeight?(x: NativeHandle, gy: NativeHandle, kernelSizes: number[], stride: number[], padding: number[], dilation: number[]): NativeHandle;
  /** argmax (largest) or argmin along axis: int32 of x's shape without it (first index on ties, first NaN). */
  argReduce(x: NativeHandle, axis: number, largest: boolean): NativeHandle;
  /** CTC loss of log_probs [T, N, C] against targets int32 [N, S] and int32 lengths [N]: [nll [N], logAlpha [N, T, 2S + 1]]. */
  ctcLoss(lp: NativeHandle, targets: NativeHandle, inputLengths: NativeHandle, targetLengths: NativeHandle, blank: number): [NativeHandle, NativeHandle];
  /** The gradient of Σ g·nll with respect to log_probs, [T, N, C]. */
  ctcLossBackward(g: NativeHandle, lp: NativeHandle, targets: NativeHandle, inputLengths: NativeHandle, targetLengths: NativeHandle, nll: NativeHandle, logAlpha: NativeHandle, blank: number, zeroInfinity: boolean): NativeHandle;
  /** F.grid_sample of x [N, C, *in] (2 or 3 spatial axes) at grid [N, *out, dims]: mode 0 bilinear, 1 nearest, 2 bicubic; padding 0 zeros, 1 border, 2 reflection. */
  gridSample(x: NativeHandle, grid: NativeHandle, mode: number, padding: number, alignCorners: boolean): NativeHandle;
  /** gridSample's gradients from gy (the output's shape): [gx, gGrid], each null unless asked for. */
  gridSampleBackward(gy: NativeHandle, x: NativeHandle, grid: NativeHandle, mode: number, padding: number, alignCorners: boolean, needX: boolean, needGrid: boolean): [NativeHandle | null, NativeHandle | null];
  /** topk's indices along axis: int32 of x's shape with that axis of size k, best first (argReduce's order). */
  topkIndices(x: NativeHandle, axis: number, k: number, largest: boolean): NativeHandle;
  searchsorted(seq: NativeHandle, values: NativeHandle, right: boolean): NativeHandle;

  // linalg-lu (LU factorisation, LU solve, triangular solve, Cholesky): native/kernels/linalg_lu.h
  /** Triangular solve (native/kernels/linalg_lu.h): A [B, n, n], rhs [B, n, k] (left: A X = rhs) or [B, k, n] (right: X A = rhs); X of rhs's shape. */
  triangularSolve?(A: NativeHandle, rhs: NativeHandle, upper: boolean, left: boolean, unit: boolean): NativeHandle;
  /** LU with partial pivoting (native/kernels/linalg_lu.h) of A [B, m, n]: [LU, pivots int32 [B, min(m, n)], info int32 [B]]. */
  luFactor?(A: NativeHandle): [NativeHandle, NativeHandle, NativeHandle];
  /** The row permutation int32 [B, m] of LU pivots [B, k] (1-based; row i of Pᵀ A is row perm[i] of A). */
  luPermutation?(pivots: NativeHandle, m: number): NativeHandle;
  /** Cholesky factorisation (native/kernels/linalg_lu.h) of A [B, n, n] (its lower triangle read): [L [B, n, n] lower, info int32 [B]]. */
  cholesky?(A: NativeHandle): [NativeHandle, NativeHandle];
  // (end of linalg-lu)

  // linalg-qr (Householder QR): native/kernels/linalg_qr.h
  /** torch.linalg.qr of A [B, m, n]: mode 0 reduced, 1 complete, 2 r (Q [B, m, 0]) → [Q, R]. */
  linalgQr?(a: NativeHandle, mode: number): [NativeHandle, NativeHandle];
  // (end of linalg-qr)

  // linalg-spectral (symmetric eigendecomposition (eigh), SVD): native/kernels/linalg_spectral.h
  /** Symmetric eigendecomposition of A [B, n, n] (kernels/linalg_spectral.h): [w [B, n] ascending, V [B, n, n] (or [0] when not vectors), info [B] int32]. */
  linalgEigh(A: NativeHandle, upper: boolean, vectors: boolean): NativeHandle[];
  /** SVD of A [B, m, n]: [U [B, m, k|m], S [B, k] descending, Vh [B, k|n, n] (U, Vh [0] when not vectors), info [B] int32]. */
  linalgSvd(A: NativeHandle, full: boolean, vectors: boolean): NativeHandle[];
  // (end of linalg-spectral)

  // random-gamma (gamma sampler and its gradient): native/kernels/random_gamma.h
  /** x ~ Gamma(alpha, 1) per element (Philox seed, stream; element i from its own counter blocks). Float types. */
  standardGamma(alpha: NativeHandle, seed: number, stream: number): NativeHandle;
  /** Elementwise over same-shape a, x: op 0 dx/dα of standardGamma, 1 gammainc P(a, x), 2 gammaincc Q(a, x). */
  gammaBinary(op: number, a: NativeHandle, x: NativeHandle): NativeHandle;
  // (end of random-gamma)

  // random-discrete (Poisson and binomial samplers): native/kernels/random_discrete.h
  /** op 0: Poisson(a) per element; op 1: Binomial(a = count, b = prob), b same shape/dtype/device. Philox seed, stream. Float types. */
  discreteSample(op: number, a: NativeHandle, b: NativeHandle | null, seed: number, stream: number): NativeHandle;
  // (end of random-discrete)
  crossEntropy(logits: NativeHandle, labels: NativeHandle, ignoreIndex: number): [NativeHandle, NativeHandle];
  crossEntropyBackward(logits: NativeHandle, labels: NativeHandle, g: NativeHandle, ignoreIndex: number): NativeHandle;
  gatherRows(table: NativeHandle, indices: NativeHandle): NativeHandle;
  /**
   * [rows, cols]: g's rows [n, cols] summed at int32 indices [n]. A bad index (outside [0, rows)) adds nothing; it
   * throws INVALID_ARGUMENT on the CPU always and on CUDA only when `checked` (a readback and a stream sync there).
   * Pass false only for indices valid by construction or already validated (a gather's backward, host-checked ones).
   */
  scatterAddRows(g: NativeHandle, indices: NativeHandle, rows: number, checked: boolean): NativeHandle;
  /** table[indices[i], :] = rows[i, :] in place (table [R, C], indices int32 [n], rows [n, C]); an index outside [0, R) writes nothing. */
  setRows(table: NativeHandle, indices: NativeHandle, rows: NativeHandle): void;
  /** Q of the QR factorisation of an m×n matrix (m >= n, stored column by column), in place; R's diagonal made non-negative. */
  orthonormalizeColumns(a: Float64Array, m: number, n: number, allowLapack: boolean): 'lapack' | 'householder';
  layerNorm(x: NativeHandle, w: NativeHandle | null, b: NativeHandle | null, eps: number): [NativeHandle, NativeHandle, NativeHandle];
  layerNormBackward(
    gy: NativeHandle, x: NativeHandle, mean: NativeHandle, rstd: NativeHandle, w: NativeHandle | null, affine: boolean,
  ): [NativeHandle, NativeHandle | null, NativeHandle | null];
  assign(dst: NativeHandle, src: NativeHandle): void;
  sgdStep(param: NativeHandle, grad: NativeHandle, buf: NativeHandle | null, o: {
    lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; maximize: boolean; firstStep: boolean;
  }): void;
  adamStep(param: NativeHandle, grad: NativeHandle, m: NativeHandle, v: NativeHandle, vmax: NativeHandle | null, o: {
    lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean; amsgrad: boolean; maximize: boolean; step: number;
  }): void;
  adaHessianStep(param: NativeHandle, grad: NativeHandle, m: NativeHandle, v: NativeHandle, d: NativeHandle | null, o: {
    lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; hessianPower: number; step: number; hessianStep: number;
  }): void;
  rmspropStep(param: NativeHandle, grad: NativeHandle, squareAvg: NativeHandle, gradAvg: NativeHandle | null, buf: NativeHandle | null, o: {
    lr: number; alpha: number; eps: number; weightDecay: number; momentum: number; centered: boolean; maximize: boolean;
  }): void;
  adagradStep(param: NativeHandle, grad: NativeHandle, sum: NativeHandle, o: {
    lr: number; lrDecay: number; eps: number; weightDecay: number; maximize: boolean; step: number;
  }): void;
  radamStep(param: NativeHandle, grad: NativeHandle, m: NativeHandle, v: NativeHandle, o: {
    lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean; maximize: boolean; step: number;
  }): void;
  /** muProduct: Π mu_i over the steps so far, this step's included. */
  nadamStep(param: NativeHandle, grad: NativeHandle, m: NativeHandle, v: NativeHandle, o: {
    lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; momentumDecay: number; muProduct: number;
    decoupled: boolean; maximize: boolean; step: number;
  }): void;
  adamaxStep(param: NativeHandle, grad: NativeHandle, m: NativeHandle, u: NativeHandle, o: {
    lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; maximize: boolean; step: number;
  }): void;
  adadeltaStep(param: NativeHandle, grad: NativeHandle, squareAvg: NativeHandle, accDelta: NativeHandle, o: {
    lr: number; rho: number; eps: number; weightDecay: number; maximize: boolean;
  }): void;
  rpropStep(param: NativeHandle, grad: NativeHandle, prev: NativeHandle, stepSize: NativeHandle, o: {
    etaMinus: number; etaPlus: number; stepSizeMin: number; stepSizeMax: number; maximize: boolean;
  }): void;
  /** eta and mu: the state's values before this step (torch 2.x's ASGD updates them after it). */
  asgdStep(param: NativeHandle, grad: NativeHandle, ax: NativeHandle, o: {
    lambd: number; eta: number; mu: number; weightDecay: number; maximize: boolean;
  }): void;
}

export interface LoadAttempt {
  source: string;
  path: string;
  error: string;
}

const root = path.resolve(__dirname, '..');

function candidates(): { source: string; path: string }[] {
  const list: { source: string; path: string }[] = [];
  const env = process.env.ANTLER_BINARY;
  if (env) return [{ source: 'ANTLER_BINARY', path: path.resolve(env) }];
  list.push({ source: 'local cmake-js build', path: path.join(root, 'build', 'Release', 'antler.node') });
  list.push({ source: 'local node-gyp build', path: path.join(root, 'build-gyp', 'build', 'Release', 'antler.node') });
  const pkg = `antler-${process.platform}-${process.arch}`;
  let prebuilt: string;
  try {
    prebuilt = require.resolve(`${pkg}/antler.node`);
  } catch {
    prebuilt = `${pkg}/antler.node (package not installed)`;
  }
  list.push({ source: `prebuilt package ${pkg}`, path: prebuilt });
  return list;
}

let loaded: { addon: NativeAddon; path: string; source: string } | undefined;

/** antler's version (package.json sits one level above lib/ and dist/ alike). */
function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * How long the OpenMP runtime's idle threads spin after a parallel loop
 * before sleeping. libgomp's default is 300,000 spins (LLVM libomp's 200 ms);
 * meanwhile OpenBLAS (Debian's pthreads build keeps its own pool for the
 * GEMMs) and the next op wait for the cores. antler sets a short spin unless
 * the user chose one (OMP_WAIT_POLICY, GOMP_SPINCOUNT, KMP_BLOCKTIME): the
 * runtime reads these once, when the addon loads it, so they are set just
 * before. Measured on the 2-core CI machine (scripts/thread-spin-check.js,
 * BENCHMARKS.md): an Adam step of a 256-1024-10 MLP 19.9 → 13.5 ms, a
 * neural-ODE DEER solve 363 → 277 ms, the fused SRU and a 512² GEMM unchanged.
 */
export const OPENMP_SPIN_DEFAULTS: Readonly<Record<string, string>> = { GOMP_SPINCOUNT: '10000', KMP_BLOCKTIME: '0' };

/**
 * @internal What applyOpenmpDefaults set (for doctor): the variables antler chose, the user's, or
 * 'unapplied' (antler's could not be set: loaded first in a worker thread).
 */
export const openmpWait: { chosenBy: 'antler' | 'user' | 'unapplied'; settings: Record<string, string> } = { chosenBy: 'user', settings: {} };

function applyOpenmpDefaults(): void {
  const keys = ['OMP_WAIT_POLICY', ...Object.keys(OPENMP_SPIN_DEFAULTS)];
  const userSet = keys.filter((k) => process.env[k] !== undefined && process.env[k] !== '');
  if (userSet.length) {
    openmpWait.chosenBy = 'user';
    openmpWait.settings = Object.fromEntries(userSet.map((k) => [k, process.env[k]!]));
    return;
  }
  if (!isMainThread) {
    // A worker's process.env is its own copy: the OpenMP runtime, which reads the process's
    // environment once, when the addon first loads it, would never see these. That matters only
    // if this worker is the first to load it; once loaded (by the main thread's antler, which set
    // them), the runtime keeps what it read.
    openmpWait.chosenBy = 'unapplied';
    if (!openmpRuntimeLoaded())
      process.emitWarning(
        `antler was loaded in a worker thread before the main thread used it: its short OpenMP spin wait (${Object.entries(OPENMP_SPIN_DEFAULTS).map(([k, v]) => `${k}=${v}`).join(' ')}) cannot be set from a worker, whose process.env does not reach the environment the OpenMP runtime reads, and parallel CPU loops may run several times slower. Call antler in the main thread first (antler.backends(), say; require() alone loads nothing), or set GOMP_SPINCOUNT=10000 in the environment.`,
        { code: 'ANTLER_OPENMP_WAIT' },
      );
    return;
  }
  for (const [k, v] of Object.entries(OPENMP_SPIN_DEFAULTS)) process.env[k] = v;
  openmpWait.chosenBy = 'antler';
  openmpWait.settings = { ...OPENMP_SPIN_DEFAULTS };
}

/** Whether an OpenMP runtime is already mapped into the process (Linux: /proc/self/maps; elsewhere, unknown: false). */
function openmpRuntimeLoaded(): boolean {
  try {
    return /lib(gomp|omp|iomp5)[.-]/.test(fs.readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    return false;
  }
}

/** ANTLER_CPU_ISA's values (native/cpu/isa.cpp reads it): 'auto' (AVX2 where supported) or 'baseline'. */
const CPU_ISA_VALUES = ['auto', 'baseline'];

/** ANTLER_CELL_WALK's values (native/cuda/cells.cu reads it at each launch): 'auto', 'grid' or 'block'. */
const CELL_WALK_VALUES = ['auto', 'grid', 'block'];

function load(): { addon: NativeAddon; path: string; source: string } {
  if (loaded) return loaded;
  applyOpenmpDefaults();
  const isa = process.env.ANTLER_CPU_ISA;
  if (isa && !CPU_ISA_VALUES.includes(isa))
    process.emitWarning(`ANTLER_CPU_ISA is '${isa}'; expected 'auto' or 'baseline'. Using 'auto' (AVX2 where the CPU supports it).`, { code: 'ANTLER_CPU_ISA' });
  const walk = process.env.ANTLER_CELL_WALK;
  if (walk && !CELL_WALK_VALUES.includes(walk))
    process.emitWarning(`ANTLER_CELL_WALK is '${walk}'; expected 'auto', 'grid' or 'block'. Using 'auto' (the grid walk from hidden size 257 on).`, { code: 'ANTLER_CELL_WALK' });
  const attempts: LoadAttempt[] = [];
  for (const c of candidates()) {
    if (!fs.existsSync(c.path)) {
      attempts.push({ ...c, error: 'file not found' });
      continue;
    }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(c.path) as NativeAddon;
      // A prebuilt package of another antler version has another native interface: passed over.
      if (c.source.startsWith('prebuilt')) {
        const v = addon.buildInfo().version;
        if (v !== packageVersion()) {
          attempts.push({ ...c, error: `version ${v}, and this antler is ${packageVersion()} (install the matching ${c.source.slice('prebuilt package '.length)}, or build from source)` });
          continue;
        }
      }
      addon.setErrorClass(AntlerError);
      loaded = { addon, path: c.path, source: c.source };
      return loaded;
    } catch (e) {
      attempts.push({ ...c, error: (e as Error).message.split('\n')[0] });
    }
  }
  const lines = attempts.map((a) => `  - ${a.source}: ${a.path}\n      ${a.error}`);
  throw new AntlerError(
    'LOAD_FAILED',
    [
      'antler: the native addon could not be loaded. Tried:',
      ...lines,
      ...(process.env.ANTLER_BINARY
        ? ['ANTLER_BINARY is set, so only that file was tried: point it at a built antler.node, or unset it to load', 'the local build or the prebuilt package (building one as below if there is none).']
        : []),
      ...(asDependency()
        ? [
            'If npm (or pnpm) skipped install scripts, nothing was built: allow antler\'s (npm install-scripts',
            'approve antler, or pnpm\'s onlyBuiltDependencies), then, from your project:',
            '  npm rebuild antler                       # cmake-js (CPU, plus CUDA when nvcc is on the PATH), else node-gyp',
            '  ANTLER_BACKEND=cpu npm rebuild antler    # CPU only',
          ]
        : [
            'To fix it, run one of these in the repository:',
            '  npm run build            # cmake-js build (CPU, plus CUDA when nvcc is on the PATH)',
            '  npm run build:gyp        # CPU-only build with node-gyp, no CMake needed',
            '  ANTLER_BACKEND=cpu npm run build   # CPU-only cmake-js build',
          ]),
      ...(process.env.ANTLER_BINARY ? [] : ['or point ANTLER_BINARY at a built antler.node.']),
      'A build needs cmake >= 3.21 (or python3 + make for node-gyp) and a C++17 compiler.',
    ].join('\n'),
  );
}

/** @internal Installed in someone's project (under node_modules) rather than a clone: rebuilt with npm rebuild antler. */
export function asDependency(): boolean {
  return root.split(path.sep).includes('node_modules');
}

/** The loaded addon (loads it on first use). */
export function native(): NativeAddon {
  return profiledAddon ?? load().addon;
}

/** While profile() runs: the addon with every op timed (lib/profile.ts); null otherwise. */
let profiledAddon: NativeAddon | null = null;

/** @internal Sets (or, with null, clears) the addon native() hands out, for profile(). */
export function setProfiledAddon(addon: NativeAddon | null): void {
  profiledAddon = addon;
}

/** @internal The loaded addon itself, whether or not profile() is running. */
export function rawNative(): NativeAddon {
  return load().addon;
}

/**
 * y ← y + α·x in place for a finite α, in one pass: the fused SGD update p ← p − lr·g (no momentum
 * or weight decay) with lr = −α, as torch's y.add_(x, alpha=α); bumps y's version. Not recorded by
 * autograd. Shared by optim's axpy and autograd's gradient accumulation.
 */
export function addScaledInPlace(y: NativeHandle, x: NativeHandle, alpha: number): void {
  const n = native();
  // Under profile(): listed as what it is (a gradient accumulated into .grad), not as an SGD step.
  if (n === profiledAddon) opLabel = 'addScaledInPlace';
  try {
    n.sgdStep(y, x, null, { lr: -alpha, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, firstStep: true });
  } finally {
    opLabel = null;
  }
}

/** The name profile() gives the native call now running when it is a helper's, not the entry point's (see addScaledInPlace). */
let opLabel: string | null = null;

/** @internal For profile(): the label of the native call now running, or null (then its entry point names it). */
export function currentOpLabel(): string | null {
  return opLabel;
}

/** Where the addon was loaded from. */
export function nativeOrigin(): { path: string; source: string } {
  const l = load();
  return { path: l.path, source: l.source };
}
