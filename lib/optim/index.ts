/**
 * Optimizers with torch.optim's defaults and update rules, step for step.
 * SGD's, Adam's, RMSprop's, Adagrad's, RAdam's, NAdam's, Adamax's, Adadelta's, Rprop's and ASGD's update of a parameter is
 * one fused native kernel (sgdStep, adamStep, rmspropStep, adagradStep, radamStep, nadamStep, adamaxStep, adadeltaStep,
 * rpropStep, asgdStep); L-BFGS (lbfgs.ts) and AdaHessian (adahessian.ts)
 * evaluate a closure several times per step.
 */
import { isolated, keep, tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { add, clamp, sqrt, square, sum, max as maxOp, abs } from '../ops/core';
import { fullLike, Tensor } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, checkOptions, describe } from '../validate';
import { checkLr, checkMomentOptions, initialLrs, Optimizer, ParamGroup, ParamsArg } from './optimizer';
import { loadState, readState, SCHEDULER_PREFIX, StateFields, StateValues, writeState } from './scheduler-state';

export { Optimizer } from './optimizer';
export type { ParamGroup, ParamsArg } from './optimizer';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/** torch.optim.SGD. */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsArg<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }, options, 'SGD');
  }

  protected validate(g: SGDOptions, name: string): void {
    checkLr(g.lr, name);
    for (const k of ['momentum', 'dampening', 'weightDecay'] as const) {
      checkFinite(g[k], name, k);
      if (g[k] < 0) fail('INVALID_ARGUMENT', `${name}: ${k} must be ≥ 0; got ${g[k]}`);
    }
    checkBoolean(g.nesterov, name, 'nesterov');
    checkBoolean(g.maximize, name, 'maximize');
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0))
      fail('INVALID_ARGUMENT', `${name}: nesterov needs momentum > 0 and dampening 0; got momentum ${g.momentum}, dampening ${g.dampening}`);
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: ['momentumBuffer'], numbers: [] };
  }

  protected update(p: Tensor, g: Tensor, o: ParamGroup<SGDOptions>, st: Record<string, Tensor | number>): void {
    const first = st.momentumBuffer === undefined;
    const buf = o.momentum !== 0 ? this.buffer(st, 'momentumBuffer', p) : null;
    native().sgdStep(p.handle, g.handle, buf?.handle ?? null, {
      lr: o.lr, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay,
      nesterov: o.nesterov, maximize: o.maximize, firstStep: first,
    });
  }
}

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;

  protected validate(g: AdamOptions, name: string): void {
    checkMomentOptions(g, name);
    checkBoolean(g.amsgrad, name, 'amsgrad');
    checkBoolean(g.maximize, name, 'maximize');
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: ['expAvg', 'expAvgSq', 'maxExpAvgSq'], numbers: ['step'] };
  }

  protected update(p: Tensor, g: Tensor, o: ParamGroup<AdamOptions>, st: Record<string, Tensor | number>): void {
    const step = ((st.step as number | undefined) ?? 0) + 1;
    st.step = step;
    const m = this.buffer(st, 'expAvg', p);
    const v = this.buffer(st, 'expAvgSq', p);
    const vmax = o.amsgrad ? this.buffer(st, 'maxExpAvgSq', p) : null;
    native().adamStep(p.handle, g.handle, m.handle, v.handle, vmax?.handle ?? null, {
      lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weightDecay,
      decoupled: this.decoupled, amsgrad: o.amsgrad, maximize: o.maximize, step,
    });
  }
}

/** torch.optim.Adam (L2 weight decay added to the gradient). */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false }, options, 'Adam');
  }
}

/** torch.optim.AdamW (decoupled weight decay, default 0.01). */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: ParamsArg<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false }, options, 'AdamW');
  }
}

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

/**
 * torch.optim.RMSprop (lr 1e-2, alpha 0.99, eps 1e-8): the squared gradient's
 * running average divides the step; `centered` subtracts the square of the
 * gradient's own running average (a variance estimate), `momentum` keeps a
 * buffer of the scaled steps. One fused native kernel per parameter.
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsArg<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false }, options, 'RMSprop');
  }

  protected validate(g: RMSpropOptions, name: string): void {
    checkLr(g.lr, name);
    for (const k of ['alpha', 'eps', 'weightDecay', 'momentum'] as const) {
      checkFinite(g[k], name, k);
      if (g[k] < 0) fail('INVALID_ARGUMENT', `${name}: ${k} must be ≥ 0; got ${g[k]}`);
    }
    checkBoolean(g.centered, name, 'centered');
    checkBoolean(g.maximize, name, 'maximize');
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: ['squareAvg', 'gradAvg', 'momentumBuffer'], numbers: ['step'] };
  }

  protected update(p: Tensor, g: Tensor, o: ParamGroup<RMSpropOptions>, st: Record<string, Tensor | number>): void {
    st.step = ((st.step as number | undefined) ?? 0) + 1;
    const sq = this.buffer(st, 'squareAvg', p);
    const ga = o.centered ? this.buffer(st, 'gradAvg', p) : null;
    const buf = o.momentum > 0 ? this.buffer(st, 'momentumBuffer', p) : null;
    native().rmspropStep(p.handle, g.handle, sq.handle, ga?.handle ?? null, buf?.handle ?? null, {
      lr: o.lr, alpha: o.alpha, eps: o.eps, weightDecay: o.weightDecay, momentum: o.momentum, centered: o.centered, maximize: o.maximize,
    });
  }
}

export interface AdagradOptions {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}

/**
 * torch.optim.Adagrad (lr 1e-2, eps 1e-10): each coordinate's step is divided
 * by the root of its summed squared gradients (`sum`, starting at
 * initialAccumulatorValue); lr decays as lr / (1 + (step − 1)·lrDecay). Dense
 * gradients. One fused native kernel per parameter.
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: ParamsArg<AdagradOptions>, options: Partial<AdagradOptions> = {}) {
    super(params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false }, options, 'Adagrad');
  }

  protected validate(g: AdagradOptions, name: string): void {
    checkLr(g.lr, name);
    for (const k of ['lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps'] as const) {
      checkFinite(g[k], name, k);
      if (g[k] < 0) fail('INVALID_ARGUMENT', `${name}: ${k} must be ≥ 0; got ${g[k]}`);
    }
    checkBoolean(g.maximize, name, 'maximize');
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: ['sum'], numbers: ['step'] };
  }

  protected update(p: Tensor, g: Tensor, o: ParamGroup<AdagradOptions>, st: Record<string, Tensor | number>): void {
    const step = ((st.step as number | undefined) ?? 0) + 1;
    st.step = step;
    if (st.sum === undefined && o.initialAccumulatorValue !== 0) st.sum = keep(fullLike(p, o.initialAccumulatorValue));
    const acc = this.buffer(st, 'sum', p);
    native().adagradStep(p.handle, g.handle, acc.handle, {
      lr: o.lr, lrDecay: o.lrDecay, eps: o.eps, weightDecay: o.weightDecay, maximize: o.maximize, step,
    });
  }
}

export interface RAdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  decoupledWeightDecay: boolean;
  maximize: boolean;
}

/**
 * torch.optim.RAdam (lr 1e-3, betas [0.9, 0.999], eps 1e-8): Adam with the
 * variance rectification of Liu et al. (2020). While the approximated SMA
 * length rho_t is ≤ 5 (the first steps) the step is the bias-corrected
 * momentum times lr, without the adaptive denominator; after, Adam's step times
 * the rectification term r_t. `decoupledWeightDecay` decays the parameter as
 * AdamW does (param ·= 1 − lr·wd) instead of adding wd·param to the gradient.
 * One fused native kernel per parameter.
 */
export class RAdam extends Optimizer<RAdamOptions> {
  constructor(params: ParamsArg<RAdamOptions>, options: Partial<RAdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, decoupledWeightDecay: false, maximize: false }, options, 'RAdam');
  }

  protected validate(g: RAdamOptions, name: string): void {
    checkMomentOptions(g, name);
    checkBoolean(g.decoupledWeightDecay, name, 'decoupledWeightDecay');
    checkBoolean(g.maximize, name, 'maximize');
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: ['expAvg', 'expAvgSq'], numbers: ['step'] };
  }

  protected update(p: Tensor, g: Tensor, o: ParamGroup<RAdamOptions>, st: Record<string, Tensor | number>): void {
    const step = ((st.step as number | undefined) ?? 0) + 1;
    st.step = step;
    const m = this.buffer(st, 'expAvg', p);
    const v = this.buffer(st, 'expAvgSq', p);
    native().radamStep(p.handle, g.handle, m.handle, v.handle, {
      lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weightDecay,
      decoupled: o.decoupledWeightDecay, maximize: o.maximize, step,
    });
  }
}

export interface NAdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  momentumDecay: number;
  decoupledWeightDecay: boolean;
  maximize: boolean;
}

/**
 * torch.optim.NAdam (lr 2e-3, betas [0.9, 0.999], eps 1e-8, momentumDecay
 * 4e-3): Adam with Nesterov momentum (Dozat 2016). The momentum coefficient
 * mu_t = β1·(1 − ½·0.96^(t·momentumDecay)) follows a schedule; the state keeps
 * their running product `muProduct` (PyTorch's mu_product) beside `step`.
 * `decoupledWeightDecay` as in RAdam. One fused native kernel per parameter.
 */
