/**
 * Spatial transformers and local response normalisation: gridSample (torch.nn.functional.grid_sample for
 * [N, C, H, W] and [N, C, D, H, W] inputs), affineGrid (F.affine_grid) and localResponseNorm
 * (F.local_response_norm), with their gradients, double backward included, on every device.
 *
 * gridSample runs native kernels (native/kernels/grid_sample.h; CPU and CUDA): the forward holds only its
 * result, and one native backward gives x's and the grid's gradients. A backward that builds a graph
 * (createGraph) differentiates the composite below instead, recomputed from the saved x and grid.
 *
 * The composite (gridSampleComposite; the tests' reference for the kernels) reads x as a channels-last
 * table [N·H·W + 1, C] (or [N·D·H·W + 1, C]; the last row zeros, what out-of-range taps read) and
 * makes one row gather per corner (bilinear/trilinear), per point (nearest) or per tap (bicubic's 16). The
 * tap rows are integers computed without recording; the per-axis weights [points, 1] are computed from the
 * grid with PyTorch's coordinate rules by recorded ops, so the grid's gradient is the weights'. One
 * recorded op (blendRows) blends the gathers and re-gathers in its backward.
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, tensor, Tensor, zeros } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import {
  abs, add, clamp, concat, div, equal, floor, greater, greaterEqual, less, lessEqual, matmul, mul, neg, notEqual, pow, permute, remainder, reshape, round, slice, square, sub, sum, where, wrap,
} from './core';
import { gatherRows, scatterAddRows } from './indexing';
import { edgeOf, gradients, isGradEnabled, noGrad, record } from '../autograd/graph';
import { native } from '../native';

/** gridSample's interpolation modes (F.grid_sample's; 'bilinear' is trilinear for a 5-D input). */
export type GridSampleMode = 'bilinear' | 'nearest' | 'bicubic';
/** gridSample's padding modes (F.grid_sample's). */
export type GridSamplePaddingMode = 'zeros' | 'border' | 'reflection';

/** Options of {@link gridSample} (F.grid_sample's keywords). */
export interface GridSampleOptions {
  /** 'bilinear' (default; trilinear for 5-D), 'nearest' or 'bicubic' (4-D only). */
  mode?: GridSampleMode;
  /** What out-of-range positions read: 'zeros' (default), 'border' (clipped) or 'reflection' (reflected, then clipped). */
  paddingMode?: GridSamplePaddingMode;
  /** −1 and 1 are the centres of the corner pixels (true) or their outer edges (false, the default). */
  alignCorners?: boolean;
}

/** Options of {@link affineGrid}. */
export interface AffineGridOptions {
  /** As gridSample's: −1 and 1 at the corner pixels' centres (true) or outer edges (false, the default). */
  alignCorners?: boolean;
}

/** Options of {@link localResponseNorm} (F.local_response_norm's keywords). */
export interface LocalResponseNormOptions {
  /** The multiplier of the window's mean square (default 1e-4). */
  alpha?: number;
  /** The exponent (default 0.75). */
  beta?: number;
  /** The additive constant (default 1). */
  k?: number;
}

const MODES: readonly GridSampleMode[] = ['bilinear', 'nearest', 'bicubic'];
const PADDINGS: readonly GridSamplePaddingMode[] = ['zeros', 'border', 'reflection'];

/** PyTorch's grid_sampler_unnormalize: a grid coordinate in [−1, 1] to a pixel position along an axis of `size`. */
function unnormalize(c: Tensor, size: number, align: boolean): Tensor {
  // align: ((c + 1) / 2)·(size − 1); else ((c + 1)·size − 1) / 2.
  return align ? mul(div(add(c, 1), 2), size - 1) : div(sub(mul(add(c, 1), size), 1), 2);
}

/**
 * PyTorch's reflect_coordinates: c reflected about twiceLow/2 and twiceHigh/2 until it lies between them
 * (|c − min| split into whole spans, flips, and the rest, extra; an even number of flips keeps extra + min,
 * an odd one span − extra + min). 0 when the two bounds coincide.
 */
