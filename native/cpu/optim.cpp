// Fused optimizer steps on the CPU: one pass over the parameter with the
// update rules of kernels/rows.h (torch.optim.SGD, Adam and AdamW, RMSprop, Adagrad, RAdam, NAdam,
// Adamax, Adadelta, Rprop, ASGD; AdaHessian).
#include "../core/error.h"
#include "../kernels/rows.h"
#include "ops.h"
#include "parallel.h"

namespace antler::cpu {

template <typename T>
static void sgdTyped(T* param, const T* grad, T* buf, int64_t n, const SgdParams& p) {
  const kernels::SgdCoeffs<T> c = kernels::sgdCoeffs<T>(p);
  parallelFor(n, n, [&](int64_t i) { kernels::sgdUpdate(c, param[i], grad[i], buf ? buf + i : nullptr); });
}

template <typename T>
static void adamTyped(T* param, const T* grad, T* m, T* v, T* vmax, int64_t n, const AdamParams& p) {
  const kernels::AdamCoeffs<T> c = kernels::adamCoeffs<T>(p);
  parallelFor(n, n, [&](int64_t i) { kernels::adamUpdate(c, param[i], grad[i], m[i], v[i], vmax ? vmax + i : nullptr); });
}

template <typename T>
static void adaHessianTyped(T* param, const T* grad, T* m, T* v, const T* d, int64_t n, const AdaHessianParams& p) {
  const kernels::AdaHessianCoeffs<T> c = kernels::adaHessianCoeffs<T>(p);
  parallelFor(n, n, [&](int64_t i) { kernels::adaHessianUpdate(c, param[i], grad[i], m[i], v[i], d ? d + i : nullptr); });
}

void adaHessianStep(DType t, void* param, const void* grad, void* m, void* v, const void* dDiag, int64_t n,
                    const AdaHessianParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32:
      return adaHessianTyped(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(m),
                             static_cast<float*>(v), static_cast<const float*>(dDiag), n, p);
    case DType::Float64:
      return adaHessianTyped(static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(m),
                             static_cast<double*>(v), static_cast<const double*>(dDiag), n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "adaHessianStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void rmspropTyped(T* param, const T* grad, T* sq, T* ga, T* buf, int64_t n, const RmspropParams& p) {
  const kernels::RmspropCoeffs<T> c = kernels::rmspropCoeffs<T>(p);
  parallelFor(n, n, [&](int64_t i) {
    kernels::rmspropUpdate(c, param[i], grad[i], sq[i], ga ? ga + i : nullptr, buf ? buf + i : nullptr);
  });
}

void rmspropStep(DType t, void* param, const void* grad, void* squareAvg, void* gradAvg, void* buf, int64_t n,
                 const RmspropParams& p) {
  if (n <= 0) return;
  if ((p.centered && !gradAvg) || (p.momentum > 0.0 && !buf)) fail(Code::Internal, "rmspropStep: a state buffer is missing");
  switch (t) {
    case DType::Float32:
      return rmspropTyped(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(squareAvg),
                          static_cast<float*>(gradAvg), static_cast<float*>(buf), n, p);
    case DType::Float64:
      return rmspropTyped(static_cast<double*>(param), static_cast<const double*>(grad),
                          static_cast<double*>(squareAvg), static_cast<double*>(gradAvg), static_cast<double*>(buf), n,
                          p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "rmspropStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void adagradTyped(T* param, const T* grad, T* sum, int64_t n, const AdagradParams& p) {
  const kernels::AdagradCoeffs<T> c = kernels::adagradCoeffs<T>(p);
  parallelFor(n, n, [&](int64_t i) { kernels::adagradUpdate(c, param[i], grad[i], sum[i]); });
}

void adagradStep(DType t, void* param, const void* grad, void* sum, int64_t n, const AdagradParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32:
      return adagradTyped(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(sum), n, p);
    case DType::Float64:
      return adagradTyped(static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(sum), n,
                          p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "adagradStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void radamTyped(T* param, const T* grad, T* m, T* v, int64_t n, const RadamParams& p) {
  const kernels::RadamCoeffs<T> c = kernels::radamCoeffs<T>(p);
  parallelFor(n, n, [&](int64_t i) { kernels::radamUpdate(c, param[i], grad[i], m[i], v[i]); });
}

void radamStep(DType t, void* param, const void* grad, void* m, void* v, int64_t n, const RadamParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32:
      return radamTyped(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(m),
                         static_cast<float*>(v), n, p);
    case DType::Float64:
      return radamTyped(static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(m),
                         static_cast<double*>(v), n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "radamStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void nadamTyped(T* param, const T* grad, T* m, T* v, int64_t n, const NadamParams& p) {
  const kernels::NadamCoeffs<T> c = kernels::nadamCoeffs<T>(p);
  parallelFor(n, n, [&](int64_t i) { kernels::nadamUpdate(c, param[i], grad[i], m[i], v[i]); });
}

void nadamStep(DType t, void* param, const void* grad, void* m, void* v, int64_t n, const NadamParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32:
      return nadamTyped(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(m),
                         static_cast<float*>(v), n, p);
    case DType::Float64:
      return nadamTyped(static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(m),
                         static_cast<double*>(v), n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "nadamStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void adamaxTyped(T* param, const T* grad, T* m, T* u, int64_t n, const AdamaxParams& p) {
  const kernels::AdamaxCoeffs<T> c = kernels::adamaxCoeffs<T>(p);
  parallelFor(n, n, [&](int64_t i) { kernels::adamaxUpdate(c, param[i], grad[i], m[i], u[i]); });
}

void adamaxStep(DType t, void* param, const void* grad, void* m, void* u, int64_t n, const AdamaxParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32:
      return adamaxTyped(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(m),
                         static_cast<float*>(u), n, p);
    case DType::Float64:
      return adamaxTyped(static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(m),
                         static_cast<double*>(u), n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "adamaxStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void adadeltaTyped(T* param, const T* grad, T* sq, T* acc, int64_t n, const AdadeltaParams& p) {
  const kernels::AdadeltaCoeffs<T> c = kernels::adadeltaCoeffs<T>(p);
  parallelFor(n, n, [&](int64_t i) { kernels::adadeltaUpdate(c, param[i], grad[i], sq[i], acc[i]); });
}

void adadeltaStep(DType t, void* param, const void* grad, void* squareAvg, void* accDelta, int64_t n, const AdadeltaParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32:
      return adadeltaTyped(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(squareAvg),
                         static_cast<float*>(accDelta), n, p);
    case DType::Float64:
      return adadeltaTyped(static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(squareAvg),
                         static_cast<double*>(accDelta), n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "adadeltaStep: dtype ", dtypeName(t), " is not supported");
}

template <typename T>
static void rpropTyped(T* param, const T* grad, T* prev, T* stepSize, int64_t n, const RpropParams& p) {
  const kernels::RpropCoeffs<T> c = kernels::rpropCoeffs<T>(p);
  parallelFor(n, n, [&](int64_t i) { kernels::rpropUpdate(c, param[i], grad[i], prev[i], stepSize[i]); });
}

void rpropStep(DType t, void* param, const void* grad, void* prev, void* stepSize, int64_t n, const RpropParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32:
      return rpropTyped(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(prev),
                        static_cast<float*>(stepSize), n, p);
    case DType::Float64:
      return rpropTyped(static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(prev),
                        static_cast<double*>(stepSize), n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "rpropStep: dtype ", dtypeName(t), " is not supported");
}

// ASGD's update rounds two of its steps once, as fused multiply-adds (std::fma: a library call on the
// x86-64 baseline). Where the CPU has FMA, GCC's run-time chosen clone makes each one instruction and
// vectorises the loop; both clones round alike (an fma is exact either way, the rest are single IEEE ops).
// The clones are chosen by an ifunc resolver, which glibc's loader runs and musl's (Alpine) and MinGW's
// lack: GCC there rejects target_clones ("the call requires 'ifunc'"), so only glibc gets them.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define ANTLER_FMA_CLONES __attribute__((target_clones("fma", "default")))
#else
#define ANTLER_FMA_CLONES
#endif
ANTLER_FMA_CLONES static void asgdRange(const kernels::AsgdCoeffs<float>& c, float* param, const float* grad, float* ax,
                                        int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) kernels::asgdUpdate(c, param[i], grad[i], ax[i]);
}
ANTLER_FMA_CLONES static void asgdRange(const kernels::AsgdCoeffs<double>& c, double* param, const double* grad,
                                        double* ax, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) kernels::asgdUpdate(c, param[i], grad[i], ax[i]);
}
#undef ANTLER_FMA_CLONES

template <typename T>
static void asgdTyped(T* param, const T* grad, T* ax, int64_t n, const AsgdParams& p) {
  const kernels::AsgdCoeffs<T> c = kernels::asgdCoeffs<T>(p);
  constexpr int64_t kChunk = 4096;
  parallelFor((n + kChunk - 1) / kChunk, n, [&](int64_t k) {
    asgdRange(c, param, grad, ax, k * kChunk, k * kChunk + kChunk < n ? k * kChunk + kChunk : n);
  });
}

void asgdStep(DType t, void* param, const void* grad, void* ax, int64_t n, const AsgdParams& p) {
  if (n <= 0) return;
  switch (t) {
    case DType::Float32:
      return asgdTyped(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(ax), n, p);
    case DType::Float64:
      return asgdTyped(static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(ax), n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "asgdStep: dtype ", dtypeName(t), " is not supported");
}

void sgdStep(DType t, void* param, const void* grad, void* momentumBuf, int64_t n, const SgdParams& p) {
  if (n <= 0) return;
  if (p.momentum != 0.0 && !momentumBuf) fail(Code::Internal, "sgdStep: momentum needs a buffer");
  switch (t) {
    case DType::Float32:
      return sgdTyped(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(momentumBuf), n,
                      p);
    case DType::Float64:
      return sgdTyped(static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(momentumBuf),
                      n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "sgdStep: dtype ", dtypeName(t), " is not supported");
}

void adamStep(DType t, void* param, const void* grad, void* m, void* v, void* vmax, int64_t n, const AdamParams& p) {
  if (n <= 0) return;
  if (p.amsgrad && !vmax) fail(Code::Internal, "adamStep: amsgrad needs max_exp_avg_sq");
  switch (t) {
    case DType::Float32:
      return adamTyped(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(m),
                       static_cast<float*>(v), static_cast<float*>(vmax), n, p);
    case DType::Float64:
      return adamTyped(static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(m),
                       static_cast<double*>(v), static_cast<double*>(vmax), n, p);
    case DType::Int32: break;
  }
  fail(Code::Internal, "adamStep: dtype ", dtypeName(t), " is not supported");
}

}  // namespace antler::cpu