export class NAdam extends Optimizer<NAdamOptions> {
  constructor(params: ParamsArg<NAdamOptions>, options: Partial<NAdamOptions> = {}) {
    super(params, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3, decoupledWeightDecay: false, maximize: false }, options, 'NAdam');
  }

  protected validate(g: NAdamOptions, name: string): void {
    checkMomentOptions(g, name);
    checkFinite(g.momentumDecay, name, 'momentumDecay');
    if (g.momentumDecay < 0) fail('INVALID_ARGUMENT', `${name}: momentumDecay must be ≥ 0; got ${g.momentumDecay}`);
    checkBoolean(g.decoupledWeightDecay, name, 'decoupledWeightDecay');
    checkBoolean(g.maximize, name, 'maximize');
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: ['expAvg', 'expAvgSq'], numbers: ['step', 'muProduct'] };
  }

  protected update(p: Tensor, g: Tensor, o: ParamGroup<NAdamOptions>, st: Record<string, Tensor | number>): void {
    const step = ((st.step as number | undefined) ?? 0) + 1;
    const mu = o.betas[0] * (1 - 0.5 * 0.96 ** (step * o.momentumDecay));
    const muProduct = ((st.muProduct as number | undefined) ?? 1) * mu;
    st.step = step;
    st.muProduct = muProduct;
    const m = this.buffer(st, 'expAvg', p);
    const v = this.buffer(st, 'expAvgSq', p);
    native().nadamStep(p.handle, g.handle, m.handle, v.handle, {
      lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weightDecay, momentumDecay: o.momentumDecay,
      muProduct, decoupled: o.decoupledWeightDecay, maximize: o.maximize, step,
    });
  }
}

export interface AdamaxOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

/**
 * torch.optim.Adamax (lr 2e-3, betas [0.9, 0.999], eps 1e-8): Adam with the
 * infinity norm: `expInf` (PyTorch's exp_inf) = max(β2·expInf, |g| + eps)
 * divides the bias-corrected step. One fused native kernel per parameter.
 */
export class Adamax extends Optimizer<AdamaxOptions> {
  constructor(params: ParamsArg<AdamaxOptions>, options: Partial<AdamaxOptions> = {}) {
    super(params, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false }, options, 'Adamax');
  }

  protected validate(g: AdamaxOptions, name: string): void {
    checkMomentOptions(g, name);
    checkBoolean(g.maximize, name, 'maximize');
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: ['expAvg', 'expInf'], numbers: ['step'] };
  }

  protected update(p: Tensor, g: Tensor, o: ParamGroup<AdamaxOptions>, st: Record<string, Tensor | number>): void {
    const step = ((st.step as number | undefined) ?? 0) + 1;
    st.step = step;
    const m = this.buffer(st, 'expAvg', p);
    const u = this.buffer(st, 'expInf', p);
    native().adamaxStep(p.handle, g.handle, m.handle, u.handle, {
      lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: o.weightDecay, maximize: o.maximize, step,
    });
  }
}

export interface AdadeltaOptions {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

/**
 * torch.optim.Adadelta (lr 1.0, rho 0.9, eps 1e-6): the step is the gradient
 * scaled by sqrt(accDelta + eps) / sqrt(squareAvg + eps), the running averages
 * (PyTorch's acc_delta, square_avg) of the squared steps and squared
 * gradients, times lr. One fused native kernel per parameter.
 */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  constructor(params: ParamsArg<AdadeltaOptions>, options: Partial<AdadeltaOptions> = {}) {
    super(params, { lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false }, options, 'Adadelta');
  }

  protected validate(g: AdadeltaOptions, name: string): void {
    checkLr(g.lr, name);
    checkFinite(g.rho, name, 'rho');
    if (g.rho < 0 || g.rho > 1) fail('INVALID_ARGUMENT', `${name}: rho must be in [0, 1]; got ${g.rho}`);
    for (const k of ['eps', 'weightDecay'] as const) {
      checkFinite(g[k], name, k);
      if (g[k] < 0) fail('INVALID_ARGUMENT', `${name}: ${k} must be ≥ 0; got ${g[k]}`);
    }
    checkBoolean(g.maximize, name, 'maximize');
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: ['squareAvg', 'accDelta'], numbers: ['step'] };
  }

  protected update(p: Tensor, g: Tensor, o: ParamGroup<AdadeltaOptions>, st: Record<string, Tensor | number>): void {
    st.step = ((st.step as number | undefined) ?? 0) + 1;
    const sq = this.buffer(st, 'squareAvg', p);
    const acc = this.buffer(st, 'accDelta', p);
    native().adadeltaStep(p.handle, g.handle, sq.handle, acc.handle, {
      lr: o.lr, rho: o.rho, eps: o.eps, weightDecay: o.weightDecay, maximize: o.maximize,
    });
  }
}

export interface RpropOptions {
  lr: number;
  etas: [number, number];
  stepSizes: [number, number];
  maximize: boolean;
}

/** A [number, number] option (Rprop's etas and stepSizes), each finite. */
function checkPair(v: unknown, name: string, key: string, what: string): asserts v is [number, number] {
  if (!Array.isArray(v) || v.length !== 2) fail('INVALID_ARGUMENT', `${name}: ${key} must be ${what}; got ${describe(v)}`);
  v.forEach((x, i) => checkFinite(x, name, `${key}[${i}]`));
}

/**
 * torch.optim.Rprop (lr 1e-2, etas [0.5, 1.2], stepSizes [1e-6, 50]): resilient
 * backpropagation. Each element has its own step size `stepSize` (PyTorch's
 * step_size, lr at the first step): times etas[1] while the gradient keeps its
 * sign, times etas[0] when it flips (and that step's gradient counts as 0),
 * clamped to stepSizes; the parameter moves by −sign(grad)·stepSize. `prev`
 * keeps the last gradient. One fused native kernel per parameter.
 */
export class Rprop extends Optimizer<RpropOptions> {
  constructor(params: ParamsArg<RpropOptions>, options: Partial<RpropOptions> = {}) {
    super(params, { lr: 1e-2, etas: [0.5, 1.2], stepSizes: [1e-6, 50], maximize: false }, options, 'Rprop');
  }

  protected validate(g: RpropOptions, name: string): void {
    checkLr(g.lr, name);
    checkPair(g.etas, name, 'etas', '[etaminus, etaplus]');
    if (!(g.etas[0] > 0 && g.etas[0] < 1 && g.etas[1] > 1))
      fail('INVALID_ARGUMENT', `${name}: etas must satisfy 0 < etaminus < 1 < etaplus; got [${g.etas[0]}, ${g.etas[1]}]`);
    checkPair(g.stepSizes, name, 'stepSizes', '[min, max]');
    if (!(g.stepSizes[0] >= 0 && g.stepSizes[0] <= g.stepSizes[1]))
      fail('INVALID_ARGUMENT', `${name}: stepSizes must satisfy 0 ≤ min ≤ max; got [${g.stepSizes[0]}, ${g.stepSizes[1]}]`);
    checkBoolean(g.maximize, name, 'maximize');
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: ['prev', 'stepSize'], numbers: ['step'] };
  }

  protected update(p: Tensor, g: Tensor, o: ParamGroup<RpropOptions>, st: Record<string, Tensor | number>): void {
    st.step = ((st.step as number | undefined) ?? 0) + 1;
    if (st.stepSize === undefined) st.stepSize = keep(fullLike(p, o.lr));
    const prev = this.buffer(st, 'prev', p);
    const stepSize = this.buffer(st, 'stepSize', p);
    native().rpropStep(p.handle, g.handle, prev.handle, stepSize.handle, {
      etaMinus: o.etas[0], etaPlus: o.etas[1], stepSizeMin: o.stepSizes[0], stepSizeMax: o.stepSizes[1], maximize: o.maximize,
    });
  }
}

export interface ASGDOptions {
  lr: number;
  lambd: number;
  alpha: number;
  t0: number;
  weightDecay: number;
  maximize: boolean;
}

/**
 * torch.optim.ASGD (lr 1e-2, lambd 1e-4, alpha 0.75, t0 1e6): SGD with a
 * decaying step eta and Polyak averaging. Each step decays the parameter by
 * 1 − lambd·eta and moves it by −eta·grad with the state's `eta` and `mu`, then
 * averages it into `ax` (ax += (param − ax)·mu; a copy while mu is 1), then sets
 * eta = lr / (1 + lambd·lr·step)^alpha and mu = 1 / max(1, step − t0) for the
 * next step, as torch 2.x's single-tensor ASGD (eta starts at lr, mu at 1).
 * `eta`, `mu` and `step` are numbers of the state (PyTorch keeps scalar
 * tensors of its default dtype); a float32 parameter's step uses them rounded
 * to float32, a float64 one's exact, and the update rounds as torch 1.13's
 * CPU and CUDA kernels do (grad + wd·param and param − eta·grad each one
 * fused multiply-add, the rest one rounding per op). Against torch 1.13 over
 * 50 steps, float32 parameters and `ax` are equal to the bit (torch's
 * default dtype float32), float64 ones too with torch's default dtype
 * float64 (with float32 its eta and mu are rounded: 2e-7 apart relatively),
 * except where eta's power differs: JavaScript's `**` is not always rounded
 * as C's `pow` (an ulp apart at about 1 step in 10 with lr 0.05, lambd 0.01,
 * alpha 0.75, say): a float64 parameter then drifts about 1e-15 relatively;
 * eta rounded to float32 hid it in 10 000 sampled steps.
 * `ax` is the averaged parameter. One fused native kernel per parameter.
 */