function reflect(c: Tensor, twiceLow: number, twiceHigh: number): Tensor {
  if (twiceLow === twiceHigh) return mul(c, 0);
  const lo = twiceLow / 2, span = (twiceHigh - twiceLow) / 2;
  const d = abs(sub(c, lo));
  const extra = remainder(d, span);
  const flips = floor(div(d, span));
  const even = equal(remainder(flips, 2), 0);
  return where(even, add(extra, lo), sub(span + lo, extra));
}

/**
 * PyTorch's compute_coordinates: 'border' clips into [0, size − 1]; 'reflection' reflects about the borders
 * (−0.5 and size − 0.5 without alignCorners, 0 and size − 1 with) and clips; 'zeros' leaves c. A NaN
 * coordinate becomes 0 under 'border' and 'reflection' (torch 1.13's CPU kernels read pixel 0 there).
 * The gradient passes only strictly inside (0, size − 1): as torch's clip_coordinates_set_grad, a position
 * exactly on a border counts as clipped (gradient 0), where clamp's would pass it (the corners of an
 * alignCorners identity grid lie exactly there).
 */
function pad(c: Tensor, size: number, padding: GridSamplePaddingMode, align: boolean): Tensor {
  if (padding === 'zeros') return c;
  const r = padding === 'reflection' ? (align ? reflect(c, 0, 2 * (size - 1)) : reflect(c, -1, 2 * size - 1)) : c;
  const [inside, clipped] = noGrad(() => [mul(greater(r, 0), less(r, size - 1)), where(notEqual(r, r), 0, clamp(r, 0, size - 1))]);
  return where(inside, r, clipped);
}

/**
 * PyTorch's cubic convolution weights (A = −0.75) of the four taps at fraction t (get_cubic_upsample_coefficients:
 * c2(t + 1), c1(t), c1(1 − t), c2(2 − t) with c1(d) = ((A + 2)·d − (A + 3))·d·d + 1 and
 * c2(d) = ((A·d − 5A)·d + 8A)·d − 4A). Each is recorded as one op that saves only t: its derivative
 * (c1'(d) = (3(A + 2)·d − 2(A + 3))·d, c2'(d) = (3A·d − 10A)·d + 8A, times ±1) is recomputed from t by
 * recorded ops, so the weights' graphs hold one [P, 1] tensor per axis, and double backward works.
 */
function cubicWeights(t: Tensor): Tensor[] {
  const A = -0.75;
  const c1 = (d: Tensor) => add(mul(mul(sub(mul(d, A + 2), A + 3), d), d), 1);
  const c2 = (d: Tensor) => sub(mul(add(mul(sub(mul(d, A), 5 * A), d), 8 * A), d), 4 * A);
  const d1 = (d: Tensor) => mul(sub(mul(d, 3 * (A + 2)), 2 * (A + 3)), d);
  const d2 = (d: Tensor) => add(mul(sub(mul(d, 3 * A), 10 * A), d), 8 * A);
  // Tap i: the kernel, its argument as a function of t, and the sign of that argument's slope.
  const taps: [(d: Tensor) => Tensor, (d: Tensor) => Tensor, (s: Tensor) => Tensor, number][] = [
    [c2, d2, (s) => add(s, 1), 1],
    [c1, d1, (s) => s, 1],
    [c1, d1, (s) => sub(1, s), -1],
    [c2, d2, (s) => sub(2, s), -1],
  ];
  return taps.map(([f, df, arg, sign]) => {
    const out = noGrad(() => tidy(() => f(arg(t))));
    return record(out, 'gridSampleCubic', [t], (gy, [st]) => [tidy(() => mul(gy, sign === 1 ? df(arg(st)) : neg(df(arg(st)))))], [t], true);
  });
}

/**
 * The table rows [P] (int32) of one tap at integer positions `pos` (one float tensor [P, 1] per spatial
 * axis, in the axis order of `sizes`, not recorded): base + the flat offset, or `zeroRow` (the table's
 * all-zero last row) where a position lies outside [0, size − 1] on any axis or is NaN: such a tap
 * contributes 0 · its weight, as torch's per-corner bounds check (a NaN weight still gives NaN).
 */
