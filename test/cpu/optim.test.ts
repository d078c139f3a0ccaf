/**
 * Optimizers against float64 JavaScript transcriptions of torch.optim's
 * single-tensor (foreach=False) update rules in PyTorch 2.x, plus parameter
 * groups, closures, skipped parameters, option validation, clipGradNorm and
 * the learning-rate schedulers' closed forms.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import * as antler from '../../lib';
import { ErrorCode, optim, Tensor, tensor, tidy } from '../../lib';
import { backprop, expectAntlerError, expectAntlerErrorInTidy, expectClose, expectExact, expectNoLeaksInSuite, makeRng, prod, randomArray, Rng, tensorCounts } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;

expectNoLeaksInSuite(tensorCounts);

// ---------------------------------------------------------------- references

interface SgdOpts {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}
const SGD_DEFAULTS: SgdOpts = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

/** torch.optim.SGD, _single_tensor_sgd, one parameter. buf is null before the first step. */
function sgdRef(param: Float64Array, grad: ArrayLike<number>, state: { buf: Float64Array | null }, o: SgdOpts): void {
  const n = param.length;
  // grad = grad if not maximize else -grad; grad = grad.add(param, alpha=wd)
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = o.maximize ? -grad[i] : grad[i];
    if (o.weightDecay !== 0) d[i] = d[i] + o.weightDecay * param[i];
  }
  if (o.momentum !== 0) {
    if (state.buf === null) state.buf = Float64Array.from(d); // torch.clone(grad)
    else for (let i = 0; i < n; i++) state.buf[i] = state.buf[i] * o.momentum + (1 - o.dampening) * d[i];
    const buf = state.buf;
    for (let i = 0; i < n; i++) d[i] = o.nesterov ? d[i] + o.momentum * buf[i] : buf[i];
  }
  for (let i = 0; i < n; i++) param[i] = param[i] + -o.lr * d[i];
}

interface AdamOpts {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}
const ADAM_DEFAULTS: AdamOpts = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false };
const ADAMW_DEFAULTS: AdamOpts = { ...ADAM_DEFAULTS, weightDecay: 1e-2 };

interface AdamState {
  step: number;
  m: Float64Array;
  v: Float64Array;
  vmax: Float64Array;
}

/** torch.lerp's CPU formula. */
function lerp(a: number, b: number, w: number): number {
  return Math.abs(w) < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w);
}

/** torch.optim.Adam / AdamW, _single_tensor_adam(w), one parameter. */
function adamRef(param: Float64Array, grad: ArrayLike<number>, s: AdamState, o: AdamOpts, decoupled: boolean): void {
  const [beta1, beta2] = o.betas;
  s.step += 1;
  const bc1 = 1 - beta1 ** s.step;
  const bc2 = 1 - beta2 ** s.step;
  const stepSize = o.lr / bc1;
  const bc2Sqrt = Math.sqrt(bc2);
  for (let i = 0; i < param.length; i++) {
    let g = o.maximize ? -grad[i] : grad[i];
    if (o.weightDecay !== 0) {
      if (decoupled) param[i] = param[i] * (1 - o.lr * o.weightDecay);
      else g = g + o.weightDecay * param[i];
    }
    s.m[i] = lerp(s.m[i], g, 1 - beta1);
    s.v[i] = s.v[i] * beta2 + (1 - beta2) * g * g;
    let vUsed = s.v[i];
    if (o.amsgrad) {
      s.vmax[i] = Math.max(s.vmax[i], s.v[i]);
      vUsed = s.vmax[i];
    }
    const denom = Math.sqrt(vUsed) / bc2Sqrt + o.eps;
    param[i] = param[i] + (-stepSize * s.m[i]) / denom; // param.addcdiv_(exp_avg, denom, value=-step_size): ATen's (value·t1)/t2
  }
}

type RmspropOpts = optim.RMSpropOptions;
const RMSPROP_DEFAULTS: RmspropOpts = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false };

/** torch.optim.RMSprop, _single_tensor_rmsprop, one parameter (state zeros before the first step). */
function rmspropRef(param: Float64Array, grad: ArrayLike<number>, s: { sq: Float64Array; ga: Float64Array; buf: Float64Array }, o: RmspropOpts): void {
  for (let i = 0; i < param.length; i++) {
    let g = o.maximize ? -grad[i] : grad[i];
    if (o.weightDecay !== 0) g = g + o.weightDecay * param[i];
    s.sq[i] = s.sq[i] * o.alpha + (1 - o.alpha) * g * g; // square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    let avg: number;
    if (o.centered) {
      s.ga[i] = lerp(s.ga[i], g, 1 - o.alpha); // grad_avg.lerp_(grad, 1 - alpha) (PyTorch 2.x; 1.13 wrote mul_(alpha).add_(grad, alpha=1-alpha), which rounds differently)
      avg = Math.sqrt(s.sq[i] - s.ga[i] * s.ga[i]) + o.eps;
    } else avg = Math.sqrt(s.sq[i]) + o.eps;
    if (o.momentum > 0) {
      s.buf[i] = s.buf[i] * o.momentum + g / avg; // buf.mul_(momentum).addcdiv_(grad, avg)
      param[i] = param[i] + -o.lr * s.buf[i]; // param.add_(buf, alpha=-lr)
    } else param[i] = param[i] + (-o.lr * g) / avg; // param.addcdiv_(grad, avg, value=-lr)
  }
}

type AdagradOpts = optim.AdagradOptions;
const ADAGRAD_DEFAULTS: AdagradOpts = { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false };

/** torch.optim.Adagrad, _single_tensor_adagrad (dense), one parameter; s.sum starts at initial_accumulator_value. */
function adagradRef(param: Float64Array, grad: ArrayLike<number>, s: { step: number; sum: Float64Array }, o: AdagradOpts): void {
  s.step += 1;
  const clr = o.lr / (1 + (s.step - 1) * o.lrDecay);
  for (let i = 0; i < param.length; i++) {
    let g = o.maximize ? -grad[i] : grad[i];
    if (o.weightDecay !== 0) g = g + o.weightDecay * param[i];
    s.sum[i] = s.sum[i] + g * g;
    param[i] = param[i] + (-clr * g) / (Math.sqrt(s.sum[i]) + o.eps); // param.addcdiv_(grad, std, value=-clr)
  }
}

type RadamOpts = optim.RAdamOptions;
const RADAM_DEFAULTS: RadamOpts = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, decoupledWeightDecay: false, maximize: false };

/**
 * torch.optim.RAdam, _single_tensor_radam (PyTorch 2.x), one parameter. s.rectified counts the steps
 * taken with the adaptive term (rho_t > 5), s.plain those without.
 */
function radamRef(param: Float64Array, grad: ArrayLike<number>, s: { step: number; m: Float64Array; v: Float64Array; rectified: number; plain: number }, o: RadamOpts): void {
  const [beta1, beta2] = o.betas;
  s.step += 1;
  const bc1 = 1 - beta1 ** s.step;
  const bc2 = 1 - beta2 ** s.step;
  const rhoInf = 2 / (1 - beta2) - 1;
  const rhoT = rhoInf - (2 * s.step * beta2 ** s.step) / bc2;
  const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
  if (rhoT > 5) s.rectified++;
  else s.plain++;
  for (let i = 0; i < param.length; i++) {
    let g = o.maximize ? -grad[i] : grad[i];
    if (o.weightDecay !== 0) {
      if (o.decoupledWeightDecay) param[i] = param[i] * (1 - o.lr * o.weightDecay); // param.mul_(1 - lr * weight_decay)
      else g = g + o.weightDecay * param[i]; // grad.add(param, alpha=weight_decay)
    }
    s.m[i] = lerp(s.m[i], g, 1 - beta1); // exp_avg.lerp_(grad, 1 - beta1)
    s.v[i] = s.v[i] * beta2 + (1 - beta2) * g * g; // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    const mHat = s.m[i] / bc1; // bias_corrected_exp_avg
    if (rhoT > 5) {
      const adaptive = Math.sqrt(bc2) / (Math.sqrt(s.v[i]) + o.eps); // (bias_correction2 ** 0.5) / exp_avg_sq.sqrt().add_(eps)
      param[i] = param[i] - mHat * o.lr * adaptive * rect; // param.add_(m̂ * lr * adaptive_lr * rect, alpha=-1.0)
    } else param[i] = param[i] - mHat * o.lr; // param.add_(m̂ * lr, alpha=-1.0)
  }
}

type NadamOpts = optim.NAdamOptions;
const NADAM_DEFAULTS: NadamOpts = { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3, decoupledWeightDecay: false, maximize: false };

/**
 * torch.optim.NAdam, _single_tensor_nadam (PyTorch 2.x), one parameter; s.muProduct starts at 1. torch 1.13
 * computed mu_product_next as mu_product·mu·mu_next (mu twice), fixed in 2.0 to mu_product·mu_next, as here.
 */
function nadamRef(param: Float64Array, grad: ArrayLike<number>, s: { step: number; muProduct: number; m: Float64Array; v: Float64Array }, o: NadamOpts): void {
  const [beta1, beta2] = o.betas;
  s.step += 1;
  const bc2 = 1 - beta2 ** s.step;
  const mu = beta1 * (1 - 0.5 * 0.96 ** (s.step * o.momentumDecay));
  const muNext = beta1 * (1 - 0.5 * 0.96 ** ((s.step + 1) * o.momentumDecay));
  s.muProduct *= mu;
  const muProductNext = s.muProduct * muNext;
  for (let i = 0; i < param.length; i++) {
    let g = o.maximize ? -grad[i] : grad[i];
    if (o.weightDecay !== 0) {
      if (o.decoupledWeightDecay) param[i] = param[i] * (1 - o.lr * o.weightDecay);
      else g = g + o.weightDecay * param[i];
    }
    s.m[i] = lerp(s.m[i], g, 1 - beta1);
    s.v[i] = s.v[i] * beta2 + (1 - beta2) * g * g;
    const denom = Math.sqrt(s.v[i] / bc2) + o.eps; // exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
    param[i] = param[i] + ((-o.lr * (1 - mu)) / (1 - s.muProduct)) * g / denom; // addcdiv_(grad, denom, value=-lr (1 - mu) / (1 - mu_product))
    param[i] = param[i] + ((-o.lr * muNext) / (1 - muProductNext)) * s.m[i] / denom; // addcdiv_(exp_avg, denom, value=-lr mu_next / (1 - mu_product_next))
  }
}

type AdamaxOpts = optim.AdamaxOptions;
const ADAMAX_DEFAULTS: AdamaxOpts = { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, maximize: false };

/** torch.optim.Adamax, _single_tensor_adamax (PyTorch 2.x), one parameter. */
function adamaxRef(param: Float64Array, grad: ArrayLike<number>, s: { step: number; m: Float64Array; u: Float64Array }, o: AdamaxOpts): void {
  const [beta1, beta2] = o.betas;
  s.step += 1;
  const clr = o.lr / (1 - beta1 ** s.step);
  for (let i = 0; i < param.length; i++) {
    let g = o.maximize ? -grad[i] : grad[i];
    if (o.weightDecay !== 0) g = g + o.weightDecay * param[i];
    s.m[i] = lerp(s.m[i], g, 1 - beta1);
    s.u[i] = Math.max(s.u[i] * beta2, Math.abs(g) + o.eps); // torch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps))
    param[i] = param[i] + (-clr * s.m[i]) / s.u[i]; // param.addcdiv_(exp_avg, exp_inf, value=-clr)
  }
}

type AdadeltaOpts = optim.AdadeltaOptions;
const ADADELTA_DEFAULTS: AdadeltaOpts = { lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false };

/** torch.optim.Adadelta, _single_tensor_adadelta (PyTorch 2.x), one parameter. */
function adadeltaRef(param: Float64Array, grad: ArrayLike<number>, s: { sq: Float64Array; acc: Float64Array }, o: AdadeltaOpts): void {
  for (let i = 0; i < param.length; i++) {
    let g = o.maximize ? -grad[i] : grad[i];
    if (o.weightDecay !== 0) g = g + o.weightDecay * param[i];
    s.sq[i] = s.sq[i] * o.rho + (1 - o.rho) * g * g; // square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
    const std = Math.sqrt(s.sq[i] + o.eps); // square_avg.add(eps).sqrt_()
    const delta = (Math.sqrt(s.acc[i] + o.eps) / std) * g; // acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
    s.acc[i] = s.acc[i] * o.rho + (1 - o.rho) * delta * delta; // acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
    param[i] = param[i] + -o.lr * delta; // param.add_(delta, alpha=-lr)
  }
}

type RpropOpts = optim.RpropOptions;
const RPROP_DEFAULTS: RpropOpts = { lr: 1e-2, etas: [0.5, 1.2], stepSizes: [1e-6, 50], maximize: false };
/** How often each of Rprop's branches ran (summed over elements and steps). */
interface RpropHits { up: number; down: number; same: number; atMax: number; atMin: number }

/**
 * torch.optim.Rprop, _single_tensor_rprop (PyTorch 2.x), one parameter; step_size starts at lr
 * (torch.full_like(grad, lr)), prev at zeros. NaN products: torch's sign(NaN) is 0 (then "eq(0) → 1").
 */
function rpropRef(param: Float64Array, grad: ArrayLike<number>, s: { step: number; prev: Float64Array; stepSize: Float64Array; hits?: RpropHits }, o: RpropOpts): void {
  const [etaminus, etaplus] = o.etas;
  const [lo, hi] = o.stepSizes;
  s.step += 1;
  for (let i = 0; i < param.length; i++) {
    let g = o.maximize ? -grad[i] : grad[i];
    const prod = g * s.prev[i]; // sign = grad.mul(prev).sign()
    const sign = prod > 0 ? 1 : prod < 0 ? -1 : 0;
    const factor = sign > 0 ? etaplus : sign < 0 ? etaminus : 1; // sign[gt 0] = etaplus; [lt 0] = etaminus; [eq 0] = 1
    const raw = s.stepSize[i] * factor; // step_size.mul_(sign)
    s.stepSize[i] = Math.min(Math.max(raw, lo), hi); // .clamp_(step_size_min, step_size_max)
    if (factor === etaminus) g = 0; // grad[sign.eq(etaminus)] = 0
    param[i] = param[i] + -1 * Math.sign(g) * s.stepSize[i]; // param.addcmul_(grad.sign(), step_size, value=-1)
    s.prev[i] = g; // prev.copy_(grad)
    if (s.hits) {
      if (sign > 0) s.hits.up++;
      else if (sign < 0) s.hits.down++;
      else s.hits.same++;
      if (raw > hi) s.hits.atMax++;
      if (raw < lo) s.hits.atMin++;
    }
  }
}

type AsgdOpts = optim.ASGDOptions;
const ASGD_DEFAULTS: AsgdOpts = { lr: 1e-2, lambd: 1e-4, alpha: 0.75, t0: 1e6, weightDecay: 0, maximize: false };

/**
 * torch.optim.ASGD, _single_tensor_asgd (PyTorch 2.x, capturable False), one parameter: the step
 * uses the state's eta and mu (lr and 1 at first), then sets them from the new step count.
 */
function asgdRef(param: Float64Array, grad: ArrayLike<number>, s: { step: number; eta: number; mu: number; ax: Float64Array; averaged?: number }, o: AsgdOpts): void {
  s.step += 1; // step_t += 1
  for (let i = 0; i < param.length; i++) {
    let g = o.maximize ? -grad[i] : grad[i];
    if (o.weightDecay !== 0) g = g + o.weightDecay * param[i]; // grad.add(param, alpha=weight_decay)
    param[i] = param[i] * (1 - o.lambd * s.eta); // param.mul_(1 - lambd * eta_value)
    param[i] = param[i] + -s.eta * g; // param.add_(grad, alpha=-eta_value)
    if (s.mu !== 1) s.ax[i] = s.ax[i] + (param[i] - s.ax[i]) * s.mu; // ax.add_(param.sub(ax).mul_(mu))
    else s.ax[i] = param[i]; // ax.copy_(param)
  }
  if (s.mu !== 1 && s.averaged !== undefined) s.averaged++;
  s.eta = o.lr / (1 + o.lambd * o.lr * s.step) ** o.alpha; // lr / ((1 + lambd * lr * step) ** alpha)
  s.mu = 1 / Math.max(1, s.step - o.t0); // 1 / max(1, step - t0)
}

/** a·b + c of float32 values rounded once to float32: the double sum rounded to odd, then to float32 (exact, as 53 ≥ 2·24 + 2 bits). */
const fmaBits = new Float64Array(1);
const fmaWord = new BigInt64Array(fmaBits.buffer);
function fma32(a: number, b: number, c: number): number {
  const p = a * b; // exact: 24 + 24 bits
  const s = p + c;
  const bv = s - p;
  const e = p - (s - bv) + (c - bv); // s + e = p + c exactly (TwoSum)
  if (e === 0 || !Number.isFinite(s)) return Math.fround(s);
  fmaBits[0] = s;
  if ((fmaWord[0] & 1n) === 0n) fmaWord[0] += e > 0 === s > 0 ? 1n : -1n; // the odd neighbour on the exact value's side
  return Math.fround(fmaBits[0]);
}

/**
 * torch 1.13's ASGD of a float32 parameter (its default dtype float32), rounded as it rounds: eta and mu
 * float32 tensors; grad.add(param, alpha=wd) and param.add_(grad, alpha=−eta) each one fused multiply-add
 * (its CPU kernel's vectorised fmadd); param.mul_(1 − λ·eta), param.sub(ax), .mul(mu) and ax.add_ one
 * rounding each.
 */
function asgdRef32(param: Float32Array, grad: ArrayLike<number>, s: { step: number; eta: number; mu: number; ax: Float32Array }, o: AsgdOpts): void {
  const f = Math.fround;
  s.step += 1;
  for (let i = 0; i < param.length; i++) {
    let g = o.maximize ? -grad[i] : grad[i];
    if (o.weightDecay !== 0) g = fma32(f(o.weightDecay), param[i], g);
    param[i] = param[i] * f(1 - o.lambd * s.eta);
    param[i] = fma32(f(-s.eta), g, param[i]);
    if (s.mu !== 1) s.ax[i] = s.ax[i] + f(f(param[i] - s.ax[i]) * s.mu);
    else s.ax[i] = param[i];
  }
  s.eta = f(o.lr / (1 + o.lambd * o.lr * s.step) ** o.alpha);
  s.mu = f(1 / Math.max(1, s.step - o.t0));
}

// ---------------------------------------------------------------- drivers

/** Largest |a − e| / max(|e|, 1e-3): relative, floored so values near 0 compare absolutely. */
function maxRelDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), 1e-3);
    if (!(d <= worst)) worst = d; // NaN wins
  }
  return worst;
}

const SHAPES = [[3, 4], [5], [], [2, 3, 2]];

/** |p| in [0.2, 2] with a random sign. */
function initValues(r: Rng, n: number): number[] {
  return Array.from({ length: n }, () => (r.next() < 0.5 ? -1 : 1) * r.uniform(0.2, 2));
}

function makeParams(r: Rng): { params: Tensor[]; ref: Float64Array[] } {
  const ref = SHAPES.map((s) => Float64Array.from(initValues(r, prod(s))));
  const params = SHAPES.map((s, i) => tensor(ref[i], s, { dtype: 'float64', requiresGrad: true }));
  return { params, ref };
}

function setGrad(p: Tensor, g: number[]): void {
  p.zeroGrad();
  p.grad = tensor(g, p.shape, { dtype: 'float64' });
}

/**
 * Fresh gradients for every parameter, at a scale that varies by step; every
 * fourth step is tiny, so v falls below its running max and amsgrad matters.
 */
function drawGrads(r: Rng, step = 0): number[][] {
  const scale = step % 4 === 3 ? r.uniform(1e-4, 1e-3) : r.uniform(0.05, 3);
  return SHAPES.map((s) => randomArray(r, prod(s), -scale, scale));
}

const STEPS = 20;
const TOL = 1e-12;

describe(`SGD matches torch.optim.SGD, 20 float64 steps (seed ${SEED})`, () => {
  const cases: Partial<SgdOpts>[] = [
    { lr: 0.1 },
    { lr: 0.05, momentum: 0.9 },
    { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 },
    { lr: 0.02, momentum: 0.8, nesterov: true, weightDecay: 0.1 },
    { lr: 0.03, momentum: 0.5, maximize: true },
    { lr: 0.07, weightDecay: 0.05, maximize: true },
    { lr: 0.01, momentum: 0.99, dampening: 0.9, weightDecay: 0.3, maximize: true },
    {},
  ];
  test.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', (_name, opts) => {
    const o = { ...SGD_DEFAULTS, ...opts };
    const { params, ref } = makeParams(rng);
    const init = ref.map((r) => Float64Array.from(r));
    const states = params.map(() => ({ buf: null as Float64Array | null }));
    const opt = new optim.SGD(params, opts);
    for (let step = 0; step < STEPS; step++) {
      const grads = drawGrads(rng, step);
      params.forEach((p, i) => setGrad(p, grads[i]));
      expect(opt.step()).toBeUndefined();
      params.forEach((_, i) => sgdRef(ref[i], grads[i], states[i], o));
    }
    params.forEach((p, i) => {
      const err = maxRelDiff(p.dataSync(), ref[i]);
      if (!(err <= TOL)) throw new Error(`param ${i} [${p.shape}]: max relative difference ${err} after ${STEPS} steps (seed ${SEED})`);
      const buf = opt.state.get(p)!.momentumBuffer as Tensor | undefined;
      if (o.momentum === 0) expect(buf).toBeUndefined();
      else expect(maxRelDiff(buf!.dataSync(), states[i].buf!)).toBeLessThanOrEqual(TOL);
    });
    // The parameters did move, by more than the tolerance.
    expect(maxRelDiff(params[0].dataSync(), init[0])).toBeGreaterThan(1e-4);
    opt.dispose();
    antler.dispose(params);
  });
});

describe(`Adam and AdamW match torch.optim, 20 float64 steps (seed ${SEED})`, () => {
  const cases: [string, Partial<AdamOpts>][] = [
    ['Adam', {}],
    ['Adam', { lr: 0.01, betas: [0.8, 0.99] }],
    ['Adam', { lr: 0.01, weightDecay: 0.1 }],
    ['Adam', { lr: 0.02, amsgrad: true }],
    ['Adam', { lr: 0.01, maximize: true, amsgrad: true, weightDecay: 0.05 }],
    ['Adam', { lr: 0.05, eps: 1e-3, betas: [0.5, 0.9] }],
    ['AdamW', {}],
    ['AdamW', { lr: 0.01, weightDecay: 0.5 }],
    ['AdamW', { lr: 0.02, amsgrad: true, weightDecay: 0.1, maximize: true }],
    ['AdamW', { lr: 0.01, weightDecay: 0, betas: [0.95, 0.9999] }],
  ];
  test.each(cases.map(([k, c]) => [`${k} ${JSON.stringify(c)}`, k, c] as const))('%s', (_name, kind, opts) => {
    const decoupled = kind === 'AdamW';
    const o = { ...(decoupled ? ADAMW_DEFAULTS : ADAM_DEFAULTS), ...opts };
    const { params, ref } = makeParams(rng);
    const init = ref.map((r) => Float64Array.from(r));
    const states: AdamState[] = ref.map((r) => ({ step: 0, m: new Float64Array(r.length), v: new Float64Array(r.length), vmax: new Float64Array(r.length) }));
    const opt = decoupled ? new optim.AdamW(params, opts) : new optim.Adam(params, opts);
    for (let step = 0; step < STEPS; step++) {
      const grads = drawGrads(rng, step);
      params.forEach((p, i) => setGrad(p, grads[i]));
      opt.step();
      params.forEach((_, i) => adamRef(ref[i], grads[i], states[i], o, decoupled));
    }
    let vmaxDiffers = false;
    params.forEach((p, i) => {
      const err = maxRelDiff(p.dataSync(), ref[i]);
      if (!(err <= TOL)) throw new Error(`${kind} param ${i} [${p.shape}]: max relative difference ${err} after ${STEPS} steps (seed ${SEED})`);
      const st = opt.state.get(p)!;
      expect(st.step).toBe(STEPS);
      expect(maxRelDiff((st.expAvg as Tensor).dataSync(), states[i].m)).toBeLessThanOrEqual(TOL);
      expect(maxRelDiff((st.expAvgSq as Tensor).dataSync(), states[i].v)).toBeLessThanOrEqual(TOL);
      if (o.amsgrad) {
        expect(maxRelDiff((st.maxExpAvgSq as Tensor).dataSync(), states[i].vmax)).toBeLessThanOrEqual(TOL);
        vmaxDiffers ||= states[i].vmax.some((x, j) => x !== states[i].v[j]);
      } else expect(st.maxExpAvgSq).toBeUndefined();
    });
    expect(maxRelDiff(params[0].dataSync(), init[0])).toBeGreaterThan(1e-4);
    // With amsgrad the max must have been exercised for the case to mean anything.
    if (o.amsgrad) expect(vmaxDiffers).toBe(true);
    opt.dispose();
    antler.dispose(params);
  });

  test('AdamW shrinks a parameter with zero gradient by exactly 1 − lr·wd per step (Adam does not)', () => {
    const init = initValues(rng, 6);
    const pw = tensor(init, [6], { dtype: 'float64', requiresGrad: true });
    const pa = tensor(init, [6], { dtype: 'float64', requiresGrad: true });
    const adamw = new optim.AdamW([pw], { lr: 0.1, weightDecay: 0.2 });
    const adam = new optim.Adam([pa], { lr: 0.1 });
    for (let s = 0; s < 3; s++) {
      setGrad(pw, new Array(6).fill(0));
      setGrad(pa, new Array(6).fill(0));
      adamw.step();
      adam.step();
    }
    // m = v = 0, so the Adam term is 0 / eps = 0; only the decay acts.
    expectClose(pw.dataSync(), init.map((v) => v * (1 - 0.1 * 0.2) ** 3), 1e-15, 0, 'AdamW decay');
    expectExact(pa.dataSync(), init, 'Adam without decay');
    adamw.dispose();
    adam.dispose();
    antler.dispose([pw, pa]);
  });
});