export class ASGD extends Optimizer<ASGDOptions> {
  constructor(params: ParamsArg<ASGDOptions>, options: Partial<ASGDOptions> = {}) {
    super(params, { lr: 1e-2, lambd: 1e-4, alpha: 0.75, t0: 1e6, weightDecay: 0, maximize: false }, options, 'ASGD');
  }

  protected validate(g: ASGDOptions, name: string): void {
    checkLr(g.lr, name);
    for (const k of ['lambd', 'alpha', 't0', 'weightDecay'] as const) checkFinite(g[k], name, k);
    if (g.lambd < 0) fail('INVALID_ARGUMENT', `${name}: lambd must be ≥ 0; got ${g.lambd}`);
    if (g.weightDecay < 0) fail('INVALID_ARGUMENT', `${name}: weightDecay must be ≥ 0; got ${g.weightDecay}`);
    checkBoolean(g.maximize, name, 'maximize');
  }

  protected stateKeys(): { tensors: readonly string[]; numbers: readonly string[] } {
    return { tensors: ['ax'], numbers: ['step', 'eta', 'mu'] };
  }

  protected update(p: Tensor, g: Tensor, o: ParamGroup<ASGDOptions>, st: Record<string, Tensor | number>): void {
    const step = ((st.step as number | undefined) ?? 0) + 1;
    const eta = (st.eta as number | undefined) ?? o.lr;
    const mu = (st.mu as number | undefined) ?? 1;
    const ax = this.buffer(st, 'ax', p);
    // torch keeps eta and mu as tensors of its default dtype: rounded as a float32 parameter's, exact for float64.
    const r = p.dtype === 'float32' ? Math.fround : (v: number) => v;
    native().asgdStep(p.handle, g.handle, ax.handle, { lambd: o.lambd, eta: r(eta), mu: r(mu), weightDecay: o.weightDecay, maximize: o.maximize });
    st.step = step;
    st.eta = o.lr / (1 + o.lambd * o.lr * step) ** o.alpha;
    st.mu = 1 / Math.max(1, step - o.t0);
  }
}

/** The parameters of clipGradNorm/clipGradValue: an array of Tensors or one Tensor (as PyTorch's). */
function clipParams(params: unknown, op: string): Tensor[] {
  if (params instanceof Tensor) return [params];
  if (!Array.isArray(params))
    fail('INVALID_ARGUMENT', `${op}: expected an array of parameter Tensors (model.parameters()) or one Tensor; got ${describe(params)}`);
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: params[${i}] must be a Tensor; got ${describe(p)}`);
    // A disposed parameter has no .grad: skipping it would clip the others by a norm that leaves it out.
    if (p.isDisposed) fail('DISPOSED', `${op}: params[${i}] has been disposed (a module disposed before its parameters were clipped?)`);
  });
  return params as Tensor[];
}

/**
 * Scales gradients in place so their global norm is at most maxNorm
 * (torch.nn.utils.clip_grad_norm_; params an array of Tensors or one Tensor).
 * Returns the norm before clipping; maxNorm Infinity only measures it.
 */
export function clipGradNorm(params: Tensor[] | Tensor, maxNorm: number, normType = 2, options?: { errorIfNonfinite?: boolean }): number {
  params = clipParams(params, 'clipGradNorm');
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) fail('INVALID_ARGUMENT', `clipGradNorm: maxNorm must be a number >= 0 (Infinity: measure only); got ${describe(maxNorm)}`);
  if (maxNorm < 0) fail('INVALID_ARGUMENT', `clipGradNorm: maxNorm must be >= 0; got ${maxNorm} (a negative bound would flip the gradients' signs)`);
  if (!(normType === Infinity || (Number.isFinite(normType) && normType > 0)))
    fail('INVALID_ARGUMENT', `clipGradNorm: normType must be a positive number or Infinity; got ${describe(normType)}`);
  const o = checkOptions<{ errorIfNonfinite: boolean }>(options, 'clipGradNorm', ['errorIfNonfinite']);
  const errorIfNonfinite = o.errorIfNonfinite === undefined ? false : checkBoolean(o.errorIfNonfinite, 'clipGradNorm', 'errorIfNonfinite');
  const grads = params.filter((p) => p.grad && !p.grad.isDisposed).map((p) => p.grad!);
  if (!grads.length) return 0;
  const device = grads[0].device;
  const total = tidy(() => {
    const parts = grads.map((g) => {
      const gd = g.device === device ? g : g.to(device);
      if (normType === Infinity) return maxOp(abs(gd)).cast('float64');
      if (normType === 2) return sum(square(gd)).cast('float64');
      return sum(abs(gd).pow(normType)).cast('float64');
    });
    let acc = parts[0];
    for (let i = 1; i < parts.length; i++) acc = normType === Infinity ? acc.maximum(parts[i]) : add(acc, parts[i]);
    return normType === 2 ? sqrt(acc).item() : normType === Infinity ? acc.item() : acc.item() ** (1 / normType);
  });
  if (errorIfNonfinite && !Number.isFinite(total))
    fail('INVALID_ARGUMENT', `clipGradNorm: the total norm of order ${normType} is non-finite (${total})`);
  const coef = maxNorm / (total + 1e-6);
  // In place (a reference to .grad sees the clipped values), and a NaN norm makes NaN gradients,
  // as torch's mul_ by clamp(coef, max=1) does (NaN < 1 is false: such gradients were left as they were).
  if (!(coef >= 1))
    for (const p of params) {
      const g = p.grad;
      if (!g || g.isDisposed) continue;
      isolated(() => tidy(() => void g.assign(g.mul(coef))));
    }
  return total;
}

/** A finite number > 0 (a scheduler's multiplicative factor). */
function checkPositive(v: unknown, op: string, what: string): number {
  const n = checkFinite(v, op, what);
  if (n <= 0) fail('INVALID_ARGUMENT', `${op}: ${what} must be > 0; got ${n} (the learning rate would ${n === 0 ? 'drop to 0' : 'change sign'})`);
  return n;
}

/**
 * Base of the learning-rate schedulers: step() once per epoch (or per batch,
 * as you choose). As in PyTorch, step() updates each group's current lr by
 * the scheduler's recursive ("chainable") form, so schedulers on one
 * optimizer compose (a LinearLR warm-up with a CosineAnnealingLR decay), and
 * baseLrs are the groups' learning rates before the first scheduler.
 */
export abstract class LRScheduler {
  readonly baseLrs: number[];
  lastEpoch = 0;
  constructor(readonly optimizer: Optimizer<{ lr: number }>) {
    if (!(optimizer instanceof Optimizer))
      fail('INVALID_ARGUMENT', `${new.target.name}: expected an Optimizer such as new optim.SGD(model.parameters()); got ${describe(optimizer)}`);
    this.baseLrs = optimizer.paramGroups.map((g) => {
      if (!initialLrs.has(g)) initialLrs.set(g, g.lr);
      return initialLrs.get(g)!;
    });
  }
  /** Subclasses call this last in their constructor (their fields exist only after super()): epoch 0's lr. */
  protected init(): void {
    this.apply();
  }
  /** The lr at lastEpoch from the group's current one (what the previous epoch, or another scheduler, left). */
  protected abstract chained(current: number, base: number, epoch: number, group: number): number;
  private lastLrs: number[] = [];
  private apply(): void {
    // Every group's lr first, then all of them: a schedule that throws for one group changes none.
    // The groups this scheduler was made with: one added later (addParamGroup) keeps its lr.
    const groups = this.optimizer.paramGroups.slice(0, this.baseLrs.length);
    const lrs = groups.map((g, i) => this.chained(g.lr, this.baseLrs[i], this.lastEpoch, i));
    groups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLrs = lrs;
  }
  /** @internal For subclasses that move their own counters (CosineAnnealingWarmRestarts.step(epoch)). */
  protected applyLrs(): void {
    this.apply();
  }
  /**
   * @internal SequentialLR's step(0) (at a milestone; `atStep`) or its
   * initial step (at construction): epoch 0 again, from the groups' current lr.
   */
  restart(atStep = false): void {
    this.restartingAtStep = atStep;
    try {
      this.lastEpoch = 0;
      this.resetCounters();
      this.apply();
    } finally {
      this.restartingAtStep = false;
    }
  }
  /**
   * @internal Whether SequentialLR's milestone (PyTorch's step(0)) goes on
   * from the groups' current lr, as PyTorch's schedulers without a closed
   * form (MultiplicativeLR, SWALR), rather than from the base lrs.
   */
  get continuesAtMilestone(): boolean {
    return false;
  }
  /** @internal True while restart() runs for a milestone (MultiplicativeLR multiplies there). */
  protected restartingAtStep = false;
  /** @internal Counters besides lastEpoch that restart() resets. */
  protected resetCounters(): void {}
  step(...args: never[]): void {
    // PyTorch's deprecated step(epoch) would be ignored here: say so rather than schedule from the wrong epoch.
    if (args.length)
      fail('INVALID_ARGUMENT', `${this.constructor.name}.step: takes no arguments (got ${describe(args[0])}); call step() once per epoch (PyTorch's step(epoch) is deprecated). To resume, load the optimizer's and the scheduler's stateDict()`);
    this.lastEpoch += 1;
    try {
      this.apply();
    } catch (e) {
      this.lastEpoch -= 1; // a step that failed did not happen
      throw e;
    }
  }
  /**
   * The learning rates this scheduler set at its last step (PyTorch's
   * get_last_lr()), one per group it was made with (a group added later by
   * addParamGroup is not in it); with schedulers composed, a later one may
   * have changed the groups' lr since (read optimizer.paramGroups[i].lr for
   * the current).
   */
  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  /** @internal The counters stateDict() saves: the epoch, the base and last lrs, and a subclass's own. */
  stateFields(): StateFields {
    return { lastEpoch: { kind: 'epoch', value: this.lastEpoch }, baseLrs: { kind: 'lrs', value: this.baseLrs }, lastLrs: { kind: 'lrs', value: this.lastLrs }, ...this.ownFields() };
  }
  /** @internal A subclass's counters besides lastEpoch (CosineAnnealingWarmRestarts' tCur, tI). */
  protected ownFields(): StateFields {
    return {};
  }
  /** @internal Sets a subclass's counters from checked values. */
  protected setOwnFields(_v: StateValues): void {}
  /** @internal Checks this scheduler's keys under prefix and returns what sets them. */
  readStateFrom(dict: Record<string, unknown>, prefix: string, op: string, used: Set<string>): () => void {
    const v = readState(dict, prefix, this.stateFields(), op, used);
    return () => {
      this.lastEpoch = v.lastEpoch as number;
      (this.baseLrs as number[]).splice(0, this.baseLrs.length, ...(v.baseLrs as number[]));
      this.lastLrs = [...(v.lastLrs as number[])];
      this.setOwnFields(v);
    };
  }

  /**
   * The scheduler's state (PyTorch's scheduler.state_dict()) as float64
   * tensors under `scheduler.` keys: `scheduler.lastEpoch`,
   * `scheduler.baseLrs` and `scheduler.lastLrs` (one per parameter group),
   * and a scheduler's own counters. Save it with antler.save, alone or
   * together with the optimizer's stateDict() (their keys never collide).
   * The options given to the constructor are not in it: make the same
   * scheduler, then load. New tensors: dispose them (or call inside tidy()).
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    writeState(SCHEDULER_PREFIX, this.stateFields(), out);
    return out;
  }

  /**
   * Restores what stateDict() gave (PyTorch's load_state_dict): the
   * counters, not the groups' lr, which the optimizer's stateDict() holds
   * (load both). Keys outside `scheduler.` are ignored, so the dict may be a
   * whole checkpoint file; everything is checked before anything changes.
   */
  loadStateDict(dict: Record<string, Tensor>): void {
    const op = `${this.constructor.name}.loadStateDict`;
    loadState(dict, op, (d, used) => this.readStateFrom(d, SCHEDULER_PREFIX, op, used));
  }
}

/** lr = base · gamma^floor(epoch / stepSize) (torch.optim.lr_scheduler.StepLR). */
export class StepLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, readonly stepSize: number, readonly gamma = 0.1) {
    checkInteger(stepSize, 'StepLR', 'stepSize', 1);
    checkPositive(gamma, 'StepLR', 'gamma');
    super(optimizer);
    this.init();
  }
  protected chained(current: number, _base: number, epoch: number): number {
    return epoch === 0 || epoch % this.stepSize !== 0 ? current : current * this.gamma;
  }
}

