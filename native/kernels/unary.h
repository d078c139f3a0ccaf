// Unary elementwise math and its derivative, shared by both backends.
//
//   Neg      y = -x                         dy/dx = -1
//   Exp      y = e^x                        y
//   Log      y = ln x                       1/x
//   Tanh     y = tanh x                     1 - y²
//   Sigmoid  y = 1/(1+e^-x)                 y(1-y)
//   Relu     y = max(x, 0) (NaN stays NaN)  [not x ≤ 0] (NaN passes, as torch)
//   Softplus y = log1p(e^x); x > 20 gives x (PyTorch's beta=1, threshold=20)   σ(x) (1 for x > 20)
//   Gelu     y = ½ x (1 + erf(x/√2))        Φ(x) + x φ(x)
//   Sqrt     y = √x                         1/(2y)
//   Abs      y = |x|                        sign(x) (0 at 0 and NaN; multiplied: a NaN or inf gy gives NaN)
//   Pow      y = x^p0                       p0 x^(p0-1) (0 where p0 == 0)
//   Clamp    y = min(max(x, p0), p1)        [p0 <= x <= p1] (NaN stays NaN)
//   Square   y = x²                         2x
//   Reciprocal y = 1/x                      -y²
//   Sin      y = sin x                      cos x
//   Cos      y = cos x                      -sin x
//   Log1p    y = ln(1 + x)                  1/(1 + x)
//   Expm1    y = e^x - 1                    y + 1
//   Rsqrt    y = 1/√x                       -½ y³
//   Sign     y = -1, 0 or 1 (±0 and NaN stay)   0
//   Floor    y = ⌊x⌋                        0
//   Ceil     y = ⌈x⌉                        0
//   Round    y = x to the nearest integer, halves to even (torch.round)   0
//   LeakyRelu y = x > 0 ? x : p0 x (NaN stays NaN)   x > 0 ? 1 : p0
//   Elu      y = x > 0 ? x : p0 (e^x - 1)   x <= 0 ? p0 e^x : 1 (PyTorch's test, so a NaN x passes gy)
//   Silu     y = x σ(x)                     σ(x) (1 + x (1 - σ(x)))
//   Erf      y = erf x                      2/√π e^(−x²)
//   Erfc     y = erfc x                     −2/√π e^(−x²)
//   Tan      y = tan x                      1 + y²
//   Asin     y = asin x                     1/√(1 − x²)
//   Acos     y = acos x                     −1/√(1 − x²)
//   Atan     y = atan x                     1/(1 + x²)
//   Sinh     y = sinh x                     cosh x
//   Cosh     y = cosh x                     sinh x
//   Asinh    y = asinh x                    1/√(x² + 1)
//   Acosh    y = acosh x                    1/√(x² − 1)
//   Atanh    y = atanh x                    1/(1 − x²)
//   Trunc    y = x rounded toward 0         0
//   Log2     y = log₂ x                     1/(x ln 2)
//   Log10    y = log₁₀ x                    1/(x ln 10)
//   Exp2     y = 2^x                        y ln 2
// int32 is supported for Neg, Abs, Relu, Clamp, Square, Sign, Floor, Ceil,
// Round and Trunc only (core/ops.cpp checks).
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "elementwise.h"
#include "hostmath.h"