function tapRows(base: Tensor, pos: Tensor[], sizes: number[], zeroRow: number): Tensor {
  // Axis by axis, each step in its own tidy (these [P, 1] temporaries add up for a small C).
  let flat = base;
  let inside: Tensor | undefined;
  let stride = 1;
  for (let a = sizes.length - 1; a >= 0; a--) {
    const p = pos[a], st = stride;
    const [nextInside, nextFlat] = tidy(() => {
      const ok = mul(greaterEqual(p, 0), lessEqual(p, sizes[a] - 1));
      // int32 only after clamping (NaN and far-off positions are replaced by zeroRow below).
      const idx = where(notEqual(p, p), 0, clamp(p, 0, sizes[a] - 1)).cast('int32');
      return [inside === undefined ? ok : mul(inside, ok), add(flat, st === 1 ? idx : mul(idx, st))];
    });
    if (inside !== undefined) inside.dispose();
    if (flat !== base) flat.dispose();
    inside = nextInside;
    flat = nextFlat;
    stride *= sizes[a];
  }
  const rows = tidy(() => reshape(where(inside!, flat, zeroRow), [flat.shape[0]]));
  antlerDispose(inside!, flat);
  return rows;
}

/** Every combination of one tap per axis (taps[a] taps along axis a), the first axis slowest. */
function combos(taps: number[]): number[][] {
  let out: number[][] = [[]];
  for (const t of taps) out = out.flatMap((c) => Array.from({ length: t }, (_, i) => [...c, i]));
  return out;
}

/**
 * Σ over tap combinations k of table[rows[k]] · Π_a factors[a][k_a]: [P, C] from table [R, C], the int32
 * rows [P] of each combination (combos' order) and separable per-axis weights [P, 1]. Recorded as one op
 * that saves only the table, the factors and the rows: the backward gathers each combination's rows again
 * for the factors' gradients (Σ_c gy · table[rows[k]] times the other axes' factors) and scatter-adds
 * gy · weight into the table's, one combination at a time, so neither direction holds more than a few
 * [P, C] tensors (a composition of gathers and products would save every tap's rows and weights). The
 * backward is itself recorded ops: double backward works.
 */
function blendRows(table: Tensor, rows: Tensor[], factors: Tensor[][]): Tensor {
  const R = table.shape[0];
  const taps = factors.map((f) => f.length);
  const all = combos(taps);
  const weightOf = (fs: Tensor[][], k: number[]) => tidy(() => k.map((i, a) => fs[a][i]).reduce((acc, f) => mul(acc, f)));
  const out = noGrad(() => {
    let acc: Tensor | undefined;
    all.forEach((k, ci) => {
      const w = weightOf(factors, k);
      const g = gatherRows(table, rows[ci], 'gridSample');
      const term = mul(g, w);
      antlerDispose(g, w);
      const next = acc === undefined ? term : add(acc, term);
      if (acc !== undefined) antlerDispose(acc, term);
      acc = next;
    });
    return acc!;
  });
  const flatFactors = factors.flat();
  // The table is read back only for the factors' gradients: with a constant grid (only x needing a
  // gradient) it is not saved, and the x-sized copy goes when gridSample returns.
  const keepTable = flatFactors.some((f) => f.requiresGrad);
  return record(
    out,
    'gridSample',
    [table, ...flatFactors],
    (gy, saved, needs) => {
      const t = keepTable ? saved[0] : undefined;
      let at = keepTable ? 1 : 0;
      const fs = taps.map((n) => saved.slice(at, (at += n)));
      const idx = saved.slice(at);
      let gTable: Tensor | undefined;
      // The factors' gradients, accumulated per axis and tap.
      const gF: (Tensor | undefined)[][] = taps.map((n) => new Array<Tensor | undefined>(n).fill(undefined));
      const needF = taps.map((n, a) => Array.from({ length: n }, (_, i) => needs[1 + taps.slice(0, a).reduce((s, v) => s + v, 0) + i]));
      const anyF = needF.some((l) => l.some((v) => v));
      const accumulate = (prev: Tensor | undefined, term: Tensor): Tensor => {
        if (prev === undefined) return term;
        const next = add(prev, term);
        antlerDispose(prev, term);
        return next;
      };
      all.forEach((k, ci) => {
        if (needs[0]) {
          const w = weightOf(fs, k);
          const scaled = mul(gy, w);
          const term = scatterAddRows(scaled, idx[ci], R, false, 'gridSampleBackward');
          antlerDispose(w, scaled);
          gTable = accumulate(gTable, term);
        }
        if (anyF) {
          const g = gatherRows(t!, idx[ci], 'gridSampleBackward');
          const prod = mul(gy, g);
          const d = sum(prod, 1, true); // [P, 1]: Σ_c gy · table[rows]
          antlerDispose(g, prod);
          k.forEach((i, a) => {
            if (!needF[a][i]) return;
            const others = k.map((j, b) => (b === a ? undefined : fs[b][j])).filter((f): f is Tensor => f !== undefined);
            const term = others.length === 0 ? d : tidy(() => others.reduce((acc, f) => mul(acc, f), d));
            gF[a][i] = accumulate(gF[a][i], term === d ? mul(d, 1) : term);
          });
          d.dispose();
        }
      });
      return [needs[0] ? gTable! : null, ...gF.flatMap((l, a) => l.map((g, i) => (needF[a][i] ? g ?? null : null)))];
    },
    [...(keepTable ? [table] : []), ...flatFactors, ...rows],
    true,
  );
}

