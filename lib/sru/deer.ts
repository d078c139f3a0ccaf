/**
 * The SRU recurrence evaluated in parallel over time by DEER (SRU `mode:
 * 'deer'`). The state is c; per direction and unit
 *   c_t = F(c_{t−1}) = f ⊙ c_{t−1} + (1 − f) ⊙ x̃,  f = σ(U_f + v_f ⊙ c_{t−1} + b_f)
 * has the exactly diagonal Jacobian
 *   ∂c_t/∂c_{t−1} = f + (c_{t−1} − x̃) ⊙ f (1 − f) ⊙ v_f
 * (1 on padded steps, which carry c), so each Newton iteration is one
 * elementwise linearisation over all steps and one diagonal scan (deer.scan),
 * and Newton converges quadratically. Then h = r ⊙ g(c) + (1 − r) ⊙ s is
 * elementwise. The backward is the fused SRU backward (lib/sru/recurrence.ts),
 * which needs only c.
 *
 * Convergence is judged on ‖c − F(shift c)‖∞ per sequence with the DEER
 * tolerances; a sequence that has not converged within maxIters, or any
 * non-finite iterate, sends the layer to the fused sequential kernel, and the
 * stats say so (strict: NOT_CONVERGED).
 */
import { noGrad } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { abs, add, broadcastTo, cast, concat, flip, max, mul, notEqual, reshape, sigmoid, slice, sub, tanh } from '../ops/core';
import { scan } from '../deer/scan';
import type { DeerOptions, DeerStats } from '../deer/solver';
import { Tensor, zeros } from '../tensor';
import type { SruRecurrenceOptions } from './recurrence';

export type SruDeerOptions = Pick<DeerOptions, 'atol' | 'rtol' | 'maxIters' | 'strict'>;

/** Per-sequence max |x| over axes 0 and 2 of [L, B, d]. */
const perSequence = (x: Tensor): number[] => Array.from(max(abs(x), [0, 2]).dataSync());

/**
 * Solves one direction's chain block in its own time order: operands
 * [L, B, d] (xt, uf) and [d] (vf, bf), pad [L, B, 1] (1 = padded) or null,
 * c0 [B, d]. Returns c [L, B, d] or null when it did not converge.
 */
function solveBlock(
  xt: Tensor, uf: Tensor, vf: Tensor, bf: Tensor, pad: Tensor | null, c0: Tensor, tol: { atol: number; rtol: number; maxIters: number },
  stats: DeerStats,
): Tensor | null {
  const [L, B, d] = xt.shape;
  let c = broadcastTo(reshape(c0, [1, B, d]), [L, B, d]);
  for (let it = 0; ; it++) {
    const cPrev = concat([reshape(c0, [1, B, d]), slice(c, [0, 0, 0], [L - 1, B, d])], 0);
    const f = sigmoid(add(add(uf, mul(vf, cPrev)), bf));
    let F = add(mul(f, cPrev), mul(sub(1, f), xt));
    let J = add(f, mul(mul(sub(cPrev, xt), mul(f, sub(1, f))), vf));
    if (pad) {
      F = add(mul(pad, cPrev), mul(sub(1, pad), F));
      J = add(pad, mul(sub(1, pad), J));
    }
    const res = perSequence(sub(c, F));
    const scale = perSequence(F);
    let done = true;
    res.forEach((r, b) => {
      if (!(r <= tol.atol + tol.rtol * scale[b])) done = false;
    });
    if (done) {
      res.forEach((r, b) => (stats.residual[b] = Math.max(stats.residual[b], r)));
      return c;
    }
    if (res.some((r) => !Number.isFinite(r))) {
      stats.diverged = true;
      return null;
    }
    if (it >= tol.maxIters) return null;
    // Newton step: c ← scan(J, F − J ⊙ c_{t−1}) from c0.
    c = scan(J, sub(F, mul(J, cPrev)), c0);
    res.forEach((_, b) => (stats.sequenceIterations[b] += 1));
  }
}

/**
 * The forward of the fused SRU recurrence (same contract as the native
 * sruForward: h, every step's c, and cLast) by DEER. Returns null when it
 * must fall back, with stats filled in either way.
 */
