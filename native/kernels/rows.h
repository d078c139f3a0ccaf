// Per-element math of the row ops (softmax, cross-entropy, layer norm) and of
// the optimizer updates, shared by cpu/rows.cpp, cpu/optim.cpp and the CUDA
// files softmax.cu, loss.cu, layernorm.cu and optim.cu.
//
// Each backend reduces the row statistics (max, Σ exp, mean, variance, the
// backward dot products) in its own order but always accumulates them in
// double; the per-element formulas here then run in the tensor's dtype, as
// PyTorch's do, so float32 stays on the GPU's fast single-precision units.
#pragma once
#include <cstdint>

#include "hd.h"
#include "unary.h"

namespace antler::kernels {

// ---- softmax -------------------------------------------------------------

// A max that propagates NaN whichever side it is on, so a row holding a NaN
// comes out all NaN, as in PyTorch.
template <typename T>
ANTLER_HD T maxNaN(T a, T b) { return (a != a || a > b) ? a : b; }

// The row's normalizer in the dtype: Σ exp(x − max), or its log for log-softmax.
template <typename T>
ANTLER_HD T softmaxNorm(double sum, bool logSoftmax) {
  return static_cast<T>(logSoftmax ? log(sum) : sum);
}

// y = exp(x − max) / Σ            log: y = (x − max) − log Σ
template <typename T>
ANTLER_HD T softmaxValue(T x, T max, T norm, bool logSoftmax) {
  return logSoftmax ? (x - max) - norm : unary_math::exp_(x - max) / norm;
}

// gx = y (gy − Σ gy·y)            log: gx = gy − exp(y) Σ gy
// `dot` is Σ gy·y, or Σ gy for log-softmax.
template <typename T>
ANTLER_HD T softmaxGrad(T y, T gy, T dot, bool logSoftmax) {
  return logSoftmax ? gy - unary_math::exp_(y) * dot : y * (gy - dot);
}

// Wider terms of the backward dot: gy·y for softmax, gy alone for log-softmax.
template <typename T>
ANTLER_HD double softmaxDotTerm(T y, T gy, bool logSoftmax) {
  return logSoftmax ? static_cast<double>(gy) : static_cast<double>(gy) * static_cast<double>(y);
}

// ---- cross-entropy -------------------------------------------------------

enum class LabelKind : int { Class, Ignored, Bad };

// ignoreIndex wins over a class number, as in torch.nn.functional.cross_entropy.
ANTLER_HD LabelKind labelKind(int32_t label, int64_t C, int64_t ignoreIndex) {
  if (static_cast<int64_t>(label) == ignoreIndex) return LabelKind::Ignored;
  return (label < 0 || static_cast<int64_t>(label) >= C) ? LabelKind::Bad : LabelKind::Class;
}

// loss = log Σ_c exp(x_c) − x_label = (max − x_label) + log Σ_c exp(x_c − max);
// max − x_label first, so ±1000 logits lose no digits to the large terms.
ANTLER_HD double crossEntropyLoss(double max, double sum, double target) { return (max - target) + log(sum); }

// ∂(g · loss)/∂x_c = g (softmax(x)_c − [c == label])
template <typename T>
ANTLER_HD T crossEntropyGrad(T x, T max, T sum, bool isLabel, T g) {
  return g * (unary_math::exp_(x - max) / sum - (isLabel ? T(1) : T(0)));
}

// ---- layer norm ----------------------------------------------------------

// rstd = 1 / sqrt(var + eps), var the biased variance, in double.
ANTLER_HD double layerNormRstd(double var, double eps) { return 1.0 / sqrt(var + eps); }

// x̂ = (x − mean) · rstd, from the mean and rstd saved in the dtype, so the
// backward sees the same x̂ as the forward.
template <typename T>
ANTLER_HD T layerNormHat(T x, T mean, T rstd) { return (x - mean) * rstd; }

// y = x̂ · w_j + b_j, with w or b absent when null.
template <typename T>
ANTLER_HD T layerNormAffine(T xhat, const T* w, const T* b, int64_t j) {
  T y = xhat;
  if (w) y = y * w[j];
  if (b) y = y + b[j];
  return y;
}

// With ĝ = gy·w (or gy), means over the row's D elements:
//   gx = rstd (ĝ − mean(ĝ) − x̂ · mean(ĝ x̂))
template <typename T>
ANTLER_HD T layerNormGradX(T ghat, T xhat, T rstd, T meanG, T meanGXhat) {
  return rstd * ((ghat - meanG) - xhat * meanGXhat);
}

// ---- optimizers ----------------------------------------------------------
//
// torch.optim's single-tensor updates (foreach=False), one element at a time,
// with its operation order: coefficients are Python floats in torch, so they
// are computed here in double on the host and rounded to the dtype once.

template <typename T>
struct SgdCoeffs {
  T lr, momentum, dampKeep, weightDecay;   // dampKeep = 1 − dampening
  bool useMomentum, nesterov, maximize, firstStep;
};

// Params is antler::SgdParams (core/backend.h); a template so kernels/ does
// not depend on core/.
template <typename T, typename Params>
inline SgdCoeffs<T> sgdCoeffs(const Params& p) {
  return {static_cast<T>(p.lr), static_cast<T>(p.momentum), static_cast<T>(1.0 - p.dampening),
          static_cast<T>(p.weightDecay), p.momentum != 0.0, p.nesterov, p.maximize, p.firstStep};
}

//   d = ±grad (+ wd·param)
//   buf = firstStep ? d : momentum·buf + (1 − dampening)·d
//   d = nesterov ? d + momentum·buf : buf
//   param −= lr·d
// buf points at this element of the momentum buffer; it is read only with momentum.
template <typename T>
ANTLER_HD void sgdUpdate(const SgdCoeffs<T>& c, T& param, T grad, T* buf) {
  T d = c.maximize ? -grad : grad;
  if (c.weightDecay != T(0)) d = d + c.weightDecay * param;
  if (c.useMomentum) {
    const T b = c.firstStep ? d : *buf * c.momentum + c.dampKeep * d;
    *buf = b;
    d = c.nesterov ? d + c.momentum * b : b;
  }
  param = param + (-c.lr) * d;
}

template <typename T>
struct AdamCoeffs {
  T beta1Weight;    // 1 − β1, the lerp weight of m toward g
  T beta2, beta2Weight;   // β2, 1 − β2
  T eps, weightDecay;
  T decayKeep;      // 1 − lr·wd (decoupled)
  T stepSize;       // lr / (1 − β1^step)
  T bc2Sqrt;        // sqrt(1 − β2^step)
  bool decoupled, amsgrad, maximize;
};

template <typename T, typename Params>
inline AdamCoeffs<T> adamCoeffs(const Params& p) {
  const double step = static_cast<double>(p.step);
  const double bc1 = 1.0 - pow(p.beta1, step);
  const double bc2 = 1.0 - pow(p.beta2, step);
  return {static_cast<T>(1.0 - p.beta1),
          static_cast<T>(p.beta2),
          static_cast<T>(1.0 - p.beta2),
          static_cast<T>(p.eps),
          static_cast<T>(p.weightDecay),
          static_cast<T>(1.0 - p.lr * p.weightDecay),
          static_cast<T>(p.lr / bc1),
          static_cast<T>(sqrt(bc2)),
          p.decoupled,
          p.amsgrad,
          p.maximize};
}

// torch.lerp: a + w (b − a) for |w| < ½, else b − (b − a)(1 − w); the two
// forms keep the result exact at w = 0 and w = 1.
template <typename T>
ANTLER_HD T lerpTorch(T a, T b, T w) {
  return (w < T(0.5) && w > T(-0.5)) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}

// The start Adam/AdamW, RAdam and NAdam share: g = ±grad, weight decay (L2 into g, or decoupled:
// param ·= 1 − lr·wd), then the moments m = lerp(m, g, 1 − β1) and v = β2 v + (1 − β2) g². Returns g.
template <typename T, typename Coeffs>
ANTLER_HD T decayedAdamMoments(const Coeffs& c, T& param, T grad, T& m, T& v) {
  T g = c.maximize ? -grad : grad;
  if (c.weightDecay != T(0)) {
    if (c.decoupled) param = param * c.decayKeep;
    else g = g + c.weightDecay * param;
  }
  m = lerpTorch(m, g, c.beta1Weight);
  v = v * c.beta2 + c.beta2Weight * g * g;
  return g;
}

//   g = ±grad (+ wd·param unless decoupled);  decoupled: param ·= 1 − lr·wd
//   m = lerp(m, g, 1 − β1) = β1 m + (1 − β1) g
//   v = β2 v + (1 − β2) g²;  amsgrad: vmax = max(vmax, v), used in place of v
//   param −= (lr / (1 − β1^step)) · m / (sqrt(v) / sqrt(1 − β2^step) + eps)
// vmax points at this element of max_exp_avg_sq; it is read only with amsgrad.
template <typename T>
ANTLER_HD void adamUpdate(const AdamCoeffs<T>& c, T& param, T grad, T& m, T& v, T* vmax) {
  decayedAdamMoments(c, param, grad, m, v);
  T vUsed = v;
  if (c.amsgrad) {
    vUsed = maxNaN(*vmax, v);
    *vmax = vUsed;
  }
  const T denom = unary_math::sqrt_(vUsed) / c.bc2Sqrt + c.eps;
  param = param + ((-c.stepSize) * m) / denom;  // addcdiv(value = −stepSize): (value·m) / denom, as ATen rounds it
}

template <typename T>
struct RmspropCoeffs {
  T lr, alpha, alphaWeight;   // α, 1 − α
  T eps, weightDecay, momentum;
  bool centered, maximize, useMomentum;
};

// Params is antler::RmspropParams (core/backend.h).
template <typename T, typename Params>
inline RmspropCoeffs<T> rmspropCoeffs(const Params& p) {
  return {static_cast<T>(p.lr),          static_cast<T>(p.alpha),    static_cast<T>(1.0 - p.alpha),
          static_cast<T>(p.eps),         static_cast<T>(p.weightDecay), static_cast<T>(p.momentum),
          p.centered,                    p.maximize,                 p.momentum > 0.0};
}

// torch.optim.RMSprop:
//   g = ±grad (+ wd·param)
//   sq = α sq + (1 − α) g²
//   centered: ga = lerp(ga, g, 1 − α); avg = sqrt(sq − ga²) + eps, else avg = sqrt(sq) + eps
//   momentum > 0: buf = momentum·buf + g / avg; param −= lr·buf
//   else: param −= lr · g / avg
// gradAvg and buf point at this element of grad_avg / momentum_buffer; each is read only when used.
template <typename T>
ANTLER_HD void rmspropUpdate(const RmspropCoeffs<T>& c, T& param, T grad, T& sq, T* gradAvg, T* buf) {
  T g = c.maximize ? -grad : grad;
  if (c.weightDecay != T(0)) g = g + c.weightDecay * param;
  sq = sq * c.alpha + c.alphaWeight * g * g;
  T avg;
  if (c.centered) {
    const T ga = lerpTorch(*gradAvg, g, c.alphaWeight);
    *gradAvg = ga;
    avg = unary_math::sqrt_(sq + (-ga) * ga) + c.eps;
  } else {
    avg = unary_math::sqrt_(sq) + c.eps;
  }
  if (c.useMomentum) {
    const T b = *buf * c.momentum + g / avg;
    *buf = b;
    param = param + (-c.lr) * b;
  } else {
    param = param + ((-c.lr) * g) / avg;  // addcdiv's rounding, as in adamUpdate
  }
}

template <typename T>
struct AdagradCoeffs {
  T clr, eps, weightDecay;   // clr = lr / (1 + (step − 1)·lr_decay)
  bool maximize;
};

// Params is antler::AdagradParams (core/backend.h).
template <typename T, typename Params>
inline AdagradCoeffs<T> adagradCoeffs(const Params& p) {
  const double clr = p.lr / (1.0 + static_cast<double>(p.step - 1) * p.lrDecay);
  return {static_cast<T>(clr), static_cast<T>(p.eps), static_cast<T>(p.weightDecay), p.maximize};
}

// torch.optim.Adagrad (dense gradients):
//   g = ±grad (+ wd·param);  sum += g²;  param −= clr · g / (sqrt(sum) + eps)
template <typename T>
ANTLER_HD void adagradUpdate(const AdagradCoeffs<T>& c, T& param, T grad, T& sum) {
  T g = c.maximize ? -grad : grad;
  if (c.weightDecay != T(0)) g = g + c.weightDecay * param;
  sum = sum + g * g;
  const T std = unary_math::sqrt_(sum) + c.eps;
  param = param + ((-c.clr) * g) / std;  // addcdiv's rounding, as in adamUpdate
}

template <typename T>
struct RadamCoeffs {
  T beta1Weight;          // 1 − β1
  T beta2, beta2Weight;   // β2, 1 − β2
  T eps, weightDecay;
  T decayKeep;            // 1 − lr·wd (decoupled)
  T bc1, lr;              // 1 − β1^step
  T bc2Sqrt;              // sqrt(1 − β2^step)
  T rect;                 // the variance rectification term r_t (used when rectified)
  bool decoupled, maximize, rectified;   // rectified: rho_t > 5
};

// Params is antler::RadamParams (core/backend.h). rho_∞ = 2 / (1 − β2) − 1,
// rho_t = rho_∞ − 2·step·β2^step / (1 − β2^step), in double as torch computes them in Python.
template <typename T, typename Params>
inline RadamCoeffs<T> radamCoeffs(const Params& p) {
  const double step = static_cast<double>(p.step);
  const double beta2t = pow(p.beta2, step);
  const double bc1 = 1.0 - pow(p.beta1, step);
  const double bc2 = 1.0 - beta2t;
  const double rhoInf = 2.0 / (1.0 - p.beta2) - 1.0;
  const double rhoT = rhoInf - 2.0 * step * beta2t / bc2;
  const bool rectified = rhoT > 5.0;
  const double rect =
      rectified ? sqrt((rhoT - 4.0) * (rhoT - 2.0) * rhoInf / ((rhoInf - 4.0) * (rhoInf - 2.0) * rhoT)) : 0.0;
  return {static_cast<T>(1.0 - p.beta1),
          static_cast<T>(p.beta2),
          static_cast<T>(1.0 - p.beta2),
          static_cast<T>(p.eps),
          static_cast<T>(p.weightDecay),
          static_cast<T>(1.0 - p.lr * p.weightDecay),
          static_cast<T>(bc1),
          static_cast<T>(p.lr),
          static_cast<T>(sqrt(bc2)),
          static_cast<T>(rect),
          p.decoupled,
          p.maximize,
          rectified};
}

// torch.optim.RAdam:
//   g = ±grad (+ wd·param unless decoupled);  decoupled: param ·= 1 − lr·wd
//   m = lerp(m, g, 1 − β1);  v = β2 v + (1 − β2) g²;  m̂ = m / (1 − β1^step)
//   rho_t > 5: param −= ((m̂·lr) · (sqrt(1 − β2^step) / (sqrt(v) + eps))) · r_t
//   else:      param −= m̂·lr
template <typename T>
ANTLER_HD void radamUpdate(const RadamCoeffs<T>& c, T& param, T grad, T& m, T& v) {
  decayedAdamMoments(c, param, grad, m, v);
  const T mHat = m / c.bc1;
  if (c.rectified) {
    const T adaptive = c.bc2Sqrt / (unary_math::sqrt_(v) + c.eps);
    param = param - ((mHat * c.lr) * adaptive) * c.rect;
  } else {
    param = param - mHat * c.lr;
  }
}

template <typename T>
struct NadamCoeffs {
  T beta1Weight;          // 1 − β1
  T beta2, beta2Weight;   // β2, 1 − β2
  T eps, weightDecay;
  T decayKeep;            // 1 − lr·wd (decoupled)
  T bc2;                  // 1 − β2^step
  T gradScale;            // −lr·(1 − mu_t) / (1 − mu_product)
  T avgScale;             // −lr·mu_{t+1} / (1 − mu_product·mu_{t+1})
  bool decoupled, maximize;
};

// Params is antler::NadamParams (core/backend.h); p.muProduct already includes this step's mu_t.
//   mu_t = β1 (1 − ½·0.96^(step·momentumDecay)),  mu_{t+1} the same at step + 1
template <typename T, typename Params>
inline NadamCoeffs<T> nadamCoeffs(const Params& p) {
  const double step = static_cast<double>(p.step);
  const double mu = p.beta1 * (1.0 - 0.5 * pow(0.96, step * p.momentumDecay));
  const double muNext = p.beta1 * (1.0 - 0.5 * pow(0.96, (step + 1.0) * p.momentumDecay));
  const double muProductNext = p.muProduct * muNext;
  return {static_cast<T>(1.0 - p.beta1),
          static_cast<T>(p.beta2),
          static_cast<T>(1.0 - p.beta2),
          static_cast<T>(p.eps),
          static_cast<T>(p.weightDecay),
          static_cast<T>(1.0 - p.lr * p.weightDecay),
          static_cast<T>(1.0 - pow(p.beta2, step)),
          static_cast<T>(-p.lr * (1.0 - mu) / (1.0 - p.muProduct)),
          static_cast<T>(-p.lr * muNext / (1.0 - muProductNext)),
          p.decoupled,
          p.maximize};
}

// torch.optim.NAdam:
//   g = ±grad (+ wd·param unless decoupled);  decoupled: param ·= 1 − lr·wd
//   m = lerp(m, g, 1 − β1);  v = β2 v + (1 − β2) g²;  denom = sqrt(v / (1 − β2^step)) + eps
//   param += gradScale · g / denom;  param += avgScale · m / denom  (two addcdivs, in torch's order)
template <typename T>
ANTLER_HD void nadamUpdate(const NadamCoeffs<T>& c, T& param, T grad, T& m, T& v) {
  const T g = decayedAdamMoments(c, param, grad, m, v);
  const T denom = unary_math::sqrt_(v / c.bc2) + c.eps;
  param = param + (c.gradScale * g) / denom;
  param = param + (c.avgScale * m) / denom;
}

template <typename T>
struct AdamaxCoeffs {
  T beta1Weight, beta2;   // 1 − β1, β2
  T eps, weightDecay;
  T clr;                  // lr / (1 − β1^step)
  bool maximize;
};

// Params is antler::AdamaxParams (core/backend.h).
template <typename T, typename Params>
inline AdamaxCoeffs<T> adamaxCoeffs(const Params& p) {
  const double bc1 = 1.0 - pow(p.beta1, static_cast<double>(p.step));
  return {static_cast<T>(1.0 - p.beta1), static_cast<T>(p.beta2), static_cast<T>(p.eps),
          static_cast<T>(p.weightDecay), static_cast<T>(p.lr / bc1), p.maximize};
}

// torch.optim.Adamax:
//   g = ±grad (+ wd·param);  m = lerp(m, g, 1 − β1)
//   u = max(β2·u, |g| + eps)  (NaN wins, as torch.maximum);  param −= clr · m / u
template <typename T>
ANTLER_HD void adamaxUpdate(const AdamaxCoeffs<T>& c, T& param, T grad, T& m, T& u) {
  T g = c.maximize ? -grad : grad;
  if (c.weightDecay != T(0)) g = g + c.weightDecay * param;
  m = lerpTorch(m, g, c.beta1Weight);
  const T absG = g < T(0) ? -g : g;
  u = maxNaN(u * c.beta2, absG + c.eps);
  param = param + ((-c.clr) * m) / u;  // addcdiv's rounding, as in adamUpdate
}

template <typename T>
struct AdadeltaCoeffs {
  T lr, rho, rhoWeight;   // ρ, 1 − ρ
  T eps, weightDecay;
  bool maximize;
};

// Params is antler::AdadeltaParams (core/backend.h).
template <typename T, typename Params>
inline AdadeltaCoeffs<T> adadeltaCoeffs(const Params& p) {
  return {static_cast<T>(p.lr), static_cast<T>(p.rho), static_cast<T>(1.0 - p.rho), static_cast<T>(p.eps),
          static_cast<T>(p.weightDecay), p.maximize};
}

// torch.optim.Adadelta:
//   g = ±grad (+ wd·param);  sq = ρ sq + (1 − ρ) g²
//   delta = sqrt(acc + eps) / sqrt(sq + eps) · g;  acc = ρ acc + (1 − ρ) delta²;  param −= lr·delta
template <typename T>
ANTLER_HD void adadeltaUpdate(const AdadeltaCoeffs<T>& c, T& param, T grad, T& sq, T& acc) {
  T g = c.maximize ? -grad : grad;
  if (c.weightDecay != T(0)) g = g + c.weightDecay * param;
  sq = sq * c.rho + c.rhoWeight * g * g;
  const T std = unary_math::sqrt_(sq + c.eps);
  const T delta = (unary_math::sqrt_(acc + c.eps) / std) * g;
  acc = acc * c.rho + c.rhoWeight * delta * delta;
  param = param + (-c.lr) * delta;
}

template <typename T>
struct RpropCoeffs {
  T etaMinus, etaPlus;    // the step-size factors after a sign change / after the same sign
  T stepMin, stepMax;     // the step-size bounds
  bool maximize;
};

// Params is antler::RpropParams (core/backend.h).
template <typename T, typename Params>
inline RpropCoeffs<T> rpropCoeffs(const Params& p) {
  return {static_cast<T>(p.etaMinus), static_cast<T>(p.etaPlus), static_cast<T>(p.stepSizeMin),
          static_cast<T>(p.stepSizeMax), p.maximize};
}

// torch.optim.Rprop (prev and step_size as torch's state; step_size starts at lr, prev at 0):
//   g = ±grad;  s = g·prev
//   s > 0: stepSize ·= η+;  s < 0: stepSize ·= η−, g = 0;  else (0, or NaN: torch's sign(NaN) is 0) stepSize ·= 1
//   stepSize = clamp(stepSize, min, max) (every element, NaN stays NaN, min > max gives max as torch.clamp)
//   param −= sign(g)·stepSize (sign(NaN) = 0);  prev = g
template <typename T>
ANTLER_HD void rpropUpdate(const RpropCoeffs<T>& c, T& param, T grad, T& prev, T& stepSize) {
  T g = c.maximize ? -grad : grad;
  const T s = g * prev;
  T factor = T(1);
  if (s > T(0)) {
    factor = c.etaPlus;
  } else if (s < T(0)) {
    factor = c.etaMinus;
    g = T(0);
  }
  T step = stepSize * factor;
  step = step < c.stepMin ? c.stepMin : step;
  step = step > c.stepMax ? c.stepMax : step;
  stepSize = step;
  const T sign = g > T(0) ? T(1) : (g < T(0) ? T(-1) : T(0));
  param = param + (T(-1) * sign) * step;  // addcmul_(sign, step_size, value=-1)
  prev = g;
}

template <typename T>
struct AsgdCoeffs {
  T weightDecay;
  T decayKeep;            // 1 − λ·eta
  T negEta;               // −eta
  T mu;
  bool averaging, maximize;   // averaging: mu ≠ 1 (else ax is a copy of the parameter)
};

// Params is antler::AsgdParams (core/backend.h): eta and mu are the state's values before this
// step's host update, as torch 2.x's _single_tensor_asgd reads them.
template <typename T, typename Params>
inline AsgdCoeffs<T> asgdCoeffs(const Params& p) {
  return {static_cast<T>(p.weightDecay), static_cast<T>(1.0 - p.lambd * p.eta), static_cast<T>(-p.eta),
          static_cast<T>(p.mu), p.mu != 1.0, p.maximize};
}

// torch.optim.ASGD:
//   g = ±grad (+ wd·param);  param ·= 1 − λ·eta;  param += (−eta)·g
//   mu ≠ 1: ax += (param − ax)·mu;  else ax = param
// Rounded as torch 1.13 rounds them, on both backends: its add with alpha (grad.add(param, alpha=wd),
// param.add_(grad, alpha=−eta)) is one fused multiply-add (the CPU kernel's vectorised fmadd; nvcc's
// contraction on CUDA), the rest are separate ops each rounded once (mulRn/addRn keep nvcc from fusing).
// a·b + c rounded once, on the host (std::fma) and on the device.
ANTLER_HD float fusedMulAdd(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}
ANTLER_HD double fusedMulAdd(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
  return __fma_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

template <typename T>
ANTLER_HD void asgdUpdate(const AsgdCoeffs<T>& c, T& param, T grad, T& ax) {
  T g = c.maximize ? -grad : grad;
  if (c.weightDecay != T(0)) g = fusedMulAdd(c.weightDecay, param, g);
  param = mulRn(param, c.decayKeep);
  param = fusedMulAdd(c.negEta, g, param);
  if (c.averaging) ax = addRn(ax, mulRn(addRn(param, -ax), c.mu));
  else ax = param;
}

template <typename T>
struct AdaHessianCoeffs {
  T beta1, beta1Weight;   // β1, 1 − β1
  T beta2, beta2Weight;   // β2, 1 − β2
  T bc2;                  // 1 − β2^hessianStep
  T eps, decayKeep;       // decayKeep = 1 − lr·wd
  T stepSize;             // lr / (1 − β1^step)
  double halfPower;       // k / 2
  bool decay, sqrtPower;  // wd ≠ 0; k = 1
};

template <typename T, typename Params>
inline AdaHessianCoeffs<T> adaHessianCoeffs(const Params& p) {
  const double bc1 = 1.0 - pow(p.beta1, static_cast<double>(p.step));
  const double bc2 = 1.0 - pow(p.beta2, static_cast<double>(p.hessianStep));
  return {static_cast<T>(p.beta1),
          static_cast<T>(1.0 - p.beta1),
          static_cast<T>(p.beta2),
          static_cast<T>(1.0 - p.beta2),
          static_cast<T>(bc2),
          static_cast<T>(p.eps),
          static_cast<T>(1.0 - p.lr * p.weightDecay),
          static_cast<T>(p.lr / bc1),
          p.hessianPower / 2,
          p.weightDecay != 0.0,
          p.hessianPower == 1.0};
}

//   m = β1 m + (1 − β1) g;  d given: v = β2 v + (1 − β2) d²
//   denom = (v / bc2)^(k/2) + eps (sqrt when k = 1; pow in double otherwise, as the pow op)
//   param = param·(1 − lr·wd) − (m / denom)·stepSize
// The operations and their order are those of the composed update it replaces.
template <typename T>
ANTLER_HD void adaHessianUpdate(const AdaHessianCoeffs<T>& c, T& param, T grad, T& m, T& v, const T* d) {
  m = m * c.beta1 + grad * c.beta1Weight;
  if (d) v = v * c.beta2 + (*d * *d) * c.beta2Weight;
  const T vHat = v / c.bc2;
  const T root = c.sqrtPower ? unary_math::sqrt_(vHat) : static_cast<T>(pow(static_cast<double>(vHat), c.halfPower));
  const T denom = root + c.eps;
  const T kept = c.decay ? param * c.decayKeep : param;
  param = kept - (m / denom) * c.stepSize;
}

}  // namespace antler::kernels

#if defined(__CUDACC__)
// ---- CUDA row blocks -----------------------------------------------------
//
// softmax.cu, loss.cu and layernorm.cu reduce rows the same way: a block of
// kRowBlockThreads threads holds blockDim.y rows of blockDim.x threads each
// (a multiple of the warp size), so short rows share a block and long rows
// get 256 threads. Reductions use a fixed tree: the result is the same bits
// on every run and in every thread of the row.
namespace antler::kernels::rowblock {

constexpr int kRowBlockThreads = 256;
constexpr int kWarpsPerBlock = kRowBlockThreads / 32;

// Threads per row: about four elements per thread, from one warp to the whole block.
inline dim3 shapeFor(int64_t dim) {
  int64_t perRow = 32;
  while (perRow < kRowBlockThreads && perRow * 4 < dim) perRow *= 2;
  return dim3(static_cast<unsigned>(perRow), static_cast<unsigned>(kRowBlockThreads / perRow));
}

struct SumOp {
  __device__ __forceinline__ double operator()(double a, double b) const { return a + b; }
};
struct MaxOp {
  __device__ __forceinline__ double operator()(double a, double b) const { return maxNaN(a, b); }
};

// Reduces one value per thread over the threads of its row (threadIdx.y);
// every thread of the row gets the result. All threads of the block must call
// it together, rows past the end included (with the identity as their value):
// it synchronizes the block when rows span several warps.
template <typename Op>
__device__ __forceinline__ double rowReduce(double v, double* shared, Op op) {
  for (int offset = 16; offset > 0; offset /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  const int warpsPerRow = static_cast<int>(blockDim.x) / 32;
  if (warpsPerRow == 1) return v;
  const int first = static_cast<int>(threadIdx.y) * warpsPerRow;
  __syncthreads();   // the previous reduction's readers are done with shared
  if (threadIdx.x % 32 == 0) shared[first + static_cast<int>(threadIdx.x) / 32] = v;
  __syncthreads();
  double r = shared[first];
  for (int w = 1; w < warpsPerRow; ++w) r = op(r, shared[first + w]);
  return r;
}

}  // namespace antler::kernels::rowblock
#endif
