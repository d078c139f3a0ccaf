/**
 * The SRU recurrence evaluated in parallel over time by DEER (SRU `mode:
 * 'deer'`). The state is c; per direction and unit
 *   c_t = F(c_{t−1}) = f ⊙ c_{t−1} + (1 − f) ⊙ x̃,  f = σ(U_f + v_f ⊙ c_{t−1} + b_f)
 * has the exactly diagonal Jacobian
 *   ∂c_t/∂c_{t−1} = f + (c_{t−1} − x̃) ⊙ f (1 − f) ⊙ v_f
 * (1 on padded steps, which carry c), so each Newton iteration is one native
 * pass over every (t, b, unit) at once (sruDeer: F, J and the offset, math in
 * kernels/sru.h) and one diagonal scan (deer.scan), and Newton converges
 * quadratically. The iterates live in the scan layout [L, dirs·B, d]: step s
 * of each direction's own walk, the backward direction's chains after the
 * forward's in the batch, so both directions share the scan with no copies. Then one more pass
 * gives h = r ⊙ g(c) + (1 − r) ⊙ s. The backward is the fused SRU backward
 * (lib/sru/recurrence.ts), which needs only c.
 *
 * Convergence is judged on ‖c − F(shift c)‖∞ per sequence with the DEER
 * tolerances; a sequence that has not converged within maxIters, or any
 * non-finite iterate, sends the layer to the fused sequential kernel, and the
 * stats say so (strict: NOT_CONVERGED). Without strict, the layer also
 * falls back early when Newton is getting nowhere: the worst residual past
 * kGrowthFactor times its lowest so far (divergence, `stats.diverged`), or
 * no new lowest for kStallIters iterations (large |weight_c| makes Newton
 * oscillate for as long as maxIters allows: 100 iterations at 40× the
 * sequential kernel's time, then the fallback anyway). Newton's residual
 * may rise several-fold on its way to converging, so both bounds are loose,
 * and strict, which asks for DEER's own answer, waits for maxIters. The
 * stats' residuals are those of the returned answer: after a fallback, 0
 * (the fused kernel's answer is exact) or NaN for a sequence whose states are
 * not finite, as the solver's (lib/sru/recurrence.ts sets them).
 */
import { noGrad } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native, NativeHandle } from '../native';
import { broadcastTo, concat, flip, reshape, slice, wrap } from '../ops/core';
import { converged, residuals, scan } from '../deer/scan';
import type { Residuals } from '../deer/scan';
import { checkDeerOptions, checkModuleDeerOptions, tolerancesFor } from '../deer/solver';
import type { DeerOptions, DeerStats } from '../deer/solver';
import { Tensor, zeros } from '../tensor';
import type { NativeSruOptions, SruRecurrenceOptions } from './recurrence';

/** Iterations without a new lowest worst residual after which Newton is taken to be getting nowhere. */
const kStallIters = 12;
/** A worst residual more than this many times the lowest so far is divergence. */
const kGrowthFactor = 1e3;

export type SruDeerOptions = Pick<DeerOptions, 'atol' | 'rtol' | 'maxIters' | 'strict'>;

const SRU_DEER_KEYS: readonly (keyof SruDeerOptions)[] = ['atol', 'rtol', 'maxIters', 'strict'];

/**
 * @internal Checks SRU's deer options (the solver's checks: strict a real
 * boolean, tolerances finite >= 0, maxIters an integer >= 1). On a module
 * (SRU, SRUCell) deer.mode gets the modules' message (checkModuleDeerOptions).
 */
export function checkSruDeerOptions(v: unknown, op: string, onModule: boolean): SruDeerOptions {
  return onModule ? checkModuleDeerOptions<SruDeerOptions>(v, op, SRU_DEER_KEYS) : checkDeerOptions(v, op, 'deer.', SRU_DEER_KEYS);
}

/** The native DEER pass for SRU (native/core/sru.cpp, kernels/sru.h sruDeerEntry). */
export interface SruDeerNative {
  /** linearize: [F, J, bOff], each [L, dirs·B, d], from the guess c, all in the scan layout; else h [L, B, dirs·d] from c [L, B, dirs·d]. */
  sruDeer(
    U: NativeHandle, x: NativeHandle | null, weightC: NativeHandle, bias: NativeHandle, c0: NativeHandle | null,
    maskPad: NativeHandle | null, c: NativeHandle, o: NativeSruOptions, linearize: boolean,
  ): [NativeHandle, NativeHandle, NativeHandle] | NativeHandle;
}

/** Per sequence of an iterate c and its image F [L, dirs·B, d] in the scan layout: max |c − F| and max |F| over time, units and directions. */
function perSequence(c: Tensor, F: Tensor, B: number, dirs: number, rtol: number): Residuals {
  const r = residuals(c, F, rtol);
  // Math.max keeps a NaN (read as divergence).
  const both = (v: number[]) => Array.from({ length: B }, (_, b) => (dirs === 1 ? v[b] : Math.max(v[b], v[B + b])));
  const ss = Array.from({ length: B }, (_, b) => (dirs === 1 ? r.ss[b] : r.ss[b] + r.ss[B + b]));
  return { res: both(r.res), ss, scale: both(r.scale), excess: both(r.excess) };
}

