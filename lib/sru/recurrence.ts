/**
 * The fused SRU recurrence (Lei et al. 2017), one native launch per layer,
 * forward and backward. Everything but the elementwise recurrence (the GEMM
 * U = x W, dropout, projection, layer norm) is ordinary autograd ops around it.
 *
 * Per direction and unit j (one chain per (batch, direction, unit)), with
 * U[t] viewed as [dirs, d, k] (k = 3: x̃, f, r; k = 4 adds x'):
 *   f_t = σ(U_f + v_f ⊙ c_{t−1} + b_f)
 *   r_t = σ(U_r + v_r ⊙ c_{t−1} + b_r)
 *   c_t = f_t ⊙ c_{t−1} + (1 − f_t) ⊙ U_x̃
 *   h_t = r_t ⊙ g(c_t) + (1 − r_t) ⊙ s_t,  s = scaleX·x (k = 3), U_x' (k = 4), 0 (no skip term)
 * The backward direction walks t from L−1 down to 0. Padded steps
 * (maskPad ≠ 0) carry c unchanged and output h = 0.
 */
import { record } from '../autograd/graph';
import { fail } from '../errors';
import { native, NativeHandle } from '../native';
import { wrap } from '../ops/core';
import type { DeerStats } from '../deer/solver';
import { checkTensor, Tensor } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, checkOptions, describe } from '../validate';
import { checkSruDeerOptions, sruDeerForward, SruDeerOptions } from './deer';

export interface SruRecurrenceOptions {
  hiddenSize: number;
  bidirectional: boolean;
  /** Columns per unit in U: 3 (x̃, f, r) or 4 (adds the skip projection x'). */
  k: 3 | 4;
  /** h = r ⊙ g(c) + (1 − r) ⊙ s uses a skip term. */
  hasSkipTerm: boolean;
  /** Multiplies x in the skip term (k = 3); 1 without rescale. */
  scaleX: number;
  activation: 'identity' | 'tanh';
}

export interface NativeSruOptions {
  d: number;
  dirs: number;
  k: number;
  hasSkipTerm: boolean;
  scaleX: number;
  activation: 'identity' | 'tanh';
}

/** The two native entries (implemented in native/core/sru.cpp, cpu/sru.cpp, cuda/sru.cu). */
export interface SruNative {
  // -> [h [L, B, dirs·d], c [L, B, dirs·d] (every step's state), cLast [B, dirs·d]]
  sruForward(
    U: NativeHandle, x: NativeHandle | null, weightC: NativeHandle, bias: NativeHandle, c0: NativeHandle | null,
    maskPad: NativeHandle | null, o: NativeSruOptions,
  ): [NativeHandle, NativeHandle, NativeHandle];
  // -> [gU, gx | null, gWeightC, gBias, gc0]
  sruBackward(
    U: NativeHandle, x: NativeHandle | null, weightC: NativeHandle, bias: NativeHandle, c0: NativeHandle | null,
    maskPad: NativeHandle | null, c: NativeHandle, gh: NativeHandle, gcLast: NativeHandle, o: NativeSruOptions,
  ): [NativeHandle, NativeHandle | null, NativeHandle, NativeHandle, NativeHandle];
}

const RECURRENCE_KEYS: readonly (keyof SruRecurrenceOptions)[] = ['hiddenSize', 'bidirectional', 'k', 'hasSkipTerm', 'scaleX', 'activation'];

/** @internal The options are required, each of them (the module fills them in; a direct call names them all). */
export function checkRecurrenceOptions(o: unknown): void {
  if (o === undefined || o === null) fail('INVALID_ARGUMENT', `SRU: the options (${RECURRENCE_KEYS.join(', ')}) are required; got ${describe(o)}`);
  const r = checkOptions<SruRecurrenceOptions>(o, 'SRU', RECURRENCE_KEYS);
  checkInteger(r.hiddenSize, 'SRU', 'hiddenSize', 1);
  checkBoolean(r.bidirectional, 'SRU', 'bidirectional');
  if (r.k !== 3 && r.k !== 4) fail('INVALID_ARGUMENT', `SRU: k must be 3 or 4; got ${describe(r.k)}`);
  checkBoolean(r.hasSkipTerm, 'SRU', 'hasSkipTerm');
  checkFinite(r.scaleX, 'SRU', 'scaleX');
  if (r.activation !== 'identity' && r.activation !== 'tanh') fail('INVALID_ARGUMENT', `SRU: activation must be 'identity' or 'tanh'; got ${describe(r.activation)}`);
}