/** lr = etaMin + (base − etaMin)(1 + cos(π epoch / tMax))/2 (torch's CosineAnnealingLR, by its recursive form). */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, readonly tMax: number, readonly etaMin = 0) {
    // A number of epochs, as PyTorch's T_max (which may be fractional).
    if (typeof tMax !== 'number' || !Number.isFinite(tMax) || tMax <= 0) fail('INVALID_ARGUMENT', `CosineAnnealingLR: tMax (the epochs of a half cosine) must be a finite number > 0; got ${describe(tMax)}`);
    checkFinite(etaMin, 'CosineAnnealingLR', 'etaMin');
    if (etaMin < 0) fail('INVALID_ARGUMENT', `CosineAnnealingLR: etaMin (the lowest learning rate) must be >= 0; got ${etaMin}`);
    super(optimizer);
    this.init();
  }
  protected chained(current: number, base: number, epoch: number): number {
    const T = this.tMax, eta = this.etaMin;
    if (epoch === 0) return current;
    if ((epoch - 1 - T) % (2 * T) === 0) return current + ((base - eta) * (1 - Math.cos(Math.PI / T))) / 2;
    return ((1 + Math.cos((Math.PI * epoch) / T)) / (1 + Math.cos((Math.PI * (epoch - 1)) / T))) * (current - eta) + eta;
  }
}

/**
 * Linear warm-up (torch.optim.lr_scheduler.LinearLR): the factor goes from
 * startFactor to endFactor over totalIters steps, then stays.
 */
export class LinearLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, readonly startFactor = 1 / 3, readonly endFactor = 1, readonly totalIters = 5) {
    checkFinite(startFactor, 'LinearLR', 'startFactor');
    checkFinite(endFactor, 'LinearLR', 'endFactor');
    if (startFactor <= 0 || startFactor > 1) fail('INVALID_ARGUMENT', `LinearLR: startFactor must be in (0, 1]; got ${startFactor}`);
    if (endFactor < 0 || endFactor > 1) fail('INVALID_ARGUMENT', `LinearLR: endFactor must be in [0, 1]; got ${endFactor}`);
    checkInteger(totalIters, 'LinearLR', 'totalIters', 1);
    super(optimizer);
    this.init();
  }
  protected chained(current: number, _base: number, epoch: number): number {
    const [s, e, n] = [this.startFactor, this.endFactor, this.totalIters];
    if (epoch === 0) return current * s;
    if (epoch > n) return current;
    // The same recursive form as PyTorch's; decaying to endFactor 0 its rounding can end a hair below 0
    // (−2e−19 for a base of 0.1): 0 there, so the next step still takes the lr.
    return Math.max(0, current * (1 + (e - s) / (n * s + (epoch - 1) * (e - s))));
  }
}
export { LinearLR as LinearWarmup };

/** lr = base · gamma^epoch (torch.optim.lr_scheduler.ExponentialLR). */
export class ExponentialLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, readonly gamma: number) {
    checkPositive(gamma, 'ExponentialLR', 'gamma');
    super(optimizer);
    this.init();
  }
  protected chained(current: number, _base: number, epoch: number): number {
    return epoch === 0 ? current : current * this.gamma;
  }
}

/**
 * lr multiplied by gamma at each milestone epoch (torch's MultiStepLR); a
 * milestone listed twice multiplies twice, as in PyTorch.
 */
export class MultiStepLR extends LRScheduler {
  readonly milestones: readonly number[];
  constructor(optimizer: Optimizer<{ lr: number }>, milestones: readonly number[], readonly gamma = 0.1) {
    if (!Array.isArray(milestones)) fail('INVALID_ARGUMENT', `MultiStepLR: milestones must be an array of epochs such as [30, 80]; got ${describe(milestones)}`);
    milestones.forEach((m, i) => checkInteger(m, 'MultiStepLR', `milestones[${i}]`, 1));
    checkPositive(gamma, 'MultiStepLR', 'gamma');
    super(optimizer);
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.init();
  }
  protected chained(current: number, _base: number, epoch: number): number {
    const hits = this.milestones.filter((m) => m === epoch).length;
    return hits ? current * this.gamma ** hits : current;
  }
}

function checkLambda(f: unknown, op: string): (epoch: number) => number {
  if (typeof f !== 'function') fail('INVALID_ARGUMENT', `${op}: lrLambda must be a function of the epoch, such as (epoch) => 0.95 ** epoch; got ${describe(f)}`);
  return f as (epoch: number) => number;
}

function lambdaValue(f: (epoch: number) => number, epoch: number, op: string): number {
  const v = f(epoch);
  if (typeof v !== 'number' || !Number.isFinite(v)) fail('INVALID_ARGUMENT', `${op}: lrLambda(${epoch}) must return a finite number; got ${describe(v)}`);
  return v;
}

type LrLambda = (epoch: number) => number;

/** One function for every group, or a list with one per group (as PyTorch's lr_lambda). */
function checkLambdas(f: unknown, optimizer: Optimizer<{ lr: number }>, op: string): LrLambda[] {
  const groups = optimizer instanceof Optimizer ? optimizer.paramGroups.length : 0;
  if (!Array.isArray(f)) return new Array(groups).fill(checkLambda(f, op));
  if (f.length !== groups) fail('INVALID_ARGUMENT', `${op}: lrLambda lists ${f.length} functions for ${groups} parameter groups; give one per group or a single function`);
  return f.map((g) => checkLambda(g, op));
}

