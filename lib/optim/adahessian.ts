/**
 * AdaHessian (Yao et al. 2021): Adam's update with the second moment taken
 * of a Hessian diagonal instead of the squared gradient.
 *
 * Per refresh, Hutchinson's estimate: draw a Rademacher vector z over all
 * parameters; D = z ⊙ (H z), averaged over `nProbes` draws, whose
 * expectation is diag(H). H z is exact by double backward ('exact', as the
 * paper's and PyTorch's implementations: the closure's backward() builds a
 * graph, and each probe is one more backward pass through it), or comes
 * from finite differences of gradients, (∇L(θ + h z) − ∇L(θ)) / h
 * ('forward', one extra closure evaluation per probe) or
 * (∇L(θ + h z) − ∇L(θ − h z)) / 2h ('central', two). The default, 'auto',
 * is 'exact' when every op of the loss supports a second derivative at
 * about the cost of its first and 'forward' otherwise (the ODE solver and
 * embedding with scaleGradByFreq have none; GRU/LSTM/RNN's over a sequence
 * and ctcLoss's walk it again one recorded step per time step, so 'exact'
 * there is asked for by name; SRU's and the cells' are exact); `lastHvpMethod`
 * says which ran. For differences the closure
 * must compute the same function at every call: the global random
 * generator is rewound before each evaluation, so dropout masks and other
 * draws without an explicit seed repeat.
 *
 * |D| is averaged spatially: over the kernel dimensions (2 and on) of
 * parameters of rank 3 or more, and, when `blockSize` is set, over blocks of
 * that many entries along the last dimension of matrices; never for vectors.
 * Then
 *   m = β1 m + (1 − β1) g,  v = β2 v + (1 − β2) D²,
 *   θ ← θ − lr · (m̂ / (v̂^(k/2) + ε) + wd · θ),
 * with m̂ bias-corrected by the number of steps and v̂ by the number of
 * Hessian refreshes (one every `updateEach` steps).
 */
import { differenceStep, gradientOfDot, sumsOfSquares } from '../autograd/functional';
import { noGrad, noSecondDerivative, withCreateGraph } from '../autograd/graph';
import { isolated, keep, tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { abs, add, broadcastTo, cast, concat, div, mean, mul, reshape, slice, sub, wrap } from '../ops/core';
import { globalDrawPosition, setGlobalDrawPosition } from '../random';
import { rand, Tensor, zerosLike } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, describe } from '../validate';
import { axpy, checkMomentOptions, Optimizer, ParamGroup, ParamsArg } from './optimizer';

export interface AdaHessianOptions {
  /** Learning rate (default 0.15). */
  lr: number;
  /** Decay rates of the gradient's and the Hessian diagonal's moments (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator (default 1e-4). */
  eps: number;
  /** Decoupled weight decay (default 0). */
  weightDecay: number;
  /** k in v̂^(k/2), from 0 (momentum SGD) to 1 (default 1; 0.5 is worth trying). */
  hessianPower: number;
  /** Average |D| over the kernel dimensions of parameters of rank ≥ 3 (default true). */
  averageConvKernel: boolean;
  /** Average |D| over blocks of this many entries along a matrix's last dimension (default null: no averaging). */
  blockSize: number | null;
  /** Refresh the Hessian diagonal every this many steps (default 1). Constructor only. */
  updateEach: number;
  /** Hutchinson probes per refresh (default 1). Constructor only. */
  nProbes: number;
  /** Hessian-vector products: 'exact' (double backward), 'forward' or 'central' differences of gradients, or 'auto' (default: exact when the loss's ops allow it, else forward). Constructor only. */
  hvp: 'auto' | 'exact' | 'forward' | 'central';
  /** The difference step h, one for every parameter (default: √u·(1 + rms θ) forward, ∛u·(1 + rms θ) central, rms over all the parameters, u the narrowest dtype's rounding unit). Constructor only. */
  fdStep: number | null;
  /** Seed of the Rademacher draws (default: one draw of the global generator, so setSeed() makes runs repeatable). Constructor only. */
  seed: number | null;
}

/** Options that apply to the whole step, not to a parameter group. */
const GLOBAL = ['updateEach', 'nProbes', 'hvp', 'fdStep', 'seed'] as const;