describe(`RMSprop and Adagrad match torch.optim, 20 float64 steps (seed ${SEED})`, () => {
  const rmsCases: Partial<RmspropOpts>[] = [
    {},
    { lr: 0.003, alpha: 0.9 },
    { lr: 0.002, centered: true },
    { lr: 0.001, momentum: 0.9 },
    { lr: 0.002, momentum: 0.5, centered: true, weightDecay: 0.05, maximize: true },
    { lr: 0.01, eps: 1e-3, alpha: 0.5, weightDecay: 0.1 },
  ];
  test.each(rmsCases.map((c) => [JSON.stringify(c), c] as const))('RMSprop %s', (_name, opts) => {
    const o = { ...RMSPROP_DEFAULTS, ...opts };
    const { params, ref } = makeParams(rng);
    const init = ref.map((r) => Float64Array.from(r));
    const states = ref.map((r) => ({ sq: new Float64Array(r.length), ga: new Float64Array(r.length), buf: new Float64Array(r.length) }));
    const opt = new optim.RMSprop(params, opts);
    for (let step = 0; step < STEPS; step++) {
      const grads = drawGrads(rng, step);
      params.forEach((p, i) => setGrad(p, grads[i]));
      opt.step();
      params.forEach((_, i) => rmspropRef(ref[i], grads[i], states[i], o));
    }
    params.forEach((p, i) => {
      const err = maxRelDiff(p.dataSync(), ref[i]);
      if (!(err <= TOL)) throw new Error(`RMSprop param ${i} [${p.shape}]: max relative difference ${err} after ${STEPS} steps (seed ${SEED})`);
      const st = opt.state.get(p)!;
      expect(st.step).toBe(STEPS);
      expect(maxRelDiff((st.squareAvg as Tensor).dataSync(), states[i].sq)).toBeLessThanOrEqual(TOL);
      if (o.centered) expect(maxRelDiff((st.gradAvg as Tensor).dataSync(), states[i].ga)).toBeLessThanOrEqual(TOL);
      else expect(st.gradAvg).toBeUndefined();
      if (o.momentum > 0) expect(maxRelDiff((st.momentumBuffer as Tensor).dataSync(), states[i].buf)).toBeLessThanOrEqual(TOL);
      else expect(st.momentumBuffer).toBeUndefined();
    });
    expect(maxRelDiff(params[0].dataSync(), init[0])).toBeGreaterThan(1e-4);
    opt.dispose();
    antler.dispose(params);
  });

  const adagradCases: Partial<AdagradOpts>[] = [
    {},
    { lr: 0.1, lrDecay: 0.05 },
    { lr: 0.05, initialAccumulatorValue: 0.1, weightDecay: 0.02 },
    { lr: 0.03, maximize: true, eps: 1e-3 },
    { lr: 0.2, lrDecay: 0.3, initialAccumulatorValue: 2, weightDecay: 0.5, maximize: true },
  ];
  test.each(adagradCases.map((c) => [JSON.stringify(c), c] as const))('Adagrad %s', (_name, opts) => {
    const o = { ...ADAGRAD_DEFAULTS, ...opts };
    const { params, ref } = makeParams(rng);
    const init = ref.map((r) => Float64Array.from(r));
    const states = ref.map((r) => ({ step: 0, sum: new Float64Array(r.length).fill(o.initialAccumulatorValue) }));
    const opt = new optim.Adagrad(params, opts);
    for (let step = 0; step < STEPS; step++) {
      const grads = drawGrads(rng, step);
      params.forEach((p, i) => setGrad(p, grads[i]));
      opt.step();
      params.forEach((_, i) => adagradRef(ref[i], grads[i], states[i], o));
    }
    params.forEach((p, i) => {
      const err = maxRelDiff(p.dataSync(), ref[i]);
      if (!(err <= TOL)) throw new Error(`Adagrad param ${i} [${p.shape}]: max relative difference ${err} after ${STEPS} steps (seed ${SEED})`);
      const st = opt.state.get(p)!;
      expect(st.step).toBe(STEPS);
      expect(maxRelDiff((st.sum as Tensor).dataSync(), states[i].sum)).toBeLessThanOrEqual(TOL);
    });
    expect(maxRelDiff(params[0].dataSync(), init[0])).toBeGreaterThan(1e-4);
    opt.dispose();
    antler.dispose(params);
  });
});

describe(`RAdam, NAdam, Adamax and Adadelta match torch.optim, 20 float64 steps (seed ${SEED})`, () => {
  /** Runs STEPS steps of `opt` and of `ref` on the same gradients; checks every parameter and returns the states. */
  function run<S>(name: string, opt: optim.Optimizer<object>, params: Tensor[], ref: Float64Array[], states: S[], step: (r: Float64Array, g: number[], s: S) => void): void {
    const init = ref.map((r) => Float64Array.from(r));
    for (let k = 0; k < STEPS; k++) {
      const grads = drawGrads(rng, k);
      params.forEach((p, i) => setGrad(p, grads[i]));
      opt.step();
      params.forEach((_, i) => step(ref[i], grads[i], states[i]));
    }
    params.forEach((p, i) => {
      const err = maxRelDiff(p.dataSync(), ref[i]);
      if (!(err <= TOL)) throw new Error(`${name} param ${i} [${p.shape}]: max relative difference ${err} after ${STEPS} steps (seed ${SEED})`);
      expect(opt.state.get(p)!.step).toBe(STEPS);
    });
    expect(maxRelDiff(params[0].dataSync(), init[0])).toBeGreaterThan(1e-4);
  }

  const radamCases: Partial<RadamOpts>[] = [
    {},
    { lr: 0.01, betas: [0.8, 0.9] },
    { lr: 0.02, weightDecay: 0.1 },
    { lr: 0.02, weightDecay: 0.1, decoupledWeightDecay: true },
    { lr: 0.01, eps: 1e-3, maximize: true, betas: [0.5, 0.95] },
    // maximize negates the gradient before the L2 term is added (torch's order).
    { lr: 0.02, weightDecay: 0.2, maximize: true },
    { lr: 0.03, weightDecay: 0.3, decoupledWeightDecay: true, maximize: true, betas: [0.9, 0.99] },
    // rho_∞ = 2 / (1 − β2) − 1 ≤ 5: never rectified, every step the bias-corrected momentum.
    { lr: 0.01, betas: [0.9, 0.6] },
  ];
  test.each(radamCases.map((c) => [JSON.stringify(c), c] as const))('RAdam %s', (_name, opts) => {
    const o = { ...RADAM_DEFAULTS, ...opts };
    const { params, ref } = makeParams(rng);
    const states = ref.map((r) => ({ step: 0, m: new Float64Array(r.length), v: new Float64Array(r.length), rectified: 0, plain: 0 }));
    const opt = new optim.RAdam(params, opts);
    run('RAdam', opt, params, ref, states, (r, g, s) => radamRef(r, g, s, o));
    params.forEach((p, i) => {
      const st = opt.state.get(p)!;
      expect(maxRelDiff((st.expAvg as Tensor).dataSync(), states[i].m)).toBeLessThanOrEqual(TOL);
      expect(maxRelDiff((st.expAvgSq as Tensor).dataSync(), states[i].v)).toBeLessThanOrEqual(TOL);
    });
    // The run crosses rho_t = 5: the first steps without the adaptive term, the later with it
    // (only β2 = 0.6 stays below: rho_∞ = 4).
    expect(states[0].plain).toBeGreaterThan(0);
    if (o.betas[1] === 0.6) expect(states[0].rectified).toBe(0);
    else expect(states[0].rectified).toBeGreaterThan(0);
    opt.dispose();
    antler.dispose(params);
  });

  test('RAdam: the steps while rho_t ≤ 5 are exactly −lr·m̂ (no adaptive term), then the rectified ones follow', () => {
    // β2 = 0.999: rho_t = 1, ≈2, ≈3, ≈4, ≈5 − 0.003 at steps 1..5, > 5 from step 6.
    const init = initValues(rng, 5);
    const p = tensor(init, [5], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.RAdam([p], { lr: 0.1 });
    const r = Float64Array.from(init);
    const s = { step: 0, m: new Float64Array(5), v: new Float64Array(5), rectified: 0, plain: 0 };
    const g = randomArray(rng, 5, -1, 1);
    for (let k = 1; k <= 7; k++) {
      setGrad(p, g);
      opt.step();
      radamRef(r, g, s, { ...RADAM_DEFAULTS, lr: 0.1 });
      expect({ k, rectified: s.rectified }).toEqual({ k, rectified: Math.max(0, k - 5) });
      expect(maxRelDiff(p.dataSync(), r)).toBeLessThanOrEqual(TOL);
      // A constant gradient makes m̂ = g (to rounding): each unrectified step moves the parameter by −0.1·g.
      if (k === 5) expectClose(p.dataSync(), init.map((x, i) => x - 0.5 * g[i]), 1e-12, 1e-12, 'RAdam unrectified steps');
    }
    antler.dispose([opt, p]);
  });

  const nadamCases: Partial<NadamOpts>[] = [
    {},
    { lr: 0.01, momentumDecay: 0.1 },
    { lr: 0.01, momentumDecay: 0, betas: [0.8, 0.99] },
    { lr: 0.02, weightDecay: 0.1 },
    { lr: 0.02, weightDecay: 0.1, decoupledWeightDecay: true },
    { lr: 0.01, eps: 1e-3, maximize: true, momentumDecay: 0.05 },
    { lr: 0.02, weightDecay: 0.2, maximize: true, momentumDecay: 0.01 },
    { lr: 0.03, weightDecay: 0.3, decoupledWeightDecay: true, maximize: true, betas: [0.5, 0.9] },
  ];
  test.each(nadamCases.map((c) => [JSON.stringify(c), c] as const))('NAdam %s', (_name, opts) => {
    const o = { ...NADAM_DEFAULTS, ...opts };
    const { params, ref } = makeParams(rng);
    const states = ref.map((r) => ({ step: 0, muProduct: 1, m: new Float64Array(r.length), v: new Float64Array(r.length) }));
    const opt = new optim.NAdam(params, opts);
    run('NAdam', opt, params, ref, states, (r, g, s) => nadamRef(r, g, s, o));
    params.forEach((p, i) => {
      const st = opt.state.get(p)!;
      expect(maxRelDiff((st.expAvg as Tensor).dataSync(), states[i].m)).toBeLessThanOrEqual(TOL);
      expect(maxRelDiff((st.expAvgSq as Tensor).dataSync(), states[i].v)).toBeLessThanOrEqual(TOL);
      expect(typeof st.muProduct).toBe('number');
      expect(Math.abs((st.muProduct as number) - states[i].muProduct)).toBeLessThanOrEqual(1e-15 * states[i].muProduct);
    });
    opt.dispose();
    antler.dispose(params);
  });

  const adamaxCases: Partial<AdamaxOpts>[] = [
    {},
    { lr: 0.01, betas: [0.8, 0.9] },
    { lr: 0.02, weightDecay: 0.1 },
    { lr: 0.01, eps: 1e-2, maximize: true },
    { lr: 0.03, weightDecay: 0.3, maximize: true, betas: [0.5, 0.5], eps: 0.1 },
  ];
  test.each(adamaxCases.map((c) => [JSON.stringify(c), c] as const))('Adamax %s', (_name, opts) => {
    const o = { ...ADAMAX_DEFAULTS, ...opts };
    const { params, ref } = makeParams(rng);
    const states = ref.map((r) => ({ step: 0, m: new Float64Array(r.length), u: new Float64Array(r.length) }));
    const opt = new optim.Adamax(params, opts);
    run('Adamax', opt, params, ref, states, (r, g, s) => adamaxRef(r, g, s, o));
    params.forEach((p, i) => {
      const st = opt.state.get(p)!;
      expect(maxRelDiff((st.expAvg as Tensor).dataSync(), states[i].m)).toBeLessThanOrEqual(TOL);
      expect(maxRelDiff((st.expInf as Tensor).dataSync(), states[i].u)).toBeLessThanOrEqual(TOL);
    });
    opt.dispose();
    antler.dispose(params);
  });

  test('Adamax: a NaN gradient entry makes that entry of expInf NaN, as torch.maximum does (a plain max would drop it); the other entries go on', () => {
    const n = 6;
    const init = initValues(rng, n);
    const p = tensor(init, [n], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.Adamax([p], { lr: 0.05 });
    const r = Float64Array.from(init);
    const s = { step: 0, m: new Float64Array(n), u: new Float64Array(n) };
    const bad = rng.int(0, n - 1);
    for (let k = 0; k < 4; k++) {
      const g = randomArray(rng, n, -1, 1);
      if (k === 1) g[bad] = NaN;
      setGrad(p, g);
      opt.step();
      adamaxRef(r, g, s, { ...ADAMAX_DEFAULTS, lr: 0.05 });
    }
    const st = opt.state.get(p)!;
    const u = (st.expInf as Tensor).dataSync(), got = p.dataSync();
    for (let i = 0; i < n; i++) {
      if (i === bad) {
        expect(Number.isNaN(u[i])).toBe(true);
        expect(Number.isNaN(got[i])).toBe(true);
      } else {
        expect(Math.abs(u[i] - s.u[i])).toBeLessThanOrEqual(TOL * Math.abs(s.u[i]));
        expect(Math.abs(got[i] - r[i])).toBeLessThanOrEqual(TOL * Math.max(1, Math.abs(r[i])));
      }
    }
    opt.dispose();
    p.dispose();
  });

  const adadeltaCases: Partial<AdadeltaOpts>[] = [
    {},
    { lr: 0.5, rho: 0.5 },
    { lr: 2, weightDecay: 0.1 },
    { lr: 1, eps: 1e-3, maximize: true },
    { lr: 0.3, rho: 0.99, weightDecay: 0.3, maximize: true, eps: 1e-4 },
    { rho: 1 },
  ];
  test.each(adadeltaCases.map((c) => [JSON.stringify(c), c] as const))('Adadelta %s', (_name, opts) => {
    const o = { ...ADADELTA_DEFAULTS, ...opts };
    const { params, ref } = makeParams(rng);
    const states = ref.map((r) => ({ sq: new Float64Array(r.length), acc: new Float64Array(r.length) }));
    const opt = new optim.Adadelta(params, opts);
    const init = ref.map((r) => Float64Array.from(r));
    if (o.rho === 1) {
      // rho 1: the averages stay 0, every step is lr·sqrt(eps)/sqrt(eps)·g = lr·g (torch's too).
      for (let k = 0; k < 3; k++) {
        const grads = drawGrads(rng, k);
        params.forEach((p, i) => setGrad(p, grads[i]));
        opt.step();
        params.forEach((_, i) => adadeltaRef(ref[i], grads[i], states[i], o));
      }
      params.forEach((p, i) => expect(maxRelDiff(p.dataSync(), ref[i])).toBeLessThanOrEqual(TOL));
      expect(maxRelDiff(params[0].dataSync(), init[0])).toBeGreaterThan(1e-4);
    } else {
      run('Adadelta', opt, params, ref, states, (r, g, s) => adadeltaRef(r, g, s, o));
      params.forEach((p, i) => {
        const st = opt.state.get(p)!;
        expect(maxRelDiff((st.squareAvg as Tensor).dataSync(), states[i].sq)).toBeLessThanOrEqual(TOL);
        expect(maxRelDiff((st.accDelta as Tensor).dataSync(), states[i].acc)).toBeLessThanOrEqual(TOL);
      });
    }
    opt.dispose();
    antler.dispose(params);
  });

  test("stateDict keys: PyTorch's state under antler's names (NAdam's mu_product a scalar beside step)", () => {
    const p = tensor([1, -2, 3], [3], { dtype: 'float64', requiresGrad: true });
    const cases: [optim.Optimizer<object>, string[]][] = [
      [new optim.RAdam([p]), ['scalars.0.step', 'state.0.expAvg', 'state.0.expAvgSq']],
      [new optim.NAdam([p]), ['scalars.0.muProduct', 'scalars.0.step', 'state.0.expAvg', 'state.0.expAvgSq']],
      [new optim.Adamax([p]), ['scalars.0.step', 'state.0.expAvg', 'state.0.expInf']],
      [new optim.Adadelta([p]), ['scalars.0.step', 'state.0.accDelta', 'state.0.squareAvg']],
    ];
    for (const [opt, keys] of cases) {
      setGrad(p, [0.5, -1, 2]);
      opt.step();
      opt.step();
      tidy(() => {
        const d = opt.stateDict();
        expect(Object.keys(d).filter((k) => !k.startsWith('param_groups.')).sort()).toEqual(keys);
        expect(d['scalars.0.step'].item()).toBe(2);
        if (opt instanceof optim.NAdam) {
          const mu = (t: number) => 0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3));
          expect(d['scalars.0.muProduct'].item()).toBeCloseTo(mu(1) * mu(2), 15);
        }
      });
      opt.dispose();
    }
    p.dispose();
  });

  test('float32 parameters step like float64 ones to float32 precision', () => {
    const makers: ((ps: Tensor[]) => optim.Optimizer<object>)[] = [
      (ps) => new optim.RMSprop(ps, { lr: 0.01, momentum: 0.5, centered: true }),
      (ps) => new optim.Adagrad(ps, { lr: 0.1, lrDecay: 0.01 }),
      (ps) => new optim.RAdam(ps, { lr: 0.01, weightDecay: 0.1 }),
      (ps) => new optim.RAdam(ps, { lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true, maximize: true }),
      (ps) => new optim.NAdam(ps, { lr: 0.01, momentumDecay: 0.05, weightDecay: 0.1 }),
      (ps) => new optim.NAdam(ps, { lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true, maximize: true }),
      (ps) => new optim.Adamax(ps, { lr: 0.01, weightDecay: 0.1, maximize: true }),
      (ps) => new optim.Adadelta(ps, { lr: 0.5, weightDecay: 0.1, maximize: true }),
    ];
    for (const make of makers) {
      const init = initValues(rng, 12);
      const p64 = tensor(init, [3, 4], { dtype: 'float64', requiresGrad: true });
      const p32 = tensor(init, [3, 4], { dtype: 'float32', requiresGrad: true });
      const [o64, o32] = [make([p64]), make([p32])];
      for (let step = 0; step < 10; step++) {
        const g = randomArray(rng, 12, -1, 1);
        setGrad(p64, g);
        p32.zeroGrad();
        p32.grad = tensor(g, [3, 4], { dtype: 'float32' });
        o64.step();
        o32.step();
      }
      expectClose(p32.dataSync(), p64.dataSync(), 1e-5, 1e-5, `${o32.constructor.name} float32 vs float64`);
      antler.dispose([o64, o32, p64, p32]);
    }
  });
});