/** A scheduler driven by lrLambda: one function, or one per parameter group. */
abstract class LambdaScheduler extends LRScheduler {
  protected readonly fs: LrLambda[];
  constructor(optimizer: Optimizer<{ lr: number }>, lrLambda: LrLambda | readonly LrLambda[]) {
    const fs = checkLambdas(lrLambda, optimizer, new.target.name);
    super(optimizer);
    this.fs = fs;
    this.init();
  }
  protected factor(group: number, epoch: number): number {
    return lambdaValue(this.fs[group], epoch, this.constructor.name);
  }
}

/**
 * lr = base · lrLambda(epoch) (torch's LambdaLR; one function, or one per
 * parameter group). Not chainable, as in PyTorch: it sets the lr from the
 * base, whatever another scheduler did.
 */
export class LambdaLR extends LambdaScheduler {
  protected chained(_current: number, base: number, epoch: number, group: number): number {
    return base * this.factor(group, epoch);
  }
}

/** lr multiplied by lrLambda(epoch) at each step after the first (torch's MultiplicativeLR; one function, or one per group). */
export class MultiplicativeLR extends LambdaScheduler {
  /** @internal PyTorch's MultiplicativeLR has no closed form: SequentialLR's step(0) multiplies the current lr by λ(0). */
  get continuesAtMilestone(): boolean {
    return true;
  }
  protected chained(current: number, _base: number, epoch: number, group: number): number {
    // Epoch 0 multiplies too when SequentialLR restarts it at a milestone: PyTorch's step(0) there runs
    // get_lr outside construction, which multiplies by λ(0).
    return epoch > 0 || this.restartingAtStep ? current * this.factor(group, epoch) : current;
  }
}

/**
 * lr multiplied by factor until epoch totalIters, then back to the base
 * (torch.optim.lr_scheduler.ConstantLR; factor in (0, 1], default 1/3,
 * totalIters default 5).
 */
export class ConstantLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, readonly factor = 1 / 3, readonly totalIters = 5) {
    checkFinite(factor, 'ConstantLR', 'factor');
    if (!(factor > 0 && factor <= 1)) fail('INVALID_ARGUMENT', `ConstantLR: factor must be in (0, 1]; got ${factor}`);
    checkInteger(totalIters, 'ConstantLR', 'totalIters', 1);
    super(optimizer);
    this.init();
  }
  protected chained(current: number, _base: number, epoch: number): number {
    if (epoch === 0) return current * this.factor;
    return epoch === this.totalIters ? current / this.factor : current;
  }
}

/**
 * lr = base · (1 − epoch / totalIters)^power, reaching 0 at totalIters and
 * staying there (torch.optim.lr_scheduler.PolynomialLR, by its recursive
 * form; totalIters default 5, power default 1).
 */
export class PolynomialLR extends LRScheduler {
  constructor(optimizer: Optimizer<{ lr: number }>, readonly totalIters = 5, readonly power = 1) {
    checkInteger(totalIters, 'PolynomialLR', 'totalIters', 1);
    checkFinite(power, 'PolynomialLR', 'power');
    super(optimizer);
    this.init();
  }
  protected chained(current: number, _base: number, epoch: number): number {
    if (epoch === 0 || epoch > this.totalIters) return current;
    const n = this.totalIters;
    return current * ((1 - epoch / n) / (1 - (epoch - 1) / n)) ** this.power;
  }
}

/**
 * Cosine annealing with warm restarts (SGDR, torch's
 * CosineAnnealingWarmRestarts): lr = etaMin + (base − etaMin)(1 + cos(π
 * tCur / tI)) / 2, where tCur counts epochs since the last restart and the
 * i-th period lasts tI = t0 · tMult^i. Not chainable, as in PyTorch: it sets
 * the lr from the base. step() advances one epoch; step(epoch) takes a
 * fractional epoch, as PyTorch's (per batch: step(epoch + i / itersPerEpoch)).
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  /** Epochs since the last restart, and the current period's length. */
  tCur = 0;
  tI: number;
  constructor(optimizer: Optimizer<{ lr: number }>, readonly t0: number, readonly tMult = 1, readonly etaMin = 0) {
    const op = 'CosineAnnealingWarmRestarts';
    checkInteger(t0, op, 't0', 1);
    checkInteger(tMult, op, 'tMult', 1);
    checkFinite(etaMin, op, 'etaMin');
    if (etaMin < 0) fail('INVALID_ARGUMENT', `${op}: etaMin (the lowest learning rate) must be >= 0; got ${etaMin}`);
    super(optimizer);
    this.tI = t0;
    this.init();
  }
  protected chained(_current: number, base: number): number {
    return this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2;
  }
  protected resetCounters(): void {
    this.tCur = 0;
    this.tI = this.t0;
  }
  protected ownFields(): StateFields {
    return { tCur: { kind: 'nonneg', value: this.tCur }, tI: { kind: 'period', value: this.tI } };
  }
  protected setOwnFields(v: StateValues): void {
    this.tCur = v.tCur as number;
    this.tI = v.tI as number;
  }
  step(epoch?: number): void {
    if (epoch === undefined) {
      this.tCur += 1;
      if (this.tCur >= this.tI) {
        this.tCur -= this.tI;
        this.tI *= this.tMult;
      }
      this.lastEpoch += 1;
    } else {
      const op = 'CosineAnnealingWarmRestarts.step';
      checkFinite(epoch, op, 'epoch');
      if (epoch < 0) fail('INVALID_ARGUMENT', `${op}: epoch must be >= 0; got ${epoch}`);
      const [T0, m] = [this.t0, this.tMult];
      if (epoch >= T0) {
        if (m === 1) {
          this.tCur = epoch % T0;
          this.tI = T0;
        } else {
          const i = Math.floor(Math.log((epoch / T0) * (m - 1) + 1) / Math.log(m));
          this.tCur = epoch - (T0 * (m ** i - 1)) / (m - 1);
          this.tI = T0 * m ** i;
        }
      } else {
        this.tI = T0;
        this.tCur = epoch;
      }
      this.lastEpoch = Math.floor(epoch);
    }
    this.applyLrs();
  }
}

/** Options of {@link OneCycleLR} (PyTorch's names in camelCase, and its defaults). */
export interface OneCycleLROptions {
  /** The number of steps in the cycle; or give epochs and stepsPerEpoch. */
  totalSteps: number;
  epochs: number;
  stepsPerEpoch: number;
  /** The fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy: 'cos' | 'linear';
  /** Cycle the momentum (SGD, RMSprop) or beta1 (Adam, AdamW) inversely to the lr (default true). */
  cycleMomentum: boolean;
  baseMomentum: number | number[];
  maxMomentum: number | number[];
  /** The initial lr is maxLr / divFactor (default 25). */
  divFactor: number;
  /** The final lr is the initial one / finalDivFactor (default 1e4). */
  finalDivFactor: number;
  /** Fast.ai's three phases: up, down to the initial lr, then annihilation (default false). */
  threePhase: boolean;
}

/** One value per parameter group: an array of that length, or one number for every group. */
function perGroupValues(op: string, groups: number, v: number | number[], what: string): number[] {
  if (Array.isArray(v)) {
    if (v.length !== groups) fail('INVALID_ARGUMENT', `${op}: ${what} has ${v.length} entries for ${groups} parameter groups; give one per group or a single number`);
    return v.map((x, i) => checkFinite(x, op, `${what}[${i}]`));
  }
  return new Array<number>(groups).fill(checkFinite(v, op, what));
}

/** Which option a cycling scheduler moves as the momentum: SGD's momentum, or Adam's beta1. */
function momentumKeyOf(optimizer: Optimizer<{ lr: number }>, op: string): 'momentum' | 'betas' {
  const defaults = optimizer.defaults as Record<string, unknown>;
  if ('betas' in defaults) return 'betas';
  if ('momentum' in defaults) return 'momentum';
  fail('INVALID_ARGUMENT', `${op}: cycleMomentum needs an optimizer with momentum or betas (${optimizer.constructor.name} has neither); pass cycleMomentum: false`);
}

function setMomentum(g: Record<string, unknown>, key: 'momentum' | 'betas', m: number): void {
  if (key === 'betas') g.betas = [m, (g.betas as number[])[1]];
  else g.momentum = m;
}