/** AdaHessian. step() needs a closure. */
export class AdaHessian extends Optimizer<AdaHessianOptions> {
  override readonly requiresClosure = true;
  private readonly seed: number;
  private stream = 0;
  private steps = 0;
  /** How the last refresh computed its Hessian-vector products (null before the first). */
  lastHvpMethod: 'exact' | 'forward' | 'central' | null = null;

  constructor(params: ParamsArg<AdaHessianOptions>, options: Partial<AdaHessianOptions> = {}) {
    super(
      params,
      {
        lr: 0.15, betas: [0.9, 0.999], eps: 1e-4, weightDecay: 0, hessianPower: 1, averageConvKernel: true, blockSize: null,
        updateEach: 1, nProbes: 1, hvp: 'auto', fdStep: null, seed: null,
      },
      options,
      'AdaHessian',
    );
    if (Array.isArray(params) && !(params[0] instanceof Tensor))
      (params as Record<string, unknown>[]).forEach((g, gi) => {
        for (const k of GLOBAL)
          if (g[k] !== undefined) fail('INVALID_ARGUMENT', `AdaHessian: ${k} applies to the whole step; pass it in the constructor's options, not in parameter group ${gi}`);
      });
    const d = this.defaults;
    checkStepOptions(d, 'AdaHessian');
    // Without a seed, one draw of the global generator: repeatable after setSeed().
    this.seed = d.seed === null ? tidy(() => rand([], { dtype: 'int32', minval: 0, maxval: 2 ** 31 - 1 }).item()) : checkInteger(d.seed, 'AdaHessian', 'seed');
  }

  /** As Optimizer.addParamGroup; the whole-step options (updateEach, nProbes, hvp, fdStep, seed) are refused in it, as in the constructor's groups. */
  override addParamGroup(group: { params: Tensor[] | Tensor } & Partial<AdaHessianOptions>): void {
    if (group && typeof group === 'object')
      for (const k of GLOBAL)
        if ((group as Record<string, unknown>)[k] !== undefined) fail('INVALID_ARGUMENT', `AdaHessian.addParamGroup: ${k} applies to the whole step; pass it in the constructor's options, not in a parameter group`);
    super.addParamGroup(group);
  }

  /** Frees the moments; the next step starts afresh (a refresh first). */
  dispose(): void {
    this.steps = 0;
    super.dispose();
  }

  /** The step count, the probes' stream and seed: a resumed run draws the probes the uninterrupted one would. */
  protected ownState(): Record<string, number> {
    return { steps: this.steps, stream: this.stream, seed: this.seed };
  }

  protected loadOwnState(c: Record<string, number>): void {
    if (c.steps !== undefined) this.steps = c.steps;
    if (c.stream !== undefined) this.stream = c.stream;
    if (c.seed !== undefined) (this as unknown as { seed: number }).seed = c.seed;
  }

