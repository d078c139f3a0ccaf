// The N-API surface: argument checks, handle wrapping, error conversion. No
// math lives here; everything goes through core/ops.
#include <napi.h>

#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "../core/backend.h"
#include "../core/error.h"
#include "../core/ops.h"
#include "../core/tensor.h"
#include "../cpu/blas.h"
#include "../cpu/gemm.h"
#include "../cpu/isa.h"
#include "../cpu/linalg.h"
#include "../cpu/parallel.h"
#include "args.h"

#ifndef ANTLER_VERSION
#define ANTLER_VERSION "0.0.0"
#endif
#ifndef ANTLER_BUILD_SYSTEM
#define ANTLER_BUILD_SYSTEM "unknown"
#endif

namespace antler::napi {
namespace {

// Tensors whose JavaScript handle was garbage-collected without dispose().
// The finalizer only queues them; they are released at the next call into the
// addon, so nothing is freed (or synchronized) from inside the GC.
class DeferredReleases {
 public:
  void push(TensorPtr t) {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back(std::move(t));
  }
  void drain() {
    std::vector<TensorPtr> batch;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (pending_.empty()) return;
      batch.swap(pending_);
    }
    for (const TensorPtr& t : batch) MemoryLedger::instance().addTensor(t->device(), -1);
  }

 private:
  std::mutex mutex_;
  std::vector<TensorPtr> pending_;
};

DeferredReleases& deferred() {
  static DeferredReleases* d = new DeferredReleases();
  return *d;
}

// The native side of a JavaScript tensor handle: a plain object, type-tagged
// as ours (the tag outlives dispose(), so a disposed handle is told from a
// stranger) and wrapped (napi_wrap) around this struct. dispose() unwraps it
// (napi_remove_wrap), which frees everything at once and leaves no finalizer
// behind, so a loop that disposes its tensors (tidy) keeps a flat footprint
// even when it never yields to the event loop. Handles lost to GC go through
// the finalizer, which only queues the release (see DeferredReleases).
struct TensorHandle {
  TensorPtr tensor;
};

// Every TensorHandle alive, so that a handle argument is checked by one
// unwrap and a lookup here instead of reading its type tag (a V8 private
// property) on every call. Process-wide, so worker threads (each with its own
// addon instance) share it under the lock.
class LiveHandles {
 public:
  void insert(const TensorHandle* h) {
    std::lock_guard<std::mutex> lock(mutex_);
    set_.insert(h);
  }
  void erase(const TensorHandle* h) {
    std::lock_guard<std::mutex> lock(mutex_);
    set_.erase(h);
  }
  bool contains(const TensorHandle* h) {
    std::lock_guard<std::mutex> lock(mutex_);
    return set_.count(h) != 0;
  }

 private:
  std::mutex mutex_;
  std::unordered_set<const TensorHandle*> set_;
};

LiveHandles& liveHandles() {
  static auto* live = new LiveHandles();
  return *live;
}

constexpr napi_type_tag kHandleTag = {0x616e746c65722d74ULL, 0x656e736f722d7631ULL};  // "antler-tensor-v1"

void finalizeHandle(napi_env /*env*/, void* data, void* /*hint*/) {
  auto* h = static_cast<TensorHandle*>(data);
  if (h->tensor) deferred().push(std::move(h->tensor));
  liveHandles().erase(h);
  delete h;
}

void checkStatus(napi_env env, napi_status status, const char* what) {
  if (status != napi_ok) {
    const napi_extended_error_info* info = nullptr;
    napi_get_last_error_info(env, &info);
    fail(Code::Internal, what, " failed: ", info && info->error_message ? info->error_message : "unknown N-API error");
  }
}

}  // namespace

// Temporary files of this thread's saves in progress (lib/io/safetensors.ts
// registers each while it writes it). An environment cleanup hook removes those
// left when the thread's environment is torn down: a worker stopped by
// terminate() or by the main thread's exit, where JavaScript's 'exit' event
// does not run. Shared by the hook and the addon instance (either may go last).
struct TempFiles {
  std::mutex mutex;
  std::set<std::string> paths;
};

void removeTempFiles(void* arg) {
  auto* held = static_cast<std::shared_ptr<TempFiles>*>(arg);
  {
    std::lock_guard<std::mutex> lock((*held)->mutex);
    for (const std::string& path : (*held)->paths) std::remove(path.c_str());
    (*held)->paths.clear();
  }
  delete held;
}

class Addon : public Napi::Addon<Addon> {
 public:
  // The environment is going (its finalizers have queued the release of every
  // tensor the thread still held): released now, not at some later call into
  // antler from another thread, which may never come.
  ~Addon() { deferred().drain(); }

  Addon(Napi::Env env, Napi::Object exports) {
    if (napi_add_env_cleanup_hook(env, removeTempFiles, new std::shared_ptr<TempFiles>(tempFiles_)) != napi_ok)
      fail(Code::Internal, "napi_add_env_cleanup_hook failed");
    DefineAddon(exports, {
        InstanceMethod("setErrorClass", &Addon::setErrorClass),
        InstanceMethod("trackTempFile", &Addon::trackTempFile),
        InstanceMethod("untrackTempFile", &Addon::untrackTempFile),
        InstanceMethod("buildInfo", &Addon::guard<&Addon::buildInfo>),
        InstanceMethod("backends", &Addon::guard<&Addon::backends>),
        InstanceMethod("fromData", &Addon::guard<&Addon::fromData>),
        InstanceMethod("full", &Addon::guard<&Addon::full>),
        InstanceMethod("arange", &Addon::guard<&Addon::arange>),
        InstanceMethod("random", &Addon::guard<&Addon::random>),
        InstanceMethod("describe", &Addon::guard<&Addon::describe>),
        InstanceMethod("metaBuffer", &Addon::guard<&Addon::metaBuffer>),
        InstanceMethod("describeInto", &Addon::guard<&Addon::describeInto>),
        InstanceMethod("dataSync", &Addon::guard<&Addon::dataSync>),
        InstanceMethod("dataAsync", &Addon::guard<&Addon::dataAsync>),
        InstanceMethod("dispose", &Addon::guard<&Addon::dispose>),
        InstanceMethod("versionSum", &Addon::guard<&Addon::versionSum>),
        InstanceMethod("storageUsers", &Addon::guard<&Addon::storageUsers>),
        InstanceMethod("isDisposed", &Addon::guard<&Addon::isDisposed>),
        InstanceMethod("clone", &Addon::guard<&Addon::clone>),
        InstanceMethod("to", &Addon::guard<&Addon::to>),
        InstanceMethod("cast", &Addon::guard<&Addon::cast>),
        InstanceMethod("reshape", &Addon::guard<&Addon::reshape>),
        InstanceMethod("binary", &Addon::guard<&Addon::binary>),
        InstanceMethod("binaryScalar", &Addon::guard<&Addon::binaryScalar>),
        InstanceMethod("matmul", &Addon::guard<&Addon::matmul>),
        InstanceMethod("sum", &Addon::guard<&Addon::sum>),
        InstanceMethod("memory", &Addon::guard<&Addon::memory>),
        InstanceMethod("synchronize", &Addon::guard<&Addon::synchronize>),
        InstanceMethod("setNumThreads", &Addon::guard<&Addon::setNumThreads>),
        InstanceMethod("linalgLibrary", &Addon::guard<&Addon::linalgLibrary>),
        InstanceMethod("emptyCache", &Addon::guard<&Addon::emptyCache>),
        InstanceMethod("unary", &Addon::guard<&Addon::unary>),
        InstanceMethod("unaryBackward", &Addon::guard<&Addon::unaryBackward>),
        InstanceMethod("pointwise", &Addon::guard<&Addon::pointwise>),
        InstanceMethod("reduce", &Addon::guard<&Addon::reduce>),
        InstanceMethod("permute", &Addon::guard<&Addon::permute>),
        InstanceMethod("slice", &Addon::guard<&Addon::slice>),
        InstanceMethod("flip", &Addon::guard<&Addon::flip>),
        InstanceMethod("resetPeakMemory", &Addon::guard<&Addon::resetPeakMemory>),
        InstanceMethod("sliceBackward", &Addon::guard<&Addon::sliceBackward>),
        InstanceMethod("concat", &Addon::guard<&Addon::concat>),
        InstanceMethod("broadcastTo", &Addon::guard<&Addon::broadcastTo>),
        InstanceMethod("where", &Addon::guard<&Addon::where>),
        InstanceMethod("softmax", &Addon::guard<&Addon::softmax>),
        InstanceMethod("softmaxBackward", &Addon::guard<&Addon::softmaxBackward>),
        InstanceMethod("cumulative", &Addon::guard<&Addon::cumulative>),
        InstanceMethod("cumprodBackward", &Addon::guard<&Addon::cumprodBackward>),
        InstanceMethod("cumExtreme", &Addon::guard<&Addon::cumExtreme>),
        InstanceMethod("logCumSumExp", &Addon::guard<&Addon::logCumSumExp>),
        InstanceMethod("logCumSumExpBackward", &Addon::guard<&Addon::logCumSumExpBackward>),
        InstanceMethod("depthwiseConv", &Addon::guard<&Addon::depthwiseConv>),
        InstanceMethod("depthwiseConvBackwardInput", &Addon::guard<&Addon::depthwiseConvBackwardInput>),
        InstanceMethod("depthwiseConvBackwardWeight", &Addon::guard<&Addon::depthwiseConvBackwardWeight>),
        InstanceMethod("maxPool", &Addon::guard<&Addon::maxPool>),
        InstanceMethod("avgPool", &Addon::guard<&Addon::avgPool>),
        InstanceMethod("avgPoolBackward", &Addon::guard<&Addon::avgPoolBackward>),
        InstanceMethod("adaptiveMaxPool", &Addon::guard<&Addon::adaptiveMaxPool>),
        InstanceMethod("adaptiveAvgPool", &Addon::guard<&Addon::adaptiveAvgPool>),
        InstanceMethod("adaptiveAvgPoolBackward", &Addon::guard<&Addon::adaptiveAvgPoolBackward>),
        InstanceMethod("argReduce", &Addon::guard<&Addon::argReduce>),
        InstanceMethod("topkIndices", &Addon::guard<&Addon::topkIndices>),
        InstanceMethod("searchsorted", &Addon::guard<&Addon::searchsorted>),
        // linalg-lu (LU factorisation, LU solve, triangular solve, Cholesky): native/kernels/linalg_lu.h
        InstanceMethod("triangularSolve", &Addon::guard<&Addon::triangularSolve>),
        InstanceMethod("luFactor", &Addon::guard<&Addon::luFactor>),
        InstanceMethod("luPermutation", &Addon::guard<&Addon::luPermutation>),
        InstanceMethod("cholesky", &Addon::guard<&Addon::cholesky>),
        // (end of linalg-lu)

        // linalg-qr (Householder QR): native/kernels/linalg_qr.h
        InstanceMethod("linalgQr", &Addon::guard<&Addon::linalgQr>),
        // (end of linalg-qr)

        // linalg-spectral (symmetric eigendecomposition (eigh), SVD): native/kernels/linalg_spectral.h
        InstanceMethod("linalgEigh", &Addon::guard<&Addon::linalgEigh>),
        InstanceMethod("linalgSvd", &Addon::guard<&Addon::linalgSvd>),
        // (end of linalg-spectral)

        // random-gamma (gamma sampler and its gradient): native/kernels/random_gamma.h
        InstanceMethod("standardGamma", &Addon::guard<&Addon::standardGamma>),
        InstanceMethod("gammaBinary", &Addon::guard<&Addon::gammaBinary>),
        // (end of random-gamma)

        // random-discrete (Poisson and binomial samplers): native/kernels/random_discrete.h
        InstanceMethod("discreteSample", &Addon::guard<&Addon::discreteSample>),
        // (end of random-discrete)
        InstanceMethod("ctcLoss", &Addon::guard<&Addon::ctcLoss>),
        InstanceMethod("ctcLossBackward", &Addon::guard<&Addon::ctcLossBackward>),
        InstanceMethod("gridSample", &Addon::guard<&Addon::gridSample>),
        InstanceMethod("gridSampleBackward", &Addon::guard<&Addon::gridSampleBackward>),
        InstanceMethod("crossEntropy", &Addon::guard<&Addon::crossEntropy>),
        InstanceMethod("crossEntropyBackward", &Addon::guard<&Addon::crossEntropyBackward>),
        InstanceMethod("gatherRows", &Addon::guard<&Addon::gatherRows>),
        InstanceMethod("scatterAddRows", &Addon::guard<&Addon::scatterAddRows>),
        InstanceMethod("setRows", &Addon::guard<&Addon::setRows>),
        InstanceMethod("orthonormalizeColumns", &Addon::guard<&Addon::orthonormalizeColumns>),
        InstanceMethod("layerNorm", &Addon::guard<&Addon::layerNorm>),
        InstanceMethod("layerNormBackward", &Addon::guard<&Addon::layerNormBackward>),
        InstanceMethod("assign", &Addon::guard<&Addon::assign>),
        InstanceMethod("sruForward", &Addon::guard<&Addon::sruForward>),
        InstanceMethod("sruBackward", &Addon::guard<&Addon::sruBackward>),
        InstanceMethod("sruDeer", &Addon::guard<&Addon::sruDeer>),
        InstanceMethod("deerScan", &Addon::guard<&Addon::deerScan>),
        InstanceMethod("deerScanBackward", &Addon::guard<&Addon::deerScanBackward>),
        InstanceMethod("deerResidual", &Addon::guard<&Addon::deerResidual>),
        InstanceMethod("expm", &Addon::guard<&Addon::expm>),
        InstanceMethod("deerElk", &Addon::guard<&Addon::deerElk>),
        InstanceMethod("cellLinearize", &Addon::guard<&Addon::cellLinearize>),
        InstanceMethod("cellSequential", &Addon::guard<&Addon::cellSequential>),
        InstanceMethod("cellBackward", &Addon::guard<&Addon::cellBackward>),
        InstanceMethod("cellDeerSolve", &Addon::guard<&Addon::cellDeerSolve>),
        InstanceMethod("cellDeerAdjoint", &Addon::guard<&Addon::cellDeerAdjoint>),
        InstanceMethod("sgdStep", &Addon::guard<&Addon::sgdStep>),
        InstanceMethod("adamStep", &Addon::guard<&Addon::adamStep>),
        InstanceMethod("adaHessianStep", &Addon::guard<&Addon::adaHessianStep>),
        InstanceMethod("rmspropStep", &Addon::guard<&Addon::rmspropStep>),
        InstanceMethod("adagradStep", &Addon::guard<&Addon::adagradStep>),
        InstanceMethod("radamStep", &Addon::guard<&Addon::radamStep>),
        InstanceMethod("nadamStep", &Addon::guard<&Addon::nadamStep>),
        InstanceMethod("adamaxStep", &Addon::guard<&Addon::adamaxStep>),
        InstanceMethod("adadeltaStep", &Addon::guard<&Addon::adadeltaStep>),
        InstanceMethod("rpropStep", &Addon::guard<&Addon::rpropStep>),
        InstanceMethod("asgdStep", &Addon::guard<&Addon::asgdStep>),
    });
  }