/**
 * The 1cycle policy (Smith & Topin; torch.optim.lr_scheduler.OneCycleLR):
 * step() after every batch. The lr rises from maxLr / divFactor to maxLr
 * over pctStart of the cycle, then anneals to the initial lr /
 * finalDivFactor, while the momentum (or Adam's beta1) moves the other way
 * between maxMomentum and baseMomentum. Not chainable (it sets the lr); it
 * sets each group's lr, and momentum or betas, at construction, as PyTorch's.
 * Stepping past totalSteps throws, as there.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  private readonly phases: { end: number; lr: [number, number][]; momentum: [number, number][] }[];
  private readonly momentumKey: 'momentum' | 'betas' | null;
  readonly annealStrategy: 'cos' | 'linear';

  constructor(optimizer: Optimizer<{ lr: number }>, maxLr: number | number[], options?: Partial<OneCycleLROptions>) {
    const op = 'OneCycleLR';
    const o = checkOptions<OneCycleLROptions>(options, op, ['totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy', 'cycleMomentum', 'baseMomentum', 'maxMomentum', 'divFactor', 'finalDivFactor', 'threePhase']);
    if (!(optimizer instanceof Optimizer)) fail('INVALID_ARGUMENT', `${op}: expected an Optimizer such as new optim.SGD(model.parameters()); got ${describe(optimizer)}`);
    const groups = optimizer.paramGroups;
    const perGroup = (v: number | number[], what: string): number[] => perGroupValues(op, groups.length, v, what);
    let total: number;
    if (o.totalSteps !== undefined) total = checkInteger(o.totalSteps, op, 'totalSteps', 1);
    else if (o.epochs !== undefined && o.stepsPerEpoch !== undefined)
      total = checkInteger(o.epochs, op, 'epochs', 1) * checkInteger(o.stepsPerEpoch, op, 'stepsPerEpoch', 1);
    else fail('INVALID_ARGUMENT', `${op}: give totalSteps, or epochs and stepsPerEpoch`);
    const pct = o.pctStart === undefined ? 0.3 : checkFinite(o.pctStart, op, 'pctStart');
    if (!(pct >= 0 && pct <= 1)) fail('INVALID_ARGUMENT', `${op}: pctStart must be in [0, 1]; got ${pct}`);
    const anneal = o.annealStrategy ?? 'cos';
    if (anneal !== 'cos' && anneal !== 'linear') fail('INVALID_ARGUMENT', `${op}: annealStrategy must be 'cos' or 'linear'; got ${describe(anneal)}`);
    const div = o.divFactor === undefined ? 25 : checkFinite(o.divFactor, op, 'divFactor');
    const finalDiv = o.finalDivFactor === undefined ? 1e4 : checkFinite(o.finalDivFactor, op, 'finalDivFactor');
    if (!(div > 0) || !(finalDiv > 0)) fail('INVALID_ARGUMENT', `${op}: divFactor and finalDivFactor must be > 0; got ${div} and ${finalDiv}`);
    const cycle = o.cycleMomentum === undefined ? true : checkBoolean(o.cycleMomentum, op, 'cycleMomentum');
    const maxLrs = perGroup(maxLr, 'maxLr');
    if (maxLrs.some((v) => !(v > 0))) fail('INVALID_ARGUMENT', `${op}: maxLr must be > 0; got ${describe(maxLr)}`);
    const initial = maxLrs.map((m) => m / div), min = initial.map((i) => i / finalDiv);
    let key: 'momentum' | 'betas' | null = null;
    let baseM: number[] = [], maxM: number[] = [];
    if (cycle) {
      key = momentumKeyOf(optimizer, op);
      baseM = perGroup(o.baseMomentum ?? 0.85, 'baseMomentum');
      maxM = perGroup(o.maxMomentum ?? 0.95, 'maxMomentum');
    }
    super(optimizer);
    // As PyTorch's: each group's initial_lr becomes maxLr / divFactor, which schedulers made
    // later take as their base, and SequentialLR restores.
    groups.forEach((g, i) => initialLrs.set(g, initial[i]));
    this.totalSteps = total;
    this.annealStrategy = anneal;
    this.momentumKey = key;
    const lrPair = (a: number[], b: number[]): [number, number][] => a.map((x, i) => [x, b[i]]);
    this.phases = o.threePhase
      ? [
          { end: pct * total - 1, lr: lrPair(initial, maxLrs), momentum: lrPair(maxM, baseM) },
          { end: 2 * pct * total - 2, lr: lrPair(maxLrs, initial), momentum: lrPair(baseM, maxM) },
          { end: total - 1, lr: lrPair(initial, min), momentum: lrPair(maxM, maxM) },
        ]
      : [
          { end: pct * total - 1, lr: lrPair(initial, maxLrs), momentum: lrPair(maxM, baseM) },
          { end: total - 1, lr: lrPair(maxLrs, min), momentum: lrPair(baseM, maxM) },
        ];
    this.init();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  /** The phase holding step t and how far into it t is, as PyTorch's get_lr walks them. */
  private where(t: number): { phase: number; pct: number } {
    let start = 0;
    for (let i = 0; i < this.phases.length; i++) {
      const end = this.phases[i].end;
      if (t <= end || i === this.phases.length - 1) {
        if (end === start)
          fail('INVALID_ARGUMENT', `OneCycleLR: step ${t} falls in phase ${i} of the cycle, which has no length (totalSteps ${this.totalSteps}); PyTorch's raises ZeroDivisionError there: lengthen the cycle or change pctStart`);
        return { phase: i, pct: (t - start) / (end - start) };
      }
      start = end;
    }
    return { phase: this.phases.length - 1, pct: 1 };
  }

  protected chained(_current: number, _base: number, epoch: number, group: number): number {
    if (epoch > this.totalSteps)
      fail('INVALID_ARGUMENT', `OneCycleLR: stepped ${epoch} times; the cycle has totalSteps = ${this.totalSteps} (make it longer, or a new scheduler)`);
    const { phase, pct } = this.where(epoch);
    const ph = this.phases[phase];
    if (this.momentumKey !== null) {
      const m = this.anneal(ph.momentum[group][0], ph.momentum[group][1], pct);
      setMomentum(this.optimizer.paramGroups[group] as unknown as Record<string, unknown>, this.momentumKey, m);
    }
    return this.anneal(ph.lr[group][0], ph.lr[group][1], pct);
  }
}

/** Options of {@link CyclicLR} (torch.optim.lr_scheduler.CyclicLR's keywords). */
export interface CyclicLROptions {
  /** Steps from the base lr up to the maximum (default 2000; PyTorch's step_size_up). */
  stepSizeUp: number;
  /** Steps back down (default, or null: stepSizeUp). */
  stepSizeDown: number | null;
  /** 'triangular' (default: every cycle the same), 'triangular2' (each cycle's height halved) or 'exp_range' (the height times gamma^step). */
  mode: 'triangular' | 'triangular2' | 'exp_range';
  /** exp_range's factor per step (default 1). */
  gamma: number;
  /** A custom scaling of the cycle's height (replaces mode), of the cycle number or of the step (scaleMode). */
  scaleFn: ((x: number) => number) | null;
  /** What scaleFn takes: 'cycle' (default; 1, 2, …) or 'iterations' (the step). */
  scaleMode: 'cycle' | 'iterations';
  /** Cycle the momentum (or Adam's beta1) inversely to the lr, between maxMomentum and baseMomentum (default true). */
  cycleMomentum: boolean;
  /** The momentum at the lr's peak (default 0.8). */
  baseMomentum: number | number[];
  /** The momentum at the base lr (default 0.9). */
  maxMomentum: number | number[];
}

/** A CyclicLR scale function's value, which must be a finite number. */
function scaledBy(fn: (x: number) => number, at: number): number {
  const v = fn(at);
  if (typeof v !== 'number' || !Number.isFinite(v)) fail('INVALID_ARGUMENT', `CyclicLR: scaleFn(${at}) must be a finite number; got ${describe(v)}`);
  return v;
}

/**
 * Cyclical learning rates (Smith 2017; torch.optim.lr_scheduler.CyclicLR):
 * step() after every batch. The lr goes from baseLr up to maxLr over
 * stepSizeUp steps and back over stepSizeDown, the cycle's height scaled by
 * mode (or scaleFn); the momentum (or Adam's beta1) moves the other way,
 * between maxMomentum and baseMomentum. Not chainable (it sets the lr); at
 * construction it sets each group's lr to baseLr, and its momentum or beta1
 * to maxMomentum, as PyTorch's.
 */
export class CyclicLR extends LRScheduler {
  readonly maxLrs: number[];
  readonly stepSizeUp: number;
  readonly stepSizeDown: number;
  readonly mode: 'triangular' | 'triangular2' | 'exp_range';
  readonly gamma: number;
  readonly scaleMode: 'cycle' | 'iterations';
  private readonly scaleFn: (x: number) => number;
  private readonly momentumKey: 'momentum' | 'betas' | null;
  private readonly momenta: { base: number[]; max: number[] };