/**
 * Runs the recurrence. U [L, B, dirs·d·k]; x [L, B, dirs·d] (the skip input,
 * k = 3 with a skip term, else null); weightC and bias [2·dirs·d] laid out as
 * [forget for every (direction, unit) | reset for every (direction, unit)];
 * c0 [B, dirs·d] or null (zeros); maskPad int32 [L, B] or null.
 * Returns h [L, B, dirs·d] and the final state cLast [B, dirs·d] (the forward
 * direction's state after step L−1, the backward direction's after step 0).
 */
export function sruRecurrence(
  U: Tensor, x: Tensor | null, weightC: Tensor, bias: Tensor, c0: Tensor | null, maskPad: Tensor | null, o: SruRecurrenceOptions,
  deer?: SruDeerOptions | null,
): { h: Tensor; c: Tensor; stats?: DeerStats } {
  checkTensor(U, 'SRU', "the projection 'U'");
  checkTensor(weightC, 'SRU', 'weight_c');
  checkTensor(bias, 'SRU', 'bias');
  if (x) checkTensor(x, 'SRU', 'x');
  if (c0) checkTensor(c0, 'SRU', 'c0');
  if (maskPad) checkTensor(maskPad, 'SRU', 'maskPad');
  if (deer) checkSruDeerOptions(deer, 'SRU', false);
  checkRecurrenceOptions(o);
  const nat: NativeSruOptions = {
    d: o.hiddenSize, dirs: o.bidirectional ? 2 : 1, k: o.k, hasSkipTerm: o.hasSkipTerm, scaleX: o.scaleX, activation: o.activation,
  };
  const n = native() as unknown as SruNative;
  if (typeof n.sruForward !== 'function') fail('INTERNAL', 'SRU: this build of the addon has no fused SRU kernel; rebuild with npm run build');
  // mode 'deer': the forward in parallel over time (lib/sru/deer.ts); the fused kernel when it falls back.
  const solved = deer ? sruDeerForward(U, x, weightC, bias, c0, maskPad, o, deer) : null;
  let h: Tensor, cAll: Tensor, cLast: Tensor;
  if (solved?.out) {
    ({ h, c: cAll, cLast } = solved.out);
  } else {
    const [hH, cH, lastH] = n.sruForward(U.handle, x?.handle ?? null, weightC.handle, bias.handle, c0?.handle ?? null, maskPad?.handle ?? null, nat);
    h = wrap(hH);
    cAll = wrap(cH);
    cLast = wrap(lastH);
  }
  // One node for both outputs: h carries it; cLast's gradient reaches it through a second node that
  // hands its gradient to the same backward (see below).
  const inputs = [U, ...(x ? [x] : []), weightC, bias, ...(c0 ? [c0] : [])];
  const saved = [U, x, weightC, bias, c0, maskPad, cAll].filter((t): t is Tensor => t !== null);
  const layout = { x: Boolean(x), c0: Boolean(c0), mask: Boolean(maskPad) };
  const backward = (gh: Tensor | null, gcLast: Tensor | null, s: Tensor[]) => {
    let i = 0;
    const sU = s[i++], sx = layout.x ? s[i++] : null, sW = s[i++], sb = s[i++], sc0 = layout.c0 ? s[i++] : null;
    const sm = layout.mask ? s[i++] : null, sc = s[i++];
    const ghT = gh ?? wrap(native().full(h.shape.slice(), h.dtype, h.device, 0));
    const gcT = gcLast ?? wrap(native().full(cLast.shape.slice(), h.dtype, h.device, 0));
    const [gU, gx, gW, gb, gc0] = n.sruBackward(sU.handle, sx?.handle ?? null, sW.handle, sb.handle, sc0?.handle ?? null, sm?.handle ?? null, sc.handle, ghT.handle, gcT.handle, nat);
    const grads: (Tensor | null)[] = [wrap(gU)];
    if (layout.x) grads.push(gx ? wrap(gx) : null);
    grads.push(wrap(gW), wrap(gb));
    const gc0T = wrap(gc0);
    if (layout.c0) grads.push(gc0T);
    return grads;
  };
  // h's node covers the gradient through h; cLast gets its own node with the same inputs.
  // Both call the fused backward; their gradients add up in the graph.
  record(h, 'sru', inputs, (gy, s) => backward(gy, null, s), saved);
  record(cLast, 'sruState', inputs, (gy, s) => backward(null, gy, s), saved);
  cAll.dispose();
  return solved ? { h, c: cLast, stats: solved.stats } : { h, c: cLast };
}