  Napi::Value throwError(Napi::Env env, const char* code, const std::string& message) {
    Napi::Error err;
    if (!errorClass_.IsEmpty()) {
      Napi::Object obj = errorClass_.Value().New({Napi::String::New(env, code), Napi::String::New(env, message)});
      err = Napi::Error(env, obj);
    } else {
      err = Napi::Error::New(env, message);
      err.Set("code", Napi::String::New(env, code));
    }
    throw err;
  }

 private:
  using Method = Napi::Value (Addon::*)(const Napi::CallbackInfo&);

  // Every entry point: release tensors lost to GC, run, report native memory
  // to V8, and turn C++ failures into AntlerError.
  template <Method M>
  Napi::Value guard(const Napi::CallbackInfo& info) {
    // A Napi::Error (AntlerError included) is thrown into JavaScript here rather than by
    // node-addon-api's wrapper, whose rethrow throws a C++ exception out of the callback, and so
    // aborts the process, when JavaScript cannot run: in a worker thread being terminated.
    try {
      return run<M>(info);
    } catch (const Napi::Error& e) {
      throwSafely(info.Env(), e);
      return Napi::Value();
    }
  }

  // Throws e in JavaScript unless an exception is already pending or the environment can no longer
  // run JavaScript (then there is no one to tell; nothing escapes as a C++ exception).
  static void throwSafely(napi_env env, const Napi::Error& e) noexcept {
    try {
      bool pending = false;
      if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
      napi_value v = e.Value();
      if (v != nullptr) napi_throw(env, v);
    } catch (...) {
    }
  }

  template <Method M>
  Napi::Value run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    deferred().drain();
    try {
      Napi::Value result = (this->*M)(info);
      reportExternalMemory(env);
      return result;
    } catch (const Error& e) {
      reportExternalMemory(env);
      return throwError(env, codeName(e.code()), e.what());
    } catch (const std::bad_alloc&) {
      return throwError(env, "OUT_OF_MEMORY", "out of host memory");
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      return throwError(env, "INTERNAL", std::string("internal error: ") + e.what());
    }
  }

  // This thread's storages only (threadBytes): another worker's allocations are not this
  // isolate's garbage to collect.
  void reportExternalMemory(Napi::Env env) {
    const int64_t now = threadBytes()->load();
    const int64_t delta = now - reportedBytes_;
    if (delta != 0) {
      Napi::MemoryManagement::AdjustExternalMemory(env, delta);
      reportedBytes_ = now;
    }
  }

  // An array of handles, one per tensor; a null tensor (an output not computed) as null.
  Napi::Value wrapAll(Napi::Env env, const std::vector<TensorPtr>& ts) {
    Napi::Array out = Napi::Array::New(env, ts.size());
    for (size_t i = 0; i < ts.size(); ++i) out.Set(static_cast<uint32_t>(i), ts[i] ? wrap(env, ts[i]) : env.Null());
    return out;
  }

  Napi::Value wrap(Napi::Env env, TensorPtr t) {
    Napi::Object obj = Napi::Object::New(env);
    checkStatus(env, napi_type_tag_object(env, obj, &kHandleTag), "napi_type_tag_object");
    const Device device = t->device();
    auto* h = new TensorHandle{std::move(t)};
    const napi_status status = napi_wrap(env, obj, h, finalizeHandle, nullptr, nullptr);
    if (status != napi_ok) {
      delete h;
      checkStatus(env, status, "napi_wrap");
    }
    liveHandles().insert(h);
    MemoryLedger::instance().addTensor(device, 1);
    return obj;
  }

  // Our handle object, or INVALID_ARGUMENT; `disposed` tells whether it was unwrapped.
  TensorHandle* handleArg(const Napi::Value& v, const char* op, const char* what, bool* disposed = nullptr) {
    if (!v.IsObject()) fail(Code::InvalidArgument, op, ": ", what, " must be a Tensor; got ", describeValue(v));
    void* data = nullptr;
    if (napi_unwrap(v.Env(), v, &data) == napi_ok && data != nullptr) {
      // Wrapped: ours only if it is one of our live handles (another addon's object unwraps too).
      auto* h = static_cast<TensorHandle*>(data);
      if (!liveHandles().contains(h)) fail(Code::InvalidArgument, op, ": ", what, " must be a Tensor; got ", describeValue(v));
      if (disposed) *disposed = false;
      return h;
    }
    // Not wrapped: a disposed handle of ours (its type tag stays) or something else. Clear the
    // pending N-API error of the failed unwrap; it is not the caller's.
    const napi_extended_error_info* info = nullptr;
    napi_get_last_error_info(v.Env(), &info);
    bool ours = false;
    checkStatus(v.Env(), napi_check_object_type_tag(v.Env(), v, &kHandleTag, &ours), "napi_check_object_type_tag");
    if (!ours) fail(Code::InvalidArgument, op, ": ", what, " must be a Tensor; got ", describeValue(v));
    if (disposed) *disposed = true;
    return nullptr;
  }

  const Tensor& tensorArg(const Napi::Value& v, const char* op, const char* what) {
    TensorHandle* h = handleArg(v, op, what);
    if (!h) fail(Code::Disposed, op, ": ", what, " has been disposed");
    return *h->tensor;
  }

  Napi::Value trackTempFile(const Napi::CallbackInfo& info) {
    if (info.Length() >= 1 && info[0].IsString()) {
      std::lock_guard<std::mutex> lock(tempFiles_->mutex);
      tempFiles_->paths.insert(info[0].As<Napi::String>().Utf8Value());
    }
    return info.Env().Undefined();
  }

  Napi::Value untrackTempFile(const Napi::CallbackInfo& info) {
    if (info.Length() >= 1 && info[0].IsString()) {
      std::lock_guard<std::mutex> lock(tempFiles_->mutex);
      tempFiles_->paths.erase(info[0].As<Napi::String>().Utf8Value());
    }
    return info.Env().Undefined();
  }

  Napi::Value setErrorClass(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(info.Env(), "setErrorClass expects a constructor").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    errorClass_ = Napi::Persistent(info[0].As<Napi::Function>());
    return info.Env().Undefined();
  }

  Napi::Value buildInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("version", ANTLER_VERSION);
    o.Set("buildSystem", ANTLER_BUILD_SYSTEM);
    o.Set("napiVersion", NAPI_VERSION);
#if defined(__clang__)
    o.Set("compiler", "clang " __clang_version__);
#elif defined(__GNUC__)
    o.Set("compiler", "g++ " __VERSION__);
#else
    o.Set("compiler", "unknown");
