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
import { isGradEnabled, noGrad, record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native, NativeHandle } from '../native';
import { add, cast, concat, equal, flip, mul, reshape, sigmoid, slice, square, stack, sub, sum, tanh, wrap } from '../ops/core';
import { adjointOps } from '../deer/scan';
import type { DeerStats } from '../deer/solver';
import { checkTensor, Tensor, zeros, zerosLike } from '../tensor';
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
  // -> [gU, gx | null, gWeightC, gBias, gc0]; gcAll: the gradient of c (every step's state) too, or null
  sruBackward(
    U: NativeHandle, x: NativeHandle | null, weightC: NativeHandle, bias: NativeHandle, c0: NativeHandle | null,
    maskPad: NativeHandle | null, c: NativeHandle, gh: NativeHandle, gcLast: NativeHandle, o: NativeSruOptions,
    gcAll: NativeHandle | null,
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
    // After a fallback the residuals are those of the fused kernel's answer: 0 (exact), or NaN for a
    // sequence whose states are not finite (0·c summed over its steps and units), as the solver's.
    if (solved) {
      const states = cAll;
      solved.stats.residual = noGrad(() => tidy(() => Array.from(sum(mul(states, 0), [0, 2]).dataSync() as ArrayLike<number>)));
    }
  }
  // h and cLast each get a node on the same inputs; both call the fused backward and their
  // gradients add up in the graph. In a graph-building pass (a second derivative) the backward is
  // the same math from recorded ops (sruBackwardOps), which reads the state at every step, cAll:
  // saved as a sibling output whose own gradient reaches the inputs through the same formulas.
  const inputs = [U, ...(x ? [x] : []), weightC, bias, ...(c0 ? [c0] : [])];
  const saved = [U, x, weightC, bias, c0, maskPad, cAll].filter((t): t is Tensor => t !== null);
  const layout = { x: Boolean(x), c0: Boolean(c0), mask: Boolean(maskPad) };
  const backward = (gh: Tensor | null, gcAll: Tensor | null, gcLast: Tensor | null, s: Tensor[]) => {
    let i = 0;
    const sU = s[i++], sx = layout.x ? s[i++] : null, sW = s[i++], sb = s[i++], sc0 = layout.c0 ? s[i++] : null;
    const sm = layout.mask ? s[i++] : null, sc = s[i++];
    if (isGradEnabled()) return sruBackwardOps({ U: sU, x: sx, weightC: sW, bias: sb, c0: sc0, maskPad: sm, c: sc }, gh, gcAll, gcLast, nat);
    // A plain pass, also the states' own (a second derivative's backward through sruStates): the fused kernel.
    const ghT = gh ?? wrap(native().full(h.shape.slice(), h.dtype, h.device, 0));
    const gcT = gcLast ?? wrap(native().full(cLast.shape.slice(), h.dtype, h.device, 0));
    const [gU, gx, gW, gb, gc0] = n.sruBackward(sU.handle, sx?.handle ?? null, sW.handle, sb.handle, sc0?.handle ?? null, sm?.handle ?? null, sc.handle, ghT.handle, gcT.handle, nat, gcAll?.handle ?? null);
    const grads: (Tensor | null)[] = [wrap(gU)];
    if (layout.x) grads.push(gx ? wrap(gx) : null);
    grads.push(wrap(gW), wrap(gb));
    const gc0T = wrap(gc0);
    if (layout.c0) grads.push(gc0T);
    return grads;
  };
  const states = new Map([[cAll, { name: 'sruStates', backward: (gy: Tensor, s: Tensor[]) => backward(null, gy, null, s) }]]);
  record(h, 'sru', inputs, (gy, s) => backward(gy, null, null, s), saved, states);
  record(cLast, 'sruState', inputs, (gy, s) => backward(null, null, gy, s), saved, states);
  cAll.dispose();
  return solved ? { h, c: cLast, stats: solved.stats } : { h, c: cLast };
}

interface SruOperands {
  U: Tensor;
  x: Tensor | null;
  weightC: Tensor;
  bias: Tensor;
  c0: Tensor | null;
  maskPad: Tensor | null;
  /** The state after every step [L, B, dirs·d]. */
  c: Tensor;
}

/**
 * The recurrence's backward from recorded ops, so that it can be
 * differentiated again (a graph-building pass), given the gradients of h,
 * of the state at every step and of the final state (each may be null).
 * Per direction, in its walk's order (the backward direction's time
 * flipped), every gate comes at once from c_{t−1}; the adjoint a_t of c_t is
 * the reverse linear recurrence a_t = e_t + A_{t+1} a_{t+1} with
 * A_t = ∂c_t/∂c_{t−1} = f + (c_{t−1} − x̃) f(1 − f) v_f (1 on padded steps)
 * and e_t = ∂h_t/∂c_t · gh_t + gc_t + ∂h_{t+1}/∂c_t · gh_{t+1} (through
 * r_{t+1}), a_{L−1} taking gcLast too: one diagonal scan's adjoint
 * (adjointOps). The gates' gradients follow elementwise; weight_c's and bias's are
 * sums over time and batch. Returns [gU, gx?, gWeightC, gBias, gc0?] as the
 * fused kernel does.
 */