namespace antler::kernels {

enum class UnaryOp : int {
  Neg = 0, Exp, Log, Tanh, Sigmoid, Relu, Softplus, Gelu, Sqrt, Abs, Pow, Clamp, Square, Reciprocal,
  Sin, Cos, Log1p, Expm1, Rsqrt, Sign, Floor, Ceil, Round, LeakyRelu, Elu, Silu,
  Erf, Erfc, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh, Trunc, Log2, Log10, Exp2,
};
constexpr int kUnaryOpCount = 41;

// Float math in float and double math in double, as PyTorch does: float32
// tensors stay on the GPU's fast single-precision units, and an overload set
// keeps one formula text for both types.
namespace unary_math {

// Float e^x, ln x, ln(1 + x), e^x − 1, erf and erfc: CUDA's functions on the
// GPU, antler's vectorisable ones (hostmath.h, each within 1 ulp of the
// float64 value) on the host. Double: libm and CUDA's double functions.
#if defined(__CUDA_ARCH__)
#define ANTLER_FLOAT_MATH(name, host, cuda, libm)                  \
  ANTLER_HD_ALWAYS_INLINE float name(float x) { return cuda(x); } \
  ANTLER_HD double name(double x) { return libm(x); }
#else
#define ANTLER_FLOAT_MATH(name, host, cuda, libm)                  \
  ANTLER_HD_ALWAYS_INLINE float name(float x) { return host(x); } \
  ANTLER_HD double name(double x) { return libm(x); }
#endif
ANTLER_FLOAT_MATH(exp_, hostmath::expf, expf, exp)
ANTLER_FLOAT_MATH(log_, hostmath::logf, logf, log)
ANTLER_FLOAT_MATH(log1p_, hostmath::log1pf, log1pf, log1p)
ANTLER_FLOAT_MATH(expm1_, hostmath::expm1f, expm1f, expm1)
ANTLER_FLOAT_MATH(erf_, hostmath::erff, erff, erf)
ANTLER_FLOAT_MATH(erfc_, hostmath::erfcf, erfcf, erfc)
#undef ANTLER_FLOAT_MATH
// On the host, float tanh in float arithmetic that vectorises (no libm call,
// no branch): for |x| < 0.625 the odd polynomial x + x³ P(x²), P of degree 4
// fitted to tanh's relative error (5e-9 in exact arithmetic), else
// 1 − 2 / (e^{2|x|} + 1) with hostmath::expf, the sign put back last. Checked over
// every positive float: within 1 ulp of float(tanh(double(x))) (glibc's tanhf:
// 2); ±inf give ±1, NaN stays NaN, −0 stays −0. About 3 ns an element where
// the earlier double-exp form took 7.5 and glibc's tanhf 16. On the GPU,
// CUDA's tanhf.
ANTLER_HD_ALWAYS_INLINE float tanh_(float x) {
#if defined(__CUDA_ARCH__)
  return tanhf(x);
#else
  const float a = fabsf(x);
  const float u = a * a;
  const float p = -0.3333328664302826f +
                  u * (0.13331513106822968f + u * (-0.053744640201330185f + u * (0.02065306343138218f + u * -0.005718891508877277f)));
  const float small = a + (a * u) * p;
  const float big = 1.0f - 2.0f / (hostmath::expf(2.0f * a) + 1.0f);
  return copysignf(a < 0.625f ? small : big, x);
#endif
}
ANTLER_HD double tanh_(double x) { return tanh(x); }
ANTLER_HD float sqrt_(float x) { return sqrtf(x); }
ANTLER_HD double sqrt_(double x) { return sqrt(x); }
ANTLER_HD float abs_(float x) { return fabsf(x); }
ANTLER_HD double abs_(double x) { return fabs(x); }
ANTLER_HD float pow_(float x, float p) { return powf(x, p); }
ANTLER_HD double pow_(double x, double p) { return pow(x, p); }
ANTLER_HD float sin_(float x) { return sinf(x); }
ANTLER_HD double sin_(double x) { return sin(x); }
ANTLER_HD float cos_(float x) { return cosf(x); }
ANTLER_HD double cos_(double x) { return cos(x); }
ANTLER_HD float floor_(float x) { return floorf(x); }
ANTLER_HD double floor_(double x) { return floor(x); }
ANTLER_HD float ceil_(float x) { return ceilf(x); }
ANTLER_HD double ceil_(double x) { return ceil(x); }
ANTLER_HD float tan_(float x) { return tanf(x); }
ANTLER_HD double tan_(double x) { return tan(x); }
ANTLER_HD float asin_(float x) { return asinf(x); }
ANTLER_HD double asin_(double x) { return asin(x); }
ANTLER_HD float acos_(float x) { return acosf(x); }
ANTLER_HD double acos_(double x) { return acos(x); }
ANTLER_HD float atan_(float x) { return atanf(x); }
ANTLER_HD double atan_(double x) { return atan(x); }
ANTLER_HD float sinh_(float x) { return sinhf(x); }
ANTLER_HD double sinh_(double x) { return sinh(x); }
ANTLER_HD float cosh_(float x) { return coshf(x); }
ANTLER_HD double cosh_(double x) { return cosh(x); }
ANTLER_HD float asinh_(float x) { return asinhf(x); }
ANTLER_HD double asinh_(double x) { return asinh(x); }
ANTLER_HD float acosh_(float x) { return acoshf(x); }
ANTLER_HD double acosh_(double x) { return acosh(x); }
ANTLER_HD float atanh_(float x) { return atanhf(x); }
ANTLER_HD double atanh_(double x) { return atanh(x); }
ANTLER_HD float trunc_(float x) { return truncf(x); }
ANTLER_HD double trunc_(double x) { return trunc(x); }
ANTLER_HD float log2_(float x) { return log2f(x); }
ANTLER_HD double log2_(double x) { return log2(x); }
ANTLER_HD float log10_(float x) { return log10f(x); }
ANTLER_HD double log10_(double x) { return log10(x); }
ANTLER_HD float exp2_(float x) { return exp2f(x); }
ANTLER_HD double exp2_(double x) { return exp2(x); }
// Round half to even under the default rounding mode, as torch.round (std::nearbyint).
ANTLER_HD float rint_(float x) { return rintf(x); }
ANTLER_HD double rint_(double x) { return rint(x); }

// int32 negation, |x| and x² wrap modulo 2^32 as in PyTorch; signed overflow
// would be undefined in C++, so the arithmetic goes through uint32.
ANTLER_HD int32_t wrapNeg(int32_t x) { return static_cast<int32_t>(0u - static_cast<uint32_t>(x)); }
ANTLER_HD int32_t wrapMul(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}
ANTLER_HD int32_t abs_(int32_t x) { return x < 0 ? wrapNeg(x) : x; }
ANTLER_HD float wrapNeg(float x) { return -x; }
ANTLER_HD double wrapNeg(double x) { return -x; }
ANTLER_HD float wrapMul(float a, float b) { return a * b; }
ANTLER_HD double wrapMul(double a, double b) { return a * b; }

// A clamp bound in the tensor's dtype; for int32 an infinite bound saturates,
// so clamp(x, -inf, hi) leaves the lower side open.
template <typename T>
ANTLER_HD T bound(double p) { return castValue<T>(p); }
}  // namespace unary_math

// Forward formulas of the table above. Ops without int32 support compute an
// int32 input through double, so every instantiation compiles; core/ops.cpp
// never sends them int32.
template <typename T>
ANTLER_HD_ALWAYS_INLINE T applyUnary(UnaryOp op, T x, double p0, double p1) {
  using namespace unary_math;
  switch (op) {
    case UnaryOp::Neg: return wrapNeg(x);
    case UnaryOp::Abs: return abs_(x);
    case UnaryOp::Relu: return (x > T(0) || x != x) ? x : T(0);
    case UnaryOp::Clamp: {
      // maximum then minimum, each propagating NaN from either side (torch.clamp): a NaN x fails
      // both tests and stays, a NaN bound is taken. Non-short-circuit | so that the host loop
      // compiles to compares and blends (with || it was two branches an element, mispredicted on
      // values that straddle a bound: 1.7 ms for 512k floats against 0.03 for relu).
      const T lo = bound<T>(p0), hi = bound<T>(p1);
      const T m = ((x < lo) | (lo != lo)) ? lo : x;
      return ((m > hi) | (hi != hi)) ? hi : m;
    }
    case UnaryOp::Square: return wrapMul(x, x);
    // Returns x itself for ±0 and NaN (np.sign, Math.sign).
    case UnaryOp::Sign: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : x);
    default: break;
  }
  if constexpr (!std::is_floating_point<T>::value) {
    // Integers are already whole.
    if (op == UnaryOp::Floor || op == UnaryOp::Ceil || op == UnaryOp::Round || op == UnaryOp::Trunc) return x;
    return castValue<T>(applyUnary<double>(op, static_cast<double>(x), p0, p1));
  } else {
    switch (op) {
      case UnaryOp::Exp: return exp_(x);
      case UnaryOp::Log: return log_(x);
      case UnaryOp::Tanh: return tanh_(x);
      case UnaryOp::Sigmoid: return T(1) / (T(1) + exp_(-x));
      case UnaryOp::Softplus: return x > T(20) ? x : log1p_(exp_(x));
      // Φ(x) as ½ erfc(−x/√2): equal to ½ (1 + erf(x/√2)) but without its
      // cancellation for x < 0, where it keeps full relative precision.
      case UnaryOp::Gelu: return x * T(0.5) * erfc_(x * T(-0.70710678118654752440));
      case UnaryOp::Sqrt: return sqrt_(x);
      case UnaryOp::Pow: return pow_(x, static_cast<T>(p0));
      case UnaryOp::Reciprocal: return T(1) / x;
      case UnaryOp::Sin: return sin_(x);
      case UnaryOp::Cos: return cos_(x);
      case UnaryOp::Log1p: return log1p_(x);
      case UnaryOp::Expm1: return expm1_(x);
      // 1/√x rounded twice rather than CUDA's rsqrt (2 ulp), the same formula on both backends.
      case UnaryOp::Rsqrt: return T(1) / sqrt_(x);
      case UnaryOp::Floor: return floor_(x);
      case UnaryOp::Ceil: return ceil_(x);
      case UnaryOp::Round: return rint_(x);
      case UnaryOp::LeakyRelu: return x > T(0) ? x : x * static_cast<T>(p0);
      case UnaryOp::Elu: return x > T(0) ? x : static_cast<T>(p0) * expm1_(x);
      // x / (1 + e^-x): e^-x overflowing to inf gives -0 for very negative x.
      case UnaryOp::Silu: return x / (T(1) + exp_(-x));
      case UnaryOp::Erf: return erf_(x);
      case UnaryOp::Erfc: return erfc_(x);
      case UnaryOp::Tan: return tan_(x);
      case UnaryOp::Asin: return asin_(x);
      case UnaryOp::Acos: return acos_(x);
      case UnaryOp::Atan: return atan_(x);
      case UnaryOp::Sinh: return sinh_(x);
      case UnaryOp::Cosh: return cosh_(x);
      case UnaryOp::Asinh: return asinh_(x);
      case UnaryOp::Acosh: return acosh_(x);
      case UnaryOp::Atanh: return atanh_(x);
      case UnaryOp::Trunc: return trunc_(x);
      case UnaryOp::Log2: return log2_(x);
      case UnaryOp::Log10: return log10_(x);
      case UnaryOp::Exp2: return exp2_(x);
      default: return x;
    }
  }
}