describe(`Rprop and ASGD match torch.optim, 20 float64 steps (seed ${SEED})`, () => {
  /**
   * Gradients whose signs persist or flip: element i keeps the sign of a fixed pattern with
   * probability keep; elements 2, 7, 12, … always keep it (their step sizes grow every step) and
   * elements 1, 6, 11, … alternate it (a flip every other step: their sizes shrink by η− each
   * time); every seventh element is exactly 0 at odd steps (the sign product 0 after a nonzero prev).
   */
  function rpropGrads(pattern: number[][], keep: number, step: number): number[][] {
    const g = drawGrads(rng, step);
    return g.map((gs, j) =>
      gs.map((v, i) => {
        const kept = Math.abs(v) * pattern[j][i];
        if (i % 7 === 3 && step % 2 === 1) return 0;
        if (i % 5 === 2) return kept;
        if (i % 5 === 1) return step % 2 ? -kept : kept;
        return rng.next() < keep ? kept : v;
      }),
    );
  }

  const rpropCases: Partial<RpropOpts>[] = [
    {},
    { lr: 0.05, etas: [0.3, 1.5] },
    { lr: 0.01, etas: [0.5, 2], stepSizes: [1e-3, 0.05] },
    { lr: 0.2, stepSizes: [0.01, 0.1], maximize: true },
    { lr: 0.01, etas: [0.1, 3], stepSizes: [5e-3, 0.5], maximize: true },
  ];
  test.each(rpropCases.map((c) => [JSON.stringify(c), c] as const))('Rprop %s', (_name, opts) => {
    const o = { ...RPROP_DEFAULTS, ...opts };
    const { params, ref } = makeParams(rng);
    const init = ref.map((r) => Float64Array.from(r));
    const hits: RpropHits = { up: 0, down: 0, same: 0, atMax: 0, atMin: 0 };
    const states = ref.map((r) => ({ step: 0, prev: new Float64Array(r.length), stepSize: new Float64Array(r.length).fill(o.lr), hits }));
    const pattern = ref.map((r) => Array.from(r, () => (rng.next() < 0.5 ? -1 : 1)));
    const opt = new optim.Rprop(params, opts);
    for (let k = 0; k < STEPS; k++) {
      const grads = rpropGrads(pattern, 0.7, k);
      params.forEach((p, i) => setGrad(p, grads[i]));
      opt.step();
      params.forEach((_, i) => rpropRef(ref[i], grads[i], states[i], o));
    }
    params.forEach((p, i) => {
      const err = maxRelDiff(p.dataSync(), ref[i]);
      if (!(err <= TOL)) throw new Error(`Rprop param ${i} [${p.shape}]: max relative difference ${err} after ${STEPS} steps (seed ${SEED})`);
      const st = opt.state.get(p)!;
      expect(st.step).toBe(STEPS);
      expect(maxRelDiff((st.prev as Tensor).dataSync(), states[i].prev)).toBeLessThanOrEqual(TOL);
      expect(maxRelDiff((st.stepSize as Tensor).dataSync(), states[i].stepSize)).toBeLessThanOrEqual(TOL);
    });
    // Every branch ran: a kept sign (η+), a flip (η−, the gradient zeroed), a zero product; the
    // bounds wherever this case can reach them in 20 steps.
    expect(hits.up).toBeGreaterThan(0);
    expect(hits.down).toBeGreaterThan(0);
    expect(hits.same).toBeGreaterThan(0);
    if (o.stepSizes[1] <= 0.5) expect(hits.atMax).toBeGreaterThan(0);
    if (o.stepSizes[0] >= 1e-3) expect(hits.atMin).toBeGreaterThan(0);
    expect(maxRelDiff(params[0].dataSync(), init[0])).toBeGreaterThan(1e-4);
    opt.dispose();
    antler.dispose(params);
  });

  test('Rprop: the first step moves each element by −sign(grad)·lr (clamped to stepSizes), a flip undoes nothing and zeroes prev', () => {
    const p = tensor([1, 1, 1, 1], [4], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.Rprop([p], { lr: 0.1, stepSizes: [1e-6, 0.08] });
    setGrad(p, [2, -3, 0, 1e-9]);
    opt.step();
    // lr 0.1 is above max 0.08: torch clamps every step size, the first included.
    expectClose(p.dataSync(), [1 - 0.08, 1 + 0.08, 1, 1 - 0.08], 1e-15, 0, 'first Rprop step');
    setGrad(p, [-1, -1, 5, 1]);
    opt.step();
    // [flip: η−, no move, prev 0; same sign: η+ clamped to 0.08; 0·5 = 0: unchanged; same: 0.08].
    expectClose(p.dataSync(), [0.92, 1.16, 0.92, 0.84], 1e-15, 0, 'second Rprop step');
    const st = opt.state.get(p)!;
    expectClose((st.prev as Tensor).dataSync(), [0, -1, 5, 1], 0, 0, 'prev');
    expectClose((st.stepSize as Tensor).dataSync(), [0.04, 0.08, 0.08, 0.08], 1e-15, 0, 'step_size');
    antler.dispose([opt, p]);
  });

  const asgdCases: Partial<AsgdOpts>[] = [
    {},
    { lr: 0.05, lambd: 0.01, alpha: 0.5 },
    { lr: 0.02, t0: 5 },
    { lr: 0.02, weightDecay: 0.1 },
    { lr: 0.1, lambd: 0.1, alpha: 1, t0: 0, weightDecay: 0.2, maximize: true },
    { lr: 0.03, maximize: true, t0: 12 },
  ];
  test.each(asgdCases.map((c) => [JSON.stringify(c), c] as const))('ASGD %s', (_name, opts) => {
    const o = { ...ASGD_DEFAULTS, ...opts };
    const { params, ref } = makeParams(rng);
    const states = ref.map((r) => ({ step: 0, eta: o.lr, mu: 1, ax: new Float64Array(r.length), averaged: 0 }));
    const init = ref.map((r) => Float64Array.from(r));
    const opt = new optim.ASGD(params, opts);
    for (let k = 0; k < STEPS; k++) {
      const grads = drawGrads(rng, k);
      params.forEach((p, i) => setGrad(p, grads[i]));
      opt.step();
      params.forEach((_, i) => asgdRef(ref[i], grads[i], states[i], o));
    }
    params.forEach((p, i) => {
      const err = maxRelDiff(p.dataSync(), ref[i]);
      if (!(err <= TOL)) throw new Error(`ASGD param ${i} [${p.shape}]: max relative difference ${err} after ${STEPS} steps (seed ${SEED})`);
      const st = opt.state.get(p)!;
      expect(st.step).toBe(STEPS);
      expect(maxRelDiff((st.ax as Tensor).dataSync(), states[i].ax)).toBeLessThanOrEqual(TOL);
      expect(typeof st.eta).toBe('number');
      expect(st.eta).toBe(states[i].eta);
      expect(st.mu).toBe(states[i].mu);
    });
    // t0 < 19: the last steps average (mu < 1), ax lags the parameter; else ax is the parameter.
    if (o.t0 < STEPS - 1) {
      expect(states[0].averaged).toBeGreaterThan(0);
      expect(maxRelDiff((opt.state.get(params[0])!.ax as Tensor).dataSync(), ref[0])).toBeGreaterThan(1e-6);
    } else {
      expect(states[0].averaged).toBe(0);
      expectExact((opt.state.get(params[0])!.ax as Tensor).dataSync(), params[0].dataSync(), 'ax while mu is 1');
    }
    expect(maxRelDiff(params[0].dataSync(), init[0])).toBeGreaterThan(1e-4);
    opt.dispose();
    antler.dispose(params);
  });

  test.each([
    [{ lr: 0.05, lambd: 0.01, t0: 5, weightDecay: 0.1 }],
    [{ lr: 0.03, alpha: 0.5, t0: 10, maximize: true }],
    [{ lr: 0.2, lambd: 0.3, alpha: 1, t0: 0, weightDecay: 0.5 }],
    // Steps 2 and 22: 1 − λ·eta rounds to another float32 with eta exact than with eta rounded to float32 first.
    [{ lr: 0.2, lambd: 0.5, alpha: 1, t0: 10, weightDecay: 0.05 }],
  ] as Partial<AsgdOpts>[][])('ASGD float32 equals torch 1.13 to the bit over 50 steps (fused multiply-adds, float32 eta and mu) %j', (opts) => {
    const o = { ...ASGD_DEFAULTS, ...opts };
    const sizes = [37, 64, 1];
    const ref = sizes.map((n) => Float32Array.from(initValues(rng, n)));
    const params = ref.map((r) => tensor(r, [r.length], { requiresGrad: true }));
    const states = ref.map((r) => ({ step: 0, eta: Math.fround(o.lr), mu: 1, ax: new Float32Array(r.length) }));
    const opt = new optim.ASGD(params, opts);
    for (let k = 0; k < 50; k++) {
      const scale = rng.uniform(0.05, 3);
      const grads = sizes.map((n) => Float32Array.from(randomArray(rng, n, -scale, scale)));
      params.forEach((p, i) => {
        p.zeroGrad();
        p.grad = tensor(grads[i], p.shape);
      });
      opt.step();
      ref.forEach((r, i) => asgdRef32(r, grads[i], states[i], o));
    }
    params.forEach((p, i) => {
      expectExact(p.dataSync(), ref[i], `ASGD float32 param ${i} ${JSON.stringify(opts)} (seed ${SEED})`, true);
      expectExact((opt.state.get(p)!.ax as Tensor).dataSync(), states[i].ax, `ASGD float32 ax ${i} (seed ${SEED})`, true);
    });
    opt.dispose();
    antler.dispose(params);
  });

  test('ASGD: eta and mu of a step are the ones the previous step set (torch 2.x order)', () => {
    // lr 0.5, lambd 1, alpha 1, t0 1: step 1 uses eta 0.5 and mu 1; step 2 uses eta 0.5/(1 + 0.5) = 1/3
    // and mu 1/max(1, 1 − 1) = 1; step 3 uses eta 0.5/2 = 0.25 and mu 1/max(1, 2 − 1) = 1, and so on.
    const p = tensor([1], [1], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.ASGD([p], { lr: 0.5, lambd: 1, alpha: 1, t0: 1 });
    let x = 1;
    for (const eta of [0.5, 1 / 3, 0.25]) {
      setGrad(p, [1]);
      opt.step();
      x = x * (1 - eta) - eta;
      expectClose(p.dataSync(), [x], 1e-15, 1e-15, `ASGD step with eta ${eta}`);
    }
    const st = opt.state.get(p)!;
    expect([st.step, st.eta, st.mu]).toEqual([3, 0.5 / 2.5, 1 / 2]);
    antler.dispose([opt, p]);
  });

  test("stateDict keys: PyTorch's state under antler's names (Rprop's step_size as stepSize; ASGD's eta and mu scalars beside step)", () => {
    const p = tensor([1, -2, 3], [3], { dtype: 'float64', requiresGrad: true });
    const cases: [optim.Optimizer<object>, string[]][] = [
      [new optim.Rprop([p]), ['scalars.0.step', 'state.0.prev', 'state.0.stepSize']],
      [new optim.ASGD([p], { t0: 0 }), ['scalars.0.eta', 'scalars.0.mu', 'scalars.0.step', 'state.0.ax']],
    ];
    for (const [opt, keys] of cases) {
      setGrad(p, [0.5, -1, 2]);
      opt.step();
      opt.step();
      tidy(() => {
        const d = opt.stateDict();
        expect(Object.keys(d).filter((k) => !k.startsWith('param_groups.')).sort()).toEqual(keys);
        expect(d['scalars.0.step'].item()).toBe(2);
        if (opt instanceof optim.ASGD) {
          expect(d['scalars.0.eta'].item()).toBe(0.01 / (1 + 1e-4 * 0.01 * 2) ** 0.75);
          expect(d['scalars.0.mu'].item()).toBe(0.5);
        } else {
          // Step 1: prev 0, the size stays lr; step 2: the same signs, lr·η+.
          expect(Array.from(d['state.0.stepSize'].dataSync())).toEqual([0.01 * 1.2, 0.01 * 1.2, 0.01 * 1.2]);
        }
      });
      opt.dispose();
    }
    p.dispose();
  });

  test('float32 parameters step like float64 ones to float32 precision', () => {
    const makers: ((ps: Tensor[]) => optim.Optimizer<object>)[] = [
      (ps) => new optim.Rprop(ps, { lr: 0.01, etas: [0.4, 1.5], stepSizes: [1e-3, 0.05] }),
      (ps) => new optim.Rprop(ps, { lr: 0.02, maximize: true }),
      (ps) => new optim.ASGD(ps, { lr: 0.05, lambd: 0.01, t0: 3, weightDecay: 0.1 }),
      (ps) => new optim.ASGD(ps, { lr: 0.05, alpha: 0.5, maximize: true }),
    ];
    for (const make of makers) {
      const init = initValues(rng, 12);
      const p64 = tensor(init, [3, 4], { dtype: 'float64', requiresGrad: true });
      const p32 = tensor(init, [3, 4], { dtype: 'float32', requiresGrad: true });
      const [o64, o32] = [make([p64]), make([p32])];
      const base = randomArray(rng, 12, -1, 1);
      for (let step = 0; step < 10; step++) {
        // Half the elements keep their sign (Rprop's step sizes grow), the rest are fresh.
        const g = randomArray(rng, 12, -1, 1).map((v, i) => (i % 2 ? v : Math.sign(base[i]) * Math.abs(v)));
        setGrad(p64, g);
        p32.zeroGrad();
        p32.grad = tensor(g, [3, 4], { dtype: 'float32' });
        o64.step();
        o32.step();
      }
      expectClose(p32.dataSync(), p64.dataSync(), 1e-5, 1e-5, `${o32.constructor.name} float32 vs float64`);
      if (o64 instanceof optim.ASGD)
        expectClose((o32.state.get(p32)!.ax as Tensor).dataSync(), (o64.state.get(p64)!.ax as Tensor).dataSync(), 1e-5, 1e-5, 'ASGD ax float32 vs float64');
      antler.dispose([o64, o32, p64, p32]);
    }
  });
});

describe(`optimizer mechanics (seed ${SEED})`, () => {
  test('addParamGroup adds a group mid-training (torch add_param_group): defaults inherited, fresh state, checked, saved', () => {
    const { params, ref } = makeParams(rng);
    const [a, b, c, d] = params;
    const opt = new optim.SGD([{ params: [a, b], lr: 0.1 }], { momentum: 0.9, lr: 0.5 });
    const sched = new optim.StepLR(opt, 1, 0.5);
    const opts: SgdOpts[] = [
      { ...SGD_DEFAULTS, lr: 0.1, momentum: 0.9 },
      { ...SGD_DEFAULTS, lr: 0.01, momentum: 0.9, nesterov: true },
    ];
    const states = params.map(() => ({ buf: null as Float64Array | null }));
    const groupOf = [0, 0, 1, 1];
    const train = (n: number, active: number) => {
      for (let s = 0; s < n; s++) {
        const grads = drawGrads(rng);
        params.forEach((p, i) => (i < active ? setGrad(p, grads[i]) : p.zeroGrad()));
        opt.step();
        params.forEach((_, i) => i < active && sgdRef(ref[i], grads[i], states[i], opts[groupOf[i]]));
        sched.step();
        opts[0].lr = opt.paramGroups[0].lr;
      }
    };
    train(3, 2);
    // Refused, and nothing changes: a parameter already in a group, an unknown option, a bad value, no params.
    expectAntlerError(() => opt.addParamGroup({ params: [c, a] }), 'INVALID_ARGUMENT', /parameter 1 of group 1 .*also appears in an earlier parameter group/);
    expectAntlerError(() => opt.addParamGroup({ params: [c], betas: [0.9, 0.99] } as never), 'INVALID_ARGUMENT', /betas/);
    expectAntlerError(() => opt.addParamGroup({ params: [c], momentum: -1 }), 'INVALID_ARGUMENT', /momentum must be ≥ 0/);
    expectAntlerError(() => opt.addParamGroup(null as never), 'INVALID_ARGUMENT', /params array/);
    expectAntlerError(() => opt.addParamGroup({ params: new Set([c]) } as never), 'INVALID_ARGUMENT', /^SGD\.addParamGroup: the params of parameter group 1 must be an array of Tensors \(or one Tensor\); got a Set \(pass \[\.\.\.set\]/);
    expectAntlerError(() => opt.addParamGroup({ params: 'c' } as never), 'INVALID_ARGUMENT', /the params of parameter group 1 must be an array of Tensors \(or one Tensor\); got 'c'/);
    const nonLeaf = c.mul(2);
    expectAntlerError(() => opt.addParamGroup({ params: [nonLeaf] }), 'INVALID_ARGUMENT', /leaf/);
    nonLeaf.dispose();
    expect(opt.paramGroups.length).toBe(1);
    // A group given one Tensor as params, as torch accepts, then another with its own options over the defaults.
    opt.addParamGroup({ params: c, lr: 0.01, nesterov: true });
    opt.addParamGroup({ params: [d], lr: 0.01, nesterov: true, name: 'head' } as never);
    expect(opt.paramGroups.map((g) => [g.params.length, g.lr, g.momentum, g.nesterov])).toEqual([
      [2, 0.1 * 0.5 ** 3, 0.9, false],
      [1, 0.01, 0.9, true],
      [1, 0.01, 0.9, true],
    ]);
    // The scheduler made before schedules its own group; the new ones keep their lr.
    train(4, 4);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1 * 0.5 ** 7, 0.01, 0.01]);
    params.forEach((p, i) => expect(maxRelDiff(p.dataSync(), ref[i])).toBeLessThanOrEqual(TOL));
    // The new groups' state is saved and loads into an optimizer made with the same groups.
    const dict = opt.stateDict();
    expect(Object.keys(dict)).toEqual(expect.arrayContaining(['param_groups.2.lr', 'param_groups.2.nesterov', 'state.3.momentumBuffer']));
    const again = new optim.SGD([{ params: [a, b] }, { params: [c] }, { params: [d] }], { momentum: 0.9 });
    again.loadStateDict(dict);
    expect(again.paramGroups.map((g) => [g.lr, g.nesterov])).toEqual(opt.paramGroups.map((g) => [g.lr, g.nesterov]));
    expectExact((again.state.get(d)!.momentumBuffer as Tensor).dataSync(), (opt.state.get(d)!.momentumBuffer as Tensor).dataSync(), 'the added group\'s buffer');
    antler.dispose(Object.values(dict));
    again.dispose();
    // A dict saved before the add, or after it, loaded where the groups differ in number: refused, the groups counted.
    const fewer = new optim.SGD([{ params: [a, b] }, { params: [c] }], { momentum: 0.9 });
    const older = fewer.stateDict();
    expectAntlerError(() => opt.loadStateDict(older), 'INVALID_ARGUMENT', /^SGD\.loadStateDict: the dict holds 2 parameter groups; this optimizer has 3 \(a dict saved before an addParamGroup: load it first, then add the group\)$/);
    const newer = opt.stateDict();
    expectAntlerError(() => fewer.loadStateDict(newer), 'INVALID_ARGUMENT', /'param_groups\.2\.\w+' names parameter group 2; this optimizer has 2 \(a dict saved after an addParamGroup: make the optimizer, and add the groups, as the saved run did/);
    antler.dispose([...Object.values(older), ...Object.values(newer)]);
    fewer.dispose();
    // L-BFGS keeps one group, as torch's.
    const lbfgs = new optim.LBFGS([a]);
    expectAntlerError(() => lbfgs.addParamGroup({ params: [b] }), 'INVALID_ARGUMENT', /one parameter group/);
    expect(lbfgs.paramGroups.length).toBe(1);
    opt.dispose();
    antler.dispose(params);
  });

  test('ReduceLROnPlateau made before addParamGroup: leaves the added group, reports its own groups, and resumes from its stateDict', () => {
    // Bad epochs 2, 3, 5 and 7 (patience 0): group 0's lr halves at each; the added group keeps its lr.
    const metrics = [5, 6, 7, 4, 8, 3, 9, 2];
    const run = (resumeAt: number | null) => {
      const [a, b] = [antler.zeros([2], { dtype: 'float64', requiresGrad: true }), antler.zeros([2], { dtype: 'float64', requiresGrad: true })];
      let opt = new optim.SGD([a], { lr: 0.1, momentum: 0.9 });
      let sched = new optim.ReduceLROnPlateau(opt, { patience: 0, factor: 0.5 });
      opt.addParamGroup({ params: [b], lr: 0.03 });
      const seen: number[][] = [];
      metrics.forEach((m, i) => {
        if (i === resumeAt) {
          // A checkpoint, then the program made again as the first time: the optimizer, its scheduler, the group added.
          const dict = { ...opt.stateDict(), ...sched.stateDict() };
          opt.dispose();
          opt = new optim.SGD([a], { lr: 0.1, momentum: 0.9 });
          sched = new optim.ReduceLROnPlateau(opt, { patience: 0, factor: 0.5 });
          opt.addParamGroup({ params: [b], lr: 0.03 });
          opt.loadStateDict(dict);
          sched.loadStateDict(dict);
          antler.dispose(Object.values(dict));
        }
        sched.step(m);
        expect(sched.getLastLr()).toEqual([opt.paramGroups[0].lr]);
        seen.push(opt.paramGroups.map((g) => g.lr));
      });
      opt.dispose();
      antler.dispose([a, b]);
      return seen;
    };
    const straight = run(null);
    expect(straight[straight.length - 1]).toEqual([0.1 * 0.5 ** 4, 0.03]);
    expect(run(5)).toEqual(straight);
    // A scheduler made after the group was added (two groups) and a checkpoint of one made before (one): named as such.
    const [a, b] = [antler.zeros([2], { dtype: 'float64', requiresGrad: true }), antler.zeros([2], { dtype: 'float64', requiresGrad: true })];
    const opt = new optim.SGD([a], { lr: 0.1 });
    const before = new optim.StepLR(opt, 2);
    opt.addParamGroup({ params: [b] });
    const dict = before.stateDict();
    const after = new optim.StepLR(opt, 2);
    expectAntlerError(() => after.loadStateDict(dict), 'SHAPE_MISMATCH', /'scheduler\.baseLrs' has shape \[1\]; expected \[2\], one learning rate per parameter group the scheduler was made with \(a group added later by addParamGroup/);
    antler.dispose([...Object.values(dict), a, b]);
    opt.dispose();
  });

  test('each parameter group has its own option arrays: betas changed in place in one group change no other, nor the defaults a later addParamGroup takes', () => {
    const ps = [0, 1, 2, 3].map(() => antler.zeros([2], { dtype: 'float64', requiresGrad: true }));
    const betas: [number, number] = [0.8, 0.9];
    const opt = new optim.Adam([{ params: [ps[0]] }, { params: [ps[1]], lr: 0.01 }], { betas });
    opt.addParamGroup({ params: [ps[2]] });
    betas[0] = 0.1; // the caller's array, reused
    opt.paramGroups[1].betas[0] = 0.5; // one group's beta1, in place
    opt.paramGroups[2].betas[1] = 0.6;
    opt.addParamGroup({ params: [ps[3]] });
    expect(opt.paramGroups.map((g) => g.betas)).toEqual([[0.8, 0.9], [0.5, 0.9], [0.8, 0.6], [0.8, 0.9]]);
    expect(opt.defaults.betas).toEqual([0.8, 0.9]);
    // The params arrays too, as torch's list(params): a caller's array pushed to later (here a parameter already in a group) is not the group's.
    const list = [ps[0]];
    const sgd = new optim.SGD(list);
    const head = [ps[1]];
    sgd.addParamGroup({ params: head });
    list.push(ps[1]);
    head.push(ps[0]);
    expect(sgd.paramGroups.map((g) => g.params.length)).toEqual([1, 1]);
    expect(sgd.paramGroups[0].params[0]).toBe(ps[0]);
    expect(sgd.paramGroups[1].params[0]).toBe(ps[1]);
    const rprop = new optim.Rprop([ps[0]], { etas: [0.4, 1.3] });
    rprop.addParamGroup({ params: [ps[1]] });
    rprop.paramGroups[1].etas[0] = 0.3;
    expect(rprop.paramGroups[0].etas).toEqual([0.4, 1.3]);
    antler.dispose(ps);
  });

  test('parameter groups take their own options and inherit the rest', () => {
    const { params, ref } = makeParams(rng);
    const [a, b, c, d] = params;
    const opt = new optim.SGD(
      [
        { params: [a, b], lr: 0.1 },
        { params: [c, d], lr: 0.01, nesterov: true },
      ],
      { momentum: 0.9, lr: 0.5 },
    );
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum, g.nesterov])).toEqual([
      [0.1, 0.9, false],
      [0.01, 0.9, true],
    ]);
    const groupOf = [0, 0, 1, 1];
    const opts: SgdOpts[] = [
      { ...SGD_DEFAULTS, lr: 0.1, momentum: 0.9 },
      { ...SGD_DEFAULTS, lr: 0.01, momentum: 0.9, nesterov: true },
    ];
    const states = params.map(() => ({ buf: null as Float64Array | null }));
    for (let s = 0; s < 5; s++) {
      const grads = drawGrads(rng);
      params.forEach((p, i) => setGrad(p, grads[i]));
      opt.step();
      params.forEach((_, i) => sgdRef(ref[i], grads[i], states[i], opts[groupOf[i]]));
    }
    params.forEach((p, i) => expect(maxRelDiff(p.dataSync(), ref[i])).toBeLessThanOrEqual(TOL));
    // Changing a group's lr takes effect on the next step.
    opt.paramGroups[0].lr = 0;
    const frozen = Float64Array.from(a.dataSync());
    setGrad(a, new Array(a.size).fill(1));
    setGrad(b, new Array(b.size).fill(1));
    opt.step();
    expectExact(a.dataSync(), frozen, 'lr 0 leaves the parameter');
    opt.dispose();
    antler.dispose(params);
  });

  test('parameter groups with differing options each step by their own (amsgrad, maximize, nesterov, dampening, centered, initialAccumulatorValue, …)', () => {
    // Every option a group overrides differs from the constructor's defaults, so an update that read
    // this.defaults (or another group) instead of its own group would go elsewhere.
    type Ref = (p: Float64Array, g: number[], s: never, o: never) => void;
    const kinds = {
      SGD: { make: (g: never, o: never) => new optim.SGD(g, o), base: SGD_DEFAULTS, ref: sgdRef as Ref, state: () => ({ buf: null }) },
      Adam: { make: (g: never, o: never) => new optim.Adam(g, o), base: ADAM_DEFAULTS, ref: ((p, g, s, o) => adamRef(p, g, s, o, false)) as Ref, state: (n: number) => ({ step: 0, m: new Float64Array(n), v: new Float64Array(n), vmax: new Float64Array(n) }) },
      AdamW: { make: (g: never, o: never) => new optim.AdamW(g, o), base: ADAMW_DEFAULTS, ref: ((p, g, s, o) => adamRef(p, g, s, o, true)) as Ref, state: (n: number) => ({ step: 0, m: new Float64Array(n), v: new Float64Array(n), vmax: new Float64Array(n) }) },
      RMSprop: { make: (g: never, o: never) => new optim.RMSprop(g, o), base: RMSPROP_DEFAULTS, ref: rmspropRef as Ref, state: (n: number) => ({ sq: new Float64Array(n), ga: new Float64Array(n), buf: new Float64Array(n) }) },
      Adagrad: { make: (g: never, o: never) => new optim.Adagrad(g, o), base: ADAGRAD_DEFAULTS, ref: adagradRef as Ref, state: (n: number, o: Record<string, unknown>) => ({ step: 0, sum: new Float64Array(n).fill(o.initialAccumulatorValue as number) }) },
      RAdam: { make: (g: never, o: never) => new optim.RAdam(g, o), base: RADAM_DEFAULTS, ref: radamRef as Ref, state: (n: number) => ({ step: 0, m: new Float64Array(n), v: new Float64Array(n), rectified: 0, plain: 0 }) },
      NAdam: { make: (g: never, o: never) => new optim.NAdam(g, o), base: NADAM_DEFAULTS, ref: nadamRef as Ref, state: (n: number) => ({ step: 0, muProduct: 1, m: new Float64Array(n), v: new Float64Array(n) }) },
      Adamax: { make: (g: never, o: never) => new optim.Adamax(g, o), base: ADAMAX_DEFAULTS, ref: adamaxRef as Ref, state: (n: number) => ({ step: 0, m: new Float64Array(n), u: new Float64Array(n) }) },
      Adadelta: { make: (g: never, o: never) => new optim.Adadelta(g, o), base: ADADELTA_DEFAULTS, ref: adadeltaRef as Ref, state: (n: number) => ({ sq: new Float64Array(n), acc: new Float64Array(n) }) },
      Rprop: { make: (g: never, o: never) => new optim.Rprop(g, o), base: RPROP_DEFAULTS, ref: rpropRef as Ref, state: (n: number, o: Record<string, unknown>) => ({ step: 0, prev: new Float64Array(n), stepSize: new Float64Array(n).fill(o.lr as number) }) },
      ASGD: { make: (g: never, o: never) => new optim.ASGD(g, o), base: ASGD_DEFAULTS, ref: asgdRef as Ref, state: (n: number, o: Record<string, unknown>) => ({ step: 0, eta: o.lr as number, mu: 1, ax: new Float64Array(n) }) },
    };
    const cases: [keyof typeof kinds, Record<string, unknown>, Record<string, unknown>[]][] = [
      ['SGD', { lr: 0.05, momentum: 0.9 }, [{ dampening: 0.5, weightDecay: 0.1 }, { nesterov: true, maximize: true, lr: 0.02 }]],
      ['Adam', { lr: 0.02 }, [{ amsgrad: true, betas: [0.8, 0.99] }, { maximize: true, weightDecay: 0.1, eps: 1e-3 }]],
      ['AdamW', { lr: 0.02, amsgrad: true }, [{ maximize: true }, { amsgrad: false, weightDecay: 0.3, betas: [0.5, 0.9] }]],
      ['RMSprop', { lr: 0.003 }, [{ centered: true, momentum: 0.5 }, { alpha: 0.8, maximize: true, weightDecay: 0.1, eps: 1e-3 }]],
      ['Adagrad', { lr: 0.05 }, [{ initialAccumulatorValue: 0.5, lrDecay: 0.1 }, { maximize: true, eps: 1e-3, weightDecay: 0.2 }]],
      ['RAdam', { lr: 0.02 }, [{ weightDecay: 0.1, decoupledWeightDecay: true, betas: [0.8, 0.99] }, { maximize: true, weightDecay: 0.1, eps: 1e-3 }]],
      ['NAdam', { lr: 0.02, momentumDecay: 0.01 }, [{ weightDecay: 0.1, decoupledWeightDecay: true }, { maximize: true, momentumDecay: 0.1, betas: [0.5, 0.9] }]],
      ['Adamax', { lr: 0.02 }, [{ betas: [0.8, 0.99], weightDecay: 0.1 }, { maximize: true, eps: 1e-3 }]],
      ['Adadelta', { lr: 0.5 }, [{ rho: 0.8, weightDecay: 0.1 }, { maximize: true, eps: 1e-4, lr: 2 }]],
      ['Rprop', { lr: 0.02 }, [{ etas: [0.3, 1.5], stepSizes: [1e-3, 0.04] }, { maximize: true, lr: 0.05 }]],
      ['ASGD', { lr: 0.02, lambd: 0.01 }, [{ t0: 2, weightDecay: 0.1 }, { maximize: true, alpha: 0.5, lr: 0.05 }]],
    ];
    const groupOf = [0, 0, 1, 1];
    for (const [kind, options, groups] of cases) {
      const k = kinds[kind];
      const { params, ref } = makeParams(rng);
      const opts = groups.map((g) => ({ ...k.base, ...options, ...g }));
      const states = ref.map((r, i) => k.state(r.length, opts[groupOf[i]]));
      const opt = k.make([{ params: [params[0], params[1]], ...groups[0] }, { params: [params[2], params[3]], ...groups[1] }] as never, options as never);
      for (let step = 0; step < 8; step++) {
        const grads = drawGrads(rng, step);
        params.forEach((p, i) => setGrad(p, grads[i]));
        opt.step();
        params.forEach((_, i) => k.ref(ref[i], grads[i], states[i] as never, opts[groupOf[i]] as never));
      }
      params.forEach((p, i) => {
        const err = maxRelDiff(p.dataSync(), ref[i]);
        expect({ kind, param: i, ok: err <= TOL }).toEqual({ kind, param: i, ok: true });
      });
      opt.dispose();
      antler.dispose(params);
    }
  });

  test('a state dict saved mid-training from two groups of same-shaped parameters resumes each parameter with its own state', () => {
    // Two groups whose parameters have the same shapes: a dict that paired state.i with the wrong
    // parameter would load without a shape error; the resumed run must still match the reference.
    const shapes = [[3, 2], [4], [3, 2], [4]];
    const init = shapes.map((s) => initValues(rng, prod(s)));
    const grads = Array.from({ length: 6 }, (_, step) => shapes.map((s) => randomArray(rng, prod(s), -1, 1).map((v) => v * (step % 3 === 2 ? 1e-3 : 1))));
    const makeOpt = (ps: Tensor[]) => new optim.Adam([{ params: [ps[0], ps[1]], amsgrad: true, lr: 0.03 }, { params: [ps[2], ps[3]], betas: [0.5, 0.9], weightDecay: 0.1 }], { lr: 0.01 });
    const opts: AdamOpts[] = [{ ...ADAM_DEFAULTS, lr: 0.03, amsgrad: true }, { ...ADAM_DEFAULTS, lr: 0.01, betas: [0.5, 0.9], weightDecay: 0.1 }];
    const first = init.map((v, i) => tensor(v, shapes[i], { dtype: 'float64', requiresGrad: true }));
    const opt1 = makeOpt(first);
    const doStep = (ps: Tensor[], o: optim.Adam, step: number) => {
      ps.forEach((p, i) => setGrad(p, grads[step][i]));
      o.step();
    };
    for (let s = 0; s < 3; s++) doStep(first, opt1, s);
    const resumed = first.map((p, i) => tensor(p.dataSync(), shapes[i], { dtype: 'float64', requiresGrad: true }));
    const opt2 = makeOpt(resumed);
    tidy(() => opt2.loadStateDict(opt1.stateDict()));
    for (let s = 3; s < 6; s++) doStep(resumed, opt2, s);
    // The reference: six steps of adamRef, each parameter with its group's options.
    init.forEach((v, i) => {
      const r = Float64Array.from(v), n = r.length;
      const st: AdamState = { step: 0, m: new Float64Array(n), v: new Float64Array(n), vmax: new Float64Array(n) };
      for (let s = 0; s < 6; s++) adamRef(r, grads[s][i], st, opts[i < 2 ? 0 : 1], false);
      expect({ param: i, err: maxRelDiff(resumed[i].dataSync(), r) <= TOL }).toEqual({ param: i, err: true });
    });
    antler.dispose([opt1, opt2, ...first, ...resumed]);
  });

  test('step(closure) runs the closure first and returns its loss', () => {
    const xs = initValues(rng, 4);
    const p = tensor(xs, [4], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.SGD([p], { lr: 0.1 });
    let calls = 0;
    const made: Tensor[] = [];
    const loss = opt.step(() => {
      calls++;
      opt.zeroGrad();
      const l = tidy(() => p.square().sum()); // Σ p², gradient 2p
      l.backward();
      made.push(l);
      return l;
    });
    expect(calls).toBe(1);
    expectClose([loss!], [xs.reduce((a, v) => a + v * v, 0)], 1e-15, 0, 'returned loss');
    expectClose(p.dataSync(), xs.map((v) => v - 0.1 * 2 * v), 1e-15, 0, 'updated with the closure gradient');
    // A closure may return a plain number too, or nothing (then step returns undefined).
    expect(opt.step(() => 2.5)).toBe(2.5);
    expect(opt.step(() => undefined as unknown as number)).toBeUndefined();
    // The closure runs inside tidy(): what it creates and does not keep is freed.
    let inner: Tensor | null = null;
    let kept: Tensor | null = null;
    opt.step(() => {
      inner = p.mul(2);
      kept = antler.keep(p.mul(3));
      return 0;
    });
    expect(inner!.isDisposed).toBe(true);
    expect(kept!.isDisposed).toBe(false);
    kept!.dispose();
    antler.dispose(made);
    opt.dispose();
    p.dispose();
  });

  test('parameters without a gradient are skipped (no update, no state)', () => {
    const { params, ref } = makeParams(rng);
    const opt = new optim.Adam(params, { lr: 0.1 });
    const grads = drawGrads(rng);
    setGrad(params[1], grads[1]);
    setGrad(params[3], grads[3]);
    opt.step();
    expectExact(params[0].dataSync(), ref[0], 'param 0 untouched');
    expectExact(params[2].dataSync(), ref[2], 'param 2 untouched');
    expect(opt.state.has(params[0]) || opt.state.has(params[2])).toBe(false);
    expect(opt.state.has(params[1]) && opt.state.has(params[3])).toBe(true);
    const s1: AdamState = { step: 0, m: new Float64Array(ref[1].length), v: new Float64Array(ref[1].length), vmax: new Float64Array(ref[1].length) };
    adamRef(ref[1], grads[1], s1, { ...ADAM_DEFAULTS, lr: 0.1 }, false);
    expect(maxRelDiff(params[1].dataSync(), ref[1])).toBeLessThanOrEqual(TOL);
    opt.zeroGrad();
    expect(params.every((p) => p.grad === null)).toBe(true);
    opt.dispose();
    antler.dispose(params);
  });

  test("zeroGrad(false) keeps zero gradients (PyTorch's set_to_none=False): momentum and weight decay still move such a parameter", () => {
    // SGD, lr 0.1, momentum 0.9, weight decay 0.1; q gets a gradient only at the first step.
    const run = (setToNone: boolean) => {
      const p = tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true }), q = tensor([3, 4], [2], { dtype: 'float64', requiresGrad: true });
      const opt = new optim.SGD([p, q], { lr: 0.1, momentum: 0.9, weightDecay: 0.1 });
      const qs: number[][] = [];
      for (let k = 0; k < 3; k++) {
        opt.zeroGrad(setToNone);
        backprop(() => (k === 0 ? antler.add(antler.sum(antler.square(p)), antler.sum(antler.square(q))) : antler.sum(antler.square(p))));
        opt.step();
        qs.push(Array.from(q.dataSync()));
      }
      const grad = q.grad ? Array.from(q.grad.dataSync()) : null;
      opt.dispose();
      antler.dispose([p, q]);
      return { qs, grad };
    };
    // By hand: buf = g + wd q at the first step (g = 2q), then buf = 0.9 buf + (0 + wd q); q -= lr buf.
    const ref = (setToNone: boolean) => {
      let q = [3, 4], buf = [0, 0];
      const out: number[][] = [];
      for (let k = 0; k < 3; k++) {
        if (k === 0 || !setToNone) {
          const d = q.map((v) => (k === 0 ? 2 * v : 0) + 0.1 * v);
          buf = k === 0 ? d : buf.map((b, i) => 0.9 * b + d[i]);
          q = q.map((v, i) => v - 0.1 * buf[i]);
        }
        out.push(q);
      }
      return out;
    };
    const kept = run(false), freed = run(true);
    expectClose(kept.qs.flat(), ref(false).flat(), 1e-15, 0, 'zeroGrad(false)');
    expectClose(freed.qs.flat(), ref(true).flat(), 1e-15, 0, 'zeroGrad()');
    expect(kept.grad).toEqual([0, 0]);
    expect(freed.grad).toBeNull();
    // In place: a reference to .grad sees the zeros.
    const t = tensor([1, 2], [2], { requiresGrad: true });
    backprop(() => antler.sum(antler.square(t)));
    const g = t.grad!;
    t.zeroGrad(false);
    expect(t.grad).toBe(g);
    expect(Array.from(g.dataSync())).toEqual([0, 0]);
    expectAntlerError(() => t.zeroGrad('no' as never), 'INVALID_ARGUMENT', /^zeroGrad: setToNone must be a boolean; got 'no'$/);
    t.dispose();
  });

  test('step() after the model was disposed throws DISPOSED naming the parameter; zeroGrad() passes over it', () => {
    const model = new antler.nn.Linear(2, 2);
    const opt = new optim.Adam(model.parameters(), { lr: 0.1 });
    tidy(() => model.forward(antler.ones([3, 2])).sum().backward());
    opt.step();
    opt.zeroGrad();
    model.dispose();
    expect(() => opt.zeroGrad()).not.toThrow();
    // Before, step() skipped the disposed parameters and returned as if it had updated them.
    expectAntlerErrorInTidy(() => opt.step(), 'DISPOSED', /^Adam\.step: parameter 0 \(shape \[2, 2\], float32\) has been disposed \(model\.dispose\(\)\?\); an optimizer cannot outlive its parameters/);
    // Also with a closure: the check comes first, the closure does not run.
    let ran = false;
    expectAntlerErrorInTidy(() => opt.step(() => ((ran = true), 0)), 'DISPOSED');
    expect(ran).toBe(false);
    opt.dispose();

    // With groups the message names the group, and nothing is updated.
    const a = tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true });
    const b = tensor([3, 4, 5], [3], { dtype: 'float64', requiresGrad: true });
    const sgd = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    setGrad(a, [1, 1]);
    b.dispose();
    expectAntlerErrorInTidy(() => sgd.step(), 'DISPOSED', /^SGD\.step: parameter 0 of parameter group 1 \(shape \[3\], float64\) has been disposed/);
    expectExact(a.dataSync(), [1, 2], 'a not updated by the failed step');
    sgd.dispose();
    a.dispose();
  });

  test('invalid options and parameters throw', () => {
    const p = tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true });
    const bad: [string, () => unknown, ErrorCode][] = [
      ['SGD negative lr', () => new optim.SGD([p], { lr: -0.1 }), 'INVALID_ARGUMENT'],
      ['SGD negative momentum', () => new optim.SGD([p], { momentum: -0.5 }), 'INVALID_ARGUMENT'],
      ['SGD negative weightDecay', () => new optim.SGD([p], { weightDecay: -1 }), 'INVALID_ARGUMENT'],
      ['SGD nesterov without momentum', () => new optim.SGD([p], { nesterov: true }), 'INVALID_ARGUMENT'],
      ['SGD nesterov with dampening', () => new optim.SGD([p], { nesterov: true, momentum: 0.9, dampening: 0.1 }), 'INVALID_ARGUMENT'],
      ['SGD NaN lr', () => new optim.SGD([p], { lr: NaN }), 'INVALID_ARGUMENT'],
      ['SGD negative lr in a group', () => new optim.SGD([{ params: [p], lr: -1 }]), 'INVALID_ARGUMENT'],
      ['Adam negative lr', () => new optim.Adam([p], { lr: -1e-3 }), 'INVALID_ARGUMENT'],
      ['Adam beta1 = 1', () => new optim.Adam([p], { betas: [1, 0.999] }), 'INVALID_ARGUMENT'],
      ['Adam beta2 = 1', () => new optim.Adam([p], { betas: [0.9, 1] }), 'INVALID_ARGUMENT'],
      ['Adam beta2 > 1', () => new optim.Adam([p], { betas: [0.9, 1.5] }), 'INVALID_ARGUMENT'],
      ['Adam negative beta', () => new optim.Adam([p], { betas: [-0.1, 0.9] }), 'INVALID_ARGUMENT'],
      ['Adam negative eps', () => new optim.Adam([p], { eps: -1e-8 }), 'INVALID_ARGUMENT'],
      ['AdamW negative weightDecay', () => new optim.AdamW([p], { weightDecay: -0.01 }), 'INVALID_ARGUMENT'],
      ['RMSprop negative alpha', () => new optim.RMSprop([p], { alpha: -0.9 }), 'INVALID_ARGUMENT'],
      ['RMSprop negative momentum', () => new optim.RMSprop([p], { momentum: -0.1 }), 'INVALID_ARGUMENT'],
      ['RMSprop non-boolean centered', () => new optim.RMSprop([p], { centered: 1 as never }), 'INVALID_ARGUMENT'],
      ['Adagrad negative lrDecay', () => new optim.Adagrad([p], { lrDecay: -1 }), 'INVALID_ARGUMENT'],
      ['Adagrad negative initialAccumulatorValue', () => new optim.Adagrad([p], { initialAccumulatorValue: -0.1 }), 'INVALID_ARGUMENT'],
      ['Adagrad NaN eps', () => new optim.Adagrad([p], { eps: NaN }), 'INVALID_ARGUMENT'],
      ['RAdam negative lr', () => new optim.RAdam([p], { lr: -1 }), 'INVALID_ARGUMENT'],
      ['RAdam beta2 = 1', () => new optim.RAdam([p], { betas: [0.9, 1] }), 'INVALID_ARGUMENT'],
      ['RAdam negative weightDecay', () => new optim.RAdam([p], { weightDecay: -0.1 }), 'INVALID_ARGUMENT'],
      ['RAdam non-boolean decoupledWeightDecay', () => new optim.RAdam([p], { decoupledWeightDecay: 1 as never }), 'INVALID_ARGUMENT'],
      ['NAdam negative momentumDecay', () => new optim.NAdam([p], { momentumDecay: -0.004 }), 'INVALID_ARGUMENT'],
      ['NAdam NaN eps', () => new optim.NAdam([p], { eps: NaN }), 'INVALID_ARGUMENT'],
      ['NAdam one beta', () => new optim.NAdam([p], { betas: [0.9] as never }), 'INVALID_ARGUMENT'],
      ['NAdam non-boolean maximize', () => new optim.NAdam([p], { maximize: 'yes' as never }), 'INVALID_ARGUMENT'],
      ['Adamax negative beta1', () => new optim.Adamax([p], { betas: [-0.1, 0.999] }), 'INVALID_ARGUMENT'],
      ['Adamax negative eps', () => new optim.Adamax([p], { eps: -1e-8 }), 'INVALID_ARGUMENT'],
      ['Adadelta rho > 1', () => new optim.Adadelta([p], { rho: 1.1 }), 'INVALID_ARGUMENT'],
      ['Adadelta negative rho', () => new optim.Adadelta([p], { rho: -0.1 }), 'INVALID_ARGUMENT'],
      ['Adadelta negative eps', () => new optim.Adadelta([p], { eps: -1e-6 }), 'INVALID_ARGUMENT'],
      ['Adadelta infinite lr', () => new optim.Adadelta([p], { lr: Infinity }), 'INVALID_ARGUMENT'],
      ['Rprop negative lr', () => new optim.Rprop([p], { lr: -0.01 }), 'INVALID_ARGUMENT'],
      ['Rprop etaminus ≥ 1', () => new optim.Rprop([p], { etas: [1, 1.2] }), 'INVALID_ARGUMENT'],
      ['Rprop etaminus 0', () => new optim.Rprop([p], { etas: [0, 1.2] }), 'INVALID_ARGUMENT'],
      ['Rprop etaplus ≤ 1', () => new optim.Rprop([p], { etas: [0.5, 1] }), 'INVALID_ARGUMENT'],
      ['Rprop one eta', () => new optim.Rprop([p], { etas: [0.5] as never }), 'INVALID_ARGUMENT'],
      ['Rprop NaN eta', () => new optim.Rprop([p], { etas: [NaN, 1.2] }), 'INVALID_ARGUMENT'],
      ['Rprop min step size above max', () => new optim.Rprop([p], { stepSizes: [1, 0.5] }), 'INVALID_ARGUMENT'],
      ['Rprop negative min step size', () => new optim.Rprop([p], { stepSizes: [-1, 0.5] }), 'INVALID_ARGUMENT'],
      ['Rprop infinite max step size', () => new optim.Rprop([p], { stepSizes: [0, Infinity] }), 'INVALID_ARGUMENT'],
      ['Rprop non-boolean maximize', () => new optim.Rprop([p], { maximize: 1 as never }), 'INVALID_ARGUMENT'],
      ['ASGD negative lr', () => new optim.ASGD([p], { lr: -0.01 }), 'INVALID_ARGUMENT'],
      ['ASGD negative weightDecay', () => new optim.ASGD([p], { weightDecay: -0.1 }), 'INVALID_ARGUMENT'],
      ['ASGD negative lambd', () => new optim.ASGD([p], { lambd: -1e-4 }), 'INVALID_ARGUMENT'],
      ['ASGD NaN alpha', () => new optim.ASGD([p], { alpha: NaN }), 'INVALID_ARGUMENT'],
      ['ASGD infinite t0', () => new optim.ASGD([p], { t0: Infinity }), 'INVALID_ARGUMENT'],
      ['ASGD non-boolean maximize', () => new optim.ASGD([p], { maximize: 'no' as never }), 'INVALID_ARGUMENT'],
      ['no parameters', () => new optim.SGD([]), 'INVALID_ARGUMENT'],
      ['a parameter twice', () => new optim.SGD([{ params: [p] }, { params: [p] }]), 'INVALID_ARGUMENT'],
      ['a non-leaf parameter', () => new optim.SGD([p.mul(2)]), 'INVALID_ARGUMENT'],
      ['an int32 parameter', () => new optim.SGD([tensor([1], undefined, { dtype: 'int32' })]), 'DTYPE_MISMATCH'],
    ];
    for (const [name, call, code] of bad) {
      const e = expectAntlerErrorInTidy(call, code);
      expect({ name, message: e.message.length > 10 }).toEqual({ name, message: true });
    }
    // Each message names the option, what it must be, and what was passed.
    expectAntlerErrorInTidy(() => new optim.SGD([p], { lr: -0.1 }), 'INVALID_ARGUMENT', /^SGD: lr must be ≥ 0; got -0\.1$/);
    expectAntlerErrorInTidy(() => new optim.SGD([p], { momentum: -0.5 }), 'INVALID_ARGUMENT', /^SGD: momentum must be ≥ 0; got -0\.5$/);
    expectAntlerErrorInTidy(() => new optim.Adam([p], { betas: [0.9, 1] }), 'INVALID_ARGUMENT', /^Adam: betas\[1\] must be in \[0, 1\); got 1$/);
    expectAntlerErrorInTidy(() => new optim.Adam([p], { eps: -1 }), 'INVALID_ARGUMENT', /^Adam: eps must be ≥ 0; got -1$/);
    expectAntlerErrorInTidy(() => new optim.AdamW([p], { weightDecay: -0.01 }), 'INVALID_ARGUMENT', /^AdamW: weightDecay must be ≥ 0; got -0\.01$/);
    expectAntlerErrorInTidy(() => new optim.RMSprop([p], { alpha: -0.9 }), 'INVALID_ARGUMENT', /^RMSprop: alpha must be ≥ 0; got -0\.9$/);
    expectAntlerErrorInTidy(() => new optim.Adagrad([p], { initial_accumulator_value: 0.1 } as never), 'INVALID_ARGUMENT', /^Adagrad: unknown option 'initial_accumulator_value'; .*'initialAccumulatorValue'/);
    expectAntlerErrorInTidy(() => new optim.SGD([p], { nesterov: true }), 'INVALID_ARGUMENT', /^SGD: nesterov needs momentum > 0 and dampening 0; got momentum 0, dampening 0$/);
    expectAntlerErrorInTidy(() => new optim.RAdam([p], { betas: [0.9, 1] }), 'INVALID_ARGUMENT', /^RAdam: betas\[1\] must be in \[0, 1\); got 1$/);
    expectAntlerErrorInTidy(() => new optim.RAdam([p], { decoupled_weight_decay: true } as never), 'INVALID_ARGUMENT', /^RAdam: unknown option 'decoupled_weight_decay'; .*'decoupledWeightDecay'/);
    expectAntlerErrorInTidy(() => new optim.NAdam([p], { momentumDecay: -0.004 }), 'INVALID_ARGUMENT', /^NAdam: momentumDecay must be ≥ 0; got -0\.004$/);
    expectAntlerErrorInTidy(() => new optim.NAdam([p], { momentum_decay: 0.1 } as never), 'INVALID_ARGUMENT', /^NAdam: unknown option 'momentum_decay'; .*'momentumDecay'/);
    expectAntlerErrorInTidy(() => new optim.Adamax([p], { eps: -1 }), 'INVALID_ARGUMENT', /^Adamax: eps must be ≥ 0; got -1$/);
    expectAntlerErrorInTidy(() => new optim.Adadelta([p], { rho: 1.1 }), 'INVALID_ARGUMENT', /^Adadelta: rho must be in \[0, 1\]; got 1\.1$/);
    expectAntlerErrorInTidy(() => new optim.Adadelta([p], { weightDecay: -2 }), 'INVALID_ARGUMENT', /^Adadelta: weightDecay must be ≥ 0; got -2$/);
    expectAntlerErrorInTidy(() => new optim.Rprop([p], { etas: [0.5, 1] }), 'INVALID_ARGUMENT', /^Rprop: etas must satisfy 0 < etaminus < 1 < etaplus; got \[0\.5, 1\]$/);
    expectAntlerErrorInTidy(() => new optim.Rprop([p], { stepSizes: [1, 0.5] }), 'INVALID_ARGUMENT', /^Rprop: stepSizes must satisfy 0 ≤ min ≤ max; got \[1, 0\.5\]$/);
    expectAntlerErrorInTidy(() => new optim.Rprop([p], { step_sizes: [0, 1] } as never), 'INVALID_ARGUMENT', /^Rprop: unknown option 'step_sizes'; .*'stepSizes'/);
    expectAntlerErrorInTidy(() => new optim.ASGD([p], { lambd: -1 }), 'INVALID_ARGUMENT', /^ASGD: lambd must be ≥ 0; got -1$/);
    expectAntlerErrorInTidy(() => new optim.ASGD([p], { weight_decay: 0.1 } as never), 'INVALID_ARGUMENT', /^ASGD: unknown option 'weight_decay'; .*'weightDecay'/);
    p.dispose();
  });
  test('options changed after the constructor are checked again before a step changes anything (every group, every optimizer)', () => {
    tidy(() => {
      const F = { dtype: 'float64' as const, requiresGrad: true };
      const make = (): [Tensor, Tensor] => [tensor([1, 2], [2], F), tensor([3], [1], F)];
      const cases: [string, (ps: Tensor[]) => optim.Optimizer<object>, (g: Record<string, unknown>) => void, RegExp][] = [
        ['Adam', (ps) => new optim.Adam([{ params: [ps[0]] }, { params: [ps[1]] }], { lr: 0.1 }), (g) => (g.lr = NaN), /^Adam\.step \(parameter group 1\): lr must be finite; got NaN$/],
        ['Adam', (ps) => new optim.Adam([{ params: [ps[0]] }, { params: [ps[1]] }]), (g) => (g.betas = undefined), /^Adam\.step \(parameter group 1\): betas must be \[beta1, beta2\]; got undefined$/],
        ['SGD', (ps) => new optim.SGD([{ params: [ps[0]] }, { params: [ps[1]] }], { lr: 0.1 }), (g) => (g.momentum = -1), /^SGD\.step \(parameter group 1\): momentum must be ≥ 0; got -1$/],
        ['AdamW', (ps) => new optim.AdamW([{ params: [ps[0]] }, { params: [ps[1]] }]), (g) => (g.learningRate = 0.1), /^AdamW\.step: unknown option 'learningRate' in parameter group 1/],
      ];
      for (const [, make2, spoil, message] of cases) {
        const ps = make();
        const opt = make2(ps);
        ps.forEach((p) => (p.grad = antler.onesLike(p)));
        spoil(opt.paramGroups[1] as unknown as Record<string, unknown>);
        expectAntlerError(() => opt.step(), 'INVALID_ARGUMENT', message);
        // Nothing moved, no step was counted.
        expect([...ps[0].dataSync(), ...ps[1].dataSync()]).toEqual([1, 2, 3]);
        expect(opt.state.size).toBe(0);
      }
      // The closure optimizers check before their first evaluation.
      const [x] = make();
      const lb = new optim.LBFGS([x]);
      (lb.paramGroups[0] as { lr: number }).lr = -1;
      let calls = 0;
      expectAntlerError(() => lb.step(() => (calls++, x.square().sum())), 'INVALID_ARGUMENT', /^LBFGS\.step: lr must be ≥ 0; got -1$/);
      const ah = new optim.AdaHessian([x]);
      (ah.paramGroups[0] as { eps: number }).eps = -1;
      expectAntlerError(() => ah.step(() => (calls++, x.square().sum())), 'INVALID_ARGUMENT', /^AdaHessian\.step: eps must be ≥ 0; got -1$/);
      expect(calls).toBe(0);
      expect(Array.from(x.dataSync())).toEqual([1, 2]);
    });
  });

  test('unknown or misspelled options are rejected, in the options and in every parameter group', () => {
    const p = tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true });
    const q = tensor([3], [1], { dtype: 'float64', requiresGrad: true });
    const sgdKeys = /expected one of 'lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'$/;
    const adamKeys = /expected one of 'lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'$/;
    // Before, these were ignored: lr stayed 0.001 and weightDecay 0.
    expectAntlerErrorInTidy(() => new optim.Adam([p], { learningRate: 0.1 } as never), 'INVALID_ARGUMENT', /^Adam: unknown option 'learningRate'; /);
    expectAntlerErrorInTidy(() => new optim.Adam([p], { lr: 0.1, weight_decay: 0.1 } as never), 'INVALID_ARGUMENT', /^Adam: unknown option 'weight_decay'; /);
    expectAntlerErrorInTidy(() => new optim.Adam([p], { beta1: 0.8 } as never), 'INVALID_ARGUMENT', adamKeys);
    expectAntlerErrorInTidy(() => new optim.AdamW([p], { weight_decay: 0.1 } as never), 'INVALID_ARGUMENT', /^AdamW: unknown option 'weight_decay'; .*'weightDecay'/);
    expectAntlerErrorInTidy(() => new optim.SGD([p], { lr: 0.1, nesterov: true, momentum: 0.9, dampning: 0 } as never), 'INVALID_ARGUMENT', sgdKeys);
    // In a parameter group: params plus the optimizer's option names.
    expectAntlerErrorInTidy(
      () => new optim.SGD([{ params: [p] }, { params: [q], learning_rate: 0.5 } as never], { lr: 0.1 }),
      'INVALID_ARGUMENT',
      /^SGD: unknown option 'learning_rate' in parameter group 1; expected one of 'params', 'lr', 'momentum', /,
    );
    expectAntlerErrorInTidy(() => new optim.Adam([{ params: [p], betas: [0.9, 0.99], epsilon: 1e-6 } as never]), 'INVALID_ARGUMENT', /'epsilon' in parameter group 0/);
    expectAntlerErrorInTidy(() => new optim.SGD([{ params: [p], betas: [0.9, 0.99] } as never]), 'INVALID_ARGUMENT', /^SGD: unknown option 'betas' in parameter group 0/);
    // A key of the user's own (a name, a tag) is kept in the group, as PyTorch's; the steps go on.
    const tagged = new optim.SGD([{ params: [p], name: 'backbone' } as never, { params: [q], lr: 0.5 }], { lr: 0.1 });
    expect((tagged.paramGroups[0] as unknown as { name: string }).name).toBe('backbone');
    (tagged.paramGroups[1] as unknown as { tag: number }).tag = 1;
    p.grad = antler.onesLike(p);
    q.grad = antler.onesLike(q);
    tagged.step();
    expectClose(p.dataSync(), [0.9, 1.9], 1e-15, 0, 'tagged group stepped');
    expectAntlerErrorInTidy(() => {
      (tagged.paramGroups[0] as unknown as { weight_decay: number }).weight_decay = 0.1;
      tagged.step();
    }, 'INVALID_ARGUMENT', /^SGD\.step: unknown option 'weight_decay' in parameter group 0/);
    p.grad = null;
    q.grad = null;
    // PyTorch's positional lr, SGD(params, 0.1), is an options object here.
    expectAntlerErrorInTidy(() => new optim.SGD([p], 0.1 as never), 'INVALID_ARGUMENT', /^SGD: options must be an object such as \{ lr: 0\.01 \}; got 0\.1$/);
    expectAntlerErrorInTidy(() => new optim.Adam([p], null as never), 'INVALID_ARGUMENT', /options must be an object.*got null/);
    expectAntlerErrorInTidy(() => new optim.SGD([p, 3] as never), 'INVALID_ARGUMENT', /parameters must be Tensors; got 3/);
    expectAntlerErrorInTidy(() => new optim.SGD([{ params: [p] }, 'b'] as never), 'INVALID_ARGUMENT', /parameter group 1 must be an object with a params array; got 'b'/);
    // A group's params as one Tensor is taken as [tensor], as PyTorch's.
    const single = new optim.RMSprop([{ params: p as never }, { params: [q], lr: 0.5 }]);
    expect(single.paramGroups.map((g) => g.params)).toEqual([[p], [q]]);
    single.dispose();
    // The valid spellings still work, and a group overrides the options.
    const opt = new optim.SGD([{ params: [p] }, { params: [q], lr: 0.5, momentum: 0.9 }], { lr: 0.1, weightDecay: 0.01 });
    expect(opt.paramGroups.map((g) => [g.lr, g.momentum, g.weightDecay])).toEqual([[0.1, 0, 0.01], [0.5, 0.9, 0.01]]);
    expect(opt.defaults.lr).toBe(0.1);
    opt.dispose();
    antler.dispose([p, q]);
  });

  test('a model cast to float64 after some Adam steps: the state follows it, and the steps go on as in float32', () => {
    const make = () => {
      antler.setSeed(rng.seed);
      return new antler.nn.Linear(3, 2);
    };
    const [a, b] = [make(), make()];
    const [oa, ob] = [new optim.Adam(a.parameters(), { lr: 0.05 }), new optim.Adam(b.parameters(), { lr: 0.05 })];
    const xs = randomArray(rng, 12, -1, 1);
    const x32 = tensor(xs, [4, 3]), x64 = tensor(xs, [4, 3], { dtype: 'float64' });
    const stepOf = (m: antler.nn.Linear, o: optim.Adam, x: Tensor) => {
      o.zeroGrad();
      tidy(() => m.forward(x).tanh().sum().backward());
      o.step();
    };
    for (let i = 0; i < 3; i++) [stepOf(a, oa, x32), stepOf(b, ob, x32)];
    b.cast('float64');
    for (let i = 0; i < 3; i++) [stepOf(a, oa, x32), stepOf(b, ob, x64)];
    expect(b.weight.dtype).toBe('float64');
    a.parameters().forEach((p, i) => expectClose(b.parameters()[i].dataSync(), p.dataSync(), 1e-5, 1e-5, `parameter ${i}`));
    antler.dispose([oa, ob, a, b, x32, x64]);
  });

  test("a state tensor disposed behind the optimizer's back: step() throws DISPOSED before updating anything (no silent restart from zeros)", () => {
    const p = tensor(randomArray(rng, 3), [3], { dtype: 'float64', requiresGrad: true });
    const q = tensor(randomArray(rng, 2), [2], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.Adam([p, q], { lr: 0.1 });
    const grads = () => {
      opt.zeroGrad();
      tidy(() => antler.add(p.square().sum(), q.square().sum()).backward());
    };
    grads();
    opt.step();
    grads();
    (opt.state.get(q)!.expAvgSq as Tensor).dispose();
    const [p0, q0] = [Float64Array.from(p.dataSync()), Float64Array.from(q.dataSync())];
    expectAntlerErrorInTidy(() => opt.step(), 'DISPOSED', /^Adam\.step: its state 'expAvgSq' for a parameter of shape \[2\] has been disposed/);
    expectExact(p.dataSync(), p0, 'p unchanged');
    expectExact(q.dataSync(), q0, 'q unchanged');
    opt.dispose();
    antler.dispose([p, q]);
  });

  test('a parameter passed twice: in one group, or in two, each named in the error', () => {
    const p = tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true });
    const q = tensor([3], [1], { dtype: 'float64', requiresGrad: true });
    expectAntlerErrorInTidy(() => new optim.Adam([p, q, p]), 'INVALID_ARGUMENT', /^Adam: parameter 2 of group 0 is the same tensor as parameter 0 \(shape \[2\]\); pass each parameter once/);
    expectAntlerErrorInTidy(() => new optim.SGD([{ params: [q] }, { params: [p, q] }], { lr: 0.1 }), 'INVALID_ARGUMENT', /^SGD: parameter 1 of group 1 \(shape \[1\]\) also appears in an earlier parameter group/);
    antler.dispose([p, q]);
  });

  test('passing a module instead of its parameters names the module', () => {
    const model = new antler.nn.Linear(2, 2);
    for (const make of [() => new optim.SGD(model as never), () => new optim.Adam(model as never, { lr: 0.1 })])
      expectAntlerErrorInTidy(make, 'INVALID_ARGUMENT', /expected a non-empty array of parameters \(model\.parameters\(\)\) or parameter groups; got a Linear$/);
    model.dispose();
  });

  test("console.log shows an optimizer as PyTorch prints one: each group's size and options, not its tensors", () => {
    const model = new antler.nn.Sequential(new antler.nn.Linear(2, 3), new antler.nn.Linear(3, 1));
    const [w0, b0, w1] = model.parameters();
    const sgd = new optim.SGD([{ params: [w0, b0], name: "enc'" } as never, { params: [w1], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
    const want = [
      'SGD(',
      "  group 0 (2 parameters, 9 values): lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, name: 'enc\\''",
      '  group 1 (1 parameter, 3 values): lr: 0.5, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false',
      ')',
    ].join('\n');
    expect(String(sgd)).toBe(want);
    expect(inspect(sgd)).toBe(want);
    expect(String(new optim.Adam(model.parameters()))).toBe(
      'Adam(\n  group 0 (4 parameters, 13 values): lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false\n)',
    );
    expect(String(new optim.LBFGS([w1]))).toMatch(/^LBFGS\(\n  group 0 \(1 parameter, 3 values\): lr: 1, .*lineSearchFn: null\n\)$/);
    model.dispose();
    // A disposed model's optimizer still prints (it reads no tensor).
    expect(String(sgd)).toBe(want);
  });
});

describe(`optimizer stateDict: resuming (seed ${SEED})`, () => {
  // Train 6 steps straight; train 3, save model, optimizer and scheduler with antler.save,
  // load them into fresh objects, train 3 more: the same weights to the bit.
  const makeOpt = {
    SGD: (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
    Adam: (ps: Tensor[]) => new optim.Adam(ps, { lr: 0.05, amsgrad: true }),
    AdamW: (ps: Tensor[]) => new optim.AdamW(ps, { lr: 0.05 }),
    AdaHessian: (ps: Tensor[]) => new optim.AdaHessian(ps, { lr: 0.05, updateEach: 2 }),
    RMSprop: (ps: Tensor[]) => new optim.RMSprop(ps, { lr: 0.01, momentum: 0.9, centered: true }),
    Adagrad: (ps: Tensor[]) => new optim.Adagrad(ps, { lr: 0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1 }),
    RAdam: (ps: Tensor[]) => new optim.RAdam(ps, { lr: 0.05, betas: [0.9, 0.9], weightDecay: 0.01, decoupledWeightDecay: true }),
    NAdam: (ps: Tensor[]) => new optim.NAdam(ps, { lr: 0.05, momentumDecay: 0.1, weightDecay: 0.01 }),
    Adamax: (ps: Tensor[]) => new optim.Adamax(ps, { lr: 0.05 }),
    Adadelta: (ps: Tensor[]) => new optim.Adadelta(ps, { lr: 0.5, rho: 0.8 }),
    Rprop: (ps: Tensor[]) => new optim.Rprop(ps, { lr: 0.05, etas: [0.4, 1.5], stepSizes: [1e-3, 0.2] }),
    ASGD: (ps: Tensor[]) => new optim.ASGD(ps, { lr: 0.05, lambd: 0.01, t0: 2, weightDecay: 0.01 }),
  };
  for (const [name, make] of Object.entries(makeOpt))
    test(`${name}, with a StepLR: 3 + save/load + 3 steps equal 6 steps`, () => {
      const xs = randomArray(rng, 8 * 3, -1, 1), ys = randomArray(rng, 8 * 2, -1, 1);
      const x = tensor(xs, [8, 3], { dtype: 'float64' }), y = tensor(ys, [8, 2], { dtype: 'float64' });
      const seed = rng.u32();
      const fresh = () => {
        antler.setSeed(seed);
        const model = new antler.nn.Linear(3, 2, { dtype: 'float64' });
        const opt = make(model.parameters());
        return { model, opt, sched: new optim.StepLR(opt as optim.SGD, 2, 0.5) };
      };
      const train = (r: ReturnType<typeof fresh>, steps: number) => {
        for (let i = 0; i < steps; i++) {
          const closure = () => {
            r.opt.zeroGrad();
            const l = antler.mseLoss(r.model.forward(x).tanh(), y);
            l.backward();
            return l;
          };
          if (r.opt.requiresClosure) r.opt.step(closure);
          else {
            tidy(() => void closure());
            r.opt.step();
          }
          r.sched.step();
        }
      };
      const straight = fresh();
      train(straight, 6);
      const first = fresh();
      train(first, 3);
      const file = path.join(os.tmpdir(), `antler-resume-${process.pid}-${name}.safetensors`);
      // The scheduler's keys (scheduler.*) sit beside the model's and the optimizer's in one file.
      tidy(() => antler.save(file, { ...first.model.stateDict(), ...prefixed('optimizer/', first.opt.stateDict()), ...first.sched.stateDict() }));
      const resumed = fresh();
      tidy(() => {
        const all = antler.load(file);
        resumed.model.loadStateDict(Object.fromEntries(Object.entries(all).filter(([k]) => !k.startsWith('optimizer/') && !k.startsWith('scheduler.'))));
        resumed.opt.loadStateDict(Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('optimizer/')).map(([k, v]) => [k.slice(10), v])));
        resumed.sched.loadStateDict(all);
      });
      expect(resumed.sched.lastEpoch).toBe(first.sched.lastEpoch);
      train(resumed, 3);
      straight.model.parameters().forEach((p, i) => expectExact(resumed.model.parameters()[i].dataSync(), p.dataSync(), `parameter ${i}`));
      expect(resumed.opt.paramGroups[0].lr).toBe(straight.opt.paramGroups[0].lr);
      fs.rmSync(file, { force: true });
      for (const r of [straight, first, resumed]) antler.dispose([r.opt, r.model]);
      antler.dispose([x, y]);
    });

  test("the groups' options travel with the state, as PyTorch's param_groups: loading replaces them, checked first; a dict with only lr keeps the others", () => {
    const p = tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true }), q = tensor([3], [1], { dtype: 'float64', requiresGrad: true });
    const saved = new optim.RMSprop([{ params: [p] }, { params: [q], momentum: 0.5, centered: true }], { lr: 0.02, alpha: 0.9 });
    p.grad = antler.onesLike(p);
    q.grad = antler.onesLike(q);
    saved.step();
    tidy(() => {
      const dict = saved.stateDict();
      expect(dict['param_groups.1.momentum'].item()).toBe(0.5);
      expect(dict['param_groups.1.centered'].item()).toBe(1);
      expect(dict['param_groups.0.alpha'].item()).toBe(0.9);
      const other = new optim.RMSprop([{ params: [p] }, { params: [q] }], { lr: 1, weightDecay: 0.3 });
      other.loadStateDict(dict);
      expect(other.paramGroups.map((g) => [g.lr, g.alpha, g.momentum, g.centered, g.weightDecay])).toEqual([[0.02, 0.9, 0, false, 0], [0.02, 0.9, 0.5, true, 0]]);
      // A bad value is refused and nothing changes.
      const bad = { ...dict, 'param_groups.1.alpha': tensor([-1], [], { dtype: 'float64' }) };
      const third = new optim.RMSprop([{ params: [p] }, { params: [q] }], { lr: 0.1 });
      expectAntlerError(() => third.loadStateDict(bad), 'INVALID_ARGUMENT', /^RMSprop\.loadStateDict \(parameter group 1\): alpha must be ≥ 0; got -1$/);
      expect(third.paramGroups.map((g) => [g.lr, g.alpha, g.momentum])).toEqual([[0.1, 0.99, 0], [0.1, 0.99, 0]]);
      expect(third.state.size).toBe(0);
      // Adam's betas as a 2-vector; a dict with only lr (an older one) leaves the other options alone.
      const adam = new optim.Adam([p], { betas: [0.8, 0.95], amsgrad: true });
      const adamDict = adam.stateDict();
      expect(Array.from(adamDict['param_groups.0.betas'].dataSync())).toEqual([0.8, 0.95]);
      const fresh = new optim.Adam([p]);
      fresh.loadStateDict(adamDict);
      expect([fresh.paramGroups[0].betas, fresh.paramGroups[0].amsgrad]).toEqual([[0.8, 0.95], true]);
      const lrOnly = new optim.Adam([p], { betas: [0.5, 0.6] });
      lrOnly.loadStateDict({ 'param_groups.0.lr': tensor([0.3], [], { dtype: 'float64' }) });
      expect([lrOnly.paramGroups[0].lr, lrOnly.paramGroups[0].betas]).toEqual([0.3, [0.5, 0.6]]);
      expectAntlerError(() => fresh.loadStateDict({ ...adamDict, 'param_groups.0.betas': tensor([0.9], [1], { dtype: 'float64' }) }), 'SHAPE_MISMATCH', /'param_groups\.0\.betas' has shape \[1\]; expected \[2\]/);
      expectAntlerError(() => fresh.loadStateDict({ ...adamDict, 'param_groups.0.amsgrad': tensor([0.5], [], { dtype: 'float64' }) }), 'INVALID_ARGUMENT', /expected 0 or 1/);
      antler.dispose([other, third, adam, fresh, lrOnly]);
    });
    antler.dispose([saved, p, q]);
  });

  test("a scheduler made after loadStateDict starts from the saved initial_lr, as PyTorch's does", () => {
    const p = tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.SGD([p], { lr: 0.2 });
    const sched = new optim.CosineAnnealingLR(opt, 4);
    for (let i = 0; i < 2; i++) sched.step();
    const dict = opt.stateDict();
    expectExact(dict['param_groups.0.initial_lr'].dataSync(), [0.2], 'saved initial_lr');
    const opt2 = new optim.SGD([p], { lr: 0.2 });
    opt2.loadStateDict(dict);
    antler.dispose(dict);
    const sched2 = new optim.CosineAnnealingLR(opt2, 4);
    expect(sched2.baseLrs).toEqual([0.2]);
    sched2.lastEpoch = sched.lastEpoch;
    sched.step();
    sched2.step();
    expect(opt2.paramGroups[0].lr).toBeCloseTo(opt.paramGroups[0].lr, 15);
    p.dispose();
  });

  test('bad state dicts change nothing: unknown key, wrong shape, wrong parameter index; L-BFGS refuses', () => {
    const p = tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.Adam([p], { lr: 0.1 });
    tidy(() => p.square().sum().backward());
    opt.step();
    const before = tidy(() => Object.fromEntries(Object.entries(opt.stateDict()).map(([k, v]) => [k, Array.from(v.dataSync())])));
    const bad: [Record<string, Tensor>, antler.ErrorCode, RegExp][] = [
      [{ 'state.0.expAvgs': tensor([0, 0], [2], { dtype: 'float64' }) }, 'INVALID_ARGUMENT', /unknown key 'state\.0\.expAvgs'; Adam keeps state\.i\.expAvg, state\.i\.expAvgSq, state\.i\.maxExpAvgSq, scalars\.i\.step per parameter/],
      [{ 'state.0.expAvg': tensor([0, 0, 0], [3], { dtype: 'float64' }) }, 'SHAPE_MISMATCH', /'state\.0\.expAvg' has shape \[3\]; parameter 0 has shape \[2\]/],
      [{ 'state.4.expAvg': tensor([0, 0], [2], { dtype: 'float64' }) }, 'INVALID_ARGUMENT', /names parameter 4; this optimizer has 1/],
      [{ momentum: tensor([0], [1]) }, 'INVALID_ARGUMENT', /^Adam\.loadStateDict: the dict holds none of an optimizer's keys .*; it has 1 other \('momentum'\): pass what Adam\.stateDict\(\) returned/],
      // A number under state., a tensor under scalars.: refused (the next step() would have failed).
      [{ 'state.0.step': tensor([3], [], { dtype: 'float64' }) }, 'INVALID_ARGUMENT', /unknown key 'state\.0\.step'; Adam keeps state\.i\.expAvg, state\.i\.expAvgSq, state\.i\.maxExpAvgSq, scalars\.i\.step per parameter/],
      [{ 'scalars.0.expAvg': tensor([0.5], [], { dtype: 'float64' }) }, 'INVALID_ARGUMENT', /unknown key 'scalars\.0\.expAvg'/],
      [{ 'param_groups.0.lr': tensor([-1], [], { dtype: 'float64' }) }, 'INVALID_ARGUMENT', /'param_groups\.0\.lr' is -1; expected a finite learning rate >= 0/],
      [{ 'optimizer.constructor': tensor([1], [], { dtype: 'float64' }) }, 'INVALID_ARGUMENT', /unknown key 'optimizer\.constructor'/],
      // Before, {} was accepted and wiped the state (torch: KeyError 'param_groups').
      [{}, 'INVALID_ARGUMENT', /^Adam\.loadStateDict: missing 'param_groups\.0\.lr'; a dict from Adam\.stateDict\(\) has one per parameter group \(this optimizer has 1\)$/],
    ];
    for (const [dict, code, message] of bad) {
      expectAntlerErrorInTidy(() => opt.loadStateDict(dict), code, message);
      antler.dispose(dict);
    }
    const after = tidy(() => Object.fromEntries(Object.entries(opt.stateDict()).map(([k, v]) => [k, Array.from(v.dataSync())])));
    expect(after).toEqual(before);
    const lbfgs = new optim.LBFGS([p]);
    expectAntlerErrorInTidy(() => lbfgs.stateDict(), 'INVALID_ARGUMENT', /LBFGS\.stateDict: not supported/);
    antler.dispose([opt, lbfgs, p]);
  });

  test("a whole checkpoint (model + optimizer + scheduler in one file) loads: the optimizer reads its own keys, as PyTorch's load_state_dict reads 'state' and 'param_groups' of a merged dict", () => {
    const x = tensor(randomArray(rng, 5 * 3, -1, 1), [5, 3], { dtype: 'float64' });
    const seed = rng.u32();
    const make = () => {
      antler.setSeed(seed);
      const model = new antler.nn.Linear(3, 2, { dtype: 'float64' });
      const opt = new optim.Adam(model.parameters(), { lr: 0.05, amsgrad: true });
      return { model, opt, sched: new optim.StepLR(opt, 1, 0.5) };
    };
    const step = (r: ReturnType<typeof make>) => {
      tidy(() => antler.sum(r.model.forward(x).square()).backward());
      r.opt.step();
      r.opt.zeroGrad();
      r.sched.step();
    };
    const a = make();
    step(a);
    step(a);
    const file = path.join(os.tmpdir(), `antler-whole-checkpoint-${process.pid}.safetensors`);
    tidy(() => antler.save(file, { ...a.model.stateDict(), ...a.opt.stateDict(), ...a.sched.stateDict() }));
    const d = antler.load(file);
    fs.rmSync(file, { force: true });
    const b = make();
    b.model.loadStateDict(d, { strict: false });
    b.opt.loadStateDict(d);
    b.sched.loadStateDict(d);
    const read = (r: ReturnType<typeof make>) => tidy(() => Object.fromEntries(Object.entries(r.opt.stateDict()).map(([k, v]) => [k, Array.from(v.dataSync())])));
    expect(read(b)).toEqual(read(a));
    step(a);
    step(b);
    a.model.parameters().forEach((p, i) => expectExact(b.model.parameters()[i].dataSync(), p.dataSync(), `parameter ${i} after one more step`));
    // A model's dict alone has none of the optimizer's keys: refused, naming the first few, nothing changed.
    const before = read(b);
    tidy(() => expectAntlerError(() => b.opt.loadStateDict(b.model.stateDict()), 'INVALID_ARGUMENT', /^Adam\.loadStateDict: the dict holds none of an optimizer's keys \(param_groups\.g\.<option>, .*\); it has 2 others \('weight', 'bias'\): pass what Adam\.stateDict\(\) returned, or a checkpoint that holds it/));
    // A model key under the optimizer's names (a submodule called state) is not skipped: refused with the way out.
    tidy(() => expectAntlerError(() => b.opt.loadStateDict({ ...a.opt.stateDict(), 'state.0.weight': antler.zeros([2, 3], { dtype: 'float64' }) }), 'INVALID_ARGUMENT', /unknown key 'state\.0\.weight'; Adam keeps .* \(keys outside param_groups\., state\., scalars\. and optimizer\. are skipped, so a whole checkpoint loads; .*under a prefix such as model\.\)$/));
    expect(read(b)).toEqual(before);
    antler.dispose([a.opt, a.model, b.opt, b.model, x, d]);
  });
});

function prefixed(prefix: string, d: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [prefix + k, v]));
}