/** Disposes the given tensors (intermediates of the loops above). */
function antlerDispose(...ts: Tensor[]): void {
  for (const t of ts) t.dispose();
}

/**
 * torch.nn.functional.grid_sample: samples x [N, C, H, W] at the points of grid [N, Ho, Wo, 2] (each (x, y)
 * in [−1, 1] across the width and height; values outside read the padding) into [N, C, Ho, Wo], or x
 * [N, C, D, H, W] at grid [N, Do, Ho, Wo, 3] ((x, y, z)) into [N, C, Do, Ho, Wo]. mode 'bilinear' (default;
 * trilinear for 5-D) blends the 4 (8) neighbours, 'nearest' reads the nearest pixel (ties to even, as
 * torch's nearbyint), 'bicubic' (4-D only) the cubic convolution (A = −0.75) of the 4×4 neighbours.
 * paddingMode 'zeros' (default) lets out-of-range neighbours contribute 0, 'border' clips positions into
 * the image, 'reflection' reflects them about the borders (−0.5 and size − 0.5 without alignCorners) and
 * clips; bicubic applies the padding to each tap's position, as torch. alignCorners false (default): −1 and
 * 1 are the outer edges of the corner pixels, true: their centres. Gradients flow to x and grid (the
 * grid's is zeros for 'nearest', and 0 along an axis where a 'border' or 'reflection' position lies
 * exactly on a border, as torch). NaN grid values follow torch 1.13's 4-D CPU kernel: 'zeros' gives NaN
 * (bilinear, bicubic) or 0 (nearest); 'border' and 'reflection' read position 0 (bilinear, nearest) or
 * give NaN (bicubic, whose weights are NaN). torch 1.13's 5-D CPU kernel differs from its 4-D one (it
 * rounds nearest's ties away from zero, and reads NaN and ±inf at the last pixel, or 0 with 'zeros'):
 * here 5-D inputs follow the 4-D rules. Native kernels on the CPU and CUDA: the forward holds only its
 * result (x and the grid are kept as views for the backward); the CPU backward is bit-deterministic, the
 * CUDA one sums x's gradient with atomics (as torch's), so its rounding varies from run to run. An empty
 * result (N, C or an output axis 0) is recorded too: x's and the grid's gradients are zeros, as torch's.
 */