export function sruDeerForward(
  U: Tensor, x: Tensor | null, weightC: Tensor, bias: Tensor, c0: Tensor | null, maskPad: Tensor | null,
  o: SruRecurrenceOptions, options: SruDeerOptions,
): { out: { h: Tensor; c: Tensor; cLast: Tensor } | null; stats: DeerStats } {
  const [L, B] = U.shape;
  const d = o.hiddenSize, dirs = o.bidirectional ? 2 : 1, width = dirs * d, k = o.k;
  const f64 = U.dtype === 'float64';
  const tol = {
    atol: options.atol ?? (f64 ? 1e-12 : 1e-6),
    rtol: options.rtol ?? (f64 ? 1e-12 : 1e-6),
    maxIters: options.maxIters ?? Math.min(Math.max(L, 1), 100),
  };
  const stats: DeerStats = {
    mode: 'deer', iterations: 0, sequenceIterations: new Array<number>(B).fill(0), converged: new Array<boolean>(B).fill(false),
    residual: new Array<number>(B).fill(0), fallback: false, fallbackSequences: [], diverged: false, lambda: 0, chunks: 1, warmStarted: false,
  };
  if (L === 0 || B === 0) {
    stats.converged.fill(true);
    return { out: null, stats };
  }
  const out = noGrad(() => tidy(() => {
    const place = { dtype: U.dtype as 'float32' | 'float64', device: U.device };
    const U4 = reshape(U, [L, B, width, k]);
    const col = (m: number) => reshape(slice(U4, [0, 0, 0, m], [L, B, width, 1]), [L, B, width]);
    const xt = col(0), uf = col(1), ur = col(2);
    const s = !o.hasSkipTerm ? null : k === 4 ? col(3) : mul(x!, o.scaleX);
    const pad = maskPad ? reshape(cast(notEqual(maskPad, 0), U.dtype), [L, B, 1]) : null;
    const start = c0 ?? zeros([B, width], place);
    const hs: Tensor[] = [], cs: Tensor[] = [], lasts: Tensor[] = [];
    for (let dir = 0; dir < dirs; dir++) {
      const cols = (t: Tensor) => slice(t, [0, 0, dir * d], [L, B, d]);
      const vec = (t: Tensor, at: number) => slice(t, [at + dir * d], [d]);
      const time = (t: Tensor) => (dir === 1 ? flip(t, 0) : t);
      const padD = pad ? time(pad) : null;
      const c0d = slice(start, [0, dir * d], [B, d]);
      const xtd = time(cols(xt)), ufd = time(cols(uf));
      const c = solveBlock(xtd, ufd, vec(weightC, 0), vec(bias, 0), padD, c0d, tol, stats);
      if (!c) return null;
      // h = r ⊙ g(c) + (1 − r) ⊙ s, with r from c_{t−1}; 0 on padded steps.
      const cPrev = concat([reshape(c0d, [1, B, d]), slice(c, [0, 0, 0], [L - 1, B, d])], 0);
      const r = sigmoid(add(add(time(cols(ur)), mul(vec(weightC, width), cPrev)), vec(bias, width)));
      const g = o.activation === 'tanh' ? tanh(c) : c;
      let h = mul(r, g);
      if (s) h = add(h, mul(sub(1, r), time(cols(s))));
      if (padD) h = mul(h, sub(1, padD));
      hs.push(time(h));
      cs.push(time(c));
      lasts.push(reshape(slice(c, [L - 1, 0, 0], [1, B, d]), [B, d]));
    }
    return { h: dirs === 1 ? hs[0] : concat(hs, 2), c: dirs === 1 ? cs[0] : concat(cs, 2), cLast: dirs === 1 ? lasts[0] : concat(lasts, 1) };
  }));
  stats.iterations = Math.max(0, ...stats.sequenceIterations);
  if (out) stats.converged.fill(true);
  else {
    if (options.strict)
      fail('NOT_CONVERGED', `SRU (mode 'deer'): the recurrence did not converge in ${tol.maxIters} Newton iterations (worst residual ${Math.max(...stats.residual).toExponential(3)}); raise maxIters, use mode 'sequential', or drop strict to fall back to the fused kernel`);
    stats.fallback = true;
    stats.fallbackSequences = Array.from({ length: B }, (_, b) => b);
  }
  return { out, stats };
}