  protected validate(g: AdaHessianOptions, name: string): void {
    checkMomentOptions(g, name);
    checkFinite(g.hessianPower, name, 'hessianPower');
    if (g.hessianPower < 0 || g.hessianPower > 1) fail('INVALID_ARGUMENT', `${name}: hessianPower must be in [0, 1]; got ${g.hessianPower}`);
    checkBoolean(g.averageConvKernel, name, 'averageConvKernel');
    if (g.blockSize !== null) checkInteger(g.blockSize, name, 'blockSize', 1);
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: ['expAvg', 'expHessianDiagSq'], numbers: ['step', 'hessianStep'] };
  }

  protected update(): void {
    // step() is overridden: the moments need the Hessian estimate of all parameters first.
  }

  /**
   * One AdaHessian step. The closure must zero the grads, compute the loss,
   * call backward and return the loss; each call runs inside tidy(). It runs
   * once, then once ('forward') or twice ('central') per probe on refresh
   * steps. Returns the loss at the starting point and leaves its gradients
   * in .grad.
   */
  step(closure?: () => Tensor | number): number {
    if (closure === undefined)
      fail('INVALID_ARGUMENT', 'AdaHessian.step: a closure is required, as the Hessian-vector products evaluate the gradient at nearby points: opt.step(() => { opt.zeroGrad(); const loss = lossOf(model); loss.backward(); return loss; })');
    this.checkParamsAlive();
    this.checkGroupOptions();
    // The whole-step options too (opt.defaults.nProbes = 0 after construction made NaN parameters).
    checkStepOptions(this.defaults, 'AdaHessian.step');
    const drawStart = globalDrawPosition();
    const refresh = this.steps % this.defaults.updateEach === 0;
    const mode = this.defaults.hvp;
    // On a refresh with exact products, the closure's backward() builds a graph where it can.
    const tryExact = refresh && (mode === 'exact' || mode === 'auto');
    let loss: number;
    let exact = false;
    try {
      if (tryExact) {
        // Leaves whose .grad a graph-building backward of the closure wrote are cut from their graphs
        // when done: the parameters' after the probes (or below, on a fallback or a throw), any
        // other's (a frozen layer's, an input's) as soon as the closure is done.
        const own = new Set(this.paramGroups.flatMap((g) => g.params));
        // 'auto' prefers differences through a costly exact pass (GRU/LSTM/RNN, ctcLoss: one recorded step per time step).
        const run = withCreateGraph(() => this.lossOf(closure), (leaves) => detachGradsOf(leaves.filter((t) => !own.has(t))), mode === 'auto');
        loss = run.result;
        // Exact only when every backward() of the closure built a graph (one that could not would
        // leave its part of the gradient without one, and its Hessian terms would go missing).
        exact = run.created;
        if (!exact && mode === 'exact') {
          if (run.blockers.length)
            fail(
              'NOT_SUPPORTED',
              `AdaHessian.step: hvp 'exact' needs a second derivative of the loss; ${noSecondDerivative(run.blockers)}; ` +
                "use hvp: 'forward' or 'central' (finite differences), or 'auto', which falls back to 'forward' by itself",
            );
          if (run.backwards === 0 && this.paramGroups.some((g) => g.params.some((p) => p.grad && !p.grad.isDisposed)))
            fail('INVALID_ARGUMENT', "AdaHessian.step: hvp 'exact' differentiates the gradients the closure's backward() computes; this closure set .grad without calling backward(); use hvp: 'forward' or 'central'");
        }
        // A gradient left with a graph by a closure that falls back is made plain values.
        if (!exact) this.detachGrads();
      } else loss = this.lossOf(closure);
    } catch (err) {
      // A gradient that carries a graph is not left in .grad.
      if (tryExact) this.detachGrads();
      throw err;
    }
    const drawEnd = globalDrawPosition();
    const active = this.paramGroups.flatMap((g) => g.params).filter((p) => p.grad && !p.grad.isDisposed);
    let D: Map<Tensor, Tensor> | null = null;
    if (refresh && active.length) {
      try {
        D = exact ? this.exactHessianDiagonal(active) : this.hessianDiagonal(closure, active, drawStart);
        this.lastHvpMethod = exact ? 'exact' : mode === 'central' ? 'central' : 'forward';
      } finally {
        if (exact) this.detachGrads();
        setGlobalDrawPosition(drawEnd);
      }
    } else if (exact) this.detachGrads();
    // Counted once the probes succeeded, so a step that threw is retried with its refresh.
    this.steps += 1;
    try {
      isolated(() =>
        noGrad(() => {
          for (const group of this.paramGroups)
            for (const p of group.params) {
              if (!p.grad || p.grad.isDisposed) continue;
              let st = this.state.get(p);
              if (!st) this.state.set(p, (st = {}));
              this.updateParam(p, p.grad, D?.get(p) ?? null, group, st);
            }
        }),
      );
    } finally {
      if (D) for (const t of D.values()) t.dispose();
    }
    return loss;
  }

  /** Replaces each parameter's .grad that carries a graph (a createGraph backward's) by its values, freeing the graph. */
  private detachGrads(): void {
    detachGradsOf(this.paramGroups.flatMap((g) => g.params));
  }

  /**
   * hessianDiagonal by double backward: the .grad of each parameter carries
   * the graph of its computation (the closure ran with createGraph), so
   * H z is the gradient of Σ ⟨∇L, z⟩, one more backward per probe.
   */
  private exactHessianDiagonal(P: Tensor[]): Map<Tensor, Tensor> {
    const o = this.defaults;
    const grads = P.map((p) => p.grad!);
    const targets = P.map((p) => ({ leaf: p }));
    const acc: Tensor[] = [];
    try {
      for (const p of P) acc.push(keep(zerosLike(p)));
      for (let k = 0; k < o.nProbes; k++) {
        const z = P.map((p) => this.rademacher(p));
        try {
          const hz = gradientOfDot(grads, z, targets);
          noGrad(() =>
            tidy(() =>
              P.forEach((p, i) => {
                const h = hz[i];
                if (h) acc[i].assign(add(acc[i], mul(z[i], reshape(h, p.shape))));
              }),
            ),
          );
          for (const h of hz) h?.dispose();
        } finally {
          for (const t of z) t.dispose();
        }
      }
      return this.averaged(P, acc);
    } finally {
      for (const t of acc) t.dispose();
    }
  }

  /** |Σ z ⊙ H z| / nProbes per parameter, averaged spatially (kept tensors). */
  private averaged(P: Tensor[], acc: Tensor[]): Map<Tensor, Tensor> {
    const out = new Map<Tensor, Tensor>();
    P.forEach((p, i) => {
      const group = this.paramGroups.find((g) => g.params.includes(p))!;
      out.set(p, keep(noGrad(() => tidy(() => spatialAverage(abs(div(acc[i], this.defaults.nProbes)), group)))));
    });
    return out;
  }

  /** |z ⊙ H z| averaged over the probes and then spatially, per parameter (kept tensors). */
  private hessianDiagonal(closure: () => Tensor | number, P: Tensor[], drawStart: number): Map<Tensor, Tensor> {
    const o = this.defaults;
    const central = o.hvp === 'central';
    const g0 = P.map((p) => p.takeGrad()!);
    const theta0 = P.map((p) => keep(noGrad(() => p.clone())));
    const acc: Tensor[] = [];
    const transient = new Set<Tensor>();
    try {
      const h = o.fdStep !== null ? o.fdStep : autoStep(theta0, central);
      for (const p of P) acc.push(keep(zerosLike(p)));
      // ∇L at θ0 + s·h·z, taken out of .grad.
      const gradAt = (z: Tensor[], s: number): Tensor[] => {
        P.forEach((p, i) => axpy(p.assign(theta0[i]), z[i], s * h));
        setGlobalDrawPosition(drawStart);
        this.lossOf(closure);
        return P.map((p, i) => {
          const g = p.takeGrad();
          if (!g || g.isDisposed)
            fail('INVALID_ARGUMENT', `AdaHessian.step: parameter ${i} of those with a gradient (shape [${p.shape.join(', ')}]) got none when the closure ran again at a nearby point; the closure must compute the same loss of the same parameters at every call`);
          transient.add(g);
          return g;
        });
      };
      for (let k = 0; k < o.nProbes; k++) {
        const z = P.map((p) => this.rademacher(p));
        z.forEach((t) => transient.add(t));
        const plus = gradAt(z, 1);
        const minus = central ? gradAt(z, -1) : g0;
        noGrad(() =>
          tidy(() =>
            P.forEach((_, i) => {
              const hz = div(sub(plus[i], minus[i]), central ? 2 * h : h);
              acc[i].assign(add(acc[i], mul(z[i], hz)));
            }),
          ),
        );
        for (const t of [...z, ...plus, ...(central ? minus : [])]) {
          t.dispose();
          transient.delete(t);
        }
      }
      return this.averaged(P, acc);
    } finally {
      noGrad(() => P.forEach((p, i) => p.assign(theta0[i])));
      P.forEach((p, i) => {
        p.grad?.dispose();
        p.grad = g0[i];
      });
      for (const t of [...theta0, ...acc, ...transient]) t.dispose();
    }
  }

  /** A Rademacher tensor (±1) shaped like p, from this optimizer's own stream of draws. */
  private rademacher(p: Tensor): Tensor {
    this.stream += 1;
    return keep(
      noGrad(() =>
        tidy(() => {
          const bits = wrap(native().random(p.shape.slice(), 'int32', p.device, false, 0, 2, this.seed, this.stream));
          return sub(mul(cast(bits, p.dtype), 2), 1);
        }),
      ),
    );
  }

  private updateParam(p: Tensor, g: Tensor, D: Tensor | null, o: ParamGroup<AdaHessianOptions>, st: Record<string, Tensor | number>): void {
    const m = this.buffer(st, 'expAvg', p);
    const v = this.buffer(st, 'expHessianDiagSq', p);
    const [b1, b2] = o.betas;
    const step = ((st.step as number | undefined) ?? 0) + 1;
    st.step = step;
    if (D) st.hessianStep = ((st.hessianStep as number | undefined) ?? 0) + 1;
    const hs = (st.hessianStep as number | undefined) ?? 0;
    if (hs === 0) {
      // A parameter that first got a gradient on a step without a refresh: only m moves until one comes.
      tidy(() => m.assign(add(mul(m, b1), mul(g, 1 - b1))));
      return;
    }
    // One fused pass (kernels/rows.h adaHessianUpdate): m, v (with D), weight decay, the update.
    native().adaHessianStep(p.handle, g.handle, m.handle, v.handle, D?.handle ?? null, {
      lr: o.lr, beta1: b1, beta2: b2, eps: o.eps, weightDecay: o.weightDecay, hessianPower: o.hessianPower, step, hessianStep: hs,
    });
  }
}