export function gridSample(x: Tensor, grid: Tensor, options?: GridSampleOptions): Tensor {
  const op = 'gridSample';
  checkTensor(x, op, 'x');
  checkTensor(grid, op, 'grid');
  const o = checkOptions<GridSampleOptions>(options, op, ['mode', 'paddingMode', 'alignCorners']);
  const mode = o.mode ?? 'bilinear';
  if (!MODES.includes(mode)) fail('INVALID_ARGUMENT', `${op}: mode must be 'bilinear', 'nearest' or 'bicubic'; got ${describe(o.mode)}`);
  const padding = o.paddingMode ?? 'zeros';
  if (!PADDINGS.includes(padding)) fail('INVALID_ARGUMENT', `${op}: paddingMode must be 'zeros', 'border' or 'reflection'; got ${describe(o.paddingMode)}`);
  const align = o.alignCorners === undefined || o.alignCorners === null ? false : checkBoolean(o.alignCorners, op, 'alignCorners');
  if (x.rank !== 4 && x.rank !== 5)
    fail('SHAPE_MISMATCH', `${op}: x has shape ${shapeText(x.shape)}; expected a 4-D input [N, C, H, W] or 5-D [N, C, D, H, W]`);
  const dims = x.rank - 2;
  if (grid.rank !== x.rank || grid.shape[grid.rank - 1] !== dims)
    fail(
      'SHAPE_MISMATCH',
      `${op}: grid has shape ${shapeText(grid.shape)}; for x ${shapeText(x.shape)} expected ${dims === 2 ? '[N, Ho, Wo, 2]' : '[N, Do, Ho, Wo, 3]'}`,
    );
  if (grid.shape[0] !== x.shape[0])
    fail('SHAPE_MISMATCH', `${op}: grid has batch size ${grid.shape[0]} (shape ${shapeText(grid.shape)}) and x ${x.shape[0]} (shape ${shapeText(x.shape)}); expected the same`);
  if (mode === 'bicubic' && dims !== 2) fail('INVALID_ARGUMENT', `${op}: mode 'bicubic' needs a 4-D input [N, C, H, W] (as PyTorch); got x of shape ${shapeText(x.shape)}`);
  if (x.dtype === 'int32' || grid.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: x is ${x.dtype} and grid ${grid.dtype}; expected float32 or float64`);
  if (x.dtype !== grid.dtype) fail('DTYPE_MISMATCH', `${op}: x is ${x.dtype} and grid ${grid.dtype}; expected the same dtype`);
  if (x.device !== grid.device) fail('DEVICE_MISMATCH', `${op}: x is on ${x.device} and grid on ${grid.device}; expected the same device`);
  const [N, C, ...sizes] = x.shape;
  const outSizes = grid.shape.slice(1, -1);
  if (sizes.some((s) => s === 0)) fail('INVALID_ARGUMENT', `${op}: x has an empty spatial axis (shape ${shapeText(x.shape)})`);
  // (An empty result is recorded too: x's and the grid's gradients are then zeros, as torch's.)
  return gridSampleNative(x, grid, mode, padding, align);
}

const MODE_CODES: Record<GridSampleMode, number> = { bilinear: 0, nearest: 1, bicubic: 2 };
const PADDING_CODES: Record<GridSamplePaddingMode, number> = { zeros: 0, border: 1, reflection: 2 };

/**
 * gridSample by the native kernels (native/kernels/grid_sample.h): the forward holds only its result (x and
 * the grid are saved as views), and the backward is one native call giving x's and the grid's gradients.
 * A backward that builds a graph (createGraph: a second derivative) instead differentiates the composite
 * (gridSampleComposite) recomputed from the saved x and grid, so double backward works as before; the
 * native backward itself has no recorded formulation.
 */
function gridSampleNative(x: Tensor, grid: Tensor, mode: GridSampleMode, padding: GridSamplePaddingMode, align: boolean): Tensor {
  const m = MODE_CODES[mode], p = PADDING_CODES[padding];
  const out = wrap(native().gridSample(x.handle, grid.handle, m, p, align));
  // An empty result's gradients are zeros that depend on nothing: the native backward gives them (the
  // composite records nothing for an empty result, so there is no graph to differentiate).
  const empty = out.shape.some((s) => s === 0);
  return record(
    out,
    'gridSample',
    [x, grid],
    (gy, [xs, gs], needs) => {
      if (isGradEnabled() && !empty) {
        // createGraph: the composite's gradients, recorded, connected to x's and the grid's graphs.
        const y = gridSampleComposite(xs, gs, mode, padding, align);
        return gradients(y, gy, [needs[0] ? edgeOf(xs) : null, needs[1] ? edgeOf(gs) : null], true);
      }
      const [gx, gg] = native().gridSampleBackward(gy.handle, xs.handle, gs.handle, m, p, align, needs[0], needs[1]);
      return [gx ? wrap(gx) : null, gg ? wrap(gg) : null];
    },
    [x, grid],
    true,
  );
}

/** @internal Rows one int32 row gather can index (0 … 2^31 − 1): the composite's table rows N·D·H·W + 1 at most. */
export const GRID_TABLE_ROWS = 2 ** 31;

/**
 * @internal gridSample composed from recorded ops (arguments validated by gridSample; the native path's
 * reference in the tests, and its differentiable backward): x read as a channels-last table, one row
 * gather per tap, one recorded blend (see the file's header). The table's rows are addressed by int32
 * indices, so a batch whose N·D·H·W + 1 rows exceed `maxRows` (2^31; a parameter for the tests) is sampled
 * in pieces of samples, the pieces concatenated; one sample with more spatial positions than that is
 * refused (INVALID_ARGUMENT) instead of wrapping to wrong rows.
 */
export function gridSampleComposite(x: Tensor, grid: Tensor, mode: GridSampleMode, padding: GridSamplePaddingMode, align: boolean, maxRows = GRID_TABLE_ROWS): Tensor {
  const dims = x.rank - 2;
  const [N, C, ...sizes] = x.shape;
  const outSizes = grid.shape.slice(1, -1);
  const inner = sizes.reduce((a, b) => a * b, 1), per = outSizes.reduce((a, b) => a * b, 1);
  const P = N * per;
  const outShape = [N, C, ...outSizes];
  if (P > 0 && C > 0 && N * inner + 1 > maxRows) {
    // Row n·inner + i of the table is sample n's position i, and row N·inner its zero row: int32 reaches maxRows − 1.
    if (inner + 1 > maxRows)
      fail('INVALID_ARGUMENT', `gridSample: the input's ${sizes.join('·')} = ${inner} spatial positions per sample are more than the composite's int32 row index reaches (${maxRows - 1}, one row kept for out-of-range taps); sample a smaller input, or tiles of it`);
    const nc = Math.floor((maxRows - 1) / inner);
    return tidy(() => {
      const pieces: Tensor[] = [];
      for (let n0 = 0; n0 < N; n0 += nc) {
        const nn = Math.min(nc, N - n0);
        pieces.push(gridSampleComposite(slice(x, [n0, ...x.shape.slice(1).map(() => 0)], [nn, ...x.shape.slice(1)]), slice(grid, [n0, ...grid.shape.slice(1).map(() => 0)], [nn, ...grid.shape.slice(1)]), mode, padding, align, maxRows));
      }
      return concat(pieces, 0);
    });
  }
  return tidy(() => {
    if (P === 0 || C === 0) return zeros(outShape, { dtype: x.dtype, device: x.device });
    // The channels-last table [N·inner + 1, C], its last row zeros (what out-of-range taps read), and
    // each point's batch row offset n·inner.
    const cl = reshape(permute(x, [0, ...sizes.map((_, i) => i + 2), 1]), [N * inner, C]);
    const table = concat([cl, zeros([1, C], { dtype: x.dtype, device: x.device })], 0);
    cl.dispose();
    const zeroRow = N * inner;
    const baseHost = new Int32Array(P);
    for (let p = 0; p < P; p++) baseHost[p] = Math.floor(p / per) * inner;
    const base = tensor(baseHost, [P, 1], { dtype: 'int32', device: x.device });
    // Grid component k addresses spatial axis dims − 1 − k (x: width, y: height, z: depth).
    // Each stage in its own tidy: only what the next one reads stays (and what the graph saved).
    const g = reshape(grid, [P, dims]);
    const coords = sizes.map((s, a) => tidy(() => unnormalize(slice(g, [0, dims - 1 - a], [P, 1]), s, align)));
    g.dispose();
    let out: Tensor;
    if (mode === 'nearest') {
      // The grid's gradient is 0 (rounding): the positions are not recorded, and the result is one gather,
      // recorded with the grid as an input (as torch: the result requires grad when the grid does, and the
      // grid's gradient is zeros, not absent).
      const rows = noGrad(() => tidy(() => tapRows(base, coords.map((c, a) => round(pad(c, sizes[a], padding, align))), sizes, zeroRow)));
      const gathered = noGrad(() => gatherRows(table, rows, 'gridSample'));
      const R = table.shape[0], gridShape = grid.shape;
      out = record(
        gathered,
        'gridSample',
        [table, grid],
        (gy, [idx], needs) => [
          needs[0] ? scatterAddRows(gy, idx, R, false, 'gridSampleBackward') : null,
          needs[1] ? zeros(gridShape, { dtype: gy.dtype, device: gy.device }) : null,
        ],
        [rows],
        true,
      );
    } else if (mode === 'bilinear') {
      const src = coords.map((c, a) => tidy(() => pad(c, sizes[a], padding, align)));
      coords.forEach((c, a) => c !== src[a] && c.dispose()); // ('zeros' returns c itself)
      // The corners' positions (not recorded: floor's gradient is 0) and the weights along each axis:
      // the low corner's lo + 1 − c, the high one's c − lo.
      const lo = noGrad(() => src.map((c) => floor(c)));
      const factors = src.map((c, a) => tidy(() => [sub(add(lo[a], 1), c), sub(c, lo[a])]));
      antlerDispose(...src);
      const rows = noGrad(() => tidy(() => {
        const hi = lo.map((l) => add(l, 1));
        return combos(sizes.map(() => 2)).map((k) => tapRows(base, k.map((h, a) => (h === 1 ? hi[a] : lo[a])), sizes, zeroRow));
      }));
      antlerDispose(...lo);
      out = blendRows(table, rows, factors);
    } else {
      // bicubic: the unpadded position, its floor and fraction; the padding goes on each tap's position.
      const lo = noGrad(() => coords.map((c) => floor(c)));
      const factors = coords.map((c, a) => tidy(() => cubicWeights(sub(c, lo[a]))));
      antlerDispose(...coords);
      const rows = noGrad(() => tidy(() => {
        const pos = lo.map((l, a) => [0, 1, 2, 3].map((i) => pad(add(l, i - 1), sizes[a], padding, align)));
        return combos([4, 4]).map((k) => tapRows(base, k.map((i, a) => pos[a][i]), sizes, zeroRow));
      }));
      antlerDispose(...lo);
      out = blendRows(table, rows, factors);
    }
    const y = reshape(out, [N, ...outSizes, C]);
    return permute(y, [0, dims + 1, ...outSizes.map((_, i) => i + 1)]);
  });
}

/** PyTorch's linspace_from_neg_one: n points from −1 to 1, scaled by (n − 1)/n without alignCorners; [0] for n <= 1. */
function steps(n: number, align: boolean): number[] {
  if (n <= 1) return new Array<number>(n).fill(0);
  return Array.from({ length: n }, (_, i) => {
    const v = -1 + (2 * i) / (n - 1);
    return align ? v : (v * (n - 1)) / n;
  });
}

/**
 * torch.nn.functional.affine_grid: the sampling grid of the affine maps theta [N, 2, 3] over an output of
 * size [N, C, H, W] (grid [N, H, W, 2]) or theta [N, 3, 4] over [N, C, D, H, W] (grid [N, D, H, W, 3]):
 * grid[n, …] = theta[n] · (x, y[, z], 1), with x, y, z running from −1 to 1 across the width, height and
 * depth (pixel centres: alignCorners true reaches ±1 at the corner pixels, false (default) stops half a
 * pixel inside, ±(n − 1)/n). Gradients flow to theta.
 */
export function affineGrid(theta: Tensor, size: readonly number[], options?: AffineGridOptions): Tensor {
  const op = 'affineGrid';
  checkTensor(theta, op, 'theta');
  const o = checkOptions<AffineGridOptions>(options, op, ['alignCorners']);
  const align = o.alignCorners === undefined || o.alignCorners === null ? false : checkBoolean(o.alignCorners, op, 'alignCorners');
  if (!Array.isArray(size) || (size.length !== 4 && size.length !== 5))
    fail('INVALID_ARGUMENT', `${op}: size must be a list of 4 ([N, C, H, W]) or 5 ([N, C, D, H, W]) integers; got ${describe(size)}`);
  size.forEach((d) => checkInteger(d, op, 'size', 1));
  const dims = size.length - 2;
  if (theta.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: theta is int32; expected float32 or float64`);
  if (theta.rank !== 3 || theta.shape[1] !== dims || theta.shape[2] !== dims + 1 || theta.shape[0] !== size[0])
    fail(
      'SHAPE_MISMATCH',
      `${op}: theta has shape ${shapeText(theta.shape)}; for size ${shapeText(size)} expected ${shapeText([size[0], dims, dims + 1])} (an affine map per batch element)`,
    );
  const spatial = size.slice(2);
  const per = spatial.reduce((a, b) => a * b, 1);
  // The base grid [dims + 1, per]: row k is coordinate k (x of the width, y of the height, z of the depth), then ones.
  const axes = spatial.map((s) => steps(s, align));
  const host = new Float64Array((dims + 1) * per);
  for (let p = 0; p < per; p++) {
    let rest = p;
    for (let a = dims - 1; a >= 0; a--) {
      const i = rest % spatial[a];
      rest = Math.floor(rest / spatial[a]);
      host[(dims - 1 - a) * per + p] = axes[a][i];
    }
    host[dims * per + p] = 1;
  }
  return tidy(() => {
    const baseT = tensor(host, [dims + 1, per], { dtype: theta.dtype, device: theta.device });
    const g = matmul(theta, baseT); // [N, dims, per]
    return reshape(permute(g, [0, 2, 1]), [size[0], ...spatial, dims]);
  });
}