  constructor(optimizer: Optimizer<{ lr: number }>, baseLr: number | number[], maxLr: number | number[], options?: Partial<CyclicLROptions>) {
    const op = 'CyclicLR';
    const o = checkOptions<CyclicLROptions>(options, op, ['stepSizeUp', 'stepSizeDown', 'mode', 'gamma', 'scaleFn', 'scaleMode', 'cycleMomentum', 'baseMomentum', 'maxMomentum']);
    if (!(optimizer instanceof Optimizer)) fail('INVALID_ARGUMENT', `${op}: expected an Optimizer such as new optim.SGD(model.parameters()); got ${describe(optimizer)}`);
    const groups = optimizer.paramGroups;
    const bases = perGroupValues(op, groups.length, baseLr, 'baseLr');
    const maxes = perGroupValues(op, groups.length, maxLr, 'maxLr');
    [...bases, ...maxes].forEach((v) => checkLr(v, op));
    const up = o.stepSizeUp === undefined ? 2000 : checkFinite(o.stepSizeUp, op, 'stepSizeUp');
    if (!(up > 0)) fail('INVALID_ARGUMENT', `${op}: stepSizeUp must be > 0; got ${up}`);
    const down = o.stepSizeDown === undefined || o.stepSizeDown === null ? up : checkFinite(o.stepSizeDown, op, 'stepSizeDown');
    if (!(down >= 0)) fail('INVALID_ARGUMENT', `${op}: stepSizeDown must be >= 0; got ${down}`);
    const mode = o.mode ?? 'triangular';
    if (mode !== 'triangular' && mode !== 'triangular2' && mode !== 'exp_range')
      fail('INVALID_ARGUMENT', `${op}: mode must be 'triangular', 'triangular2' or 'exp_range'; got ${describe(mode)}`);
    const gamma = o.gamma === undefined ? 1 : checkPositive(o.gamma, op, 'gamma');
    if (o.scaleFn !== undefined && o.scaleFn !== null && typeof o.scaleFn !== 'function')
      fail('INVALID_ARGUMENT', `${op}: scaleFn must be a function of the cycle (or step) number; got ${describe(o.scaleFn)}`);
    const scaleMode = o.scaleMode ?? 'cycle';
    if (scaleMode !== 'cycle' && scaleMode !== 'iterations') fail('INVALID_ARGUMENT', `${op}: scaleMode must be 'cycle' or 'iterations'; got ${describe(scaleMode)}`);
    const cycle = o.cycleMomentum === undefined ? true : checkBoolean(o.cycleMomentum, op, 'cycleMomentum');
    const custom = o.scaleFn ?? null;
    // A mode's own scaling fixes what it takes: triangular(2) the cycle, exp_range the step.
    const takes = custom ? scaleMode : mode === 'exp_range' ? 'iterations' : 'cycle';
    const scaleFn = custom ?? (mode === 'triangular' ? () => 1 : mode === 'triangular2' ? (c: number) => 1 / 2 ** (c - 1) : (t: number) => gamma ** t);
    // The first step's scale (cycle 1, step 0) before anything changes: a scaleFn that fails there changes nothing.
    scaledBy(scaleFn, takes === 'cycle' ? 1 : 0);
    let key: 'momentum' | 'betas' | null = null;
    let momenta = { base: [] as number[], max: [] as number[] };
    if (cycle) {
      key = momentumKeyOf(optimizer, op);
      momenta = { base: perGroupValues(op, groups.length, o.baseMomentum ?? 0.8, 'baseMomentum'), max: perGroupValues(op, groups.length, o.maxMomentum ?? 0.9, 'maxMomentum') };
    }
    // As PyTorch's: the groups start at baseLr (the initial lr later schedulers take), the momentum at its maximum.
    groups.forEach((g, i) => {
      g.lr = bases[i];
      if (key !== null) setMomentum(g as unknown as Record<string, unknown>, key, momenta.max[i]);
    });
    super(optimizer);
    this.baseLrs.splice(0, bases.length, ...bases);
    this.maxLrs = maxes;
    [this.stepSizeUp, this.stepSizeDown, this.mode, this.gamma] = [up, down, mode, gamma];
    this.scaleMode = takes;
    this.scaleFn = scaleFn;
    this.momentumKey = key;
    this.momenta = momenta;
    this.init();
  }

  private scaleAt: [number, number] = [NaN, NaN];

  protected chained(_current: number, base: number, epoch: number, group: number): number {
    const total = this.stepSizeUp + this.stepSizeDown;
    const ratio = this.stepSizeUp / total;
    const cycle = Math.floor(1 + epoch / total);
    const x = 1 + epoch / total - cycle;
    const rise = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
    // One scale per step, taken at the first group, before any group's momentum moves (the step is all or nothing).
    if (group === 0 || this.scaleAt[0] !== epoch) this.scaleAt = [epoch, scaledBy(this.scaleFn, this.scaleMode === 'cycle' ? cycle : epoch)];
    const scale = this.scaleAt[1];
    if (this.momentumKey !== null) {
      const [lo, hi] = [this.momenta.base[group], this.momenta.max[group]];
      setMomentum(this.optimizer.paramGroups[group] as unknown as Record<string, unknown>, this.momentumKey, hi - (hi - lo) * rise * scale);
    }
    return base + (this.maxLrs[group] - base) * rise * scale;
  }
}

/**
 * Runs schedulers one after another (torch's SequentialLR): schedulers[i]
 * drives the lr from milestones[i − 1] on, restarting from the base lr at
 * its milestone (MultiplicativeLR and SWALR, which have no closed form in
 * PyTorch, go on from the current lr there, SWALR one annealing step in).
 * Made from schedulers already built on the same optimizer
 * (a LinearLR warm-up, then a CosineAnnealingLR decay); step() once per epoch.
 */
export class SequentialLR {
  lastEpoch = 0;
  readonly schedulers: readonly LRScheduler[];
  readonly milestones: readonly number[];
  constructor(readonly optimizer: Optimizer<{ lr: number }>, schedulers: readonly LRScheduler[], milestones: readonly number[]) {
    const op = 'SequentialLR';
    if (!Array.isArray(schedulers) || schedulers.length === 0) fail('INVALID_ARGUMENT', `${op}: expected a non-empty array of schedulers; got ${describe(schedulers)}`);
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) fail('INVALID_ARGUMENT', `${op}: schedulers[${i}] must be an LRScheduler; got ${describe(s)}`);
      if (s.optimizer !== optimizer) fail('INVALID_ARGUMENT', `${op}: schedulers[${i}] drives another optimizer than the one given`);
    });
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1)
      fail('INVALID_ARGUMENT', `${op}: expected ${schedulers.length - 1} milestone(s) for ${schedulers.length} schedulers; got ${describe(milestones)}`);
    milestones.forEach((m, i) => {
      checkInteger(m, op, `milestones[${i}]`, 1);
      if (i > 0 && m <= milestones[i - 1]) fail('INVALID_ARGUMENT', `${op}: milestones must increase; got ${describe(milestones)}`);
    });
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    // As PyTorch's: back to the initial lrs (every scheduler's construction moved them), then the first one's epoch 0.
    optimizer.paramGroups.forEach((g) => (g.lr = initialLrs.get(g) ?? g.lr));
    for (const s of schedulers) s.lastEpoch = -1;
    schedulers[0].restart();
  }
  step(): void {
    this.lastEpoch += 1;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) {
      // PyTorch's scheduler.step(0): the next scheduler starts at its epoch 0, from the base lrs (its closed
      // form), except those without one, which go on from the current lr as there (MultiplicativeLR times
      // λ(0); SWALR one annealing step further, its own step count not reset).
      if (!s.continuesAtMilestone) this.optimizer.paramGroups.slice(0, s.baseLrs.length).forEach((g, i) => (g.lr = s.baseLrs[i]));
      s.restart(true);
    } else s.step();
  }
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
  /**
   * Its lastEpoch as `scheduler.lastEpoch` and each scheduler's state under
   * `scheduler.schedulers.<i>.` (as PyTorch's state_dict holds theirs); see
   * LRScheduler.stateDict().
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    writeState(SCHEDULER_PREFIX, { lastEpoch: { kind: 'count', value: this.lastEpoch } }, out);
    this.schedulers.forEach((s, i) => writeState(`${SCHEDULER_PREFIX}schedulers.${i}.`, s.stateFields(), out));
    return out;
  }
  /** Restores what stateDict() gave, to the same schedulers in the same order; see LRScheduler.loadStateDict(). */
  loadStateDict(dict: Record<string, Tensor>): void {
    const op = 'SequentialLR.loadStateDict';
    loadState(dict, op, (d, used) => {
      const v = readState(d, SCHEDULER_PREFIX, { lastEpoch: { kind: 'count', value: this.lastEpoch } }, op, used);
      const children = this.schedulers.map((s, i) => s.readStateFrom(d, `${SCHEDULER_PREFIX}schedulers.${i}.`, op, used));
      return () => {
        this.lastEpoch = v.lastEpoch as number;
        children.forEach((apply) => apply());
      };
    });
  }
}

/** Steps every scheduler in turn at each step() (torch's ChainedScheduler): their effects compose. */
export class ChainedScheduler {
  readonly schedulers: readonly LRScheduler[];
  constructor(schedulers: readonly LRScheduler[]) {
    if (!Array.isArray(schedulers) || schedulers.length === 0) fail('INVALID_ARGUMENT', `ChainedScheduler: expected a non-empty array of schedulers; got ${describe(schedulers)}`);
    schedulers.forEach((s, i) => {
      if (!(s instanceof LRScheduler)) fail('INVALID_ARGUMENT', `ChainedScheduler: schedulers[${i}] must be an LRScheduler; got ${describe(s)}`);
      // As torch 2.x's (1.13 did not check): getLastLr and the chain's meaning assume one optimizer.
      if (s.optimizer !== schedulers[0].optimizer)
        fail('INVALID_ARGUMENT', `ChainedScheduler: schedulers[${i}] drives another optimizer than schedulers[0]; the schedulers of a chain must all drive one optimizer (step the others' schedulers yourself)`);
    });
    this.schedulers = [...schedulers];
  }
  step(): void {
    for (const s of this.schedulers) s.step();
  }
  /** The groups' learning rates now, as PyTorch's (whichever scheduler set them last). */
  getLastLr(): number[] {
    return this.schedulers[0].optimizer.paramGroups.map((g) => g.lr);
  }
  /** Each scheduler's state under `scheduler.schedulers.<i>.`; see LRScheduler.stateDict(). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.schedulers.forEach((s, i) => writeState(`${SCHEDULER_PREFIX}schedulers.${i}.`, s.stateFields(), out));
    return out;
  }
  /** Restores what stateDict() gave, to the same schedulers in the same order; see LRScheduler.loadStateDict(). */
  loadStateDict(dict: Record<string, Tensor>): void {
    const op = 'ChainedScheduler.loadStateDict';
    loadState(dict, op, (d, used) => {
      const children = this.schedulers.map((s, i) => s.readStateFrom(d, `${SCHEDULER_PREFIX}schedulers.${i}.`, op, used));
      return () => children.forEach((apply) => apply());
    });
  }
}