/** Replaces the .grad of each tensor that carries a graph by its values (a copy), freeing the graph. */
function detachGradsOf(ts: readonly Tensor[]): void {
  for (const p of ts) {
    const grad = p.grad;
    if (p.isDisposed || !grad || grad.isDisposed || !grad.requiresGrad) continue;
    const values = isolated(() => noGrad(() => grad.clone()));
    p.takeGrad()!.dispose();
    p.grad = values;
  }
}

/** The options that apply to the whole step (constructor only), checked at construction and at every step. */
function checkStepOptions(d: AdaHessianOptions, op: string): void {
  checkInteger(d.updateEach, op, 'updateEach', 1);
  checkInteger(d.nProbes, op, 'nProbes', 1);
  if (d.hvp !== 'auto' && d.hvp !== 'exact' && d.hvp !== 'forward' && d.hvp !== 'central')
    fail('INVALID_ARGUMENT', `${op}: hvp must be 'auto', 'exact', 'forward' or 'central'; got ${describe(d.hvp)}`);
  if (d.fdStep !== null && !(checkFinite(d.fdStep, op, 'fdStep') > 0)) fail('INVALID_ARGUMENT', `${op}: fdStep must be > 0 or null; got ${d.fdStep}`);
}

/**
 * The difference step: √u·(1 + rms θ) (forward) or ∛u·(1 + rms θ) (central),
 * the rms over every parameter, u the narrowest dtype's rounding unit. One
 * step for all: H z is then a difference of gradients along z itself, so
 * each probe gives Hutchinson's z ⊙ H z. (Steps per tensor, tried before,
 * scaled H's cross-tensor terms by their ratio: still right on average, but
 * not probe by probe, which the |·| and the second moment v see.)
 */