function sruBackwardOps(s: SruOperands, gh: Tensor | null, gcAll: Tensor | null, gcLast: Tensor | null, o: NativeSruOptions): (Tensor | null)[] {
  const [L, B, width] = s.c.shape;
  const { d, dirs, k } = o;
  const like = { dtype: s.U.dtype, device: s.U.device };
  const grads = (gU: Tensor, gx: Tensor | null, gW: Tensor, gb: Tensor, gc0: Tensor) => [gU, ...(s.x ? [gx] : []), gW, gb, ...(s.c0 ? [gc0] : [])];
  if (L === 0) return grads(zerosLike(s.U), s.x ? zerosLike(s.x) : null, zerosLike(s.weightC), zerosLike(s.bias), gcLast ?? zeros([B, width], like));
  // This direction's columns of a [L, B, width] or [B, width] tensor.
  const cols = (t: Tensor, dir: number) => (t.rank === 3 ? slice(t, [0, 0, dir * d], [L, B, d]) : slice(t, [0, dir * d], [B, d]));
  const U5 = reshape(s.U, [L, B, dirs, d, k]);
  const keep = s.maskPad ? reshape(cast(equal(s.maskPad, 0), like.dtype), [L, B, 1]) : null;
  const shiftedIn = (first: Tensor, t: Tensor) => (L > 1 ? concat([first, slice(t, [0], [L - 1])], 0) : first);
  const shiftedOut = (t: Tensor, last: Tensor) => (L > 1 ? concat([slice(t, [1], [L - 1]), last], 0) : last);
  const zeroStep = zeros([1, B, d], like);
  const per: { gU: Tensor; gx: Tensor | null; gvf: Tensor; gvr: Tensor; gbf: Tensor; gbr: Tensor; gc0: Tensor }[] = [];
  for (let dir = 0; dir < dirs; dir++) {
    // In the walk's order: the backward direction's time flipped.
    const walk = (t: Tensor) => (dir === 1 ? flip(t, 0) : t);
    const Ud = reshape(slice(U5, [0, 0, dir], [L, B, 1]), [L, B, d, k]);
    const gate = (m: number) => walk(reshape(slice(Ud, [0, 0, 0, m], [L, B, d, 1]), [L, B, d]));
    const xt = gate(0), uf = gate(1), ur = gate(2);
    const vf = slice(s.weightC, [dir * d], [d]), vr = slice(s.weightC, [width + dir * d], [d]);
    const bf = slice(s.bias, [dir * d], [d]), br = slice(s.bias, [width + dir * d], [d]);
    const skip = !o.hasSkipTerm ? null : k === 4 ? gate(3) : mul(walk(cols(s.x!, dir)), o.scaleX);
    const c = walk(cols(s.c, dir));
    const cPrev = shiftedIn(reshape(s.c0 ? cols(s.c0, dir) : zeros([B, d], like), [1, B, d]), c);
    const kp = keep ? walk(keep) : null;
    const mk = (t: Tensor) => (kp ? mul(t, kp) : t);
    const f = sigmoid(add(add(uf, mul(vf, cPrev)), bf));
    const r = sigmoid(add(add(ur, mul(vr, cPrev)), br));
    const fd = mul(f, sub(1, f));
    const diff = sub(cPrev, xt);
    const Araw = add(f, mul(mul(diff, fd), vf));
    const A = kp ? add(mul(Araw, kp), sub(1, kp)) : Araw;
    let e: Tensor | null = gcAll ? walk(cols(gcAll, dir)) : null;
    let zr: Tensor | null = null, q: Tensor | null = null, gs: Tensor | null = null;
    if (gh) {
      const ghm = mk(walk(cols(gh, dir)));
      const act = o.activation === 'tanh' ? tanh(c) : c;
      const dAct = o.activation === 'tanh' ? mul(mul(ghm, r), sub(1, square(act))) : mul(ghm, r);
      zr = mul(mul(ghm, skip ? sub(act, skip) : act), mul(r, sub(1, r)));
      q = mul(zr, vr);
      if (skip) gs = mul(ghm, sub(1, r));
      e = add(e ? add(e, dAct) : dAct, shiftedOut(q, zeroStep));
    }
    // a_t = e_t + A_{t+1} a_{t+1}, a_{L−1} = e_{L−1} + gcLast: the adjoint of a diagonal scan.
    const a = adjointOps(A, e ?? zeros([L, B, d], like), gcLast ? cols(gcLast, dir) : null);
    const zf = mk(mul(mul(a, diff), fd));
    const gxt = mk(mul(a, sub(1, f)));
    const first = (t: Tensor) => reshape(slice(t, [0], [1]), [B, d]);
    const carried = mul(first(A), first(a));
    const gc0 = q ? add(carried, first(q)) : carried;
    const zrT = zr ?? zeros([L, B, d], like);
    const columns = [gxt, zf, zrT, ...(k === 4 ? [gs ?? zeros([L, B, d], like)] : [])];
    per.push({
      gU: walk(stack(columns, 3)),
      gx: s.x ? walk(mul(gs ?? zeros([L, B, d], like), o.scaleX)) : null,
      gvf: sum(mul(zf, cPrev), [0, 1]), gbf: sum(zf, [0, 1]),
      gvr: sum(mul(zrT, cPrev), [0, 1]), gbr: sum(zrT, [0, 1]),
      gc0,
    });
  }
  const gU = reshape(stack(per.map((p) => p.gU), 2), [L, B, width * k]);
  const gx = s.x ? concat(per.map((p) => p.gx!), 2) : null;
  const gW = concat([...per.map((p) => p.gvf), ...per.map((p) => p.gvr)], 0);
  const gb = concat([...per.map((p) => p.gbf), ...per.map((p) => p.gbr)], 0);
  return grads(gU, gx, gW, gb, concat(per.map((p) => p.gc0), 1));
}