export interface ReduceLROnPlateauOptions {
  /** 'min' (default): a lower metric is better (a loss); 'max': higher is better (an accuracy). */
  mode: 'min' | 'max';
  /** The lr is multiplied by factor (< 1; default 0.1) on a plateau. */
  factor: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience: number;
  /** How much better counts as better (default 1e-4), relative or absolute by thresholdMode. */
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown: number;
  /** The lowest lr, one for all groups or one per group (default 0). */
  minLr: number | number[];
  /** A reduction smaller than eps is not made (default 1e-8). */
  eps: number;
  /** Log each reduction to the console, as PyTorch's verbose (default false). */
  verbose: boolean;
}

/**
 * Reduces the learning rate when a metric stops improving
 * (torch.optim.lr_scheduler.ReduceLROnPlateau, same options and defaults):
 * call step(metric) once per epoch with the validation loss (or accuracy,
 * with mode 'max'). After more than `patience` epochs without an
 * improvement beyond `threshold`, each group's lr becomes max(lr · factor,
 * minLr), then `cooldown` epochs pass before bad epochs count again.
 */
export class ReduceLROnPlateau {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  readonly verbose: boolean;
  /** The best metric so far, the epochs since it (bad epochs), the cooldown epochs left and the epochs stepped. */
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLrs: number[];

  constructor(readonly optimizer: Optimizer<{ lr: number }>, options?: Partial<ReduceLROnPlateauOptions>) {
    const op = 'ReduceLROnPlateau';
    if (!(optimizer instanceof Optimizer)) fail('INVALID_ARGUMENT', `${op}: expected an Optimizer such as new optim.SGD(model.parameters()); got ${describe(optimizer)}`);
    const o = checkOptions<ReduceLROnPlateauOptions>(options, op, ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps', 'verbose']);
    this.verbose = o.verbose === undefined ? false : checkBoolean(o.verbose, op, 'verbose');
    const mode = o.mode ?? 'min';
    if (mode !== 'min' && mode !== 'max') fail('INVALID_ARGUMENT', `${op}: mode must be 'min' or 'max'; got ${describe(mode)}`);
    const thresholdMode = o.thresholdMode ?? 'rel';
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') fail('INVALID_ARGUMENT', `${op}: thresholdMode must be 'rel' or 'abs'; got ${describe(thresholdMode)}`);
    const factor = o.factor === undefined ? 0.1 : checkFinite(o.factor, op, 'factor');
    if (!(factor > 0 && factor < 1)) fail('INVALID_ARGUMENT', `${op}: factor must be in (0, 1) (the lr is multiplied by it); got ${factor}`);
    this.patience = o.patience === undefined ? 10 : checkInteger(o.patience, op, 'patience', 0);
    this.cooldown = o.cooldown === undefined ? 0 : checkInteger(o.cooldown, op, 'cooldown', 0);
    this.threshold = o.threshold === undefined ? 1e-4 : checkFinite(o.threshold, op, 'threshold');
    if (this.threshold < 0) fail('INVALID_ARGUMENT', `${op}: threshold must be >= 0; got ${this.threshold}`);
    this.eps = o.eps === undefined ? 1e-8 : checkFinite(o.eps, op, 'eps');
    const groups = optimizer.paramGroups.length;
    const minLr = o.minLr ?? 0;
    if (Array.isArray(minLr)) {
      if (minLr.length !== groups) fail('INVALID_ARGUMENT', `${op}: minLr has ${minLr.length} entries for ${groups} parameter groups; give one per group or a single number`);
      this.minLrs = minLr.map((v, i) => checkFinite(v, op, `minLr[${i}]`));
    } else this.minLrs = new Array(groups).fill(checkFinite(minLr, op, 'minLr'));
    if (this.minLrs.some((v) => v < 0)) fail('INVALID_ARGUMENT', `${op}: minLr must be >= 0; got ${describe(minLr)}`);
    this.mode = mode;
    this.thresholdMode = thresholdMode;
    this.factor = factor;
    this.best = mode === 'min' ? Infinity : -Infinity;
    this.lastLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  /** True when `a` improves on `best` by more than the threshold. */
  isBetter(a: number, best: number): boolean {
    const t = this.threshold;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - t) : a < best - t;
    return this.thresholdMode === 'rel' ? a > best * (1 + t) : a > best + t;
  }

  /** One epoch's metric (a number, or a one-element Tensor, read back). NaN counts as no improvement. */
  step(metric: number | Tensor): void {
    const op = 'ReduceLROnPlateau.step';
    let current: number;
    if (metric instanceof Tensor) {
      if (metric.size !== 1) fail('INVALID_ARGUMENT', `${op}: the metric must be one number; got a tensor of shape [${metric.shape.join(', ')}]`);
      current = metric.item();
    } else if (typeof metric === 'number') current = metric;
    else fail('INVALID_ARGUMENT', `${op}: expected the epoch's metric (a number, e.g. the validation loss); got ${describe(metric)}`);
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else this.numBadEpochs += 1;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad epochs in cooldown are not counted
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.slice(0, this.minLrs.length).forEach((g, i) => {
        const next = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - next > this.eps) {
          g.lr = next;
          if (this.verbose) {
            // Python's '%.4e' (an exponent of two digits at least), as PyTorch prints it.
            const [mant, exp] = next.toExponential(4).split('e');
            console.log(`Epoch ${String(this.lastEpoch).padStart(5, '0')}: reducing learning rate of group ${i} to ${mant}e${exp[0]}${exp.slice(1).padStart(2, '0')}.`);
          }
        }
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    // The groups it was made with, as LRScheduler's: one added later (addParamGroup) is not its to
    // report, and its stateDict's lastLrs keeps one entry per group it schedules (a resume that
    // adds the group again loads it).
    this.lastLrs = this.optimizer.paramGroups.slice(0, this.minLrs.length).map((g) => g.lr);
  }

  /** The learning rates after the last step (PyTorch's get_last_lr()), of the groups it was made with (not one added later). */
  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  private fields(): StateFields {
    return {
      lastEpoch: { kind: 'count', value: this.lastEpoch },
      best: { kind: 'extended', value: this.best },
      numBadEpochs: { kind: 'count', value: this.numBadEpochs },
      cooldownCounter: { kind: 'count', value: this.cooldownCounter },
      lastLrs: { kind: 'lrs', value: this.lastLrs },
    };
  }
  /**
   * Its counters (PyTorch's state_dict()) as float64 tensors:
   * `scheduler.lastEpoch`, `.best`, `.numBadEpochs`, `.cooldownCounter`,
   * `.lastLrs`; the options come from the constructor. See
   * LRScheduler.stateDict().
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    writeState(SCHEDULER_PREFIX, this.fields(), out);
    return out;
  }
  /** Restores what stateDict() gave; see LRScheduler.loadStateDict(). */
  loadStateDict(dict: Record<string, Tensor>): void {
    const op = 'ReduceLROnPlateau.loadStateDict';
    loadState(dict, op, (d, used) => {
      const v = readState(d, SCHEDULER_PREFIX, this.fields(), op, used);
      return () => {
        this.lastEpoch = v.lastEpoch as number;
        this.best = v.best as number;
        this.numBadEpochs = v.numBadEpochs as number;
        this.cooldownCounter = v.cooldownCounter as number;
        this.lastLrs = [...(v.lastLrs as number[])];
      };
    });
  }
}

/**
 * Clamps every gradient to [−clipValue, clipValue] in place
 * (torch.nn.utils.clip_grad_value_; params an array of Tensors or one
 * Tensor); parameters without a gradient are skipped.
 */
export function clipGradValue(params: Tensor[] | Tensor, clipValue: number): void {
  params = clipParams(params, 'clipGradValue');
  if (typeof clipValue !== 'number' || Number.isNaN(clipValue)) fail('INVALID_ARGUMENT', `clipGradValue: clipValue must be a number >= 0; got ${describe(clipValue)}`);
  if (clipValue < 0) fail('INVALID_ARGUMENT', `clipGradValue: clipValue must be >= 0; got ${clipValue}`);
  if (clipValue === Infinity) return;
  for (const p of params) {
    const g = p.grad;
    if (!g || g.isDisposed) continue;
    isolated(() => tidy(() => void g.assign(clamp(g, -clipValue, clipValue))));
  }
}

export { LBFGS } from './lbfgs';
export type { LBFGSOptions } from './lbfgs';
export { AdaHessian } from './adahessian';
export type { AdaHessianOptions } from './adahessian';
export { AveragedModel, SWALR, getSwaAvgFn, getEmaAvgFn, updateBn } from './swa';
export type { AveragedModelOptions, AvgFn, AveragedForward } from './swa';