/** [B, dirs·d] → [dirs·B, d]: each direction's block of columns becomes a block of rows. */
function stackDirections(t: Tensor, d: number, dirs: number): Tensor {
  if (dirs === 1) return t;
  const B = t.shape[0];
  return concat([slice(t, [0, 0], [B, d]), slice(t, [0, d], [B, d])], 0);
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
  const d = o.hiddenSize, dirs = o.bidirectional ? 2 : 1, width = dirs * d;
  const tol = tolerancesFor(U.dtype, L, options, 'deer');
  const stats: DeerStats = {
    mode: 'deer', iterations: 0, sequenceIterations: new Array<number>(B).fill(0), converged: new Array<boolean>(B).fill(false),
    residual: new Array<number>(B).fill(0), fallback: false, fallbackSequences: [], diverged: false, lambda: 0, chunks: 1, warmStarted: false,
  };
  if (L === 0 || B === 0) {
    stats.converged.fill(true);
    return { out: null, stats };
  }
  const nat: NativeSruOptions = { d, dirs, k: o.k, hasSkipTerm: o.hasSkipTerm, scaleX: o.scaleX, activation: o.activation };
  const n = native() as unknown as SruDeerNative;
  const pass = (c: Tensor, linearize: boolean) =>
    n.sruDeer(U.handle, x?.handle ?? null, weightC.handle, bias.handle, c0?.handle ?? null, maskPad?.handle ?? null, c.handle, nat, linearize);
  const out = noGrad(() => tidy(() => {
    const start = stackDirections(c0 ?? zeros([B, width], { dtype: U.dtype as 'float32' | 'float64', device: U.device }), d, dirs);
    // First guess: c0 at every step.
    let c = broadcastTo(reshape(start, [1, dirs * B, d]), [L, dirs * B, d]);
    let best = Infinity, since = 0;
    for (let it = 0; ; it++) {
      const step = tidy(() => {
        const [F, J, bOff] = (pass(c, true) as NativeHandle[]).map(wrap);
        const judged = perSequence(c, F, B, dirs, tol.rtol);
        const { res } = judged;
        if (res.every((_, b) => converged(judged, b, tol.atol))) return { res, verdict: 'converged' as const };
        if (res.some((r) => !Number.isFinite(r))) return { res, verdict: 'diverged' as const };
        if (it >= tol.maxIters) return { res, verdict: 'unconverged' as const };
        if (!options.strict && it > 0) {
          // The first guess (c0 everywhere) is no benchmark: Newton's early iterates often have larger
          // residuals on the part of the sequence not yet exact, and still converge.
          const worst = Math.max(...res);
          if (best !== Infinity && worst > kGrowthFactor * best) return { res, verdict: 'diverged' as const };
          if (worst < best) [best, since] = [worst, 0];
          else if (++since >= kStallIters) return { res, verdict: 'stalled' as const };
        }
        return { res, verdict: 'step' as const, next: scan(J, bOff, start) };
      });
      step.res.forEach((r, b) => (stats.residual[b] = r));
      if (step.verdict === 'diverged') stats.diverged = true;
      if (step.verdict !== 'step') {
        if (step.verdict !== 'converged') return null;
        break;
      }
      const last = c;
      c = step.next!;
      last.dispose();
      stats.sequenceIterations.forEach((_, b) => (stats.sequenceIterations[b] += 1));
    }
    // Back to the natural layout [L, B, dirs·d] (the backward direction's walk flipped to time order).
    const states = dirs === 1 ? c : concat([slice(c, [0, 0, 0], [L, B, d]), flip(slice(c, [0, B, 0], [L, B, d]), 0)], 2);
    const h = wrap(pass(states, false) as NativeHandle);
    // Each walk's last step (time L−1 forward, 0 backward) is step L−1 of the scan layout.
    const last = reshape(slice(c, [L - 1, 0, 0], [1, dirs * B, d]), [dirs * B, d]);
    const cLast = dirs === 1 ? last : concat([slice(last, [0, 0], [B, d]), slice(last, [B, 0], [B, d])], 1);
    return { h, c: states, cLast };
  }));
  stats.iterations = Math.max(0, ...stats.sequenceIterations);
  if (out) stats.converged.fill(true);
  else {
    if (options.strict) {
      const why = stats.diverged ? `diverged (a non-finite residual) after ${stats.iterations} Newton iterations` : `did not converge in ${tol.maxIters} Newton iterations`;
      fail('NOT_CONVERGED', `SRU (mode 'deer'): the recurrence ${why} (worst residual ${Math.max(...stats.residual).toExponential(3)}); ${stats.diverged ? '' : 'raise maxIters, '}use mode 'sequential', or drop strict to fall back to the fused kernel`);
    }
    // The fused kernel's answer is exact: its residual is 0 (NaN where it is not finite; the caller sets them).
    stats.residual.fill(0);
    stats.fallback = true;
    stats.fallbackSequences = Array.from({ length: B }, (_, b) => b);
  }
  return { out, stats };
}