describe(`clipGradNorm (seed ${SEED})`, () => {
  function withGrads(): { params: Tensor[]; grads: number[][] } {
    const shapes = [[4, 3], [7], [2, 2]];
    const params = shapes.map((s) => antler.zeros(s, { dtype: 'float64', requiresGrad: true }));
    const grads = shapes.map((s) => randomArray(rng, prod(s), -3, 3));
    params.forEach((p, i) => setGrad(p, grads[i]));
    return { params, grads };
  }

  for (const normType of [2, Infinity, 1]) {
    test(`norm ${normType}: returns the pre-clip norm and scales by maxNorm / (norm + 1e-6)`, () => {
      const { params, grads } = withGrads();
      const flat = grads.flat();
      const total = normType === Infinity ? Math.max(...flat.map(Math.abs)) : normType === 2 ? Math.sqrt(flat.reduce((a, g) => a + g * g, 0)) : flat.reduce((a, g) => a + Math.abs(g), 0);
      const extra = antler.zeros([3], { dtype: 'float64', requiresGrad: true }); // no grad: ignored
      const maxNorm = total * rng.uniform(0.1, 0.9);
      // Between parameters with gradients: those after it are clipped too (torch skips grad None).
      const got = optim.clipGradNorm([params[0], extra, ...params.slice(1)], maxNorm, normType);
      expectClose([got], [total], 1e-13, 0, 'returned norm');
      const coef = maxNorm / (total + 1e-6);
      params.forEach((p, i) => expectClose(p.grad!.dataSync(), grads[i].map((g) => g * coef), 1e-14, 0, `clipped grad ${i}`));
      expect(extra.grad).toBeNull();
      // The clipped gradients now have norm ≈ maxNorm.
      const after = params.flatMap((p) => Array.from(p.grad!.dataSync()));
      const newNorm = normType === Infinity ? Math.max(...after.map(Math.abs)) : normType === 2 ? Math.sqrt(after.reduce((a, g) => a + g * g, 0)) : after.reduce((a, g) => a + Math.abs(g), 0);
      expectClose([newNorm], [maxNorm], 1e-6, 0, 'norm after clipping');
      antler.dispose([...params, extra]);
    });
  }

  test('clipping is in place (an earlier .grad reference sees it); a NaN gradient makes every gradient NaN, as torch.nn.utils.clip_grad_norm_', () => {
    const { params, grads } = withGrads();
    const refs = params.map((p) => p.grad!);
    const total = Math.sqrt(grads.flat().reduce((a, g) => a + g * g, 0));
    optim.clipGradNorm(params, total / 2);
    params.forEach((p, i) => {
      expect(p.grad).toBe(refs[i]);
      expectClose(refs[i].dataSync(), grads[i].map((g) => (g * (total / 2)) / (total + 1e-6)), 1e-14, 0, `grad ${i}`);
    });
    tidy(() => params[0].grad!.assign(antler.full(params[0].grad!.shape, NaN, { dtype: "float64" })));
    expect(optim.clipGradNorm(params, 1)).toBeNaN();
    for (const p of params) expect(Array.from(p.grad!.dataSync()).every(Number.isNaN)).toBe(true);
    antler.dispose(params);
  });

  test('any p: the norm is (Σ|g|^p)^(1/p) over all the gradients together; ∞: max |g|, a negative entry included', () => {
    // torch.nn.utils.clip_grad_norm_: total = ‖(‖g₁‖_p, ‖g₂‖_p, …)‖_p = (Σ over every entry |g|^p)^(1/p).
    for (const normType of [3, 0.5, 1.5]) {
      const { params, grads } = withGrads();
      const total = grads.flat().reduce((a, g) => a + Math.abs(g) ** normType, 0) ** (1 / normType);
      const maxNorm = total * rng.uniform(0.1, 0.9);
      expectClose([optim.clipGradNorm(params, maxNorm, normType)], [total], 1e-12, 0, `norm ${normType}`);
      const coef = maxNorm / (total + 1e-6);
      params.forEach((p, i) => expectClose(p.grad!.dataSync(), grads[i].map((g) => g * coef), 1e-12, 0, `norm ${normType}: grad ${i}`));
      antler.dispose(params);
    }
    // ∞: the largest magnitude is a negative entry (entries are in [-3, 3)), which max(g) would miss.
    const { params, grads } = withGrads();
    grads[1][rng.int(0, grads[1].length - 1)] = -4;
    setGrad(params[1], grads[1]);
    const maxNorm = rng.uniform(0.5, 3);
    expect(optim.clipGradNorm(params, maxNorm, Infinity)).toBe(4);
    params.forEach((p, i) => expectClose(p.grad!.dataSync(), grads[i].map((g) => (g * maxNorm) / (4 + 1e-6)), 1e-14, 0, `norm ∞: grad ${i}`));
    antler.dispose(params);
  });

  test('errorIfNonfinite: an infinite or NaN total norm throws before any gradient changes; without it the norm is returned and the gradients scaled (torch)', () => {
    for (const bad of [Infinity, -Infinity, NaN]) {
      for (const normType of [2, 1, Infinity]) {
        const { params, grads } = withGrads();
        grads[2][rng.int(0, 3)] = bad;
        setGrad(params[2], grads[2]);
        expectAntlerError(() => optim.clipGradNorm(params, 1, normType, { errorIfNonfinite: true }), 'INVALID_ARGUMENT', new RegExp(`^clipGradNorm: the total norm of order ${normType} is non-finite`));
        params.forEach((p, i) => expectExact(p.grad!.dataSync(), grads[i], `${bad}, norm ${normType}: grad ${i} untouched`));
        // torch's default (error_if_nonfinite=False): clip_coef = maxNorm / (∞ + 1e-6) = 0 (or NaN), the gradients times it.
        const got = optim.clipGradNorm(params, 1, normType);
        if (Number.isNaN(bad)) expect(got).toBeNaN();
        else expect(got).toBe(Infinity);
        params.forEach((p, i) => expectExact(p.grad!.dataSync(), grads[i].map((g) => (Number.isNaN(bad) ? NaN : g * 0)), `${bad}, norm ${normType}: grad ${i} scaled`));
        antler.dispose(params);
      }
    }
    // A finite norm with errorIfNonfinite clips as usual.
    const { params, grads } = withGrads();
    const total = Math.sqrt(grads.flat().reduce((a, g) => a + g * g, 0));
    expectClose([optim.clipGradNorm(params, total / 2, 2, { errorIfNonfinite: true })], [total], 1e-13, 0, 'finite norm');
    antler.dispose(params);
  });

  test('a norm already below maxNorm leaves the gradients exactly as they were', () => {
    const { params, grads } = withGrads();
    const total = Math.sqrt(grads.flat().reduce((a, g) => a + g * g, 0));
    expectClose([optim.clipGradNorm(params, total * 2)], [total], 1e-13, 0, 'returned norm');
    params.forEach((p, i) => expectExact(p.grad!.dataSync(), grads[i], `grad ${i}`));
    antler.dispose(params);
  });
  test('a module, a non-Tensor entry, a negative or NaN maxNorm and a bad normType throw', () => {
    const { params, grads } = withGrads();
    const model = new antler.nn.Linear(2, 2);
    const bad: [string, () => unknown, RegExp][] = [
      // Before: TypeError: params.filter is not a function.
      ['a module', () => optim.clipGradNorm(model as never, 1), /^clipGradNorm: expected an array of parameter Tensors \(model\.parameters\(\)\) or one Tensor; got a Linear$/],
      ['an array with a number', () => optim.clipGradNorm([params[0], 3] as never, 1), /^clipGradNorm: params\[1\] must be a Tensor; got 3$/],
      // Before, maxNorm -1 scaled every gradient by a negative factor.
      ['negative maxNorm', () => optim.clipGradNorm(params, -1), /^clipGradNorm: maxNorm must be >= 0; got -1/],
      ['NaN maxNorm', () => optim.clipGradNorm(params, NaN), /^clipGradNorm: maxNorm must be a number >= 0 \(Infinity: measure only\); got NaN$/],
      ['normType 0', () => optim.clipGradNorm(params, 1, 0), /normType must be a positive number or Infinity; got 0/],
      ['normType a string', () => optim.clipGradNorm(params, 1, '2' as never), /normType .* got '2'/],
      // Before, a misspelt option was ignored and a string taken as true.
      ['torch\'s option name', () => optim.clipGradNorm(params, 1, 2, { error_if_nonfinite: true } as never), /^clipGradNorm: unknown option 'error_if_nonfinite'; expected one of 'errorIfNonfinite'$/],
      ['errorIfNonfinite a string', () => optim.clipGradNorm(params, 1, 2, { errorIfNonfinite: 'yes' as never }), /^clipGradNorm: errorIfNonfinite must be a boolean; got 'yes'$/],
    ];
    for (const [name, call, message] of bad) {
      const e = expectAntlerErrorInTidy(call, 'INVALID_ARGUMENT');
      expect({ name, message: e.message }).toEqual({ name, message: expect.stringMatching(message) });
    }
    params.forEach((p, i) => expectExact(p.grad!.dataSync(), grads[i], `grad ${i} untouched`));
    // maxNorm Infinity measures without clipping (PyTorch's idiom for reading the norm).
    const total = Math.sqrt(grads.flat().reduce((a, g) => a + g * g, 0));
    expectClose([optim.clipGradNorm(params, Infinity)], [total], 1e-13, 0, 'norm, maxNorm Infinity');
    params.forEach((p, i) => expectExact(p.grad!.dataSync(), grads[i], `grad ${i} untouched by maxNorm Infinity`));
    // One Tensor alone, as torch.nn.utils.clip_grad_norm_ takes it.
    const one = Math.sqrt(grads[0].reduce((a, g) => a + g * g, 0));
    expectClose([optim.clipGradNorm(params[0], one / 4)], [one], 1e-13, 0, 'norm of one tensor');
    expectClose(params[0].grad!.dataSync(), grads[0].map((g) => (g * (one / 4)) / (one + 1e-6)), 1e-14, 0, 'one tensor clipped');
    params.slice(1).forEach((p, i) => expectExact(p.grad!.dataSync(), grads[i + 1], `grad ${i + 1} untouched by clipping params[0]`));
    // maxNorm 0 is allowed: every gradient becomes 0.
    optim.clipGradNorm(params, 0);
    params.forEach((p, i) => expectExact(p.grad!.dataSync(), grads[i].map(() => 0), `grad ${i} zeroed`));
    model.dispose();
    antler.dispose(params);
  });
});

