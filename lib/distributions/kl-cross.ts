/**
 * KL divergences between classes of different families (torch 1.13's
 * torch/distributions/kl.py, "Different distributions"): the closed forms
 * and the pairs that are +Infinity because p's support is not inside q's.
 * The families register the pairs within themselves; this module, imported
 * by index.ts after them, registers the rest of torch 1.13's pairs whose two
 * classes exist here. Subclasses follow by the registry's dispatch (Chi2 is
 * a Gamma). Results broadcast to the batch shapes of both p and q.
 *
 * Differences from torch: the Uniform → Beta and Uniform → Gamma forms use
 * x·log x = 0 at x = 0 (xlogy), so a Uniform with an end at 0 (or at 1 for
 * Beta) gets its finite KL where torch's 0·log 0 gives NaN; and where
 * those KLs (and Pareto's to an Exponential, a Normal, and the Uniform's to
 * a Pareto) are +Infinity their gradient is 0, not torch's NaN or ±Infinity.
 * (ContinuousBernoulli, Uniform) and (Uniform, ContinuousBernoulli) are
 * +Infinity only where the supports do not nest (a Uniform q with low > 0 or
 * high < 1; a Uniform p with low < 0 or high > 1): torch 1.13 also gives
 * +Infinity where they touch (low = 0 or high = 1), where the KL is finite.
 */
import type { Tensor } from '../tensor';
import { tidy } from '../engine';
import { add, broadcastTo, clamp, div, exp, greater, less, lessEqual, log, log1p, mul, neg, reciprocal, square, sub, sum, where } from '../ops/core';
import { fail } from '../errors';
import { solveTriangular } from '../ops/linalg-lu';
import { diagonal } from '../ops/products';
import { mvdigamma, mvlgamma } from './multivariate-gamma';
import { Wishart } from './transforms';
import { logicalOr } from '../ops/extra';
import { digamma, lgamma, xlogy } from '../ops/pointwise';
import { broadcastShapes } from '../validate';
import { registerKL } from './kl';
import { infiniteLike } from './util';
import { Exponential, Gumbel, Laplace, Normal, Uniform } from './location-scale';
import { Beta, Gamma, Pareto } from './gamma';
import { Bernoulli, Binomial, ContinuousBernoulli, Poisson } from './discrete';

/** The Euler–Mascheroni constant (torch's euler_constant). */
const EULER = 0.5772156649015329;

/**
 * x·log x with 0·log 0 = 0 (torch's _x_log_x is x * x.log(), NaN at 0), and 0 with a zero gradient below 0:
 * only where the KL is +Infinity does x go negative, and there the value is replaced, but a NaN would
 * still reach the gradient (torch's does).
 */
function xLogX(x: Tensor): Tensor {
  const c = clamp(x, 0);
  return xlogy(c, c);
}

// ---- +Infinity: p's support is not inside q's.
for (const [P, Q] of [
  [Exponential, Beta],
  [Exponential, Pareto],
  [Gamma, Beta],
  [Gamma, Uniform],
  [Gumbel, Beta],
  [Gumbel, Gamma],
  [Gumbel, Pareto],
  [Laplace, Beta],
  [Laplace, Gamma],
  [Laplace, Pareto],
  [Normal, Beta],
  [Normal, Gamma],
  [Normal, Pareto],
  // Pareto's support [scale, ∞) is unbounded above: never inside a Uniform's (torch: unconditionally).
  [Pareto, Uniform],
  [Poisson, Bernoulli],
  [Poisson, Binomial],
  // ContinuousBernoulli's support is [0, 1]: nothing unbounded fits in it, and it does not fit in a Pareto's.
  [ContinuousBernoulli, Pareto],
  [Exponential, ContinuousBernoulli],
  [Gamma, ContinuousBernoulli],
  [Gumbel, ContinuousBernoulli],
  [Laplace, ContinuousBernoulli],
  [Normal, ContinuousBernoulli],
  [Pareto, ContinuousBernoulli],
] as const)
  registerKL(P, Q, infiniteLike);

// ---- Closed forms.

registerKL(Bernoulli, Poisson, (p, q) =>
  tidy(() => sub(neg(p.entropy()), sub(mul(p.probs, log(q.rate)), q.rate))),
);

/** E[X] of a Beta: c1/(c1 + c0). */
function betaMean(p: Beta): Tensor {
  return div(p.concentration1, add(p.concentration1, p.concentration0));
}

registerKL(Beta, Exponential, (p, q) =>
  tidy(() => add(sub(neg(p.entropy()), log(q.rate)), mul(q.rate, betaMean(p)))),
);

registerKL(Beta, Gamma, (p, q) =>
  tidy(() => {
    const t1 = neg(p.entropy());
    const t2 = sub(lgamma(q.concentration), mul(q.concentration, log(q.rate)));
    const t3 = mul(sub(q.concentration, 1), sub(digamma(p.concentration1), digamma(add(p.concentration1, p.concentration0))));
    const t4 = mul(q.rate, betaMean(p));
    return add(sub(add(t1, t2), t3), t4);
  }),
);

