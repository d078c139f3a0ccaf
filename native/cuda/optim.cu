// Fused optimizer steps: one pass over the parameter with the update rules of
// kernels/rows.h (torch.optim.SGD, Adam and AdamW,
// RMSprop, Adagrad, RAdam, NAdam, Adamax, Adadelta, Rprop, ASGD; AdaHessian), shared with the CPU. The
// coefficients, bias corrections included, are computed once on the host in
// double and rounded to the parameter's dtype, as torch does in Python.
#include "../kernels/rows.h"
#include "ops.cuh"

namespace antler::cuda {

//   d = ±grad (+ wd·param);  buf = firstStep ? d : momentum·buf + (1 − dampening)·d
//   d = nesterov ? d + momentum·buf : buf;  param −= lr·d
template <typename T>
static __global__ void sgdStepKernel(T* param, const T* grad, T* buf, int64_t n, kernels::SgdCoeffs<T> c) {
  for (int64_t i = gridStart(); i < n; i += gridStride())
    kernels::sgdUpdate(c, param[i], grad[i], buf ? buf + i : nullptr);
}

//   m = β1 m + (1 − β1) g,  v = β2 v + (1 − β2) g²  (amsgrad: vmax = max(vmax, v))
//   param −= (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
template <typename T>
static __global__ void adamStepKernel(T* param, const T* grad, T* m, T* v, T* vmax, int64_t n,
                                      kernels::AdamCoeffs<T> c) {
  for (int64_t i = gridStart(); i < n; i += gridStride())
    kernels::adamUpdate(c, param[i], grad[i], m[i], v[i], vmax ? vmax + i : nullptr);
}

//   m = β1 m + (1 − β1) g;  d given: v = β2 v + (1 − β2) d²
//   param = param·(1 − lr·wd) − (lr / (1 − β1^t)) · m / ((v / (1 − β2^r))^(k/2) + eps)
template <typename T>
static __global__ void adaHessianStepKernel(T* param, const T* grad, T* m, T* v, const T* d, int64_t n,
                                            kernels::AdaHessianCoeffs<T> c) {
  for (int64_t i = gridStart(); i < n; i += gridStride())
    kernels::adaHessianUpdate(c, param[i], grad[i], m[i], v[i], d ? d + i : nullptr);
}

template <typename T>
static __global__ void rmspropStepKernel(T* param, const T* grad, T* sq, T* ga, T* buf, int64_t n,
                                         kernels::RmspropCoeffs<T> c) {
  for (int64_t i = gridStart(); i < n; i += gridStride())
    kernels::rmspropUpdate(c, param[i], grad[i], sq[i], ga ? ga + i : nullptr, buf ? buf + i : nullptr);
}

template <typename T>
static __global__ void adagradStepKernel(T* param, const T* grad, T* sum, int64_t n, kernels::AdagradCoeffs<T> c) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) kernels::adagradUpdate(c, param[i], grad[i], sum[i]);
}

template <typename T>
static void launchRmsprop(Context& ctx, void* param, const void* grad, void* sq, void* ga, void* buf, int64_t n,
                          const RmspropParams& p) {
  rmspropStepKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(sq), static_cast<T*>(ga),
      static_cast<T*>(buf), n, kernels::rmspropCoeffs<T>(p));
  ANTLER_LAUNCH_CHECK("rmspropStep");
}