// gy · dy/dx, from x, y = applyUnary(op, x) and gy. Indicator derivatives
// select gy or 0 rather than multiply, so a NaN or inf gy outside the active
// region gives 0, as PyTorch's masked backward formulas do.
template <typename T>
ANTLER_HD_ALWAYS_INLINE T unaryGrad(UnaryOp op, T x, T y, T gy, double p0, double p1) {
  using namespace unary_math;
  if constexpr (!std::is_floating_point<T>::value) {
    return castValue<T>(unaryGrad<double>(op, static_cast<double>(x), static_cast<double>(y),
                                          static_cast<double>(gy), p0, p1));
  } else {
    switch (op) {
      case UnaryOp::Neg: return -gy;
      case UnaryOp::Exp: return gy * y;
      case UnaryOp::Log: return gy / x;
      case UnaryOp::Tanh: return gy * (T(1) - y * y);
      case UnaryOp::Sigmoid: return gy * (T(1) - y) * y;
      case UnaryOp::Relu: return x <= T(0) ? T(0) : gy;  // NaN passes gy, as torch's threshold_backward
      case UnaryOp::Softplus: {
        // σ(x) = z / (z + 1) with z = e^x; below the threshold z cannot overflow.
        if (x > T(20)) return gy;
        const T z = exp_(x);
        return gy * z / (z + T(1));
      }
      case UnaryOp::Gelu: {
        // Φ(x) + x φ(x), φ(x) = e^(−x²/2) / √(2π)
        const T cdf = T(0.5) * erfc_(x * T(-0.70710678118654752440));
        const T pdf = exp_(T(-0.5) * x * x) * T(0.39894228040143267794);
        return gy * (cdf + x * pdf);
      }
      case UnaryOp::Sqrt: return gy / (T(2) * y);
      case UnaryOp::Abs: return x > T(0) ? gy : (x < T(0) ? -gy : gy * T(0));   // gy·sgn(x), torch's: NaN·0 is NaN
      case UnaryOp::Pow: {
        if (p0 == 0.0) return T(0);
        return gy * (static_cast<T>(p0) * pow_(x, static_cast<T>(p0 - 1.0)));
      }
      case UnaryOp::Clamp: return (x >= bound<T>(p0) && x <= bound<T>(p1)) ? gy : T(0);
      case UnaryOp::Square: return gy * (T(2) * x);
      case UnaryOp::Reciprocal: return -gy * (y * y);
      case UnaryOp::Sin: return gy * cos_(x);
      case UnaryOp::Cos: return gy * -sin_(x);
      case UnaryOp::Log1p: return gy / (T(1) + x);
      case UnaryOp::Expm1: return gy * (y + T(1));
      case UnaryOp::Rsqrt: return T(-0.5) * gy * (y * y * y);
      // Piecewise constant: a zero gradient, whatever gy holds (torch's zeros_like).
      case UnaryOp::Sign:
      case UnaryOp::Floor:
      case UnaryOp::Ceil:
      case UnaryOp::Round: return T(0);
      case UnaryOp::LeakyRelu: return x > T(0) ? gy : gy * static_cast<T>(p0);
      // From x rather than y + p0, which cancels for very negative x.
      case UnaryOp::Elu: return x <= T(0) ? gy * (static_cast<T>(p0) * exp_(x)) : gy;
      case UnaryOp::Silu: {
        const T s = T(1) / (T(1) + exp_(-x));
        return gy * (s * (T(1) + x * (T(1) - s)));
      }
      // 2/√π e^(−x²)
      case UnaryOp::Erf: return gy * (T(1.12837916709551257390) * exp_(-(x * x)));
      case UnaryOp::Erfc: return gy * (T(-1.12837916709551257390) * exp_(-(x * x)));
      case UnaryOp::Tan: return gy * (T(1) + y * y);
      case UnaryOp::Asin: return gy / sqrt_(T(1) - x * x);
      case UnaryOp::Acos: return -gy / sqrt_(T(1) - x * x);
      case UnaryOp::Atan: return gy / (T(1) + x * x);
      case UnaryOp::Sinh: return gy * cosh_(x);
      case UnaryOp::Cosh: return gy * sinh_(x);
      case UnaryOp::Asinh: return gy / sqrt_(x * x + T(1));
      // √(x − 1)·√(x + 1) rather than √(x² − 1): no overflow of x² for large x.
      case UnaryOp::Acosh: return gy / (sqrt_(x - T(1)) * sqrt_(x + T(1)));
      case UnaryOp::Atanh: return gy / (T(1) - x * x);
      case UnaryOp::Trunc: return T(0);
      case UnaryOp::Log2: return gy / (x * T(0.69314718055994530942));
      case UnaryOp::Log10: return gy / (x * T(2.30258509299404568402));
      case UnaryOp::Exp2: return gy * (y * T(0.69314718055994530942));
    }
    return gy;
  }
}