registerKL(Beta, Normal, (p, q) =>
  tidy(() => {
    const m = betaMean(p);
    const v = square(q.scale);
    const t1 = neg(p.entropy());
    const t2 = mul(log(mul(v, 2 * Math.PI)), 0.5);
    const t3 = mul(add(div(mul(m, sub(1, m)), add(add(p.concentration1, p.concentration0), 1)), square(m)), 0.5);
    const t4 = mul(q.loc, m);
    const t5 = mul(square(q.loc), 0.5);
    return add(add(t1, t2), div(add(sub(t3, t4), t5), v));
  }),
);

registerKL(Beta, Uniform, (p, q) =>
  tidy(() => {
    const r = add(neg(p.entropy()), log(sub(q.high, q.low)));
    return where(logicalOr(greater(q.low, 0), less(q.high, 1)), Infinity, r);
  }),
);

registerKL(Exponential, Gamma, (p, q) =>
  tidy(() => {
    const ratio = div(q.rate, p.rate);
    const t1 = neg(mul(q.concentration, log(ratio)));
    return sub(add(add(add(t1, ratio), lgamma(q.concentration)), mul(q.concentration, EULER)), 1 + EULER);
  }),
);

registerKL(Gamma, Exponential, (p, q) =>
  tidy(() => add(sub(neg(p.entropy()), log(q.rate)), div(mul(q.rate, p.concentration), p.rate))),
);

registerKL(Gamma, Gumbel, (p, q) =>
  tidy(() => {
    const a = p.concentration;
    const bs = mul(p.rate, q.scale);
    const ls = div(q.loc, q.scale);
    const t1 = sub(sub(mul(sub(a, 1), digamma(a)), lgamma(a)), a);
    const t2 = add(log(bs), div(a, bs));
    // exp(ls)·(1 + 1/bs)^(−a), as one exp (no overflow of exp(ls) alone)
    const t3 = sub(exp(sub(ls, mul(a, log1p(reciprocal(bs))))), ls);
    return add(add(t1, t2), t3);
  }),
);

registerKL(Gamma, Normal, (p, q) =>
  tidy(() => {
    const a = p.concentration;
    const v = square(q.scale);
    const b2 = square(p.rate);
    const t1 = sub(sub(mul(log(mul(mul(b2, v), 2 * Math.PI)), 0.5), a), lgamma(a));
    const t2 = div(mul(add(square(a), a), 0.5), b2);
    const t3 = div(mul(q.loc, a), p.rate);
    const t4 = mul(square(q.loc), 0.5);
    return add(add(t1, mul(sub(a, 1), digamma(a))), div(add(sub(t2, t3), t4), v));
  }),
);

registerKL(Uniform, Beta, (p, q) =>
  tidy(() => {
    const w = sub(p.high, p.low);
    const t1 = log(w);
    const t2 = div(mul(sub(q.concentration1, 1), sub(sub(xLogX(p.high), xLogX(p.low)), w)), w);
    const t3 = div(mul(sub(q.concentration0, 1), add(sub(xLogX(sub(1, p.high)), xLogX(sub(1, p.low))), w)), w);
    const t4 = sub(add(lgamma(q.concentration1), lgamma(q.concentration0)), lgamma(add(q.concentration1, q.concentration0)));
    const r = sub(sub(add(t3, t4), t1), t2);
    return where(logicalOr(greater(p.high, 1), less(p.low, 0)), Infinity, r);
  }),
);

registerKL(Uniform, Gamma, (p, q) =>
  tidy(() => {
    const w = sub(p.high, p.low);
    const t1 = log(w);
    const t2 = sub(lgamma(q.concentration), mul(q.concentration, log(q.rate)));
    const t3 = div(mul(sub(1, q.concentration), sub(sub(xLogX(p.high), xLogX(p.low)), w)), w);
    const t4 = mul(q.rate, mul(add(p.high, p.low), 0.5));
    const r = add(add(add(neg(t1), t2), t3), t4);
    return where(less(p.low, 0), Infinity, r);
  }),
);

/** x − c where x > c, else 1: a denominator that stays finite and nonzero where the KL is replaced by +Infinity (no NaN gradient there). */
function safeMinus(x: Tensor, c: number): Tensor {
  return where(greater(x, c), sub(x, c), 1);
}

// Pareto → Exponential: +Infinity where α ≤ 1 (the Pareto's mean, and so E[−log q], is infinite).
registerKL(Pareto, Exponential, (p, q) =>
  tidy(() => {
    const a = p.alpha;
    const sr = mul(p.scale, q.rate);
    const t1 = log(div(a, sr));
    const t2 = reciprocal(a);
    const t3 = div(mul(a, sr), safeMinus(a, 1));
    return where(lessEqual(a, 1), Infinity, sub(add(sub(t1, t2), t3), 1));
  }),
);