#endif
    o.Set("openmp", cpu::openmpEnabled());
    o.Set("blas", cpu::blasName());
    o.Set("cudaCompiled", cudaStatus().compiled);
    o.Set("cudaArchs", cudaStatus().archs);
    return o;
  }

  Napi::Value backends(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object cpu = Napi::Object::New(env);
    cpu.Set("available", true);
    cpu.Set("threads", cpu::numThreads());
    cpu.Set("openmp", cpu::openmpEnabled());
    cpu.Set("blas", cpu::blasName());
    cpu.Set("lapack", cpu::blas::lapackSymbol("dgetrf_") != nullptr);
    cpu.Set("isa", cpu::cpuIsa());
    cpu.Set("avx2Supported", cpu::cpuAvx2Supported());

    const CudaStatus& s = cudaStatus();
    Napi::Object cuda = Napi::Object::New(env);
    cuda.Set("available", s.available);
    if (!s.available) cuda.Set("reason", s.reason);
    cuda.Set("compiled", s.compiled);
    Napi::Array devices = Napi::Array::New(env, s.devices.size());
    for (size_t i = 0; i < s.devices.size(); ++i) {
      Napi::Object d = Napi::Object::New(env);
      d.Set("name", s.devices[i].name);
      d.Set("memory", static_cast<double>(s.devices[i].totalMemory));
      d.Set("computeCapability", std::to_string(s.devices[i].major) + "." + std::to_string(s.devices[i].minor));
      d.Set("multiprocessors", s.devices[i].multiprocessors);
      devices.Set(static_cast<uint32_t>(i), d);
    }
    cuda.Set("devices", devices);
    if (s.compiled) {
      cuda.Set("runtimeVersion", s.runtimeVersion);
      cuda.Set("driverVersion", s.driverVersion);
      cuda.Set("archs", s.archs);
      cuda.Set("cublas", s.cublas);
      cuda.Set("cublasPath", s.cublasPath);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("cpu", cpu);
    o.Set("cuda", cuda);
    return o;
  }

  // fromData(typedArray, shape, dtype, device)
  Napi::Value fromData(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "tensor");
    const DType dtype = dtypeArg(info[2], "tensor");
    const Device device = deviceArg(info[3], "tensor");
    const Shape shape = shapeArg(info[1], "tensor", "shape");
    if (!info[0].IsTypedArray()) fail(Code::InvalidArgument, "tensor: values must be a typed array; got ", describeValue(info[0]));
    Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
    const napi_typedarray_type expected = dtype == DType::Float32   ? napi_float32_array
                                          : dtype == DType::Float64 ? napi_float64_array
                                                                    : napi_int32_array;
    if (arr.TypedArrayType() != expected)
      fail(Code::DtypeMismatch, "tensor: a typed array of another element type was given for dtype ", dtypeName(dtype));
    const auto* bytes = static_cast<const char*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    return wrap(info.Env(), ops::fromHost(bytes, arr.ByteLength(), shape, dtype, device));
  }

  // orthonormalizeColumns(float64Array, m, n, allowLapack) -> "lapack" | "householder": the array, an m×n
  // matrix column by column, becomes Q of its QR factorisation with R's diagonal non-negative.
  Napi::Value orthonormalizeColumns(const Napi::CallbackInfo& info) {
    const char* op = "orthogonal_";
    expectArgs(info, 4, op);
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      fail(Code::InvalidArgument, op, ": expected a Float64Array; got ", describeValue(info[0]));
    Napi::Float64Array arr = info[0].As<Napi::Float64Array>();
    const int64_t m = intArg(info[1], op, "rows"), n = intArg(info[2], op, "columns");
    if (n < 1 || m < n || static_cast<uint64_t>(m) * static_cast<uint64_t>(n) != arr.ElementLength())
      fail(Code::InvalidArgument, op, ": expected m >= n >= 1 and m·n = ", arr.ElementLength(), " values; got m ", m,
           ", n ", n);
    return Napi::String::New(info.Env(), cpu::orthonormalizeColumns(arr.Data(), m, n, boolArg(info[3], op, "allowLapack")));
  }

  // full(shape, dtype, device, value)
  Napi::Value full(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "full");
    const Shape shape = shapeArg(info[0], "full", "shape");
    return wrap(info.Env(), ops::full(shape, dtypeArg(info[1], "full"), deviceArg(info[2], "full"),
                                      numberArg(info[3], "full", "value")));
  }

  // arange(start, stop, step, dtype, device)
  Napi::Value arange(const Napi::CallbackInfo& info) {
    expectArgs(info, 5, "arange");
    return wrap(info.Env(), ops::arange(numberArg(info[0], "arange", "start"), numberArg(info[1], "arange", "stop"),
                                        numberArg(info[2], "arange", "step"), dtypeArg(info[3], "arange"),
                                        deviceArg(info[4], "arange")));
  }

  // random(shape, dtype, device, normal, a, b, seed, stream)
  Napi::Value random(const Napi::CallbackInfo& info) {
    expectArgs(info, 8, "random");
    const bool normal = boolArg(info[3], "random", "normal");
    const char* op = normal ? "randn" : "rand";
    RandomSpec spec;
    spec.normal = normal;
    spec.a = numberArg(info[4], op, normal ? "mean" : "minval");
    spec.b = numberArg(info[5], op, normal ? "stddev" : "maxval");
    const uint64_t seed = seedArg(info[6], op, "seed");
    const uint64_t stream = seedArg(info[7], op, "stream");
    spec.stream.key = kernels::PhiloxKey{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
    spec.stream.stream0 = static_cast<uint32_t>(stream);
    spec.stream.stream1 = static_cast<uint32_t>(stream >> 32);
    const Shape shape = shapeArg(info[0], op, "shape");
    return wrap(info.Env(), ops::random(shape, dtypeArg(info[1], op), deviceArg(info[2], op), spec));
  }

  // describe(h) -> [shape, dtype, device]
  Napi::Value describe(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "describe");
    const Tensor& t = tensorArg(info[0], "describe", "tensor");
    Napi::Env env = info.Env();
    Napi::Array shape = Napi::Array::New(env, t.shape.size());
    for (size_t i = 0; i < t.shape.size(); ++i) shape.Set(static_cast<uint32_t>(i), static_cast<double>(t.shape[i]));
    Napi::Array out = Napi::Array::New(env, 3);
    out.Set(0u, shape);
    out.Set(1u, dtypeName(t.dtype));
    out.Set(2u, t.device().isCuda() ? t.device().str() : std::string("cpu"));
    return out;
  }

  // metaBuffer() -> the Float64Array that describeInto() writes: [rank, dtype
  // code (DType), device (-1 for the CPU, else the CUDA index), dims...]. One
  // per addon instance, made once; reading it back in JavaScript costs far less
  // than building describe()'s arrays and strings for every new tensor.
  Napi::Value metaBuffer(const Napi::CallbackInfo& info) {
    if (meta_.IsEmpty()) meta_ = Napi::Persistent(Napi::Float64Array::New(info.Env(), kMetaSlots));
    return meta_.Value();
  }

  // describeInto(h) -> rank; writes metaBuffer() (see there).
  Napi::Value describeInto(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "describeInto");
    const Tensor& t = tensorArg(info[0], "describeInto", "tensor");
    if (meta_.IsEmpty()) fail(Code::Internal, "describeInto: metaBuffer() was not called first");
    // Looked up on every call, not kept: JavaScript can detach the buffer (transfer it).
    Napi::Float64Array meta = meta_.Value();
    double* data = meta.ElementLength() == kMetaSlots ? meta.Data() : nullptr;
    if (data == nullptr) fail(Code::Internal, "describeInto: the metadata buffer was detached");
    const size_t rank = t.shape.size();
    if (rank + 3 > kMetaSlots) fail(Code::Internal, "describeInto: rank ", rank, " does not fit the metadata buffer");
    data[0] = static_cast<double>(rank);
    data[1] = static_cast<double>(static_cast<int>(t.dtype));
    data[2] = t.device().isCuda() ? static_cast<double>(t.device().index) : -1.0;
    for (size_t i = 0; i < rank; ++i) data[3 + i] = static_cast<double>(t.shape[i]);
    return Napi::Number::New(info.Env(), static_cast<double>(rank));
  }

  static Napi::TypedArray newTypedArray(Napi::Env env, DType dtype, size_t n) {
    switch (dtype) {
      case DType::Float32: return Napi::Float32Array::New(env, n);
      case DType::Float64: return Napi::Float64Array::New(env, n);
      case DType::Int32: return Napi::Int32Array::New(env, n);
    }
    return Napi::Float32Array::New(env, n);
  }

  static void* typedArrayData(const Napi::TypedArray& arr) {
    return static_cast<char*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  }

  Napi::Value dataSync(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "dataSync");
    const Tensor& t = tensorArg(info[0], "dataSync", "tensor");
    Napi::TypedArray arr = newTypedArray(info.Env(), t.dtype, static_cast<size_t>(t.numel()));
    ops::copyToHost(t, typedArrayData(arr), arr.ByteLength());
    return arr;
  }

  // data(): the values the tensor holds when data() is called, whatever runs
  // after it (an optimizer step or assign writes in place). On the CPU they
  // are copied there and then; on a GPU a device-side snapshot is queued on the
  // stream at the call (so it is ordered before any later write), and a worker
  // thread waits for it and copies it to the host. The promise resolves with a
  // typed array on the main thread.
  class ReadWorker : public Napi::AsyncWorker {
   public:
    ReadWorker(Napi::Env env, const TensorPtr& t, Addon* addon)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), addon_(addon) {
      buffer_.resize(t->bytes());
      if (t->device().isCuda()) tensor_ = ops::clone(*t);
      else ops::copyToHost(*t, buffer_.data(), buffer_.size());
      dtype_ = t->dtype;
      numel_ = t->numel();
    }
    Napi::Promise promise() { return deferred_.Promise(); }
    void Execute() override {
      if (!tensor_) return;
      try {
        ops::copyToHost(*tensor_, buffer_.data(), buffer_.size());
      } catch (const Error& e) {
        code_ = codeName(e.code());
        SetError(e.what());
      } catch (const std::exception& e) {
        code_ = "INTERNAL";
        SetError(e.what());
      }
    }
    void OnOK() override {
      Napi::Env env = Env();
      Napi::TypedArray arr = newTypedArray(env, dtype_, static_cast<size_t>(numel_));
      if (!buffer_.empty()) std::memcpy(typedArrayData(arr), buffer_.data(), buffer_.size());
      tensor_.reset();  // released on the main thread
      deferred_.Resolve(arr);
    }
    void OnError(const Napi::Error& e) override {
      tensor_.reset();
      Napi::Env env = Env();
      try {
        addon_->throwError(env, code_.c_str(), e.Message());
      } catch (const Napi::Error& err) {
        deferred_.Reject(err.Value());
      }
    }

   private:
    TensorPtr tensor_;  // the GPU snapshot; null on the CPU (buffer_ already holds the values)
    DType dtype_;
    int64_t numel_ = 0;
    std::vector<char> buffer_;
    Napi::Promise::Deferred deferred_;
    Addon* addon_;
    std::string code_ = "INTERNAL";
  };

  Napi::Value dataAsync(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "data");
    TensorHandle* h = handleArg(info[0], "data", "tensor");
    if (!h) fail(Code::Disposed, "data: tensor has been disposed");
    auto* worker = new ReadWorker(info.Env(), h->tensor, this);
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  }

  Napi::Value dispose(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "dispose");
    if (!handleArg(info[0], "dispose", "tensor")) return info.Env().Undefined();  // already disposed
    void* data = nullptr;
    checkStatus(info.Env(), napi_remove_wrap(info.Env(), info[0], &data), "napi_remove_wrap");
    auto* h = static_cast<TensorHandle*>(data);
    MemoryLedger::instance().addTensor(h->tensor->device(), -1);
    liveHandles().erase(h);
    delete h;
    return info.Env().Undefined();
  }

  Napi::Value isDisposed(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "isDisposed");
    bool disposed = false;
    handleArg(info[0], "isDisposed", "tensor", &disposed);
    return Napi::Boolean::New(info.Env(), disposed);
  }

  Napi::Value clone(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "clone");
    return wrap(info.Env(), ops::clone(tensorArg(info[0], "clone", "tensor")));
  }

  Napi::Value to(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "to");
    const Tensor& t = tensorArg(info[0], "to", "tensor");
    return wrap(info.Env(), ops::to(t, deviceArg(info[1], "to")));
  }

  Napi::Value cast(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "cast");
    const Tensor& t = tensorArg(info[0], "cast", "tensor");
    return wrap(info.Env(), ops::cast(t, dtypeArg(info[1], "cast")));
  }

  Napi::Value reshape(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "reshape");
    const Tensor& t = tensorArg(info[0], "reshape", "tensor");
    return wrap(info.Env(), ops::reshape(t, intListArg(info[1], "reshape", "shape")));
  }

  static kernels::BinaryOp binaryOpArg(const Napi::Value& v) {
    const std::string name = stringArg(v, "binary", "op");
    for (int i = 0; i < kernels::kBinaryOpCount; ++i) {
      const auto op = static_cast<kernels::BinaryOp>(i);
      if (name == ops::binaryName(op)) return op;
    }
    fail(Code::InvalidArgument, "binary: unknown op '", name, "'");
  }

  // binary(op, a, b)
  Napi::Value binary(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "binary");
    const kernels::BinaryOp op = binaryOpArg(info[0]);
    const char* name = ops::binaryName(op);
    return wrap(info.Env(), ops::binary(op, tensorArg(info[1], name, "a"), tensorArg(info[2], name, "b")));
  }

  // binaryScalar(op, a, scalar, scalarFirst)
  Napi::Value binaryScalar(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "binary");
    const kernels::BinaryOp op = binaryOpArg(info[0]);
    const char* name = ops::binaryName(op);
    const Tensor& a = tensorArg(info[1], name, "a");
    return wrap(info.Env(), ops::binaryScalar(op, a, numberArg(info[2], name, "scalar"), boolArg(info[3], name, "scalarFirst")));
  }

  // matmul(a, b, transA, transB)
  Napi::Value matmul(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "matmul");
    const Tensor& a = tensorArg(info[0], "matmul", "a");
    const Tensor& b = tensorArg(info[1], "matmul", "b");
    return wrap(info.Env(), ops::matmul(a, b, boolArg(info[2], "matmul", "transposeA"), boolArg(info[3], "matmul", "transposeB")));
  }

  Napi::Value sum(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "sum");
    return wrap(info.Env(), ops::sumAll(tensorArg(info[0], "sum", "tensor")));
  }

  Napi::Value memory(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    for (const auto& [device, m] : MemoryLedger::instance().snapshot()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("numTensors", static_cast<double>(m.tensors));
      o.Set("numDataBuffers", static_cast<double>(m.buffers));
      o.Set("numBytes", static_cast<double>(m.bytes));
      o.Set("peakBytes", static_cast<double>(m.peakBytes));
      double cached = 0;
      if (!device.isCuda()) cached = static_cast<double>(cpuBackend().cachedBytes(device));
      else if (cudaStatus().available) cached = static_cast<double>(cudaBackend(device).cachedBytes(device));
      o.Set("cachedBytes", cached);
      out.Set(device.isCuda() ? device.str() : std::string("cpu"), o);
    }
    if (!out.Has("cpu")) {  // no CPU tensor yet; the CPU cache is reported even so
      Napi::Object o = Napi::Object::New(env);
      for (const char* k : {"numTensors", "numDataBuffers", "numBytes", "peakBytes"}) o.Set(k, 0.0);
      o.Set("cachedBytes", static_cast<double>(cpuBackend().cachedBytes(Device{})));
      out.Set("cpu", o);
    }
    return out;
  }

  Napi::Value resetPeakMemory(const Napi::CallbackInfo& info) {
    MemoryLedger::instance().resetPeaks();
    return info.Env().Undefined();
  }

  Napi::Value synchronize(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "synchronize");
    const Device d = deviceArg(info[0], "synchronize");
    backendFor(d).synchronize(d);
    return info.Env().Undefined();
  }

  Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "setNumThreads");
    const double n = numberArg(info[0], "setNumThreads", "threads");
    if (!(n >= 1 && n <= 1024) || n != static_cast<int>(n))
      fail(Code::InvalidArgument, "setNumThreads: threads must be an integer from 1 to 1024; got ", describeValue(info[0]));
    cpu::setNumThreads(static_cast<int>(n));
    return info.Env().Undefined();
  }

  // linalgLibrary(): the CPU linalg preference (0 default, 1 lapack, 2 builtin); linalgLibrary(code) sets it
  // first (1 only where LAPACK is available).
  Napi::Value linalgLibrary(const Napi::CallbackInfo& info) {
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      const double c = numberArg(info[0], "preferredLinalgLibrary", "library");
      if (!(c == 0 || c == 1 || c == 2))
        fail(Code::InvalidArgument, "preferredLinalgLibrary: library code must be 0, 1 or 2; got ", describeValue(info[0]));
      if (c == 1 && !cpu::blas::lapackSymbol("dgetrf_"))
        fail(Code::InvalidArgument, "preferredLinalgLibrary: 'lapack' needs LAPACK from OpenBLAS at run time, and this process has none (",
             cpu::blasName(), ")");
      cpu::blas::setPreferredLinalg(static_cast<cpu::blas::LinalgLibrary>(static_cast<int>(c)));
    }
    return Napi::Number::New(info.Env(), static_cast<int>(cpu::blas::preferredLinalg()));
  }

  Napi::Value emptyCache(const Napi::CallbackInfo& info) {
    cpuBackend().releaseCache(Device{});
    const CudaStatus& s = cudaStatus();
    if (s.available)
      for (size_t i = 0; i < s.devices.size(); ++i) {
        const Device d{DeviceType::Cuda, static_cast<int>(i)};
        cudaBackend(d).releaseCache(d);
      }
    return info.Env().Undefined();
  }

  // ---- ops with gradients ----

  static kernels::UnaryOp unaryOpArg(const Napi::Value& v) {
    const std::string name = stringArg(v, "unary", "op");
    for (int i = 0; i < kernels::kUnaryOpCount; ++i) {
      const auto op = static_cast<kernels::UnaryOp>(i);
      if (name == ops::unaryName(op)) return op;
    }
    fail(Code::InvalidArgument, "unary: unknown op '", name, "'");
  }

  // unary(op, x, p0, p1)
  Napi::Value unary(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "unary");
    const kernels::UnaryOp op = unaryOpArg(info[0]);
    const char* name = ops::unaryName(op);
    const Tensor& x = tensorArg(info[1], name, "x");
    return wrap(info.Env(), ops::unary(op, x, numberArg(info[2], name, "p0"), numberArg(info[3], name, "p1")));
  }

  // unaryBackward(op, x, y, gy, p0, p1)
  Napi::Value unaryBackward(const Napi::CallbackInfo& info) {
    expectArgs(info, 6, "unaryBackward");
    const kernels::UnaryOp op = unaryOpArg(info[0]);
    const char* name = ops::unaryName(op);
    return wrap(info.Env(), ops::unaryBackward(op, tensorArg(info[1], name, "x"), tensorArg(info[2], name, "y"),
                                               tensorArg(info[3], name, "gradient"), numberArg(info[4], name, "p0"),
                                               numberArg(info[5], name, "p1")));
  }

  // pointwise(op, a, b | null, p): lib/ops/pointwise.ts's special functions (kernels/pointwise.h)
  Napi::Value pointwise(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "pointwise");
    const std::string opName = stringArg(info[0], "pointwise", "op");
    int o = 0;
    while (o < kernels::kPointwiseOpCount && opName != ops::pointwiseName(static_cast<kernels::PointwiseOp>(o))) ++o;
    if (o == kernels::kPointwiseOpCount) fail(Code::InvalidArgument, "pointwise: unknown op '", opName, "'");
    const auto op = static_cast<kernels::PointwiseOp>(o);
    const char* name = ops::pointwiseName(op);
    const Tensor& a = tensorArg(info[1], name, "a");
    const Tensor* b = info[2].IsNull() ? nullptr : &tensorArg(info[2], name, "b");
    const double p = numberArg(info[3], name, "p");
    if (!(p >= 0 && p <= 1000 && p == static_cast<int>(p)))
      fail(Code::InvalidArgument, name, ": order ", p, " is not an integer from 0 to 1000");
    return wrap(info.Env(), ops::pointwise(op, a, b, static_cast<int>(p)));
  }

  // reduce(op, x, axes, keepDims)
  Napi::Value reduce(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "reduce");
    const std::string name = stringArg(info[0], "reduce", "op");
    kernels::ReduceOp op;
    if (name == "sum") op = kernels::ReduceOp::Sum;
    else if (name == "max") op = kernels::ReduceOp::Max;
    else if (name == "min") op = kernels::ReduceOp::Min;
    else if (name == "prod") op = kernels::ReduceOp::Prod;
    else fail(Code::InvalidArgument, "reduce: unknown op '", name, "'");
    const Tensor& x = tensorArg(info[1], name.c_str(), "x");
    return wrap(info.Env(), ops::reduce(op, x, axesArg(info[2], name.c_str()), boolArg(info[3], name.c_str(), "keepDims")));
  }

  static std::vector<int64_t> axesArg(const Napi::Value& v, const char* op) {
    if (!v.IsArray()) fail(Code::InvalidArgument, op, ": axes must be an array of integers; got ", describeValue(v));
    const Napi::Array arr = v.As<Napi::Array>();
    if (arr.Length() > 8) fail(Code::InvalidArgument, op, ": at most 8 axes");
    std::vector<int64_t> out(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); ++i) out[i] = intArg(arr.Get(i), op, "axis");
    return out;
  }

  Napi::Value permute(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "permute");
    const Tensor& x = tensorArg(info[0], "permute", "x");
    return wrap(info.Env(), ops::permute(x, axesArg(info[1], "permute")));
  }

  // flip(x, axes)
  Napi::Value flip(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "flip");
    const Tensor& x = tensorArg(info[0], "flip", "x");
    return wrap(info.Env(), ops::flip(x, axesArg(info[1], "flip")));
  }

  // slice(x, begin, size)
  Napi::Value slice(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "slice");
    const Tensor& x = tensorArg(info[0], "slice", "x");
    return wrap(info.Env(), ops::slice(x, axesArg(info[1], "slice"), axesArg(info[2], "slice")));
  }

  // sliceBackward(g, shape, begin)
  Napi::Value sliceBackward(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "sliceBackward");
    const Tensor& g = tensorArg(info[0], "slice", "gradient");
    return wrap(info.Env(), ops::sliceBackward(g, shapeArg(info[1], "slice", "shape"), axesArg(info[2], "slice")));
  }

  // concat(tensors[], axis)
  Napi::Value concat(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "concat");
    if (!info[0].IsArray()) fail(Code::InvalidArgument, "concat: expected an array of tensors; got ", describeValue(info[0]));
    const Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<const Tensor*> xs;
    for (uint32_t i = 0; i < arr.Length(); ++i) xs.push_back(&tensorArg(arr.Get(i), "concat", "tensor"));
    return wrap(info.Env(), ops::concat(xs, intArg(info[1], "concat", "axis")));
  }

  Napi::Value broadcastTo(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "broadcastTo");
    const Tensor& x = tensorArg(info[0], "broadcastTo", "x");
    return wrap(info.Env(), ops::broadcastTo(x, shapeArg(info[1], "broadcastTo", "shape")));
  }

  Napi::Value where(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "where");
    return wrap(info.Env(), ops::where(tensorArg(info[0], "where", "condition"), tensorArg(info[1], "where", "a"),
                                       tensorArg(info[2], "where", "b")));
  }

  // softmax(x, axis, log)
  Napi::Value softmax(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "softmax");
    const Tensor& x = tensorArg(info[0], "softmax", "x");
    return wrap(info.Env(), ops::softmax(x, intArg(info[1], "softmax", "axis"), boolArg(info[2], "softmax", "log")));
  }

  // softmaxBackward(y, gy, axis, log)
  Napi::Value softmaxBackward(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "softmaxBackward");
    return wrap(info.Env(), ops::softmaxBackward(tensorArg(info[0], "softmax", "y"), tensorArg(info[1], "softmax", "gradient"),
                                                 intArg(info[2], "softmax", "axis"), boolArg(info[3], "softmax", "log")));
  }

  // cumulative(op, x, axis, exclusive, reverse): op 'sum' (cumsum) or 'prod' (cumprod)
  Napi::Value cumulative(const Napi::CallbackInfo& info) {
    expectArgs(info, 5, "cumulative");
    const std::string name = stringArg(info[0], "cumulative", "op");
    kernels::CumOp op;
    if (name == "sum") op = kernels::CumOp::Sum;
    else if (name == "prod") op = kernels::CumOp::Prod;
    else fail(Code::InvalidArgument, "cumulative: unknown op '", name, "'; expected 'sum' or 'prod'");
    const char* opName = op == kernels::CumOp::Prod ? "cumprod" : "cumsum";
    const Tensor& x = tensorArg(info[1], opName, "x");
    return wrap(info.Env(), ops::cumulative(op, x, intArg(info[2], opName, "axis"), boolArg(info[3], opName, "exclusive"),
                                            boolArg(info[4], opName, "reverse")));
  }

  // cumprodBackward(x, gy, axis, exclusive, reverse)
  Napi::Value cumprodBackward(const Napi::CallbackInfo& info) {
    expectArgs(info, 5, "cumprodBackward");
    return wrap(info.Env(), ops::cumprodBackward(tensorArg(info[0], "cumprod", "x"), tensorArg(info[1], "cumprod", "gradient"),
                                                 intArg(info[2], "cumprod", "axis"), boolArg(info[3], "cumprod", "exclusive"),
                                                 boolArg(info[4], "cumprod", "reverse")));
  }

  // cumExtreme(x, axis, largest) -> [values, indices]: cummax (largest) or cummin along axis
  Napi::Value cumExtreme(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "cumExtreme");
    const bool largest = boolArg(info[2], "cumExtreme", "largest");
    const char* opName = largest ? "cummax" : "cummin";
    auto [values, indices] = ops::cumExtreme(tensorArg(info[0], opName, "x"), intArg(info[1], opName, "axis"), largest);
    return wrapAll(info.Env(), {values, indices});
  }

  // depthwiseConv(x, w, outSizes, stride, padding, dilation): ops::depthwiseConv (padding: each axis's left zeros)
  Napi::Value depthwiseConv(const Napi::CallbackInfo& info) {
    const char* op = "depthwiseConv";
    expectArgs(info, 6, op);
    return wrap(info.Env(), ops::depthwiseConv(tensorArg(info[0], op, "x"), tensorArg(info[1], op, "weight"),
                                               intListArg(info[2], op, "outSizes"), intListArg(info[3], op, "stride"),
                                               intListArg(info[4], op, "padding"), intListArg(info[5], op, "dilation")));
  }

  // depthwiseConvBackwardInput(gy, w, inShape, stride, padding, dilation): the input gradient [N, C, in…]
  Napi::Value depthwiseConvBackwardInput(const Napi::CallbackInfo& info) {
    const char* op = "depthwiseConvBackwardInput";
    expectArgs(info, 6, op);
    return wrap(info.Env(), ops::depthwiseConvBackwardInput(tensorArg(info[0], op, "gradient"), tensorArg(info[1], op, "weight"),
                                                            shapeArg(info[2], op, "inShape"), intListArg(info[3], op, "stride"),
                                                            intListArg(info[4], op, "padding"), intListArg(info[5], op, "dilation")));
  }

  // depthwiseConvBackwardWeight(x, gy, kernelSizes, stride, padding, dilation): the weight gradient [C·m, 1, k…]
  Napi::Value depthwiseConvBackwardWeight(const Napi::CallbackInfo& info) {
    const char* op = "depthwiseConvBackwardWeight";
    expectArgs(info, 6, op);
    return wrap(info.Env(), ops::depthwiseConvBackwardWeight(tensorArg(info[0], op, "x"), tensorArg(info[1], op, "gradient"),
                                                             intListArg(info[2], op, "kernelSizes"), intListArg(info[3], op, "stride"),
                                                             intListArg(info[4], op, "padding"), intListArg(info[5], op, "dilation")));
  }

  // maxPool(x, outSizes, kernel, stride, padding, dilation) -> [values, indices]: ops::maxPool (padding: each axis's left)
  Napi::Value maxPool(const Napi::CallbackInfo& info) {
    const char* op = "maxPool";
    expectArgs(info, 6, op);
    ops::PoolParams p;
    p.outSizes = shapeArg(info[1], op, "outSizes");
    p.kernel = intListArg(info[2], op, "kernel");
    p.stride = intListArg(info[3], op, "stride");
    p.padding = intListArg(info[4], op, "padding");
    p.dilation = intListArg(info[5], op, "dilation");
    auto [values, indices] = ops::maxPool(tensorArg(info[0], op, "x"), p);
    return wrapAll(info.Env(), {values, indices});
  }

  // The average pool's parameters from info[from…]: kernel, stride, padding, includePad, divisor (0: the window's).
  static ops::PoolParams avgPoolParams(const Napi::CallbackInfo& info, size_t from, const char* op) {
    ops::PoolParams p;
    p.kernel = intListArg(info[from], op, "kernel");
    p.stride = intListArg(info[from + 1], op, "stride");
    p.padding = intListArg(info[from + 2], op, "padding");
    p.dilation.assign(p.kernel.size(), 1);
    p.includePad = boolArg(info[from + 3], op, "includePad");
    p.divisor = intArg(info[from + 4], op, "divisor");
    return p;
  }

  // avgPool(x, outSizes, kernel, stride, padding, includePad, divisor): ops::avgPool
  Napi::Value avgPool(const Napi::CallbackInfo& info) {
    const char* op = "avgPool";
    expectArgs(info, 7, op);
    ops::PoolParams p = avgPoolParams(info, 2, op);
    p.outSizes = shapeArg(info[1], op, "outSizes");
    return wrap(info.Env(), ops::avgPool(tensorArg(info[0], op, "x"), p));
  }

  // avgPoolBackward(gy, inShape, kernel, stride, padding, includePad, divisor): avgPool's adjoint [N, C, in…]
  Napi::Value avgPoolBackward(const Napi::CallbackInfo& info) {
    const char* op = "avgPoolBackward";
    expectArgs(info, 7, op);
    const Tensor& gy = tensorArg(info[0], op, "gradient");
    ops::PoolParams p = avgPoolParams(info, 2, op);
    if (gy.shape.size() >= 2) p.outSizes.assign(gy.shape.begin() + 2, gy.shape.end());
    return wrap(info.Env(), ops::avgPoolBackward(gy, shapeArg(info[1], op, "inShape"), p));
  }

  // The adaptive pools' parameters: PyTorch's adaptive windows to outSizes (no kernel, stride, padding, dilation).
  static ops::PoolParams adaptiveParams(Shape outSizes) {
    ops::PoolParams p;
    p.adaptive = true;
    p.outSizes = std::move(outSizes);
    return p;
  }

  // adaptiveMaxPool(x, outSizes) -> [values, indices]: ops::maxPool over the adaptive windows
  Napi::Value adaptiveMaxPool(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "adaptiveMaxPool");
    auto [values, indices] = ops::maxPool(tensorArg(info[0], "adaptiveMaxPool", "x"), adaptiveParams(shapeArg(info[1], "adaptiveMaxPool", "outSizes")));
    return wrapAll(info.Env(), {values, indices});
  }

  // adaptiveAvgPool(x, outSizes): ops::avgPool over the adaptive windows
  Napi::Value adaptiveAvgPool(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "adaptiveAvgPool");
    return wrap(info.Env(), ops::avgPool(tensorArg(info[0], "adaptiveAvgPool", "x"), adaptiveParams(shapeArg(info[1], "adaptiveAvgPool", "outSizes"))));
  }

  // adaptiveAvgPoolBackward(gy, inShape): adaptiveAvgPool's adjoint [N, C, in…] (outSizes: gy's trailing axes)
  Napi::Value adaptiveAvgPoolBackward(const Napi::CallbackInfo& info) {
    const char* op = "adaptiveAvgPoolBackward";
    expectArgs(info, 2, op);
    const Tensor& gy = tensorArg(info[0], op, "gradient");
    const Shape out = gy.shape.size() >= 2 ? Shape(gy.shape.begin() + 2, gy.shape.end()) : Shape{};
    return wrap(info.Env(), ops::avgPoolBackward(gy, shapeArg(info[1], op, "inShape"), adaptiveParams(out)));
  }

  // logCumSumExp(x, axis, reverse): logcumsumexp along axis (from the end when reverse)
  Napi::Value logCumSumExp(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "logCumSumExp");
    return wrap(info.Env(), ops::logCumSumExp(tensorArg(info[0], "logcumsumexp", "x"), intArg(info[1], "logcumsumexp", "axis"),
                                              boolArg(info[2], "logcumsumexp", "reverse")));
  }

  // logCumSumExpBackward(x, y, gy, axis, reverse): logcumsumexp's gradient from x, its output y and y's gradient
  Napi::Value logCumSumExpBackward(const Napi::CallbackInfo& info) {
    expectArgs(info, 5, "logCumSumExpBackward");
    return wrap(info.Env(), ops::logCumSumExpBackward(tensorArg(info[0], "logcumsumexp", "x"), tensorArg(info[1], "logcumsumexp", "output"),
                                                      tensorArg(info[2], "logcumsumexp", "gradient"), intArg(info[3], "logcumsumexp", "axis"),
                                                      boolArg(info[4], "logcumsumexp", "reverse")));
  }

  // argReduce(x, axis, largest): argmax (largest) or argmin along axis, int32
  Napi::Value argReduce(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "argReduce");
    const Tensor& x = tensorArg(info[0], "argReduce", "x");
    return wrap(info.Env(), ops::argReduce(x, intArg(info[1], "argReduce", "axis"), boolArg(info[2], "argReduce", "largest")));
  }

  // searchsorted(seq [B, M], values [B, K], right): int32 [B, K] positions in each sorted row
  Napi::Value searchsorted(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "searchsorted");
    return wrap(info.Env(), ops::searchsorted(tensorArg(info[0], "searchsorted", "seq"), tensorArg(info[1], "searchsorted", "values"),
                                              boolArg(info[2], "searchsorted", "right")));
  }

  // linalg-lu (LU factorisation, LU solve, triangular solve, Cholesky): native/kernels/linalg_lu.h
  // triangularSolve(A [B, n, n], rhs [B, n, k] or [B, k, n], upper, left, unit): X of rhs's shape
  Napi::Value triangularSolve(const Napi::CallbackInfo& info) {
    expectArgs(info, 5, "triangularSolve");
    const char* op = "solveTriangular";
    return wrap(info.Env(), ops::triangularSolve(tensorArg(info[0], op, "A"), tensorArg(info[1], op, "B"),
                                                 boolArg(info[2], op, "upper"), boolArg(info[3], op, "left"),
                                                 boolArg(info[4], op, "unitriangular")));
  }
  // luFactor(A [B, m, n]) -> [LU, pivots int32 [B, min(m, n)], info int32 [B]]
  Napi::Value luFactor(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "luFactor");
    ops::LuFactorResult r = ops::luFactor(tensorArg(info[0], "luFactor", "A"));
    return wrapAll(info.Env(), {r.LU, r.pivots, r.info});
  }

  // luPermutation(pivots int32 [B, k], m) -> perm int32 [B, m]
  Napi::Value luPermutation(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "luPermutation");
    return wrap(info.Env(), ops::luPermutation(tensorArg(info[0], "luPermutation", "pivots"), intArg(info[1], "luPermutation", "m")));
  }
  // cholesky(A [B, n, n]) -> [L [B, n, n], info int32 [B]]
  Napi::Value cholesky(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "cholesky");
    auto [L, inf] = ops::cholesky(tensorArg(info[0], "cholesky", "A"));
    return wrapAll(info.Env(), {L, inf});
  }
  // (end of linalg-lu)

  // linalg-qr (Householder QR): native/kernels/linalg_qr.h
  // linalgQr(a [B, m, n], mode 0 reduced | 1 complete | 2 r) -> [Q, R]
  Napi::Value linalgQr(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "linalgQr");
    auto [Q, R] = ops::linalgQr(tensorArg(info[0], "linalg.qr", "A"), intArg(info[1], "linalg.qr", "mode"));
    return wrapAll(info.Env(), {Q, R});
  }
  // (end of linalg-qr)

  // linalg-spectral (symmetric eigendecomposition (eigh), SVD): native/kernels/linalg_spectral.h
  // linalgEigh(A [B, n, n], upper, vectors) -> [w, V, info]
  Napi::Value linalgEigh(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "linalgEigh");
    auto outs = ops::linalgEigh(tensorArg(info[0], "linalgEigh", "A"), boolArg(info[1], "linalgEigh", "upper"),
                                boolArg(info[2], "linalgEigh", "vectors"));
    return wrapAll(info.Env(), outs);
  }

  // linalgSvd(A [B, m, n], full, vectors) -> [U, S, Vh, info]
  Napi::Value linalgSvd(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "linalgSvd");
    auto outs = ops::linalgSvd(tensorArg(info[0], "linalgSvd", "A"), boolArg(info[1], "linalgSvd", "full"),
                               boolArg(info[2], "linalgSvd", "vectors"));
    return wrapAll(info.Env(), outs);
  }
  // (end of linalg-spectral)

  // random-gamma (gamma sampler and its gradient): native/kernels/random_gamma.h
  // standardGamma(alpha, seed, stream) -> x ~ Gamma(alpha, 1)
  Napi::Value standardGamma(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "standardGamma");
    return wrap(info.Env(), ops::standardGamma(tensorArg(info[0], "standardGamma", "alpha"), seedArg(info[1], "standardGamma", "seed"),
                                               seedArg(info[2], "standardGamma", "stream")));
  }

  // gammaBinary(op, a, x): op 0 standardGammaGrad, 1 gammainc, 2 gammaincc
  Napi::Value gammaBinary(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "gammaBinary");
    return wrap(info.Env(), ops::gammaBinary(intArg(info[0], "gammaBinary", "op"), tensorArg(info[1], "gammaBinary", "a"),
                                             tensorArg(info[2], "gammaBinary", "x")));
  }
  // (end of random-gamma)

  // random-discrete (Poisson and binomial samplers): native/kernels/random_discrete.h
  // discreteSample(op, a, b | null, seed, stream): op 0 poisson(a), 1 binomial(a = count, b = prob)
  Napi::Value discreteSample(const Napi::CallbackInfo& info) {
    expectArgs(info, 5, "discreteSample");
    const int op = intArg(info[0], "discreteSample", "op");
    const Tensor& a = tensorArg(info[1], "discreteSample", "a");
    const Tensor* b = info[2].IsNull() || info[2].IsUndefined() ? nullptr : &tensorArg(info[2], "discreteSample", "b");
    return wrap(info.Env(), ops::discreteSample(op, a, b, seedArg(info[3], "discreteSample", "seed"), seedArg(info[4], "discreteSample", "stream")));
  }
  // (end of random-discrete)

  // topkIndices(x, axis, k, largest): int32 indices of the k best along axis, best first
  Napi::Value topkIndices(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "topkIndices");
    const Tensor& x = tensorArg(info[0], "topkIndices", "x");
    return wrap(info.Env(), ops::topkIndices(x, intArg(info[1], "topkIndices", "axis"), intArg(info[2], "topkIndices", "k"),
                                             boolArg(info[3], "topkIndices", "largest")));
  }

  // ctcLoss(logProbs, targets, inputLengths, targetLengths, blank) -> [nll, logAlpha]
  Napi::Value ctcLoss(const Napi::CallbackInfo& info) {
    expectArgs(info, 5, "ctcLoss");
    auto [nll, logAlpha] = ops::ctcLoss(tensorArg(info[0], "ctcLoss", "logProbs"), tensorArg(info[1], "ctcLoss", "targets"),
                                        tensorArg(info[2], "ctcLoss", "inputLengths"),
                                        tensorArg(info[3], "ctcLoss", "targetLengths"), intArg(info[4], "ctcLoss", "blank"));
    return wrapAll(info.Env(), {nll, logAlpha});
  }

  // ctcLossBackward(g, logProbs, targets, inputLengths, targetLengths, nll, logAlpha, blank, zeroInfinity)
  Napi::Value ctcLossBackward(const Napi::CallbackInfo& info) {
    expectArgs(info, 9, "ctcLossBackward");
    const char* op = "ctcLoss";
    return wrap(info.Env(), ops::ctcLossBackward(tensorArg(info[0], op, "gradient"), tensorArg(info[1], op, "logProbs"),
                                                 tensorArg(info[2], op, "targets"), tensorArg(info[3], op, "inputLengths"),
                                                 tensorArg(info[4], op, "targetLengths"), tensorArg(info[5], op, "nll"),
                                                 tensorArg(info[6], op, "logAlpha"), intArg(info[7], op, "blank"),
                                                 boolArg(info[8], op, "zeroInfinity")));
  }

  // gridSample(x, grid, mode, padding, alignCorners) -> out
  Napi::Value gridSample(const Napi::CallbackInfo& info) {
    expectArgs(info, 5, "gridSample");
    const char* op = "gridSample";
    return wrap(info.Env(), ops::gridSample(tensorArg(info[0], op, "x"), tensorArg(info[1], op, "grid"), intArg(info[2], op, "mode"),
                                            intArg(info[3], op, "padding"), boolArg(info[4], op, "alignCorners")));
  }

  // gridSampleBackward(gy, x, grid, mode, padding, alignCorners, needX, needGrid) -> [gx | null, gGrid | null]
  Napi::Value gridSampleBackward(const Napi::CallbackInfo& info) {
    expectArgs(info, 8, "gridSampleBackward");
    const char* op = "gridSample";
    auto [gx, gg] = ops::gridSampleBackward(tensorArg(info[0], op, "gradient"), tensorArg(info[1], op, "x"),
                                            tensorArg(info[2], op, "grid"), intArg(info[3], op, "mode"),
                                            intArg(info[4], op, "padding"), boolArg(info[5], op, "alignCorners"),
                                            boolArg(info[6], op, "needX"), boolArg(info[7], op, "needGrid"));
    return wrapAll(info.Env(), {gx, gg});
  }

  // crossEntropy(logits, labels, ignoreIndex) -> [loss, valid]
  Napi::Value crossEntropy(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "crossEntropy");
    auto [loss, valid] = ops::crossEntropy(tensorArg(info[0], "crossEntropy", "logits"),
                                           tensorArg(info[1], "crossEntropy", "labels"),
                                           intArg(info[2], "crossEntropy", "ignoreIndex"));
    return wrapAll(info.Env(), {loss, valid});
  }

  // crossEntropyBackward(logits, labels, g, ignoreIndex)
  Napi::Value crossEntropyBackward(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "crossEntropyBackward");
    return wrap(info.Env(), ops::crossEntropyBackward(tensorArg(info[0], "crossEntropy", "logits"),
                                                      tensorArg(info[1], "crossEntropy", "labels"),
                                                      tensorArg(info[2], "crossEntropy", "gradient"),
                                                      intArg(info[3], "crossEntropy", "ignoreIndex")));
  }

  Napi::Value gatherRows(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "embedding");
    return wrap(info.Env(), ops::gatherRows(tensorArg(info[0], "embedding", "table"), tensorArg(info[1], "embedding", "indices")));
  }

  // scatterAddRows(g, indices, rows, checked): see ops::scatterAddRows for `checked`
  Napi::Value scatterAddRows(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "embeddingBackward");
    const int64_t rows = intArg(info[2], "embedding", "rows");
    if (rows < 0) fail(Code::InvalidArgument, "embedding: rows must be >= 0");
    const bool checked = boolArg(info[3], "embedding", "checked");
    return wrap(info.Env(), ops::scatterAddRows(tensorArg(info[0], "embedding", "gradient"),
                                                tensorArg(info[1], "embedding", "indices"), rows, checked));
  }

  // setRows(table, indices, rows): table[indices[i], :] = rows[i, :] in place
  Napi::Value setRows(const Napi::CallbackInfo& info) {
    expectArgs(info, 3, "setRows");
    Tensor& table = mutableTensorArg(info[0], "setRows", "table");
    ops::setRows(table, tensorArg(info[1], "setRows", "indices"), tensorArg(info[2], "setRows", "rows"));
    written({&table});
    return info.Env().Undefined();
  }

  const Tensor* optionalTensorArg(const Napi::Value& v, const char* op, const char* what) {
    if (v.IsNull() || v.IsUndefined()) return nullptr;
    return &tensorArg(v, op, what);
  }

  // layerNorm(x, w|null, b|null, eps) -> [y, mean, rstd]
  Napi::Value layerNorm(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "layerNorm");
    const Tensor& x = tensorArg(info[0], "layerNorm", "x");
    const Tensor* w = optionalTensorArg(info[1], "layerNorm", "weight");
    const Tensor* b = optionalTensorArg(info[2], "layerNorm", "bias");
    ops::LayerNormResult r = ops::layerNorm(x, w, b, numberArg(info[3], "layerNorm", "eps"));
    return wrapAll(info.Env(), {r.y, r.mean, r.rstd});
  }

  // layerNormBackward(gy, x, mean, rstd, w|null, affine) -> [gx, gw|null, gb|null]
  Napi::Value layerNormBackward(const Napi::CallbackInfo& info) {
    expectArgs(info, 6, "layerNormBackward");
    const bool affine = boolArg(info[5], "layerNorm", "affine");
    ops::LayerNormGrads g = ops::layerNormBackward(tensorArg(info[0], "layerNorm", "gradient"), tensorArg(info[1], "layerNorm", "x"),
                                                   tensorArg(info[2], "layerNorm", "mean"), tensorArg(info[3], "layerNorm", "rstd"),
                                                   optionalTensorArg(info[4], "layerNorm", "weight"), affine);
    Napi::Env env = info.Env();
    return wrapAll(env, {g.gx, g.gw, g.gb});
  }

  // {d, dirs, k, hasSkipTerm, scaleX, activation}; values are checked by ops::sruForward/sruBackward.
  static ops::SruOptions sruOptionsArg(const Napi::Value& v, const char* op) {
    const Napi::Object o = optionsArg(v, op);
    ops::SruOptions s;
    s.d = intArg(o.Get("d"), op, "d");
    s.dirs = intArg(o.Get("dirs"), op, "dirs");
    s.k = intArg(o.Get("k"), op, "k");
    s.hasSkipTerm = boolField(o, "hasSkipTerm", op);
    s.scaleX = numberField(o, "scaleX", op);
    s.activation = stringArg(o.Get("activation"), op, "activation");
    return s;
  }

  // sruForward(U, x|null, weightC, bias, c0|null, maskPad|null, options) -> [h, c, cLast]
  Napi::Value sruForward(const Napi::CallbackInfo& info) {
    const char* op = "SRU";
    expectArgs(info, 7, op);
    const ops::SruOptions o = sruOptionsArg(info[6], op);
    ops::SruForwardResult r =
        ops::sruForward(tensorArg(info[0], op, "U"), optionalTensorArg(info[1], op, "x"), tensorArg(info[2], op, "weight_c"),
                        tensorArg(info[3], op, "bias"), optionalTensorArg(info[4], op, "c0"),
                        optionalTensorArg(info[5], op, "maskPad"), o);
    Napi::Env env = info.Env();
    return wrapAll(env, {r.h, r.c, r.cLast});
  }

  // sruBackward(U, x|null, weightC, bias, c0|null, maskPad|null, c, gh, gcLast, options, gcAll|null)
  //   -> [gU, gx|null, gWeightC, gBias, gc0]   (gcAll: the gradient of c, the state after every step)
  Napi::Value sruBackward(const Napi::CallbackInfo& info) {
    const char* op = "SRU backward";
    expectArgs(info, 11, op);
    const ops::SruOptions o = sruOptionsArg(info[9], op);
    ops::SruBackwardResult r = ops::sruBackward(
        tensorArg(info[0], op, "U"), optionalTensorArg(info[1], op, "x"), tensorArg(info[2], op, "weight_c"),
        tensorArg(info[3], op, "bias"), optionalTensorArg(info[4], op, "c0"), optionalTensorArg(info[5], op, "maskPad"),
        tensorArg(info[6], op, "c"), tensorArg(info[7], op, "gradient of h"), tensorArg(info[8], op, "gradient of cLast"),
        optionalTensorArg(info[10], op, "gradient of c"), o);
    Napi::Env env = info.Env();
    return wrapAll(env, {r.gU, r.gx, r.gWeightC, r.gBias, r.gc0});
  }

  // sruDeer(U, x|null, weightC, bias, c0|null, maskPad|null, c, options, linearize)
  //   -> [F, J, bOff] (linearize) or h
  Napi::Value sruDeer(const Napi::CallbackInfo& info) {
    const char* op = "SRU deer";
    expectArgs(info, 9, op);
    const ops::SruOptions o = sruOptionsArg(info[7], op);
    const bool linearize = boolArg(info[8], op, "linearize");
    ops::SruDeerResult r = ops::sruDeer(
        tensorArg(info[0], op, "U"), optionalTensorArg(info[1], op, "x"), tensorArg(info[2], op, "weight_c"),
        tensorArg(info[3], op, "bias"), optionalTensorArg(info[4], op, "c0"), optionalTensorArg(info[5], op, "maskPad"),
        tensorArg(info[6], op, "c"), o, linearize);
    Napi::Env env = info.Env();
    if (!linearize) return wrap(env, r.h);
    return wrapAll(env, {r.F, r.J, r.bOff});
  }

  // deerScan(A, b, y0) -> y
  Napi::Value deerScan(const Napi::CallbackInfo& info) {
    const char* op = "deer.scan";
    expectArgs(info, 3, op);
    return wrap(info.Env(), ops::deerScan(tensorArg(info[0], op, "A"), tensorArg(info[1], op, "b"),
                                          tensorArg(info[2], op, "y0")));
  }

  // deerResidual(y, f, rtol) -> [4, B]: max |y − f|, Σ (y − f)², max |f|, max (|y − f| − rtol·|f|) per sequence
  Napi::Value deerResidual(const Napi::CallbackInfo& info) {
    const char* op = "deer residual";
    expectArgs(info, 3, op);
    return wrap(info.Env(), ops::deerResidual(tensorArg(info[0], op, "y"), tensorArg(info[1], op, "f"),
                                              numberArg(info[2], op, "rtol")));
  }

  // expm(A [..., m, m]) -> exp of every matrix
  Napi::Value expm(const Napi::CallbackInfo& info) {
    const char* op = "deer.expm";
    expectArgs(info, 1, op);
    return wrap(info.Env(), ops::expm(tensorArg(info[0], op, "A")));
  }

  // deerScanBackward(A, b, y0, y, gy, adjointOnly?) -> [gA, gb, gy0]; adjointOnly: [null, gb, null]
  Napi::Value deerScanBackward(const Napi::CallbackInfo& info) {
    const char* op = "deer.scan backward";
    expectArgs(info, 5, op);
    const bool adjointOnly = info.Length() > 5 && !info[5].IsUndefined() && boolArg(info[5], op, "adjointOnly");
    ops::DeerScanGrads g = ops::deerScanBackward(tensorArg(info[0], op, "A"), tensorArg(info[1], op, "b"),
                                                 tensorArg(info[2], op, "y0"), tensorArg(info[3], op, "y"),
                                                 tensorArg(info[4], op, "gradient of y"), adjointOnly);
    Napi::Env env = info.Env();
    return wrapAll(env, {g.gA, g.gb, g.gy0});
  }

  // deerElk(a, u, yhat, y0, lambda) -> y
  Napi::Value deerElk(const Napi::CallbackInfo& info) {
    const char* op = "deer.elk";
    expectArgs(info, 5, op);
    return wrap(info.Env(), ops::deerElk(tensorArg(info[0], op, "a"), tensorArg(info[1], op, "u"),
                                         tensorArg(info[2], op, "yhat"), tensorArg(info[3], op, "y0"),
                                         tensorArg(info[4], op, "lambda")));
  }

  // cellLinearize(kind, xp, Whh, bhh|null, y0, y, jacobian) -> [f, J|null, bOff|null]
  Napi::Value cellLinearize(const Napi::CallbackInfo& info) {
    const char* op = "deer.cell linearize";
    expectArgs(info, 7, op);
    ops::CellLinearization r = ops::cellLinearize(
        stringArg(info[0], op, "kind"), tensorArg(info[1], op, "xp"), tensorArg(info[2], op, "Whh"),
        optionalTensorArg(info[3], op, "bhh"), tensorArg(info[4], op, "y0"), tensorArg(info[5], op, "y"),
        stringArg(info[6], op, "jacobian"));
    Napi::Env env = info.Env();
    return wrapAll(env, {r.f, r.J, r.bOff});
  }

  // cellSequential(kind, xp, Whh, bhh|null, y0) -> y
  Napi::Value cellSequential(const Napi::CallbackInfo& info) {
    const char* op = "deer.cell";
    expectArgs(info, 5, op);
    return wrap(info.Env(), ops::cellSequential(stringArg(info[0], op, "kind"), tensorArg(info[1], op, "xp"),
                                                tensorArg(info[2], op, "Whh"), optionalTensorArg(info[3], op, "bhh"),
                                                tensorArg(info[4], op, "y0")));
  }

  // An optional trailing maxSegments (CUDA: the most blocks a sequence is split over; 0 or absent: as
  // many as fill the device), clamped to the int range (the op checks it).
  static int maxSegmentsArg(const Napi::CallbackInfo& info, size_t at, const char* op) {
    if (info.Length() <= at || info[at].IsUndefined()) return 0;
    const int64_t v = intArg(info[at], op, "maxSegments");
    return static_cast<int>(v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v);
  }

  // cellDeerAdjoint(kind, xp, Whh, bhh|null, y0, y, g, maxSegments?) -> λ
  Napi::Value cellDeerAdjoint(const Napi::CallbackInfo& info) {
    const char* op = "deer.cell adjoint";
    expectArgs(info, 7, op);
    return wrap(info.Env(), ops::cellDeerAdjoint(stringArg(info[0], op, "kind"), tensorArg(info[1], op, "xp"),
                                                 tensorArg(info[2], op, "Whh"), optionalTensorArg(info[3], op, "bhh"),
                                                 tensorArg(info[4], op, "y0"), tensorArg(info[5], op, "y"),
                                                 tensorArg(info[6], op, "g"), maxSegmentsArg(info, 7, op)));
  }

  // cellDeerSolve(kind, xp, Whh, bhh|null, y0, guess, jacobian, atol, rtol, maxIters, growthFactor,
  //               stallIters, stallFloor, eps, maxSegments?) -> [y, status float64 [B, 3]]
  Napi::Value cellDeerSolve(const Napi::CallbackInfo& info) {
    const char* op = "deer.cell solve";
    expectArgs(info, 14, op);
    kernels::DeerFusedParams p;
    p.atol = numberArg(info[7], op, "atol");
    p.rtol = numberArg(info[8], op, "rtol");
    // Counts past the int range mean "no limit" here (a solve stops long before).
    const auto count = [](int64_t v) { return static_cast<int>(v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v); };
    p.maxIters = count(intArg(info[9], op, "maxIters"));
    p.growthFactor = numberArg(info[10], op, "growthFactor");
    p.stallIters = count(intArg(info[11], op, "stallIters"));
    p.stallFloor = numberArg(info[12], op, "stallFloor");
    p.eps = numberArg(info[13], op, "eps");
    p.maxSegments = maxSegmentsArg(info, 14, op);
    ops::CellDeerSolution r = ops::cellDeerSolve(
        stringArg(info[0], op, "kind"), tensorArg(info[1], op, "xp"), tensorArg(info[2], op, "Whh"),
        optionalTensorArg(info[3], op, "bhh"), tensorArg(info[4], op, "y0"), tensorArg(info[5], op, "guess"),
        stringArg(info[6], op, "jacobian"), p);
    Napi::Env env = info.Env();
    return wrapAll(env, {r.y, r.status});
  }

  // cellBackward(kind, xp, Whh, bhh|null, y0, y, g, adjoint) -> [gxp, ghh, gy0]
  Napi::Value cellBackward(const Napi::CallbackInfo& info) {
    const char* op = "deer.cell backward";
    expectArgs(info, 8, op);
    ops::CellGrads g = ops::cellBackward(
        stringArg(info[0], op, "kind"), tensorArg(info[1], op, "xp"), tensorArg(info[2], op, "Whh"),
        optionalTensorArg(info[3], op, "bhh"), tensorArg(info[4], op, "y0"), tensorArg(info[5], op, "y"),
        tensorArg(info[6], op, "g"), boolArg(info[7], op, "adjoint"));
    Napi::Env env = info.Env();
    return wrapAll(env, {g.gxp, g.ghh, g.gy0});
  }

  Tensor& mutableTensorArg(const Napi::Value& v, const char* op, const char* what) {
    TensorHandle* h = handleArg(v, op, what);
    if (!h) fail(Code::Disposed, op, ": ", what, " has been disposed");
    return *h->tensor;
  }

  // After an in-place op succeeded: the storage it wrote has a new version (see Storage::version).
  static void written(std::initializer_list<Tensor*> tensors) {
    for (Tensor* t : tensors)
      if (t) t->storage->bumpVersion();
  }

  // versionSum(...tensors): the sum of their storages' versions. Versions only
  // grow, so an unchanged sum means none of them was written.
  Napi::Value versionSum(const Napi::CallbackInfo& info) {
    double sum = 0;
    for (size_t i = 0; i < info.Length(); ++i) sum += static_cast<double>(tensorArg(info[i], "version", "tensor").storage->version());
    return Napi::Number::New(info.Env(), sum);
  }

  // storageUsers(tensor): how many native tensors share its storage (views made by reshape, detach, …
  // count; the JavaScript aliases autograd saves share one native tensor and do not).
  Napi::Value storageUsers(const Napi::CallbackInfo& info) {
    expectArgs(info, 1, "storageUsers");
    return Napi::Number::New(info.Env(), static_cast<double>(tensorArg(info[0], "storageUsers", "tensor").storage.use_count()));
  }

  Tensor* optionalMutableArg(const Napi::Value& v, const char* op, const char* what) {
    if (v.IsNull() || v.IsUndefined()) return nullptr;
    return &mutableTensorArg(v, op, what);
  }

  static Napi::Object optionsArg(const Napi::Value& v, const char* op) {
    if (!v.IsObject()) fail(Code::InvalidArgument, op, ": options must be an object; got ", describeValue(v));
    return v.As<Napi::Object>();
  }

  // assign(dst, src): in-place copy
  Napi::Value assign(const Napi::CallbackInfo& info) {
    expectArgs(info, 2, "assign");
    Tensor& dst = mutableTensorArg(info[0], "assign", "destination");
    ops::assign(dst, tensorArg(info[1], "assign", "source"));
    written({&dst});
    return info.Env().Undefined();
  }

  // sgdStep(param, grad, buf|null, {lr, momentum, dampening, weightDecay, nesterov, maximize, firstStep})
  Napi::Value sgdStep(const Napi::CallbackInfo& info) {
    expectArgs(info, 4, "SGD");
    const Napi::Object o = optionsArg(info[3], "SGD");
    SgdParams p;
    numberFields(o, "SGD", {{"lr", &p.lr}, {"momentum", &p.momentum}, {"dampening", &p.dampening}, {"weightDecay", &p.weightDecay}});
    p.nesterov = boolField(o, "nesterov", "SGD");
    p.maximize = boolField(o, "maximize", "SGD");
    p.firstStep = boolField(o, "firstStep", "SGD");
    Tensor& param = mutableTensorArg(info[0], "SGD", "parameter");
    Tensor* buf = optionalMutableArg(info[2], "SGD", "momentum buffer");
    ops::sgdStep(param, tensorArg(info[1], "SGD", "gradient"), buf, p);
    written({&param, buf});
    return info.Env().Undefined();
  }

  // adamStep(param, grad, m, v, vmax|null, {lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize, step})
  Napi::Value adamStep(const Napi::CallbackInfo& info) {
    expectArgs(info, 6, "Adam");
    const Napi::Object o = optionsArg(info[5], "Adam");
    AdamParams p;
    numberFields(o, "Adam", {{"lr", &p.lr}, {"beta1", &p.beta1}, {"beta2", &p.beta2}, {"eps", &p.eps}, {"weightDecay", &p.weightDecay}});
    p.decoupled = boolField(o, "decoupled", "Adam");
    p.amsgrad = boolField(o, "amsgrad", "Adam");
    p.maximize = boolField(o, "maximize", "Adam");
    p.step = intArg(o.Get("step"), "Adam", "step");
    Tensor& param = mutableTensorArg(info[0], "Adam", "parameter");
    Tensor& m = mutableTensorArg(info[2], "Adam", "exp_avg");
    Tensor& v = mutableTensorArg(info[3], "Adam", "exp_avg_sq");
    Tensor* vmax = optionalMutableArg(info[4], "Adam", "max_exp_avg_sq");
    ops::adamStep(param, tensorArg(info[1], "Adam", "gradient"), m, v, vmax, p);
    written({&param, &m, &v, vmax});
    return info.Env().Undefined();
  }

  // adaHessianStep(param, grad, m, v, d|null, {lr, beta1, beta2, eps, weightDecay, hessianPower, step, hessianStep})
  Napi::Value adaHessianStep(const Napi::CallbackInfo& info) {
    expectArgs(info, 6, "AdaHessian");
    const Napi::Object o = optionsArg(info[5], "AdaHessian");
    AdaHessianParams p;
    const char* op = "AdaHessian";
    numberFields(o, op, {{"lr", &p.lr}, {"beta1", &p.beta1}, {"beta2", &p.beta2}, {"eps", &p.eps}, {"weightDecay", &p.weightDecay},
                         {"hessianPower", &p.hessianPower}});
    p.step = intArg(o.Get("step"), op, "step");
    p.hessianStep = intArg(o.Get("hessianStep"), op, "hessianStep");
    Tensor& param = mutableTensorArg(info[0], op, "parameter");
    Tensor& m = mutableTensorArg(info[2], op, "exp_avg");
    Tensor& v = mutableTensorArg(info[3], op, "exp_hessian_diag_sq");
    ops::adaHessianStep(param, tensorArg(info[1], op, "gradient"), m, v, optionalTensorArg(info[4], op, "hessian diagonal"), p);
    written({&param, &m, &v});
    return info.Env().Undefined();
  }

  // rmspropStep(param, grad, squareAvg, gradAvg|null, buf|null, {lr, alpha, eps, weightDecay, momentum, centered, maximize})
  Napi::Value rmspropStep(const Napi::CallbackInfo& info) {
    const char* op = "RMSprop";
    expectArgs(info, 6, op);
    const Napi::Object o = optionsArg(info[5], op);
    RmspropParams p;
    numberFields(o, op, {{"lr", &p.lr}, {"alpha", &p.alpha}, {"eps", &p.eps}, {"weightDecay", &p.weightDecay}, {"momentum", &p.momentum}});
    p.centered = boolField(o, "centered", op);
    p.maximize = boolField(o, "maximize", op);
    Tensor& param = mutableTensorArg(info[0], op, "parameter");
    Tensor& sq = mutableTensorArg(info[2], op, "square_avg");
    Tensor* ga = optionalMutableArg(info[3], op, "grad_avg");
    Tensor* buf = optionalMutableArg(info[4], op, "momentum_buffer");
    ops::rmspropStep(param, tensorArg(info[1], op, "gradient"), sq, ga, buf, p);
    written({&param, &sq, ga, buf});
    return info.Env().Undefined();
  }

  // adagradStep(param, grad, sum, {lr, lrDecay, eps, weightDecay, maximize, step})
  Napi::Value adagradStep(const Napi::CallbackInfo& info) {
    const char* op = "Adagrad";
    expectArgs(info, 4, op);
    const Napi::Object o = optionsArg(info[3], op);
    AdagradParams p;
    numberFields(o, op, {{"lr", &p.lr}, {"lrDecay", &p.lrDecay}, {"eps", &p.eps}, {"weightDecay", &p.weightDecay}});
    p.maximize = boolField(o, "maximize", op);
    p.step = intArg(o.Get("step"), op, "step");
    Tensor& param = mutableTensorArg(info[0], op, "parameter");
    Tensor& sum = mutableTensorArg(info[2], op, "sum");
    ops::adagradStep(param, tensorArg(info[1], op, "gradient"), sum, p);
    written({&param, &sum});
    return info.Env().Undefined();
  }

  // The steps of the form name(param, grad, state1, state2, {options}): fill reads the options into p,
  // then the core op updates param and both states in place.
  template <typename P, typename Fill, typename Step>
  Napi::Value twoStateStep(const Napi::CallbackInfo& info, const char* op, const char* state1, const char* state2, Fill fill, Step step) {
    expectArgs(info, 5, op);
    const Napi::Object o = optionsArg(info[4], op);
    P p;
    fill(o, p);
    Tensor& param = mutableTensorArg(info[0], op, "parameter");
    Tensor& a = mutableTensorArg(info[2], op, state1);
    Tensor& b = mutableTensorArg(info[3], op, state2);
    step(param, tensorArg(info[1], op, "gradient"), a, b, p);
    written({&param, &a, &b});
    return info.Env().Undefined();
  }

  // radamStep(param, grad, m, v, {lr, beta1, beta2, eps, weightDecay, decoupled, maximize, step})
  Napi::Value radamStep(const Napi::CallbackInfo& info) {
    const char* op = "RAdam";
    return twoStateStep<RadamParams>(info, op, "exp_avg", "exp_avg_sq", [&](const Napi::Object& o, RadamParams& p) {
      numberFields(o, op, {{"lr", &p.lr}, {"beta1", &p.beta1}, {"beta2", &p.beta2}, {"eps", &p.eps}, {"weightDecay", &p.weightDecay}});
      p.decoupled = boolField(o, "decoupled", op);
      p.maximize = boolField(o, "maximize", op);
      p.step = intArg(o.Get("step"), op, "step");
    }, ops::radamStep);
  }

  // nadamStep(param, grad, m, v, {lr, beta1, beta2, eps, weightDecay, momentumDecay, muProduct, decoupled, maximize, step})
  Napi::Value nadamStep(const Napi::CallbackInfo& info) {
    const char* op = "NAdam";
    return twoStateStep<NadamParams>(info, op, "exp_avg", "exp_avg_sq", [&](const Napi::Object& o, NadamParams& p) {
      numberFields(o, op, {{"lr", &p.lr}, {"beta1", &p.beta1}, {"beta2", &p.beta2}, {"eps", &p.eps}, {"weightDecay", &p.weightDecay},
                           {"momentumDecay", &p.momentumDecay}, {"muProduct", &p.muProduct}});
      p.decoupled = boolField(o, "decoupled", op);
      p.maximize = boolField(o, "maximize", op);
      p.step = intArg(o.Get("step"), op, "step");
    }, ops::nadamStep);
  }

  // adamaxStep(param, grad, m, u, {lr, beta1, beta2, eps, weightDecay, maximize, step})
  Napi::Value adamaxStep(const Napi::CallbackInfo& info) {
    const char* op = "Adamax";
    return twoStateStep<AdamaxParams>(info, op, "exp_avg", "exp_inf", [&](const Napi::Object& o, AdamaxParams& p) {
      numberFields(o, op, {{"lr", &p.lr}, {"beta1", &p.beta1}, {"beta2", &p.beta2}, {"eps", &p.eps}, {"weightDecay", &p.weightDecay}});
      p.maximize = boolField(o, "maximize", op);
      p.step = intArg(o.Get("step"), op, "step");
    }, ops::adamaxStep);
  }

  // adadeltaStep(param, grad, squareAvg, accDelta, {lr, rho, eps, weightDecay, maximize})
  Napi::Value adadeltaStep(const Napi::CallbackInfo& info) {
    const char* op = "Adadelta";
    return twoStateStep<AdadeltaParams>(info, op, "square_avg", "acc_delta", [&](const Napi::Object& o, AdadeltaParams& p) {
      numberFields(o, op, {{"lr", &p.lr}, {"rho", &p.rho}, {"eps", &p.eps}, {"weightDecay", &p.weightDecay}});
      p.maximize = boolField(o, "maximize", op);
    }, ops::adadeltaStep);
  }

  // rpropStep(param, grad, prev, stepSize, {etaMinus, etaPlus, stepSizeMin, stepSizeMax, maximize})
  Napi::Value rpropStep(const Napi::CallbackInfo& info) {
    const char* op = "Rprop";
    return twoStateStep<RpropParams>(info, op, "prev", "step_size", [&](const Napi::Object& o, RpropParams& p) {
      numberFields(o, op, {{"etaMinus", &p.etaMinus}, {"etaPlus", &p.etaPlus}, {"stepSizeMin", &p.stepSizeMin},
                           {"stepSizeMax", &p.stepSizeMax}});
      p.maximize = boolField(o, "maximize", op);
    }, ops::rpropStep);
  }

  // asgdStep(param, grad, ax, {lambd, eta, mu, weightDecay, maximize}): eta and mu as the state holds them before this step
  Napi::Value asgdStep(const Napi::CallbackInfo& info) {
    const char* op = "ASGD";
    expectArgs(info, 4, op);
    const Napi::Object o = optionsArg(info[3], op);
    AsgdParams p;
    numberFields(o, op, {{"lambd", &p.lambd}, {"eta", &p.eta}, {"mu", &p.mu}, {"weightDecay", &p.weightDecay}});
    p.maximize = boolField(o, "maximize", op);
    Tensor& param = mutableTensorArg(info[0], op, "parameter");
    Tensor& ax = mutableTensorArg(info[2], op, "ax");
    ops::asgdStep(param, tensorArg(info[1], op, "gradient"), ax, p);
    written({&param, &ax});
    return info.Env().Undefined();
  }

  Napi::FunctionReference errorClass_;
  std::shared_ptr<TempFiles> tempFiles_ = std::make_shared<TempFiles>();
  static constexpr size_t kMetaSlots = 64;
  Napi::Reference<Napi::Float64Array> meta_;
  int64_t reportedBytes_ = 0;
};

}  // namespace antler::napi

using AntlerAddon = antler::napi::Addon;
NODE_API_ADDON(AntlerAddon)