// Which saved tensors a backward formula reads, so launchers skip loading the other.
ANTLER_HD constexpr bool unaryGradReadsX(UnaryOp op) {
  return op == UnaryOp::Log || op == UnaryOp::Relu || op == UnaryOp::Softplus || op == UnaryOp::Gelu ||
         op == UnaryOp::Abs || op == UnaryOp::Pow || op == UnaryOp::Clamp || op == UnaryOp::Square ||
         op == UnaryOp::Sin || op == UnaryOp::Cos || op == UnaryOp::Log1p || op == UnaryOp::LeakyRelu ||
         op == UnaryOp::Elu || op == UnaryOp::Silu || op == UnaryOp::Erf || op == UnaryOp::Erfc || op == UnaryOp::Asin ||
         op == UnaryOp::Acos || op == UnaryOp::Atan || op == UnaryOp::Sinh || op == UnaryOp::Cosh || op == UnaryOp::Asinh ||
         op == UnaryOp::Acosh || op == UnaryOp::Atanh || op == UnaryOp::Log2 || op == UnaryOp::Log10;
}
ANTLER_HD constexpr bool unaryGradReadsY(UnaryOp op) {
  return op == UnaryOp::Exp || op == UnaryOp::Tanh || op == UnaryOp::Sigmoid || op == UnaryOp::Sqrt ||
         op == UnaryOp::Reciprocal || op == UnaryOp::Expm1 || op == UnaryOp::Rsqrt || op == UnaryOp::Tan ||
         op == UnaryOp::Exp2;
}