/**
 * torch.nn.functional.local_response_norm over the channels (axis 1) of x [N, C, *] (3 or more axes):
 * y = x / (k + α·mean(x²))^β, the mean over the `size` channels c − ⌊size/2⌋ … c + ⌊(size − 1)/2⌋, zeros
 * past the ends (the divisor is always size, as torch's zero-padded average pooling). Gradients flow.
 */
export function localResponseNorm(x: Tensor, size: number, options?: LocalResponseNormOptions): Tensor {
  const op = 'localResponseNorm';
  checkTensor(x, op, 'x');
  const n = checkInteger(size, op, 'size', 1);
  const o = checkOptions<LocalResponseNormOptions>(options, op, ['alpha', 'beta', 'k']);
  const alpha = o.alpha === undefined ? 1e-4 : checkFinite(o.alpha, op, 'alpha');
  const beta = o.beta === undefined ? 0.75 : checkFinite(o.beta, op, 'beta');
  const k = o.k === undefined ? 1 : checkFinite(o.k, op, 'k');
  if (x.rank < 3) fail('SHAPE_MISMATCH', `${op}: x has shape ${shapeText(x.shape)}; expected 3 or more axes [N, C, *] (as PyTorch)`);
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: x is int32; expected float32 or float64`);
  const C = x.shape[1];
  if (x.size === 0) return tidy(() => mul(x, 1));
  const before = Math.floor(n / 2), after = Math.floor((n - 1) / 2);
  return tidy(() => {
    const sq = square(x);
    // Zero channels before and after, as torch's zero padding (constants: no gradient).
    const zerosOf = (m: number) => zeros([x.shape[0], m, ...x.shape.slice(2)], { dtype: x.dtype, device: x.device });
    const parts: Tensor[] = [...(before > 0 ? [zerosOf(before)] : []), sq, ...(after > 0 ? [zerosOf(after)] : [])];
    const padded = parts.length === 1 ? sq : concat(parts, 1);
    let acc: Tensor | undefined;
    for (let j = 0; j < n; j++) {
      const part = slice(padded, [0, j], [-1, C]);
      const next = acc === undefined ? part : add(acc, part);
      if (acc !== undefined) {
        acc.dispose();
        part.dispose();
      }
      acc = next;
    }
    const denom = pow(add(mul(acc!, alpha / n), k), beta);
    return div(x, denom);
  });
}