describe(`learning-rate schedulers (seed ${SEED})`, () => {
  function twoGroups(): { opt: optim.SGD; params: Tensor[]; bases: number[] } {
    const params = [antler.zeros([2], { requiresGrad: true }), antler.zeros([3], { requiresGrad: true })];
    const bases = [rng.uniform(0.01, 1), rng.uniform(0.001, 0.1)];
    const opt = new optim.SGD([{ params: [params[0]], lr: bases[0] }, { params: [params[1]], lr: bases[1] }]);
    return { opt, params, bases };
  }

  function drive(sched: optim.LRScheduler, opt: optim.SGD, epochs: number): number[][] {
    const seen: number[][] = [sched.getLastLr()];
    expect(seen[0]).toEqual(opt.paramGroups.map((g) => g.lr));
    for (let e = 1; e <= epochs; e++) {
      sched.step();
      seen.push(opt.paramGroups.map((g) => g.lr));
    }
    return seen;
  }

  function expectSequence(seen: number[][], formula: (base: number, epoch: number) => number, bases: number[]): void {
    seen.forEach((lrs, epoch) => expectClose(lrs, bases.map((b) => formula(b, epoch)), 1e-12, 1e-15, `epoch ${epoch}`));
  }

  test('StepLR: base · γ^⌊epoch / stepSize⌋', () => {
    const { opt, params, bases } = twoGroups();
    const stepSize = rng.int(1, 4), gamma = rng.uniform(0.1, 0.9);
    const seen = drive(new optim.StepLR(opt, stepSize, gamma), opt, 12);
    expectSequence(seen, (b, e) => b * gamma ** Math.floor(e / stepSize), bases);
    // It really decays: the last lr is below the first.
    expect(seen[12][0]).toBeLessThan(seen[0][0]);
    antler.dispose(params);
  });

  test('CosineAnnealingLR: ηmin + (base − ηmin)(1 + cos(π epoch / Tmax)) / 2', () => {
    const { opt, params, bases } = twoGroups();
    const tMax = rng.int(3, 10), etaMin = 1e-4;
    const seen = drive(new optim.CosineAnnealingLR(opt, tMax, etaMin), opt, tMax);
    expectSequence(seen, (b, e) => etaMin + ((b - etaMin) * (1 + Math.cos((Math.PI * e) / tMax))) / 2, bases);
    expectClose(seen[tMax], [etaMin, etaMin], 1e-12, 1e-15, 'reaches etaMin at Tmax');
    expectClose(seen[0], bases, 1e-15, 0, 'starts at base');
    antler.dispose(params);
    // A fractional Tmax, as PyTorch's T_max may be: the same formula (torch 1.13, Tmax 7.5: 0.1, 0.09568, 0.08346, 0.06545).
    const two = twoGroups();
    const half = drive(new optim.CosineAnnealingLR(two.opt, 7.5), two.opt, 3);
    expectSequence(half, (b, e) => (b * (1 + Math.cos((Math.PI * e) / 7.5))) / 2, two.bases);
    antler.dispose(two.params);
  });

  test('LinearLR: factor from startFactor to endFactor over totalIters, then constant', () => {
    const { opt, params, bases } = twoGroups();
    const startFactor = rng.uniform(0.05, 0.5), endFactor = rng.uniform(0.6, 1), totalIters = rng.int(2, 6);
    const seen = drive(new optim.LinearLR(opt, startFactor, endFactor, totalIters), opt, totalIters + 4);
    expectSequence(seen, (b, e) => b * (startFactor + ((endFactor - startFactor) * Math.min(e, totalIters)) / totalIters), bases);
    expectClose(seen[totalIters + 4], bases.map((b) => b * endFactor), 1e-12, 0, 'plateau');
    antler.dispose(params);
  });

  test('LinearLR decaying to endFactor 0 ends at 0, never a rounding hair below it, and the optimizer keeps stepping', () => {
    // PyTorch's recursive form ends at −2.2e−19 for lr 0.1, startFactor 0.1, 10 steps (and for 26 of the
    // totalIters in 1..60): antler's step would refuse a negative lr.
    for (const totalIters of [4, 5, 7, 10, 13, rng.int(1, 60)]) {
      const p = tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true });
      try {
        const opt = new optim.SGD([p], { lr: 0.1 });
        const sched = new optim.LinearLR(opt, 0.1, 0, totalIters);
        for (let e = 0; e < totalIters + 2; e++) {
          backprop(() => antler.sum(antler.square(p)));
          opt.step();
          opt.zeroGrad();
          sched.step();
          expect(opt.paramGroups[0].lr).toBeGreaterThanOrEqual(0);
        }
        // 0, or a rounding hair above it.
        expect({ totalIters, small: opt.paramGroups[0].lr < 1e-17 }).toEqual({ totalIters, small: true });
      } finally {
        p.dispose();
      }
    }
  });

  test('two schedulers on one optimizer compose as in PyTorch (LinearLR warm-up, then CosineAnnealingLR or StepLR)', () => {
    // torch 1.13: SGD(lr=0.1); [LinearLR(o, 0.25, 1, 4), X]; 12 × (both step()); group lr after each.
    const torchCosine = [0.025, 0.04267936129395649, 0.056531781074217115, 0.064503775874381733, 0.065450849718747386, 0.05000000000000001,
      0.03454915028125264, 0.020610737385376353, 0.0095491502812526351, 0.002447174185242324, 0, 0.0024471741852423235, 0.0095491502812526663];
    const torchStep = [0.025, 0.043750000000000004, 0.062500000000000014, 0.040625000000000008, 0.05000000000000001, 0.05000000000000001,
      0.025000000000000005, 0.025000000000000005, 0.025000000000000005, 0.012500000000000002, 0.012500000000000002, 0.012500000000000002, 0.0062500000000000012];
    for (const [second, expected] of [[(o: optim.SGD) => new optim.CosineAnnealingLR(o, 10), torchCosine], [(o: optim.SGD) => new optim.StepLR(o, 3, 0.5), torchStep]] as const) {
      const p = antler.zeros([1], { requiresGrad: true });
      const opt = new optim.SGD([p], { lr: 0.1 });
      const scheds = [new optim.LinearLR(opt, 0.25, 1, 4), second(opt)];
      expect(scheds[1].baseLrs).toEqual([0.1]); // the lr before any scheduler (PyTorch's initial_lr)
      const seen = [opt.paramGroups[0].lr];
      for (let i = 0; i < 12; i++) {
        scheds[0].step();
        const afterFirst = opt.paramGroups[0].lr;
        scheds[1].step();
        seen.push(opt.paramGroups[0].lr);
        // get_last_lr(): what each scheduler set at its own step (torch's _last_lr), not the group's lr now.
        expect(scheds[0].getLastLr()).toEqual([afterFirst]);
        expect(scheds[1].getLastLr()).toEqual([opt.paramGroups[0].lr]);
      }
      expectAntlerError(() => (scheds[0].step as (e: number) => void)(3), 'INVALID_ARGUMENT', /^LinearLR\.step: takes no arguments \(got 3\); call step\(\) once per epoch/);
      expectClose(seen, expected, 1e-13, 1e-17, scheds[1].constructor.name);
      p.dispose();
    }
  });

  test('ExponentialLR, MultiStepLR, LambdaLR, MultiplicativeLR and ReduceLROnPlateau step as torch 1.13 does', () => {
    // torch 1.13: SGD([{lr: 0.1}, {lr: 0.02}]); the groups' lrs after construction and after each step().
    const torch = {
      exp: [[0.1, 0.02], [0.09000000000000001, 0.018000000000000002], [0.08100000000000002, 0.016200000000000003], [0.07290000000000002, 0.014580000000000003], [0.06561000000000002, 0.013122000000000003], [0.05904900000000002, 0.011809800000000004], [0.05314410000000002, 0.010628820000000004]],
      multi: [[0.1, 0.02], [0.1, 0.02], [0.05, 0.01], [0.05, 0.01], [0.05, 0.01], [0.0125, 0.0025], [0.0125, 0.0025], [0.0125, 0.0025], [0.0125, 0.0025]],
      lambda: [[0.1, 0.02], [0.05, 0.01], [0.03333333333333333, 0.006666666666666666], [0.025, 0.005], [0.020000000000000004, 0.004], [0.016666666666666666, 0.003333333333333333]],
      mult: [[0.1, 0.02], [0.09000000000000001, 0.018000000000000002], [0.07200000000000001, 0.014400000000000003], [0.06480000000000001, 0.012960000000000003], [0.05184000000000001, 0.010368000000000002], [0.04665600000000001, 0.009331200000000003]],
      // ReduceLROnPlateau(factor 0.5, patience 2, cooldown 1, min_lr [0.01, 0.004]) on these losses:
      plateau: [[0.1, 0.02], [0.1, 0.02], [0.1, 0.02], [0.1, 0.02], [0.1, 0.02], [0.05, 0.01], [0.05, 0.01], [0.05, 0.01], [0.05, 0.01], [0.05, 0.01], [0.05, 0.01], [0.025, 0.005], [0.025, 0.005], [0.025, 0.005], [0.025, 0.005], [0.0125, 0.004]],
      // ReduceLROnPlateau(mode 'max', factor 0.3, patience 1, threshold 0.01 'abs') on these accuracies:
      plateauMax: [[0.1, 0.02], [0.1, 0.02], [0.1, 0.02], [0.1, 0.02], [0.03, 0.006], [0.03, 0.006], [0.03, 0.006], [0.03, 0.006], [0.009, 0.0018], [0.009, 0.0018], [0.0026999999999999997, 0.00054]],
    };
    const losses = [1.0, 0.9, 0.95, 0.92, 0.91, 0.9, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9];
    const accuracies = [0.5, 0.6, 0.6, 0.6001, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7];
    const cases: [keyof typeof torch, (o: optim.SGD) => optim.LRScheduler | optim.ReduceLROnPlateau, number[] | null][] = [
      ['exp', (o) => new optim.ExponentialLR(o, 0.9), null],
      ['multi', (o) => new optim.MultiStepLR(o, [2, 5, 5], 0.5), null],
      ['lambda', (o) => new optim.LambdaLR(o, (e) => 1 / (e + 1)), null],
      ['mult', (o) => new optim.MultiplicativeLR(o, (e) => (e % 2 ? 0.9 : 0.8)), null],
      ['plateau', (o) => new optim.ReduceLROnPlateau(o, { factor: 0.5, patience: 2, cooldown: 1, minLr: [0.01, 0.004] }), losses],
      ['plateauMax', (o) => new optim.ReduceLROnPlateau(o, { mode: 'max', factor: 0.3, patience: 1, threshold: 0.01, thresholdMode: 'abs' }), accuracies],
    ];
    for (const [name, make, metrics] of cases) {
      const params = [antler.zeros([1], { requiresGrad: true }), antler.zeros([1], { requiresGrad: true })];
      const opt = new optim.SGD([{ params: [params[0]], lr: 0.1 }, { params: [params[1]], lr: 0.02 }]);
      const sched = make(opt);
      const seen = [opt.paramGroups.map((g) => g.lr)];
      for (let i = 0; i < torch[name].length - 1; i++) {
        if (metrics) (sched as optim.ReduceLROnPlateau).step(metrics[i]);
        else (sched as optim.LRScheduler).step();
        seen.push(opt.paramGroups.map((g) => g.lr));
        expect(sched.getLastLr()).toEqual(seen[seen.length - 1]);
      }
      expectClose(seen.flat(), torch[name].flat(), 1e-15, 1e-18, name);
      antler.dispose(params);
    }
  });

  test('ReduceLROnPlateau takes a one-element Tensor metric; bad options and metrics are named', () => {
    const p = antler.zeros([1], { requiresGrad: true });
    const opt = new optim.SGD([p], { lr: 0.1 });
    const sched = new optim.ReduceLROnPlateau(opt, { patience: 0 });
    const m = tensor([2]);
    sched.step(m);
    sched.step(m);
    expect(opt.paramGroups[0].lr).toBeCloseTo(0.01, 15);
    const two = tensor([1, 2]);
    expectAntlerError(() => sched.step(two), 'INVALID_ARGUMENT', /one number; got a tensor of shape \[2\]/);
    expectAntlerError(() => sched.step('low' as never), 'INVALID_ARGUMENT', /expected the epoch's metric/);
    expectAntlerError(() => new optim.ReduceLROnPlateau(opt, { factor: 1 }), 'INVALID_ARGUMENT', /factor must be in \(0, 1\)/);
    expectAntlerError(() => new optim.ReduceLROnPlateau(opt, { mode: 'minimum' as never }), 'INVALID_ARGUMENT', /mode must be 'min' or 'max'/);
    expectAntlerError(() => new optim.ReduceLROnPlateau(opt, { minLr: [0, 0] }), 'INVALID_ARGUMENT', /2 entries for 1 parameter groups/);
    expectAntlerError(() => new optim.ReduceLROnPlateau(opt, { patients: 3 } as never), 'INVALID_ARGUMENT', /unknown option 'patients'/);
    expectAntlerError(() => new optim.MultiStepLR(opt, 5 as never), 'INVALID_ARGUMENT', /milestones must be an array/);
    expectAntlerError(() => new optim.LambdaLR(opt, 0.5 as never), 'INVALID_ARGUMENT', /lrLambda must be a function/);
    expectAntlerError(() => new optim.LambdaLR(opt, () => NaN), 'INVALID_ARGUMENT', /lrLambda\(0\) must return a finite number; got NaN/);
    expectAntlerError(() => new optim.ExponentialLR(opt, 0), 'INVALID_ARGUMENT', /gamma must be > 0/);
    expectAntlerError(() => new optim.LambdaLR(opt, [(e) => e, (e) => e]), 'INVALID_ARGUMENT', /2 functions for 1 parameter groups/);
    // One function per group (torch's list of lr_lambda).
    const q = antler.zeros([1], { requiresGrad: true });
    const twoGroups = new optim.SGD([{ params: [p], lr: 0.1 }, { params: [q], lr: 0.02 }]);
    const perGroup = new optim.LambdaLR(twoGroups, [(e) => 0.5 ** e, (e) => 1 + e]);
    perGroup.step();
    perGroup.step();
    expect(twoGroups.paramGroups.map((g) => g.lr)).toEqual([0.1 * 0.25, 0.02 * 3]);
    q.dispose();
    antler.dispose([p, m, two]);
  });

  test("ReduceLROnPlateau's verbose logs each reduction as PyTorch's does", () => {
    const p = antler.zeros([1], { requiresGrad: true });
    const opt = new optim.SGD([{ params: [p], lr: 0.1 }]);
    const sched = new optim.ReduceLROnPlateau(opt, { patience: 1, verbose: true });
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      for (const v of [1, 1, 1, 1]) sched.step(v);
      expect(log.mock.calls).toEqual([['Epoch 00003: reducing learning rate of group 0 to 1.0000e-02.']]);
    } finally {
      log.mockRestore();
      p.dispose();
    }
    expectAntlerError(() => new optim.ReduceLROnPlateau(opt, { verbose: 1 as never }), 'INVALID_ARGUMENT', /^ReduceLROnPlateau: verbose must be a boolean; got 1$/);
  });

  test('clipGradValue clamps every gradient in place to ±clipValue (torch.nn.utils.clip_grad_value_)', () => {
    const g = randomArray(rng, 20, -3, 3);
    const p = tensor(randomArray(rng, 20), [4, 5], { dtype: 'float64', requiresGrad: true });
    const q = antler.zeros([2], { requiresGrad: true }); // no gradient: skipped (and the parameters after it still clamped)
    p.grad = tensor(g, [4, 5], { dtype: 'float64' });
    const ref = p.grad;
    const c = rng.uniform(0.5, 2);
    optim.clipGradValue([q, p], c);
    expect(p.grad).toBe(ref);
    expectExact(Array.from(ref.dataSync()), g.map((v) => Math.min(c, Math.max(-c, v))));
    expect(q.grad).toBeNull();
    expectAntlerError(() => optim.clipGradValue([p], -1), 'INVALID_ARGUMENT', /clipValue must be >= 0/);
    expectAntlerError(() => optim.clipGradValue([p], NaN), 'INVALID_ARGUMENT', /^clipGradValue: clipValue must be a number >= 0; got NaN$/);
    expectAntlerError(() => optim.clipGradValue({ p } as never, 1), 'INVALID_ARGUMENT', /^clipGradValue: expected an array of parameter Tensors \(model\.parameters\(\)\) or one Tensor; got/);
    // Infinity leaves every gradient as it is; one Tensor alone is taken, as PyTorch's.
    const clipped = Array.from(ref.dataSync());
    optim.clipGradValue([p], Infinity);
    expectExact(Array.from(ref.dataSync()), clipped);
    optim.clipGradValue(p, c / 2);
    expectExact(Array.from(ref.dataSync()), g.map((v) => Math.min(c / 2, Math.max(-c / 2, v))));
    antler.dispose([p, q]);
  });

  test('ConstantLR and PolynomialLR: base · factor until totalIters; base · (1 − epoch / totalIters)^power', () => {
    const a = twoGroups();
    const factor = rng.uniform(0.1, 1), n = rng.int(1, 5);
    expectSequence(drive(new optim.ConstantLR(a.opt, factor, n), a.opt, n + 3), (b, e) => (e < n ? b * factor : b), a.bases);
    antler.dispose(a.params);
    const c = twoGroups();
    const total = rng.int(2, 8), power = rng.uniform(0.5, 3);
    expectSequence(drive(new optim.PolynomialLR(c.opt, total, power), c.opt, total + 3), (b, e) => b * Math.max(0, 1 - Math.min(e, total) / total) ** power, c.bases);
    antler.dispose(c.params);
  });

  test('CosineAnnealingWarmRestarts (SGDR): restarts after t0, t0·tMult, …; step(epoch) takes fractional epochs', () => {
    const { opt, params, bases } = twoGroups();
    const t0 = rng.int(1, 4), tMult = rng.int(1, 3), etaMin = rng.uniform(0, 1e-3);
    // The closed form: the period i holding epoch e and the epochs since its start.
    const at = (e: number): [number, number] => {
      let start = 0, len = t0;
      while (e >= start + len) {
        start += len;
        len *= tMult;
      }
      return [e - start, len];
    };
    const formula = (b: number, e: number): number => {
      const [cur, len] = at(e);
      return etaMin + ((b - etaMin) * (1 + Math.cos((Math.PI * cur) / len))) / 2;
    };
    const sched = new optim.CosineAnnealingWarmRestarts(opt, t0, tMult, etaMin);
    expectSequence(drive(sched, opt, 25), formula, bases);
    // Per batch: step(epoch + i / iters), as PyTorch's docs do.
    for (const e of [0.5, t0 + 0.25, rng.uniform(0, 20)]) {
      sched.step(e);
      expectClose(opt.paramGroups.map((g) => g.lr), bases.map((b) => formula(b, e)), 1e-12, 1e-15, `step(${e})`);
    }
    expectAntlerError(() => sched.step(-1), 'INVALID_ARGUMENT', /epoch must be >= 0/);
    antler.dispose(params);
  });

  test('OneCycleLR: lr up from maxLr / divFactor to maxLr, then down to initial / finalDivFactor; momentum the other way', () => {
    for (const threePhase of [false, true])
      for (const anneal of ['cos', 'linear'] as const) {
        const p = antler.zeros([2], { requiresGrad: true });
        const adam = rng.next() < 0.5;
        const opt = adam ? new optim.Adam([p], { lr: 0.01 }) : new optim.SGD([p], { lr: 0.01, momentum: 0.9 });
        const total = rng.int(20, 60), maxLr = rng.uniform(0.1, 2), pct = rng.uniform(0.15, 0.45), div = rng.uniform(5, 30), fin = rng.uniform(10, 1e4);
        const sched = new optim.OneCycleLR(opt as optim.Optimizer<{ lr: number }>, maxLr, { totalSteps: total, pctStart: pct, annealStrategy: anneal, divFactor: div, finalDivFactor: fin, threePhase });
        const initial = maxLr / div, min = initial / fin;
        const f = (a: number, b: number, x: number): number => (anneal === 'linear' ? a + (b - a) * x : b + ((a - b) / 2) * (Math.cos(Math.PI * x) + 1));
        // PyTorch's phases: ends at pct·total − 1 (and 2·pct·total − 2), then total − 1.
        const phases = threePhase
          ? [[pct * total - 1, initial, maxLr, 0.95, 0.85], [2 * pct * total - 2, maxLr, initial, 0.85, 0.95], [total - 1, initial, min, 0.95, 0.95]]
          : [[pct * total - 1, initial, maxLr, 0.95, 0.85], [total - 1, maxLr, min, 0.85, 0.95]];
        for (let t = 0; t < total; t++) {
          let start = 0, k = 0;
          while (k < phases.length - 1 && t > phases[k][0]) start = phases[k++][0];
          const x = (t - start) / (phases[k][0] - start);
          const g = opt.paramGroups[0] as unknown as { lr: number; momentum?: number; betas?: number[] };
          expect(Math.abs(g.lr - f(phases[k][1], phases[k][2], x))).toBeLessThan(1e-12);
          expect(Math.abs((adam ? g.betas![0] : g.momentum!) - f(phases[k][3], phases[k][4], x))).toBeLessThan(1e-12);
          sched.step();
        }
        // total − 1 was the last step of the cycle (lr = min there); one more is allowed, as PyTorch's, then it throws.
        expect(min).toBeLessThan(initial);
        expectAntlerError(() => sched.step(), 'INVALID_ARGUMENT', /stepped .* totalSteps/);
        p.dispose();
      }
    const q = antler.zeros([1], { requiresGrad: true });
    const ada = new optim.Adagrad([q]);
    expectAntlerError(() => new optim.OneCycleLR(ada, 0.1, { totalSteps: 10 }), 'INVALID_ARGUMENT', /cycleMomentum needs an optimizer with momentum or betas/);
    expect(() => new optim.OneCycleLR(ada, 0.1, { epochs: 2, stepsPerEpoch: 5, cycleMomentum: false })).not.toThrow();
    expectAntlerError(() => new optim.OneCycleLR(ada, 0.1, { cycleMomentum: false }), 'INVALID_ARGUMENT', /totalSteps, or epochs and stepsPerEpoch/);
    q.dispose();
  });

  test('SequentialLR switches schedulers at milestones (each restarts from the base lr); ChainedScheduler composes them', () => {
    const { opt, params, bases } = twoGroups();
    const warm = rng.int(2, 5), gamma = rng.uniform(0.5, 0.95), start = rng.uniform(0.05, 0.5);
    const seq = new optim.SequentialLR(opt, [new optim.LinearLR(opt, start, 1, warm), new optim.ExponentialLR(opt, gamma)], [warm]);
    const seen: number[][] = [opt.paramGroups.map((g) => g.lr)];
    for (let e = 1; e <= warm + 5; e++) {
      seq.step();
      seen.push(seq.getLastLr());
    }
    expectSequence(seen, (b, e) => (e < warm ? b * (start + ((1 - start) * e) / warm) : b * gamma ** (e - warm)), bases);
    antler.dispose(params);
    const c = twoGroups();
    const factor = rng.uniform(0.1, 0.9), n = rng.int(1, 4);
    const chain = new optim.ChainedScheduler([new optim.ConstantLR(c.opt, factor, n), new optim.ExponentialLR(c.opt, gamma)]);
    const chained: number[][] = [c.opt.paramGroups.map((g) => g.lr)];
    for (let e = 1; e <= n + 3; e++) {
      chain.step();
      chained.push(chain.getLastLr());
    }
    expectSequence(chained, (b, e) => b * (e < n ? factor : 1) * gamma ** e, c.bases);
    expectAntlerError(() => new optim.SequentialLR(c.opt, [new optim.StepLR(c.opt, 2)], [3]), 'INVALID_ARGUMENT', /0 milestone\(s\) for 1 schedulers/);
    antler.dispose(c.params);
    // MultiplicativeLR has no closed form: at its milestone PyTorch 2's step(0) multiplies the current lr by
    // λ(0) (torch 2.13: ConstantLR(0.5, 2) then λ = 0.5 from epoch 3 gives 0.5, 0.5, 1, 0.5, 0.25, 0.125).
    const m = twoGroups();
    const lam = rng.uniform(0.3, 0.9), at = rng.int(3, 5), cf = rng.uniform(0.2, 0.8);
    const mseq = new optim.SequentialLR(m.opt, [new optim.ConstantLR(m.opt, cf, 2), new optim.MultiplicativeLR(m.opt, () => lam)], [at]);
    const mult: number[][] = [m.opt.paramGroups.map((g) => g.lr)];
    for (let e = 1; e <= at + 3; e++) {
      mseq.step();
      mult.push(mseq.getLastLr());
    }
    expectSequence(mult, (b, e) => (e < 2 ? b * cf : e < at ? b : b * lam ** (e - at + 1)), m.bases);
    antler.dispose(m.params);
  });

  test("OneCycleLR sets the groups' initial lr to maxLr / divFactor, as PyTorch's: later schedulers and SequentialLR start from it", () => {
    const p = antler.zeros([1], { requiresGrad: true });
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    const maxLr = rng.uniform(0.5, 2), div = rng.uniform(5, 30), gamma = rng.uniform(0.3, 0.9), at = rng.int(2, 5);
    const seq = new optim.SequentialLR(opt, [new optim.OneCycleLR(opt, maxLr, { totalSteps: 10, divFactor: div }), new optim.ExponentialLR(opt, gamma)], [at]);
    expect(opt.paramGroups[0].lr).toBeCloseTo(maxLr / div, 14);
    for (let e = 1; e < at + 3; e++) {
      seq.step();
      if (e >= at) expect(opt.paramGroups[0].lr).toBeCloseTo((maxLr / div) * gamma ** (e - at), 14);
    }
    // A cycle too short for its warm-up (pctStart · totalSteps < 1) runs, as PyTorch's; a phase of no length throws when reached.
    const short = new optim.OneCycleLR(opt, 1, { totalSteps: 3 });
    short.step();
    short.step();
    expect(opt.paramGroups[0].lr).toBeGreaterThan(0);
    const flat = new optim.OneCycleLR(opt, 1, { totalSteps: 10, pctStart: 1 });
    for (let k = 0; k < 9; k++) flat.step();
    expectAntlerError(() => flat.step(), 'INVALID_ARGUMENT', /no length .* ZeroDivisionError/);
    // ChainedScheduler's getLastLr is the groups' lr, whichever scheduler set it last.
    const c = twoGroups();
    const s1 = new optim.ExponentialLR(c.opt, 0.5), s2 = new optim.LinearLR(c.opt, 0.25, 1, 4);
    expect(new optim.ChainedScheduler([s2, s1]).getLastLr()).toEqual(c.opt.paramGroups.map((g) => g.lr));
    // Its schedulers must drive one optimizer (as torch 2.x's; its getLastLr reads the first's groups).
    const other = twoGroups();
    const lrs = other.opt.paramGroups.map((g) => g.lr);
    expectAntlerError(() => new optim.ChainedScheduler([s1, new optim.ExponentialLR(other.opt, 1)]), 'INVALID_ARGUMENT', /schedulers\[1\] drives another optimizer than schedulers\[0\]/);
    expect(other.opt.paramGroups.map((g) => g.lr)).toEqual(lrs);
    antler.dispose([p, ...c.params, ...other.params]);
  });

  test('OneCycleLR with two groups: each its own maxLr and momenta; Adam keeps each group\'s beta2', () => {
    const ps = [antler.zeros([2], { requiresGrad: true }), antler.zeros([1], { requiresGrad: true })];
    const beta2 = [rng.uniform(0.9, 0.99), rng.uniform(0.99, 0.9999)];
    const opt = new optim.Adam([{ params: [ps[0]], betas: [0.9, beta2[0]] }, { params: [ps[1]], betas: [0.8, beta2[1]] }]);
    const maxLr = [rng.uniform(0.5, 2), rng.uniform(0.01, 0.1)], baseM = [rng.uniform(0.7, 0.8), rng.uniform(0.8, 0.85)], maxM = [rng.uniform(0.9, 0.95), rng.uniform(0.95, 0.99)];
    const total = rng.int(10, 30), pct = rng.uniform(0.2, 0.4), div = 25, fin = 1e4;
    const sched = new optim.OneCycleLR(opt as unknown as optim.Optimizer<{ lr: number }>, maxLr, { totalSteps: total, pctStart: pct, baseMomentum: baseM, maxMomentum: maxM });
    const cos = (a: number, b: number, x: number): number => b + ((a - b) / 2) * (Math.cos(Math.PI * x) + 1);
    for (let t = 0; t < total; t++) {
      const up = t <= pct * total - 1;
      const x = up ? t / (pct * total - 1) : (t - (pct * total - 1)) / (total - 1 - (pct * total - 1));
      opt.paramGroups.forEach((g, i) => {
        const initial = maxLr[i] / div;
        const lr = up ? cos(initial, maxLr[i], x) : cos(maxLr[i], initial / fin, x);
        const m = up ? cos(maxM[i], baseM[i], x) : cos(baseM[i], maxM[i], x);
        expect({ t, group: i, lr: Math.abs(g.lr - lr) < 1e-12, beta1: Math.abs(g.betas[0] - m) < 1e-12, beta2: g.betas[1] }).toEqual({ t, group: i, lr: true, beta1: true, beta2: beta2[i] });
      });
      sched.step();
    }
    antler.dispose([opt, ...ps]);
  });

  test('CyclicLR: triangular, triangular2, exp_range and a custom scale; lr up over stepSizeUp and down over stepSizeDown, the momentum (or beta1) the other way', () => {
    for (const mode of ['triangular', 'triangular2', 'exp_range', 'custom'] as const) {
      const ps = [antler.zeros([2], { requiresGrad: true }), antler.zeros([1], { requiresGrad: true })];
      const adam = rng.next() < 0.5;
      const groups = [{ params: [ps[0]] }, { params: [ps[1]], lr: 0.5 }];
      const opt = (adam ? new optim.Adam(groups, { lr: 0.1, betas: [0.5, 0.995] }) : new optim.SGD(groups, { lr: 0.1, momentum: 0.3 })) as unknown as optim.Optimizer<{ lr: number }>;
      const base = [rng.uniform(1e-4, 0.01), rng.uniform(0.01, 0.05)], top = [rng.uniform(0.1, 1), rng.uniform(0.05, 0.2)];
      const baseM = [rng.uniform(0.6, 0.8), 0.75], maxM = [rng.uniform(0.85, 0.95), 0.9];
      // Whole steps, or halves: PyTorch takes float step sizes.
      const up = rng.pick([1, 2, 3, 5, 2.5]), down = rng.pick([1, 2, 4, 1.5]);
      const gamma = rng.uniform(0.8, 0.99);
      const custom = (c: number) => 1 / c;
      const sched = new optim.CyclicLR(opt, base, top, {
        stepSizeUp: up, stepSizeDown: down, baseMomentum: baseM, maxMomentum: maxM,
        ...(mode === 'custom' ? { scaleFn: custom, scaleMode: 'cycle' as const } : { mode, gamma }),
      });
      for (let t = 0; t < 30; t++) {
        // Where t sits in its cycle: rising over [0, up], falling over [up, up + down].
        const len = up + down, pos = t % len, cycle = Math.floor(t / len) + 1;
        const rise = pos <= up ? pos / up : (len - pos) / down;
        const scale = mode === 'triangular' ? 1 : mode === 'triangular2' ? 0.5 ** (cycle - 1) : mode === 'exp_range' ? gamma ** t : custom(cycle);
        opt.paramGroups.forEach((g, i) => {
          const m = adam ? (g as unknown as { betas: number[] }).betas[0] : (g as unknown as { momentum: number }).momentum;
          expect({ mode, t, i, lr: g.lr }).toEqual({ mode, t, i, lr: expect.closeTo(base[i] + (top[i] - base[i]) * rise * scale, 14) });
          expect({ mode, t, i, m }).toEqual({ mode, t, i, m: expect.closeTo(maxM[i] - (maxM[i] - baseM[i]) * rise * scale, 14) });
          if (adam) expect((g as unknown as { betas: number[] }).betas[1]).toBe(0.995);
        });
        sched.step();
      }
      antler.dispose([opt as unknown as optim.Adam, ...ps]);
    }
    const q = antler.zeros([1], { requiresGrad: true });
    const ada = new optim.Adagrad([q]);
    expectAntlerError(() => new optim.CyclicLR(ada, 0.01, 0.1), 'INVALID_ARGUMENT', /^CyclicLR: cycleMomentum needs an optimizer with momentum or betas \(Adagrad has neither\)/);
    // baseLr is the cycle's floor even where an earlier scheduler fixed the group's initial lr (PyTorch sets base_lrs from it).
    new optim.StepLR(ada, 5);
    const c = new optim.CyclicLR(ada, 0.02, 0.1, { cycleMomentum: false, stepSizeUp: 2 });
    expect(ada.paramGroups[0].lr).toBe(0.02);
    c.step();
    expect(ada.paramGroups[0].lr).toBeCloseTo(0.06, 15);
    c.step();
    c.step();
    expect(ada.paramGroups[0].lr).toBeCloseTo(0.06, 15);
    expect(c.baseLrs).toEqual([0.02]);
    expectAntlerError(() => new optim.CyclicLR(ada, 0.01, 0.1, { cycleMomentum: false, mode: 'exp' as never }), 'INVALID_ARGUMENT', /mode must be 'triangular', 'triangular2' or 'exp_range'; got 'exp'/);
    expectAntlerError(() => new optim.CyclicLR(ada, 0.01, 0.1, { cycleMomentum: false, stepSizeUp: 0 }), 'INVALID_ARGUMENT', /stepSizeUp must be > 0; got 0/);
    expectAntlerError(() => new optim.CyclicLR(ada, [0.01, 0.02], 0.1, { cycleMomentum: false }), 'INVALID_ARGUMENT', /baseLr has 2 entries for 1 parameter groups/);
    expectAntlerError(() => new optim.CyclicLR(ada, 0.01, 0.1, { cycleMomentum: false, scaleFn: 3 as never }), 'INVALID_ARGUMENT', /scaleFn must be a function/);
    expectAntlerError(() => new optim.CyclicLR(ada, 0.01, 0.1, { cycleMomentum: false, step_size_up: 4 } as never), 'INVALID_ARGUMENT', /unknown option 'step_size_up'/);
    antler.dispose([ada, q]);
    // A failed construction or step changes nothing: not the groups' lr and momentum, not the step count.
    const ps = [antler.zeros([1], { requiresGrad: true }), antler.zeros([1], { requiresGrad: true })];
    const sgd = new optim.SGD([{ params: [ps[0]] }, { params: [ps[1]] }], { lr: 0.5, momentum: 0.5 });
    const state = () => sgd.paramGroups.map((g) => [g.lr, g.momentum]);
    expectAntlerError(() => new optim.CyclicLR(sgd, 0.01, 0.1, { scaleFn: () => NaN }), 'INVALID_ARGUMENT', /^CyclicLR: scaleFn\(1\) must be a finite number; got NaN$/);
    expect(state()).toEqual([[0.5, 0.5], [0.5, 0.5]]);
    let calls = 0;
    const cyc = new optim.CyclicLR(sgd, 0.01, 0.1, { scaleFn: () => (++calls <= 3 ? 1 : Infinity), stepSizeUp: 2 });
    cyc.step();
    const before = state();
    expectAntlerError(() => cyc.step(), 'INVALID_ARGUMENT', /scaleFn\(1\) must be a finite number; got Infinity/);
    expect(state()).toEqual(before);
    expect(cyc.lastEpoch).toBe(1);
    // The same for any scheduler: a LambdaLR whose lambda fails for the second group leaves the first alone.
    const lam = new optim.LambdaLR(sgd, [(e) => 0.5 ** e, (e) => (e < 2 ? 1 : Number.NaN)]);
    lam.step();
    const mid = state();
    expectAntlerError(() => lam.step(), 'INVALID_ARGUMENT');
    expect(state()).toEqual(mid);
    expect(lam.lastEpoch).toBe(1);
    antler.dispose([sgd, ...ps]);
  });

  test('ReduceLROnPlateau in every mode and threshold mode matches a transcription of torch\'s step (ties and near-ties included)', () => {
    // torch.optim.lr_scheduler.ReduceLROnPlateau.step / is_better / _reduce_lr, transcribed.
    const torchPlateau = (o: { mode: 'min' | 'max'; thresholdMode: 'rel' | 'abs'; threshold: number; factor: number; patience: number; cooldown: number; minLr: number }, lr0: number, metrics: number[]): number[] => {
      let best = o.mode === 'min' ? Infinity : -Infinity, bad = 0, cool = 0, lr = lr0;
      const better = (a: number): boolean => {
        if (o.mode === 'min' && o.thresholdMode === 'rel') return a < best * (1 - o.threshold);
        if (o.mode === 'min') return a < best - o.threshold;
        if (o.thresholdMode === 'rel') return a > best * (o.threshold + 1);
        return a > best + o.threshold;
      };
      return metrics.map((a) => {
        if (better(a)) {
          best = a;
          bad = 0;
        } else bad += 1;
        if (cool > 0) {
          cool -= 1;
          bad = 0;
        }
        if (bad > o.patience) {
          const next = Math.max(lr * o.factor, o.minLr);
          if (lr - next > 1e-8) lr = next;
          cool = o.cooldown;
          bad = 0;
        }
        return lr;
      });
    };
    for (const mode of ['min', 'max'] as const)
      for (const thresholdMode of ['rel', 'abs'] as const) {
        const o = { mode, thresholdMode, threshold: rng.uniform(0.02, 0.1), factor: rng.uniform(0.2, 0.8), patience: rng.int(0, 2), cooldown: rng.int(0, 2), minLr: 1e-3 };
        // Metrics around 1 that move by about the threshold either way (relative and absolute alike
        // near 1), so some steps are just better, some just worse, some ties.
        const metrics: number[] = [1];
        for (let e = 1; e < 40; e++) metrics.push(rng.next() < 0.15 ? metrics[e - 1] : metrics[e - 1] * (1 + rng.uniform(-2, 2) * o.threshold));
        const p = antler.zeros([1], { requiresGrad: true });
        const opt = new optim.SGD([p], { lr: 0.1 });
        const sched = new optim.ReduceLROnPlateau(opt, o);
        const got = metrics.map((m) => (sched.step(m), opt.paramGroups[0].lr));
        const want = torchPlateau(o, 0.1, metrics);
        expect({ mode, thresholdMode, got }).toEqual({ mode, thresholdMode, got: want });
        // The run did reduce, and did not reduce every time.
        expect(new Set(want).size).toBeGreaterThan(1);
        p.dispose();
      }
  });

  test('ChainedScheduler steps its schedulers in the order given: a LambdaLR after an ExponentialLR sets the lr from the base', () => {
    // torch's ChainedScheduler.step: `for scheduler in self._schedulers: scheduler.step()`. LambdaLR is not
    // chainable (base · λ(epoch)), so last it overrides ExponentialLR's product; first, ExponentialLR multiplies it.
    const gamma = rng.uniform(0.5, 0.9), lam = (e: number) => 1 / (1 + e);
    for (const lambdaLast of [true, false]) {
      const { opt, params, bases } = twoGroups();
      const exp = new optim.ExponentialLR(opt, gamma), lambda = new optim.LambdaLR(opt, lam);
      const chain = new optim.ChainedScheduler(lambdaLast ? [exp, lambda] : [lambda, exp]);
      for (let e = 1; e <= 5; e++) {
        chain.step();
        // Each step: lambda sets base · λ(e); exp (when after it) multiplies by γ once.
        expectClose(chain.getLastLr(), bases.map((b) => b * lam(e) * (lambdaLast ? 1 : gamma)), 1e-14, 0, `lambdaLast ${lambdaLast}, epoch ${e}`);
      }
      antler.dispose(params);
    }
  });

  test('CosineAnnealingWarmRestarts.step(epoch) for tMult 1, 2 and 3: the period and the epochs since its start', () => {
    for (const tMult of [1, 2, 3]) {
      const { opt, params, bases } = twoGroups();
      const t0 = rng.int(1, 4), etaMin = rng.uniform(0, 1e-3);
      const sched = new optim.CosineAnnealingWarmRestarts(opt, t0, tMult, etaMin);
      for (const e of [0.5, t0, t0 + 0.25, t0 * (1 + tMult) + 0.5, rng.uniform(0, 60)]) {
        let start = 0, len = t0;
        while (e >= start + len) {
          start += len;
          len *= tMult;
        }
        sched.step(e);
        expect({ tMult, e, tCur: sched.tCur, tI: sched.tI }).toEqual({ tMult, e, tCur: expect.closeTo(e - start, 9), tI: len });
        expectClose(opt.paramGroups.map((g) => g.lr), bases.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((Math.PI * (e - start)) / len))) / 2), 1e-9, 1e-15, `tMult ${tMult}, step(${e})`);
      }
      antler.dispose(params);
    }
  });

  test('invalid scheduler arguments throw before touching the learning rates', () => {
    const { opt, params, bases } = twoGroups();
    const bad: [string, () => unknown, RegExp][] = [
      // Before, a negative gamma flipped the lr's sign every stepSize epochs, and 0 zeroed it.
      ['StepLR negative gamma', () => new optim.StepLR(opt, 1, -1), /^StepLR: gamma must be > 0; got -1 \(the learning rate would change sign\)$/],
      ['StepLR gamma 0', () => new optim.StepLR(opt, 1, 0), /^StepLR: gamma must be > 0; got 0/],
      ['StepLR NaN gamma', () => new optim.StepLR(opt, 1, NaN), /^StepLR: gamma must be finite; got NaN$/],
      ['StepLR stepSize 0', () => new optim.StepLR(opt, 0), /^StepLR: stepSize must be an integer >= 1; got 0$/],
      ['CosineAnnealingLR negative etaMin', () => new optim.CosineAnnealingLR(opt, 10, -0.1), /^CosineAnnealingLR: etaMin .* must be >= 0; got -0\.1$/],
      ['LinearLR endFactor > 1', () => new optim.LinearLR(opt, 0.5, 2), /^LinearLR: endFactor must be in \[0, 1\]; got 2$/],
      ['LinearLR negative endFactor', () => new optim.LinearLR(opt, 0.5, -1), /^LinearLR: endFactor must be in \[0, 1\]; got -1$/],
      ['a model for the optimizer', () => new optim.StepLR(new antler.nn.ReLU() as never, 1), /^StepLR: expected an Optimizer such as new optim\.SGD\(model\.parameters\(\)\); got a ReLU$/],
      ['no optimizer', () => new optim.CosineAnnealingLR(undefined as never, 10), /^CosineAnnealingLR: expected an Optimizer .*; got undefined$/],
    ];
    for (const [name, make, message] of bad) {
      const e = expectAntlerErrorInTidy(make, 'INVALID_ARGUMENT');
      expect({ name, message: e.message }).toEqual({ name, message: expect.stringMatching(message) });
    }
    expect(opt.paramGroups.map((g) => g.lr)).toEqual(bases);
    // gamma > 1 is still accepted, as in PyTorch.
    new optim.StepLR(opt, 1, 2).step();
    expectClose(opt.paramGroups.map((g) => g.lr), bases.map((b) => 2 * b), 1e-15, 0, 'gamma 2');
    antler.dispose(params);
  });

  test('the optimizer uses the scheduled lr on its next step', () => {
    const p = antler.zeros([3], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.SGD([p], { lr: 0.5 });
    const sched = new optim.StepLR(opt, 1, 0.1);
    const expected = [0, 0, 0];
    for (let e = 0; e < 3; e++) {
      setGrad(p, [1, 2, 3]);
      opt.step();
      const lr = 0.5 * 0.1 ** e;
      for (let i = 0; i < 3; i++) expected[i] -= lr * (i + 1);
      sched.step();
    }
    expectClose(p.dataSync(), expected, 1e-14, 0, 'params after three scheduled steps');
    p.dispose();
  });
});