// Calls f(std::integral_constant<UnaryOp, op>{}) so that each launcher's loop
// is compiled once per op, with the switch above folded away (host only).
// False for a value outside the enum.
template <typename F>
inline bool dispatchUnaryOp(UnaryOp op, F&& f) {
  using std::integral_constant;
  switch (op) {
    case UnaryOp::Neg: f(integral_constant<UnaryOp, UnaryOp::Neg>{}); return true;
    case UnaryOp::Exp: f(integral_constant<UnaryOp, UnaryOp::Exp>{}); return true;
    case UnaryOp::Log: f(integral_constant<UnaryOp, UnaryOp::Log>{}); return true;
    case UnaryOp::Tanh: f(integral_constant<UnaryOp, UnaryOp::Tanh>{}); return true;
    case UnaryOp::Sigmoid: f(integral_constant<UnaryOp, UnaryOp::Sigmoid>{}); return true;
    case UnaryOp::Relu: f(integral_constant<UnaryOp, UnaryOp::Relu>{}); return true;
    case UnaryOp::Softplus: f(integral_constant<UnaryOp, UnaryOp::Softplus>{}); return true;
    case UnaryOp::Gelu: f(integral_constant<UnaryOp, UnaryOp::Gelu>{}); return true;
    case UnaryOp::Sqrt: f(integral_constant<UnaryOp, UnaryOp::Sqrt>{}); return true;
    case UnaryOp::Abs: f(integral_constant<UnaryOp, UnaryOp::Abs>{}); return true;
    case UnaryOp::Pow: f(integral_constant<UnaryOp, UnaryOp::Pow>{}); return true;
    case UnaryOp::Clamp: f(integral_constant<UnaryOp, UnaryOp::Clamp>{}); return true;
    case UnaryOp::Square: f(integral_constant<UnaryOp, UnaryOp::Square>{}); return true;
    case UnaryOp::Reciprocal: f(integral_constant<UnaryOp, UnaryOp::Reciprocal>{}); return true;
    case UnaryOp::Sin: f(integral_constant<UnaryOp, UnaryOp::Sin>{}); return true;
    case UnaryOp::Cos: f(integral_constant<UnaryOp, UnaryOp::Cos>{}); return true;
    case UnaryOp::Log1p: f(integral_constant<UnaryOp, UnaryOp::Log1p>{}); return true;
    case UnaryOp::Expm1: f(integral_constant<UnaryOp, UnaryOp::Expm1>{}); return true;
    case UnaryOp::Rsqrt: f(integral_constant<UnaryOp, UnaryOp::Rsqrt>{}); return true;
    case UnaryOp::Sign: f(integral_constant<UnaryOp, UnaryOp::Sign>{}); return true;
    case UnaryOp::Floor: f(integral_constant<UnaryOp, UnaryOp::Floor>{}); return true;
    case UnaryOp::Ceil: f(integral_constant<UnaryOp, UnaryOp::Ceil>{}); return true;
    case UnaryOp::Round: f(integral_constant<UnaryOp, UnaryOp::Round>{}); return true;
    case UnaryOp::LeakyRelu: f(integral_constant<UnaryOp, UnaryOp::LeakyRelu>{}); return true;
    case UnaryOp::Elu: f(integral_constant<UnaryOp, UnaryOp::Elu>{}); return true;
    case UnaryOp::Silu: f(integral_constant<UnaryOp, UnaryOp::Silu>{}); return true;
    case UnaryOp::Erf: f(integral_constant<UnaryOp, UnaryOp::Erf>{}); return true;
    case UnaryOp::Erfc: f(integral_constant<UnaryOp, UnaryOp::Erfc>{}); return true;
    case UnaryOp::Tan: f(integral_constant<UnaryOp, UnaryOp::Tan>{}); return true;
    case UnaryOp::Asin: f(integral_constant<UnaryOp, UnaryOp::Asin>{}); return true;
    case UnaryOp::Acos: f(integral_constant<UnaryOp, UnaryOp::Acos>{}); return true;
    case UnaryOp::Atan: f(integral_constant<UnaryOp, UnaryOp::Atan>{}); return true;
    case UnaryOp::Sinh: f(integral_constant<UnaryOp, UnaryOp::Sinh>{}); return true;
    case UnaryOp::Cosh: f(integral_constant<UnaryOp, UnaryOp::Cosh>{}); return true;
    case UnaryOp::Asinh: f(integral_constant<UnaryOp, UnaryOp::Asinh>{}); return true;
    case UnaryOp::Acosh: f(integral_constant<UnaryOp, UnaryOp::Acosh>{}); return true;
    case UnaryOp::Atanh: f(integral_constant<UnaryOp, UnaryOp::Atanh>{}); return true;
    case UnaryOp::Trunc: f(integral_constant<UnaryOp, UnaryOp::Trunc>{}); return true;
    case UnaryOp::Log2: f(integral_constant<UnaryOp, UnaryOp::Log2>{}); return true;
    case UnaryOp::Log10: f(integral_constant<UnaryOp, UnaryOp::Log10>{}); return true;
    case UnaryOp::Exp2: f(integral_constant<UnaryOp, UnaryOp::Exp2>{}); return true;
  }
  return false;
}

}  // namespace antler::kernels