function autoStep(theta: Tensor[], central: boolean): number {
  const ss = sumsOfSquares(theta);
  const n = theta.reduce((a, t) => a + t.size, 0);
  return differenceStep(theta.map((t) => t.dtype), central) * (1 + Math.sqrt(ss.reduce((a, v) => a + v, 0) / Math.max(n, 1)));
}

/**
 * |D| averaged over the kernel dimensions (rank ≥ 3, averageConvKernel) or
 * over blocks of blockSize entries along a matrix's last dimension (the
 * last, shorter block averaged on its own).
 */
function spatialAverage(d: Tensor, o: AdaHessianOptions): Tensor {
  const shape = d.shape;
  if (shape.length >= 3 && o.averageConvKernel) {
    const axes = shape.map((_, i) => i).slice(2);
    return broadcastTo(mean(d, axes, true), shape);
  }
  if (shape.length === 2 && o.blockSize !== null && o.blockSize > 1) {
    const [rows, cols] = shape;
    const b = Math.min(o.blockSize, cols);
    const whole = Math.floor(cols / b) * b;
    const parts: Tensor[] = [];
    if (whole > 0) {
      const blocks = reshape(slice(d, [0, 0], [rows, whole]), [rows, whole / b, b]);
      parts.push(reshape(broadcastTo(mean(blocks, 2, true), [rows, whole / b, b]), [rows, whole]));
    }
    if (whole < cols) {
      const rest = slice(d, [0, whole], [rows, cols - whole]);
      parts.push(broadcastTo(mean(rest, 1, true), [rows, cols - whole]));
    }
    return parts.length === 1 ? parts[0] : concat(parts, 1);
  }
  return d;
}
