/**
 * deer.jacobians: the Jacobians ∂f/∂y of a recurrent cell y_t = f(y_{t−1}, x_t)
 * at given previous states, for every step and batch element in one native
 * launch (the same kernels the DEER solver linearises with: kernels/cells.h
 * for GRU, LSTM and Elman RNN, kernels/sru.h for SRU).
 */
import { noGrad } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native, NativeHandle } from '../native';
import { concat, matmul, mul, reshape, slice, wrap } from '../ops/core';
import { linear } from '../ops/nn';
import type { SruDeerNative } from '../sru/deer';
import { checkTensor, Tensor, tensor, zeros } from '../tensor';
import { describe, shapeText } from '../validate';
import { CellKind, cellNative } from './native-cells';

export type JacobianCell = CellKind | 'sru';
const CELLS: readonly JacobianCell[] = ['gru', 'lstm', 'rnn_tanh', 'rnn_relu', 'sru'];

export interface JacobianOptions {
  /** 'dense' (default): [T, B, n, n] with J[t, b, i, j] = ∂f_i/∂y_j; 'diagonal': its diagonal [T, B, n]. */
  jacobian?: 'dense' | 'diagonal';
}

const PARAM_NAMES: Record<'rnn' | 'sru', { required: string[]; optional: string[] }> = {
  rnn: { required: ['weight_ih', 'weight_hh'], optional: ['bias_ih', 'bias_hh'] },
  sru: { required: ['weight', 'weight_c', 'bias'], optional: [] },
};

function checkParams(cell: JacobianCell, params: unknown): Record<string, Tensor> {
  const names = PARAM_NAMES[cell === 'sru' ? 'sru' : 'rnn'];
  const all = [...names.required, ...names.optional];
  if (params === null || typeof params !== 'object' || Array.isArray(params))
    fail('INVALID_ARGUMENT', `deer.jacobians: params must be an object with ${all.join(', ')}; got ${describe(params)}`);
  const p = params as Record<string, unknown>;
  for (const k of Object.keys(p))
    if (!all.includes(k)) fail('INVALID_ARGUMENT', `deer.jacobians: unknown parameter '${k}' for cell '${cell}'; expected ${all.join(', ')}`);
  for (const k of names.required) if (p[k] === undefined || p[k] === null) fail('INVALID_ARGUMENT', `deer.jacobians: parameter '${k}' is required for cell '${cell}'; got ${describe(p[k])}`);
  for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== null) checkTensor(v as Tensor, 'deer.jacobians', k);
  return p as Record<string, Tensor>;
}

/** y [T, B, n] as the kernels' "solution" whose shift is yPrev: y[t − 1] = yPrev[t] (the last row is never read). */
function shiftedBack(yPrev: Tensor): { y0: Tensor; y: Tensor } {
  const [T, B, n] = yPrev.shape;
  const y0 = reshape(slice(yPrev, [0, 0, 0], [1, B, n]), [B, n]);
  const y = T === 1 ? yPrev.clone() : concat([slice(yPrev, [1, 0, 0], [T - 1, B, n]), slice(yPrev, [T - 1, 0, 0], [1, B, n])], 0);
  return { y0, y };
}

const shapeError = (what: string, got: readonly number[], expected: string): never =>
  fail('SHAPE_MISMATCH', `deer.jacobians: ${what} has shape ${shapeText(got)}; expected ${expected}`);

/**
 * The Jacobians of a cell with respect to its state, at every step:
 * J_t = ∂f/∂y (yPrev_t, x_t).
 *
 * - cell 'gru' | 'lstm' | 'rnn_tanh' | 'rnn_relu': params in PyTorch's layout
 *   and names for one layer and direction: weight_ih [G, in], weight_hh [G, H],
 *   and optional bias_ih, bias_hh [G] (G = 3H, 4H, H). The state has n = H
 *   entries (2H for the LSTM: [h, c]).
 * - cell 'sru': the `sru` package's layout for one unidirectional layer:
 *   weight [in, H·k] (k = 3 or 4 columns per unit), weight_c and bias [2H];
 *   the state is c (n = H) and its Jacobian is diagonal.
 *
 * yPrev [T, B, n] holds the previous state of each step and x [T, B, in] its
 * input. Returns J [T, B, n, n] (or [T, B, n] with jacobian: 'diagonal') in
 * the dtype and on the device of the parameters. Not differentiable.
 */