// Pareto → Normal: +Infinity where α ≤ 2 (the Pareto's second moment is infinite).
registerKL(Pareto, Normal, (p, q) =>
  tidy(() => {
    const a = p.alpha;
    const v2 = mul(square(q.scale), 2);
    const common = div(p.scale, safeMinus(a, 1));
    const t1 = log(div(mul(q.scale, a), p.scale));
    const t2 = reciprocal(a);
    const t3 = div(mul(a, square(common)), safeMinus(a, 2));
    const t4 = square(sub(mul(a, common), q.loc));
    const r = sub(add(sub(add(t1, 0.5 * Math.log(2 * Math.PI)), t2), div(add(t3, t4), v2)), 1);
    return where(lessEqual(a, 2), Infinity, r);
  }),
);

// Uniform → Pareto: +Infinity where low < scale (the Uniform puts mass below the Pareto's support).
// log(α·s^α·w) as log α + α log s + log w (torch's s^α overflows for large α).
registerKL(Uniform, Pareto, (p, q) =>
  tidy(() => {
    const w = sub(p.high, p.low);
    const t1 = add(add(log(q.alpha), mul(q.alpha, log(q.scale))), log(w));
    const t2 = div(sub(sub(xLogX(p.high), xLogX(p.low)), w), w);
    return where(less(p.low, q.scale), Infinity, sub(mul(t2, add(q.alpha, 1)), t1));
  }),
);

/** E_p[−log q] + (−H(p)) for a ContinuousBernoulli q: −H(p) − mean·logit λ − log(1 − λ) − log C(λ) (torch's). */
function toContinuousBernoulli(negEntropy: Tensor, mean: Tensor, q: ContinuousBernoulli): Tensor {
  return sub(sub(sub(negEntropy, mul(mean, q.logits)), log1p(neg(q.probs))), q.logNormaliser());
}

registerKL(Beta, ContinuousBernoulli, (p, q) => tidy(() => toContinuousBernoulli(neg(p.entropy()), betaMean(p), q)));

// Uniform → ContinuousBernoulli: +Infinity where the Uniform leaves [0, 1].
registerKL(Uniform, ContinuousBernoulli, (p, q) =>
  tidy(() => {
    const r = toContinuousBernoulli(neg(log(sub(p.high, p.low))), mul(add(p.high, p.low), 0.5), q);
    return where(logicalOr(greater(p.high, 1), less(p.low, 0)), Infinity, r);
  }),
);

registerKL(ContinuousBernoulli, Exponential, (p, q) => tidy(() => add(sub(neg(p.entropy()), log(q.rate)), mul(q.rate, p.mean))));

registerKL(ContinuousBernoulli, Normal, (p, q) =>
  tidy(() => {
    const m = p.mean;
    const t1 = neg(p.entropy());
    const t2 = add(mul(add(square(div(q.loc, q.scale)), Math.log(2 * Math.PI)), 0.5), log(q.scale));
    const t3 = div(sub(add(p.variance, square(m)), mul(mul(q.loc, m), 2)), mul(square(q.scale), 2));
    return add(add(t1, t2), t3);
  }),
);

// ContinuousBernoulli → Uniform: +Infinity where the Uniform does not cover [0, 1].
registerKL(ContinuousBernoulli, Uniform, (p, q) =>
  tidy(() => {
    const r = add(neg(p.entropy()), log(sub(q.high, q.low)));
    return where(logicalOr(greater(q.low, 0), less(q.high, 1)), Infinity, r);
  }),
);

// Wishart → Wishart: torch 1.13 reaches it through its generic exponential-family (Bregman) rule; the
// same quantity in closed form, with d the dimension and Σ = L Lᵀ:
// (ν_q/2)(log|Σ_q| − log|Σ_p|) + (ν_p/2)(tr(Σ_q⁻¹Σ_p) − d) + log Γ_d(ν_q/2) − log Γ_d(ν_p/2) + ((ν_p − ν_q)/2) ψ_d(ν_p/2).
registerKL(Wishart, Wishart, (p, q) =>
  tidy(() => {
    const d = p.eventShape[0];
    if (q.eventShape[0] !== d) fail('SHAPE_MISMATCH', `klDivergence(Wishart, Wishart): ${d}×${d} against ${q.eventShape[0]}×${q.eventShape[0]} matrices`);
    const Lp = p.scaleTril, Lq = q.scaleTril;
    const logDet = (L: Tensor): Tensor => mul(sum(log(diagonal(L, { axis1: -2, axis2: -1 })), -1), 2);
    const shape = broadcastShapes([Lp.shape, Lq.shape])!;
    const M = solveTriangular(broadcastTo(Lq, shape), broadcastTo(Lp, shape), { upper: false });
    const tr = sum(square(M), [-2, -1]);
    const hp = mul(p.df, 0.5), hq = mul(q.df, 0.5);
    const t1 = mul(hq, sub(logDet(Lq), logDet(Lp)));
    const t2 = mul(hp, sub(tr, d));
    const t3 = sub(mvlgamma(hq, d), mvlgamma(hp, d));
    const t4 = mul(sub(hp, hq), mvdigamma(hp, d));
    return add(add(t1, t2), add(t3, t4));
  }),
);