void rmspropStep(Context& ctx, DType t, void* param, const void* grad, void* squareAvg, void* gradAvg, void* buf,
                 int64_t n, const RmspropParams& p) {
  if (n <= 0) return;
  if ((p.centered && !gradAvg) || (p.momentum > 0.0 && !buf)) fail(Code::Internal, "rmspropStep: a state buffer is missing");
  switch (t) {
    case DType::Float32: return launchRmsprop<float>(ctx, param, grad, squareAvg, gradAvg, buf, n, p);
    case DType::Float64: return launchRmsprop<double>(ctx, param, grad, squareAvg, gradAvg, buf, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "rmspropStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void launchAdagrad(Context& ctx, void* param, const void* grad, void* sum, int64_t n, const AdagradParams& p) {
  adagradStepKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(sum), n, kernels::adagradCoeffs<T>(p));
  ANTLER_LAUNCH_CHECK("adagradStep");
}

void adagradStep(Context& ctx, DType t, void* param, const void* grad, void* sum, int64_t n, const AdagradParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchAdagrad<float>(ctx, param, grad, sum, n, p);
    case DType::Float64: return launchAdagrad<double>(ctx, param, grad, sum, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "adagradStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static __global__ void radamStepKernel(T* param, const T* grad, T* m, T* v, int64_t n, kernels::RadamCoeffs<T> c) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) kernels::radamUpdate(c, param[i], grad[i], m[i], v[i]);
}

template <typename T>
static void launchRadam(Context& ctx, void* param, const void* grad, void* m, void* v, int64_t n, const RadamParams& p) {
  radamStepKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(m), static_cast<T*>(v), n,
      kernels::radamCoeffs<T>(p));
  ANTLER_LAUNCH_CHECK("radamStep");
}

void radamStep(Context& ctx, DType t, void* param, const void* grad, void* m, void* v, int64_t n, const RadamParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchRadam<float>(ctx, param, grad, m, v, n, p);
    case DType::Float64: return launchRadam<double>(ctx, param, grad, m, v, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "radamStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static __global__ void nadamStepKernel(T* param, const T* grad, T* m, T* v, int64_t n, kernels::NadamCoeffs<T> c) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) kernels::nadamUpdate(c, param[i], grad[i], m[i], v[i]);
}

template <typename T>
static void launchNadam(Context& ctx, void* param, const void* grad, void* m, void* v, int64_t n, const NadamParams& p) {
  nadamStepKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(m), static_cast<T*>(v), n,
      kernels::nadamCoeffs<T>(p));
  ANTLER_LAUNCH_CHECK("nadamStep");
}

void nadamStep(Context& ctx, DType t, void* param, const void* grad, void* m, void* v, int64_t n, const NadamParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchNadam<float>(ctx, param, grad, m, v, n, p);
    case DType::Float64: return launchNadam<double>(ctx, param, grad, m, v, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "nadamStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static __global__ void adamaxStepKernel(T* param, const T* grad, T* m, T* u, int64_t n, kernels::AdamaxCoeffs<T> c) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) kernels::adamaxUpdate(c, param[i], grad[i], m[i], u[i]);
}

template <typename T>
static void launchAdamax(Context& ctx, void* param, const void* grad, void* m, void* u, int64_t n, const AdamaxParams& p) {
  adamaxStepKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(m), static_cast<T*>(u), n,
      kernels::adamaxCoeffs<T>(p));
  ANTLER_LAUNCH_CHECK("adamaxStep");
}

void adamaxStep(Context& ctx, DType t, void* param, const void* grad, void* m, void* u, int64_t n, const AdamaxParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchAdamax<float>(ctx, param, grad, m, u, n, p);
    case DType::Float64: return launchAdamax<double>(ctx, param, grad, m, u, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "adamaxStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static __global__ void adadeltaStepKernel(T* param, const T* grad, T* squareAvg, T* accDelta, int64_t n, kernels::AdadeltaCoeffs<T> c) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) kernels::adadeltaUpdate(c, param[i], grad[i], squareAvg[i], accDelta[i]);
}

template <typename T>
static void launchAdadelta(Context& ctx, void* param, const void* grad, void* squareAvg, void* accDelta, int64_t n, const AdadeltaParams& p) {
  adadeltaStepKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(squareAvg), static_cast<T*>(accDelta), n,
      kernels::adadeltaCoeffs<T>(p));
  ANTLER_LAUNCH_CHECK("adadeltaStep");
}

void adadeltaStep(Context& ctx, DType t, void* param, const void* grad, void* squareAvg, void* accDelta, int64_t n, const AdadeltaParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchAdadelta<float>(ctx, param, grad, squareAvg, accDelta, n, p);
    case DType::Float64: return launchAdadelta<double>(ctx, param, grad, squareAvg, accDelta, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "adadeltaStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static __global__ void rpropStepKernel(T* param, const T* grad, T* prev, T* stepSize, int64_t n, kernels::RpropCoeffs<T> c) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) kernels::rpropUpdate(c, param[i], grad[i], prev[i], stepSize[i]);
}

template <typename T>
static void launchRprop(Context& ctx, void* param, const void* grad, void* prev, void* stepSize, int64_t n, const RpropParams& p) {
  rpropStepKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(prev), static_cast<T*>(stepSize), n,
      kernels::rpropCoeffs<T>(p));
  ANTLER_LAUNCH_CHECK("rpropStep");
}

void rpropStep(Context& ctx, DType t, void* param, const void* grad, void* prev, void* stepSize, int64_t n, const RpropParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchRprop<float>(ctx, param, grad, prev, stepSize, n, p);
    case DType::Float64: return launchRprop<double>(ctx, param, grad, prev, stepSize, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "rpropStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static __global__ void asgdStepKernel(T* param, const T* grad, T* ax, int64_t n, kernels::AsgdCoeffs<T> c) {
  for (int64_t i = gridStart(); i < n; i += gridStride()) kernels::asgdUpdate(c, param[i], grad[i], ax[i]);
}

template <typename T>
static void launchAsgd(Context& ctx, void* param, const void* grad, void* ax, int64_t n, const AsgdParams& p) {
  asgdStepKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(ax), n, kernels::asgdCoeffs<T>(p));
  ANTLER_LAUNCH_CHECK("asgdStep");
}

void asgdStep(Context& ctx, DType t, void* param, const void* grad, void* ax, int64_t n, const AsgdParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchAsgd<float>(ctx, param, grad, ax, n, p);
    case DType::Float64: return launchAsgd<double>(ctx, param, grad, ax, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "asgdStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void launchAdaHessian(Context& ctx, void* param, const void* grad, void* m, void* v, const void* d, int64_t n,
                             const AdaHessianParams& p) {
  adaHessianStepKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(m), static_cast<T*>(v),
      static_cast<const T*>(d), n, kernels::adaHessianCoeffs<T>(p));
  ANTLER_LAUNCH_CHECK("adaHessianStep");
}

void adaHessianStep(Context& ctx, DType t, void* param, const void* grad, void* m, void* v, const void* dDiag,
                    int64_t n, const AdaHessianParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32: return launchAdaHessian<float>(ctx, param, grad, m, v, dDiag, n, p);
    case DType::Float64: return launchAdaHessian<double>(ctx, param, grad, m, v, dDiag, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "adaHessianStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void launchSgd(Context& ctx, void* param, const void* grad, void* buf, int64_t n, const SgdParams& p) {
  sgdStepKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(buf), n, kernels::sgdCoeffs<T>(p));
  ANTLER_LAUNCH_CHECK("sgdStep");
}

template <typename T>
static void launchAdam(Context& ctx, void* param, const void* grad, void* m, void* v, void* vmax, int64_t n,
                       const AdamParams& p) {
  adamStepKernel<T><<<gridFor(ctx, n), kBlockSize, 0, ctx.stream>>>(
      static_cast<T*>(param), static_cast<const T*>(grad), static_cast<T*>(m), static_cast<T*>(v),
      static_cast<T*>(vmax), n, kernels::adamCoeffs<T>(p));
  ANTLER_LAUNCH_CHECK("adamStep");
}

void sgdStep(Context& ctx, DType t, void* param, const void* grad, void* momentumBuf, int64_t n, const SgdParams& p) {
  if (n <= 0) return;
  if (p.momentum != 0.0 && !momentumBuf) fail(Code::Internal, "sgdStep: momentum needs a buffer");
  switch (t) {
    case DType::Float32: return launchSgd<float>(ctx, param, grad, momentumBuf, n, p);
    case DType::Float64: return launchSgd<double>(ctx, param, grad, momentumBuf, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "sgdStep: dtype ", dtypeName(t), " is not supported");
}

void adamStep(Context& ctx, DType t, void* param, const void* grad, void* m, void* v, void* vmax, int64_t n,
              const AdamParams& p) {
  if (n <= 0) return;
  if (p.amsgrad && !vmax) fail(Code::Internal, "adamStep: amsgrad needs max_exp_avg_sq");
  switch (t) {
    case DType::Float32: return launchAdam<float>(ctx, param, grad, m, v, vmax, n, p);
    case DType::Float64: return launchAdam<double>(ctx, param, grad, m, v, vmax, n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "adamStep: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cuda