export function jacobians(
  cell: JacobianCell, params: Record<string, Tensor | null | undefined>, yPrev: Tensor, x: Tensor, options?: JacobianOptions,
): Tensor {
  if (!CELLS.includes(cell)) fail('INVALID_ARGUMENT', `deer.jacobians: cell must be one of ${CELLS.map((c) => `'${c}'`).join(', ')}; got ${describe(cell)}`);
  if (options !== undefined && (options === null || typeof options !== 'object'))
    fail('INVALID_ARGUMENT', `deer.jacobians: options must be an object; got ${describe(options)}`);
  for (const k of Object.keys(options ?? {})) if (k !== 'jacobian') fail('INVALID_ARGUMENT', `deer.jacobians: unknown option '${k}'; expected jacobian`);
  const kind = options?.jacobian ?? 'dense';
  if (kind !== 'dense' && kind !== 'diagonal') fail('INVALID_ARGUMENT', `deer.jacobians: jacobian must be 'dense' or 'diagonal'; got ${describe(kind)}`);
  const p = checkParams(cell, params);
  checkTensor(yPrev, 'deer.jacobians', 'yPrev');
  checkTensor(x, 'deer.jacobians', 'x');
  if (x.rank !== 3) shapeError('x', x.shape, '[T, B, inputSize]');
  if (yPrev.rank !== 3) shapeError('yPrev', yPrev.shape, '[T, B, n]');
  const [T, B] = x.shape;
  if (yPrev.shape[0] !== T || yPrev.shape[1] !== B) shapeError('yPrev', yPrev.shape, `[T, B, n] with T = ${T} and B = ${B} as in x`);
  // Named here: the kernels see yPrev split into y0 and y.
  if (yPrev.dtype !== x.dtype) fail('DTYPE_MISMATCH', `deer.jacobians: yPrev is ${yPrev.dtype} and x ${x.dtype}; expected one dtype`);
  if (yPrev.device !== x.device) fail('DEVICE_MISMATCH', `deer.jacobians: yPrev is on ${yPrev.device} and x on ${x.device}; expected one device`);
  return noGrad(() => tidy(() => (cell === 'sru' ? sruJacobians(p, yPrev, x, kind) : cellJacobians(cell, p, yPrev, x, kind))));
}

function cellJacobians(kind: CellKind, p: Record<string, Tensor>, yPrev: Tensor, x: Tensor, jac: 'dense' | 'diagonal'): Tensor {
  const Wih = p.weight_ih, Whh = p.weight_hh;
  if (Wih.rank !== 2) shapeError('weight_ih', Wih.shape, '[G, inputSize]');
  if (Wih.shape[1] !== x.shape[2]) shapeError('x', x.shape, `[T, B, ${Wih.shape[1]}] (inputSize from weight_ih [G, inputSize])`);
  const H = Whh.rank === 2 ? Whh.shape[1] : 0;
  const n = kind === 'lstm' ? 2 * H : H;
  if (H > 0 && yPrev.shape[2] !== n) shapeError('yPrev', yPrev.shape, `[T, B, ${n}] (${kind === 'lstm' ? 'the LSTM state [h, c] has 2·H' : 'the state has H'} = ${n} entries)`);
  // No steps: no Jacobians (the shift below needs one step).
  const [T, B] = x.shape;
  if (T === 0 && H > 0) return zeros(jac === 'dense' ? [0, B, n, n] : [0, B, n], { dtype: x.dtype as 'float32' | 'float64', device: x.device });
  // cellLinearize checks Whh and bhh against the cell, and every dtype and device.
  const xp = linear(x, Wih, p.bias_ih ?? null);
  const { y0, y } = shiftedBack(yPrev);
  const [f, J, b] = cellNative().cellLinearize(kind, xp.handle, Whh.handle, p.bias_hh?.handle ?? null, y0.handle, y.handle, jac);
  wrap(f).dispose();
  wrap(b!).dispose();
  return wrap(J!);
}

function sruJacobians(p: Record<string, Tensor>, yPrev: Tensor, x: Tensor, jac: 'dense' | 'diagonal'): Tensor {
  const W = p.weight, wc = p.weight_c;
  if (wc.rank !== 1 || wc.shape[0] < 2 || wc.shape[0] % 2 !== 0) shapeError('weight_c', wc.shape, '[2·H] (forget | reset)');
  const H = wc.shape[0] / 2;
  if (W.rank !== 2 || (W.shape[1] !== 3 * H && W.shape[1] !== 4 * H)) shapeError('weight', W.shape, `[inputSize, H·k] with H = ${H} and k = 3 or 4`);
  if (W.shape[0] !== x.shape[2]) shapeError('x', x.shape, `[T, B, ${W.shape[0]}] (inputSize from weight [inputSize, H·k])`);
  const [T, B] = x.shape;
  if (yPrev.shape[2] !== H) shapeError('yPrev', yPrev.shape, `[T, B, ${H}] (the state c has H = ${H} entries)`);
  const k = W.shape[1] / H;
  if (T === 0) return zeros(jac === 'dense' ? [0, B, H, H] : [0, B, H], { dtype: x.dtype as 'float32' | 'float64', device: x.device });
  const U = matmul(x, W);
  const { y0, y } = shiftedBack(yPrev);
  // x (the skip input) plays no part in the state's Jacobian: k = 3 runs without a skip term.
  const o = { d: H, dirs: 1, k, hasSkipTerm: k === 4, scaleX: 1, activation: 'identity' as const };
  const n = native() as unknown as SruDeerNative;
  const [F, J, bOff] = (n.sruDeer(U.handle, null, wc.handle, p.bias.handle, y0.handle, null, y.handle, o, true) as NativeHandle[]).map(wrap);
  F.dispose();
  bOff.dispose();
  if (jac === 'diagonal') return J;
  const eye = new Float64Array(H * H);
  for (let i = 0; i < H; i++) eye[i * H + i] = 1;
  return mul(reshape(J, [T, B, H, 1]), tensor(eye, [H, H], { dtype: J.dtype as 'float32' | 'float64', device: J.device }));
}