describe(`scheduler stateDict: resuming (seed ${SEED})`, () => {
  // For each kind, random options and a random cut: run N steps straight; run `cut`, save optimizer and
  // scheduler state in one file, load both into fresh ones (made as at the start), run the rest: the same lrs
  // (and momenta) to the bit, epoch by epoch.
  type Sched = { step(metric: number): void; stateDict(): Record<string, Tensor>; loadStateDict(d: Record<string, Tensor>): void };
  const N = 24;
  const kinds: Record<string, (opt: optim.Adam, r: Rng) => Sched> = {
    StepLR: (o, r) => new optim.StepLR(o, r.int(1, 5), r.uniform(0.1, 0.9)),
    MultiStepLR: (o, r) => new optim.MultiStepLR(o, [r.int(1, 8), r.int(8, 16)], r.uniform(0.1, 0.9)),
    CosineAnnealingLR: (o, r) => new optim.CosineAnnealingLR(o, r.int(3, 12), r.uniform(0, 1e-3)),
    LinearLR: (o, r) => new optim.LinearLR(o, r.uniform(0.05, 0.5), 1, r.int(2, 10)),
    PolynomialLR: (o, r) => new optim.PolynomialLR(o, r.int(5, 30), r.uniform(0.5, 2)),
    LambdaLR: (o, r) => {
      const g = r.uniform(0.8, 0.99);
      return new optim.LambdaLR(o, (e) => g ** e);
    },
    CosineAnnealingWarmRestarts: (o, r) => new optim.CosineAnnealingWarmRestarts(o, r.int(1, 5), r.int(1, 3), r.uniform(0, 1e-3)),
    OneCycleLR: (o, r) => new optim.OneCycleLR(o, [r.uniform(0.1, 1), r.uniform(0.01, 0.1)], { totalSteps: N + r.int(0, 5), pctStart: r.uniform(0.1, 0.5), threePhase: r.int(0, 2) === 1 }),
    CyclicLR: (o, r) => new optim.CyclicLR(o, [r.uniform(0.001, 0.01), 0.002], [r.uniform(0.1, 1), 0.05], { stepSizeUp: r.int(1, 6), stepSizeDown: r.int(1, 6), mode: r.pick(['triangular', 'triangular2', 'exp_range'] as const), gamma: 0.95 }),
    SequentialLR: (o, r) => new optim.SequentialLR(o, [new optim.LinearLR(o, 0.1, 1, r.int(2, 6)), new optim.CosineAnnealingWarmRestarts(o, r.int(2, 5), 2)], [r.int(3, 10)]),
    ChainedScheduler: (o, r) => new optim.ChainedScheduler([new optim.LinearLR(o, 0.2, 1, r.int(2, 6)), new optim.CosineAnnealingWarmRestarts(o, r.int(2, 5), 2)]),
    ReduceLROnPlateau: (o, r) => new optim.ReduceLROnPlateau(o, { patience: r.int(0, 3), cooldown: r.int(0, 3), factor: r.uniform(0.2, 0.8) }),
  };
  const setup = (make: (opt: optim.Adam, r: Rng) => Sched, seed: number) => {
    const params = [antler.zeros([2], { requiresGrad: true }), antler.zeros([3], { requiresGrad: true })];
    const opt = new optim.Adam([{ params: [params[0]], lr: 0.1 }, { params: [params[1]], lr: 0.02 }]);
    return { params, opt, sched: make(opt, makeRng(seed)) };
  };
  const run = (s: ReturnType<typeof setup>, metrics: number[], from: number, to: number, out: number[][]) => {
    for (let e = from; e < to; e++) {
      if (metrics[e] === undefined) (s.sched.step as () => void).call(s.sched);
      else s.sched.step(metrics[e]);
      out.push(s.opt.paramGroups.flatMap((g) => [g.lr, g.betas[0]]));
    }
  };
  for (const [kind, make] of Object.entries(kinds))
    test(`${kind}: a cut run resumes exactly`, () => {
      const seed = rng.u32(), cut = rng.int(1, N);
      // Metrics that improve and stall (ties included), for ReduceLROnPlateau; the others take no argument.
      const metrics = Array.from({ length: N }, (_, e) => (kind === 'ReduceLROnPlateau' ? Math.round(10 - e / 3 + rng.uniform(0, 2)) : undefined)) as number[];
      const straight = setup(make, seed), want: number[][] = [];
      run(straight, metrics, 0, N, want);
      const first = setup(make, seed), got: number[][] = [];
      run(first, metrics, 0, cut, got);
      const file = path.join(os.tmpdir(), `antler-sched-${process.pid}-${kind}.safetensors`);
      tidy(() => antler.save(file, { ...first.opt.stateDict(), ...first.sched.stateDict() }));
      const resumed = setup(make, seed);
      tidy(() => {
        const all = antler.load(file);
        resumed.opt.loadStateDict(all); // the optimizer skips scheduler.* keys, the scheduler everything else
        resumed.sched.loadStateDict(all);
      });
      run(resumed, metrics, cut, N, got);
      expect({ kind, cut, lrs: got }).toEqual({ kind, cut, lrs: want });
      fs.rmSync(file, { force: true });
      for (const s of [straight, first, resumed]) antler.dispose([s.opt, ...s.params]);
    });

  test("loadStateDict restores the scheduler's baseLrs, as PyTorch's base_lrs, into one built on an optimizer with other lrs", () => {
    const make = (lrs: number[]) => {
      const ps = [antler.zeros([1], { requiresGrad: true }), antler.zeros([1], { requiresGrad: true })];
      const opt = new optim.SGD([{ params: [ps[0]], lr: lrs[0] }, { params: [ps[1]], lr: lrs[1] }]);
      return { ps, opt, sched: new optim.CosineAnnealingLR(opt, 10, 1e-4) };
    };
    const bases = [rng.uniform(0.05, 0.5), rng.uniform(0.005, 0.05)], cut = rng.int(1, 8);
    const a = make(bases);
    for (let e = 0; e < cut; e++) a.sched.step();
    const b = make([1, 1]);
    tidy(() => {
      b.opt.loadStateDict(a.opt.stateDict());
      b.sched.loadStateDict(a.sched.stateDict());
    });
    expect(b.sched.baseLrs).toEqual(bases);
    for (let e = cut + 1; e <= 12; e++) {
      b.sched.step();
      expectClose(b.opt.paramGroups.map((g) => g.lr), bases.map((v) => 1e-4 + ((v - 1e-4) * (1 + Math.cos((Math.PI * e) / 10))) / 2), 1e-12, 1e-15, `epoch ${e}`);
    }
    for (const r of [a, b]) antler.dispose([r.opt, ...r.ps]);
  });

  test("without the scheduler's state a resumed run goes elsewhere (what the test above would catch)", () => {
    const sgdr = (o: optim.Adam) => new optim.CosineAnnealingWarmRestarts(o, 3, 2);
    const plateau = (o: optim.Adam) => new optim.ReduceLROnPlateau(o, { patience: 1 });
    const metrics = [5, 4, 3, 3, 3, 3, 3, 3, 3, 3];
    for (const make of [sgdr, plateau]) {
      const straight = setup(make, 1), want: number[][] = [];
      run(straight, make === plateau ? metrics : [], 0, 10, want);
      const first = setup(make, 1), blind: number[][] = [];
      run(first, make === plateau ? metrics : [], 0, 4, blind);
      const onlyOpt = setup(make, 1);
      tidy(() => onlyOpt.opt.loadStateDict(first.opt.stateDict()));
      run(onlyOpt, make === plateau ? metrics : [], 4, 10, blind);
      expect(blind).not.toEqual(want);
      for (const s of [straight, first, onlyOpt]) antler.dispose([s.opt, ...s.params]);
    }
  });

  test('bad dicts are refused, and nothing changes', () => {
    const p = antler.zeros([2], { requiresGrad: true }), q = antler.zeros([1], { requiresGrad: true });
    const opt = new optim.SGD([{ params: [p], lr: 0.1 }, { params: [q], lr: 0.2 }], { momentum: 0.9 });
    const sgdr = new optim.CosineAnnealingWarmRestarts(opt, 3, 2);
    for (let i = 0; i < 4; i++) sgdr.step();
    const before = { lastEpoch: sgdr.lastEpoch, tCur: sgdr.tCur, tI: sgdr.tI, last: sgdr.getLastLr(), lrs: opt.paramGroups.map((g) => g.lr) };
    const f64 = (v: number[], shape: number[]) => tensor(v, shape, { dtype: 'float64' });
    tidy(() => {
      const good = sgdr.stateDict();
      expect(Object.keys(good).sort()).toEqual(['scheduler.baseLrs', 'scheduler.lastEpoch', 'scheduler.lastLrs', 'scheduler.tCur', 'scheduler.tI']);
      const cases: [string, unknown, RegExp, ErrorCode?][] = [
        ['not an object', [good], /expected the object the scheduler's stateDict\(\) returned .*; got an array/],
        ['a tensor', good['scheduler.tI'], /expected the object .*; got a Tensor/],
        ['no scheduler keys', { 'param_groups.0.lr': f64([1], []) }, /the dict has no 'scheduler\.…' keys \(it has 'param_groups\.0\.lr'\)/],
        ['a StepLR dict (no tCur)', new optim.StepLR(opt, 2).stateDict(), /missing 'scheduler\.tCur'/],
        ['an extra key', { ...good, 'scheduler.best': f64([1], []) }, /unknown key 'scheduler\.best': the dict comes from another kind of scheduler/],
        ['a fractional epoch', { ...good, 'scheduler.lastEpoch': f64([2.5], []) }, /'scheduler\.lastEpoch' is 2\.5; expected an integer >= -1/],
        ['a NaN tCur', { ...good, 'scheduler.tCur': f64([NaN], []) }, /'scheduler\.tCur' is NaN; expected a finite number >= 0/],
        ['a zero period', { ...good, 'scheduler.tI': f64([0], []) }, /'scheduler\.tI' is 0; expected an integer >= 1/],
        ['a vector for a number', { ...good, 'scheduler.tI': f64([3, 3], [2]) }, /'scheduler\.tI' has shape \[2\]; expected a single number/, 'SHAPE_MISMATCH'],
        ['three groups', { ...good, 'scheduler.baseLrs': f64([0.1, 0.2, 0.3], [3]) }, /'scheduler\.baseLrs' has shape \[3\]; expected \[2\], one learning rate per parameter group/, 'SHAPE_MISMATCH'],
        ['a negative lr', { ...good, 'scheduler.lastLrs': f64([0.1, -0.2], [2]) }, /'scheduler\.lastLrs'\[1\] is -0\.2; expected a finite learning rate >= 0/],
        ['a number for a tensor', { ...good, 'scheduler.tI': 3 }, /'scheduler\.tI'.*Tensor/],
      ];
      for (const [name, dict, message, code] of cases) {
        const e = expectAntlerError(() => sgdr.loadStateDict(dict as Record<string, Tensor>), code ?? 'INVALID_ARGUMENT');
        expect({ name, message: e.message }).toEqual({ name, message: expect.stringMatching(message) });
        expect(e.message.startsWith('CosineAnnealingWarmRestarts.loadStateDict: ')).toBe(true);
      }
      expect({ lastEpoch: sgdr.lastEpoch, tCur: sgdr.tCur, tI: sgdr.tI, last: sgdr.getLastLr(), lrs: opt.paramGroups.map((g) => g.lr) }).toEqual(before);
      // A ReduceLROnPlateau's best may be infinite (no metric yet), not NaN.
      const plateau = new optim.ReduceLROnPlateau(opt);
      const d = plateau.stateDict();
      expect(d['scheduler.best'].item()).toBe(Infinity);
      plateau.loadStateDict(d);
      expectAntlerError(() => plateau.loadStateDict({ ...d, 'scheduler.best': f64([NaN], []) }), 'INVALID_ARGUMENT', /'scheduler\.best' is NaN/);
      // SequentialLR and ChainedScheduler want their schedulers' keys too.
      const seq = new optim.SequentialLR(opt, [new optim.ConstantLR(opt, 0.5, 2), new optim.ExponentialLR(opt, 0.9)], [2]);
      const sd = seq.stateDict();
      expect(Object.keys(sd)).toContain('scheduler.schedulers.1.lastLrs');
      const { ['scheduler.schedulers.1.lastEpoch']: _drop, ...partial } = sd;
      expectAntlerError(() => seq.loadStateDict(partial), 'INVALID_ARGUMENT', /^SequentialLR\.loadStateDict: missing 'scheduler\.schedulers\.1\.lastEpoch'/);
    });
    antler.dispose([opt, p, q]);
  });
});

describe(`optimizer guards (seed ${SEED})`, () => {
  const f64 = (v: number[]) => tensor(v, [v.length], { dtype: 'float64' });
  const shapes = () => [1 + Math.floor(rng.next() * 3), 4 + Math.floor(rng.next() * 3), 7 + Math.floor(rng.next() * 3)];
  const leaf = (n: number) => tensor(randomArray(rng, n), [n], { dtype: 'float64', requiresGrad: true });
  const stepOnce = (opt: optim.Adam, ps: Tensor[]) => {
    tidy(() => ps.reduce<Tensor | null>((s, p) => (s ? s.add(p.square().sum()) : p.square().sum()), null)!.backward());
    opt.step();
  };
  const snapshot = (opt: optim.Adam) => tidy(() => Object.fromEntries(Object.entries(opt.stateDict()).map(([k, v]) => [k, Array.from(v.dataSync())])));

  test("loadStateDict checks each group's parameter count (PyTorch's 'doesn't match the size of optimizer's group'), distinct indices, and maps state by each group's list; a refused load changes nothing", () => {
    const [na, nb, nc] = shapes();
    const saved = [leaf(na), leaf(nb), leaf(nc)];
    const a = new optim.Adam([{ params: [saved[0], saved[1]] }, { params: [saved[2]], lr: 0.01 }]);
    stepOnce(a, saved);
    const dict = a.stateDict();
    expectExact(dict['param_groups.0.params'].dataSync(), [0, 1], 'group 0 indices');
    expectExact(dict['param_groups.1.params'].dataSync(), [2], 'group 1 indices');
    // The same shapes split [a], [b, c]: every state tensor fits a parameter, only the group sizes differ.
    const mine = [leaf(na), leaf(nb), leaf(nc)];
    const b = new optim.Adam([{ params: [mine[0]] }, { params: [mine[1], mine[2]] }], { lr: 0.5 });
    stepOnce(b, mine);
    const before = snapshot(b);
    const bad: [Record<string, Tensor>, ErrorCode, RegExp][] = [
      [dict, 'INVALID_ARGUMENT', /^Adam\.loadStateDict: loaded state dict contains a parameter group that doesn't match the size of optimizer's group: parameter group 0 has 2 parameters in the dict \('param_groups\.0\.params'\) and 1 in this optimizer/],
      [{ ...dict, 'param_groups.1.params': f64([1]) }, 'INVALID_ARGUMENT', /'param_groups\.1\.params' lists parameter index 1 again/],
      [{ ...dict, 'param_groups.1.params': f64([1.5]) }, 'INVALID_ARGUMENT', /'param_groups\.1\.params' holds 1\.5; parameter indices are integers >= 0/],
      [{ ...dict, 'param_groups.1.params': f64([9]) }, 'INVALID_ARGUMENT', /'(state|scalars)\.2\.\w+' names parameter index 2, which no group's params list holds/],
      [Object.fromEntries(Object.entries(dict).filter(([k]) => k !== 'param_groups.1.params')), 'INVALID_ARGUMENT', /lists the parameters of 1 of this optimizer's 2 parameter groups; missing 'param_groups\.1\.params'/],
    ];
    // b has groups [a], [b, c]: refused for the sizes; each other case on an optimizer with a's layout.
    const c = new optim.Adam([{ params: [mine[0], mine[1]] }, { params: [mine[2]] }], { lr: 0.5 });
    stepOnce(c, mine);
    const beforeC = snapshot(c);
    bad.forEach(([d, code, message], i) => expectAntlerErrorInTidy(() => (i === 0 ? b : c).loadStateDict(d), code, message));
    expect(snapshot(b)).toEqual(before);
    expect(snapshot(c)).toEqual(beforeC);
    expect(b.paramGroups.map((g) => g.lr)).toEqual([0.5, 0.5]);
    // Each group's list maps the dict's indices to parameters, as PyTorch's id_map: [1, 0] swaps the first two,
    // so state.0 (the first parameter's, na != nb values) must fit the second.
    expectAntlerErrorInTidy(() => c.loadStateDict({ ...dict, 'param_groups.0.params': f64([1, 0]) }), 'SHAPE_MISMATCH', new RegExp(`'state\\.0\\.expAvg' has shape \\[${na}\\]; parameter 1 has shape \\[${nb}\\]`));
    // A dict without the lists (an older antler's) indexes the parameters in order; an integer state tensor is cast
    // to the parameter's dtype, as PyTorch 1.13 casts it.
    const old = Object.fromEntries(Object.entries(dict).filter(([k]) => !k.endsWith('.params')));
    tidy(() => c.loadStateDict({ ...old, 'state.2.expAvg': tensor(Array.from({ length: nc }, (_, j) => j - 1), [nc], { dtype: 'int32' }) }));
    const loaded = tidy(() => Object.fromEntries(Object.entries(c.stateDict()).map(([k, v]) => [k, Array.from(v.dataSync())])));
    for (const k of Object.keys(old)) if (k !== 'state.2.expAvg') expect([k, loaded[k]]).toEqual([k, Array.from(old[k].dataSync())]);
    expect(c.state.get(mine[2])!.expAvg).toBeInstanceOf(Tensor);
    expect((c.state.get(mine[2])!.expAvg as Tensor).dtype).toBe('float64');
    expectExact((c.state.get(mine[2])!.expAvg as Tensor).dataSync(), Array.from({ length: nc }, (_, j) => j - 1), 'cast state');
    antler.dispose([dict, a, b, c, ...saved, ...mine]);
    for (const d of bad.slice(1)) antler.dispose(Object.entries(d[0]).filter(([k]) => !Object.hasOwn(dict, k) || d[0][k] !== dict[k]).map(([, v]) => v));
  });

  const kinds = ['SGD', 'Adam', 'AdamW', 'RMSprop', 'Adagrad', 'RAdam', 'NAdam', 'Adamax', 'Adadelta', 'Rprop', 'ASGD', 'LBFGS', 'AdaHessian'] as const;
  type Kind = (typeof kinds)[number];
  const make = (kind: Kind, params: unknown, options?: object) => new (optim[kind] as unknown as new (p: unknown, o?: object) => optim.Optimizer<Record<string, unknown>>)(params, options);

  test('an option set to undefined is not given: the default (or the constructor’s option) applies, in the options, a parameter group and addParamGroup, for every option of every optimizer', () => {
    for (const kind of kinds) {
      const p = leaf(2), q = leaf(2), r = leaf(2);
      const base = make(kind, [p]);
      const defaults = base.defaults;
      for (const key of Object.keys(defaults)) {
        const o = make(kind, [q], { [key]: undefined });
        expect([kind, key, o.defaults[key]]).toEqual([kind, key, defaults[key]]);
        expect([kind, key, o.paramGroups[0][key]]).toEqual([kind, key, base.paramGroups[0][key]]);
        if (kind === 'LBFGS') continue; // one group only
        const given = key === 'lr' ? 0.25 : defaults[key];
        const g = make(kind, [{ params: [q], [key]: undefined }], key === 'lr' ? { lr: 0.25 } : undefined);
        expect([kind, key, g.paramGroups[0][key]]).toEqual([kind, key, given]);
        g.addParamGroup({ params: [r], [key]: undefined } as never);
        expect([kind, key, g.paramGroups[1][key]]).toEqual([kind, key, given]);
      }
      antler.dispose([p, q, r]);
    }
  });

  test('null, NaN, a negative number or a string for an option throws INVALID_ARGUMENT naming the option, and the group where it is a group’s (PyTorch: "Invalid learning rate: -1")', () => {
    for (const kind of kinds) {
      const p = leaf(2), q = leaf(2);
      const defaults = make(kind, [p]).defaults;
      for (const [label, v] of [['null', null], ['NaN', NaN], ['-1', -1], ['a string', 'x']] as const) {
        expectAntlerError(() => make(kind, [q], { lr: v }), 'INVALID_ARGUMENT', new RegExp(`^${kind}: lr must`));
        if (kind === 'LBFGS') continue;
        expectAntlerError(() => make(kind, [{ params: [p] }, { params: [q], lr: v }]), 'INVALID_ARGUMENT', new RegExp(`^${kind} \\(parameter group 1\\): lr must`));
        const o = make(kind, [p]);
        expectAntlerError(() => o.addParamGroup({ params: [q], lr: v } as never), 'INVALID_ARGUMENT', new RegExp(`^${kind}\\.addParamGroup \\(parameter group 1\\): lr must`));
        expect([kind, label, o.paramGroups.length]).toEqual([kind, label, 1]);
      }
      // Every numeric option refuses a string, naming itself.
      for (const [key, d] of Object.entries(defaults))
        if (typeof d === 'number' && key !== 'seed') expectAntlerError(() => make(kind, [q], { [key]: 'x' }), 'INVALID_ARGUMENT', new RegExp(`${key}\\b.*must|must.*${key}`));
      antler.dispose([p, q]);
    }
  });
});
