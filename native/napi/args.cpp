#include "args.h"

#include <cmath>

#include "../core/error.h"

namespace antler::napi {

std::string describeValue(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) {
    const double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d)) return "NaN";
    std::ostringstream os;
    os << d;
    return os.str();
  }
  if (v.IsString()) return "'" + v.As<Napi::String>().Utf8Value() + "'";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsArray()) return "an array";
  if (v.IsTypedArray()) return "a typed array";
  if (v.IsFunction()) return "a function";
  if (v.IsObject()) return "an object";
  return "a value of another type";
}

void expectArgs(const Napi::CallbackInfo& info, size_t count, const char* op) {
  if (info.Length() < count) fail(Code::InvalidArgument, op, ": expected ", count, " arguments, got ", info.Length());
}

static int64_t safeInteger(const Napi::Value& v, const char* op, const char* what, bool allowMinusOne) {
  if (!v.IsNumber()) fail(Code::InvalidArgument, op, ": ", what, " must be a number; got ", describeValue(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d))
    fail(Code::InvalidArgument, op, ": ", what, " must be an integer; got ", describeValue(v));
  if (d < (allowMinusOne ? -1 : 0)) fail(Code::InvalidArgument, op, ": ", what, " must be >= 0; got ", describeValue(v));
  if (d > 9007199254740991.0) fail(Code::InvalidArgument, op, ": ", what, " is too large: ", describeValue(v));
  return static_cast<int64_t>(d);
}

std::vector<int64_t> intListArg(const Napi::Value& v, const char* op, const char* what) {
  if (!v.IsArray()) fail(Code::InvalidArgument, op, ": ", what, " must be an array of integers; got ", describeValue(v));
  const Napi::Array arr = v.As<Napi::Array>();
  const uint32_t len = arr.Length();
  if (len > 8) fail(Code::InvalidArgument, op, ": ", what, " has ", len, " dims; at most 8 are supported");
  std::vector<int64_t> out(len);
  for (uint32_t i = 0; i < len; ++i) {
    const std::string name = std::string(what) + "[" + std::to_string(i) + "]";
    out[i] = safeInteger(arr.Get(i), op, name.c_str(), true);
  }
  return out;
}

Shape shapeArg(const Napi::Value& v, const char* op, const char* what) {
  std::vector<int64_t> dims = intListArg(v, op, what);
  Shape s(dims.begin(), dims.end());
  checkShape(s, op);
  return s;
}

std::string stringArg(const Napi::Value& v, const char* op, const char* what) {
  if (!v.IsString()) fail(Code::InvalidArgument, op, ": ", what, " must be a string; got ", describeValue(v));
  return v.As<Napi::String>().Utf8Value();
}

DType dtypeArg(const Napi::Value& v, const char* op) { return parseDtype(stringArg(v, op, "dtype"), op); }

Device deviceArg(const Napi::Value& v, const char* op) { return parseDevice(stringArg(v, op, "device"), op); }

double numberArg(const Napi::Value& v, const char* op, const char* what) {
  if (!v.IsNumber()) fail(Code::InvalidArgument, op, ": ", what, " must be a number; got ", describeValue(v));
  return v.As<Napi::Number>().DoubleValue();
}

uint64_t seedArg(const Napi::Value& v, const char* op, const char* what) {
  return static_cast<uint64_t>(safeInteger(v, op, what, false));
}

bool boolArg(const Napi::Value& v, const char* op, const char* what) {
  if (!v.IsBoolean()) fail(Code::InvalidArgument, op, ": ", what, " must be a boolean; got ", describeValue(v));
  return v.As<Napi::Boolean>().Value();
}

int64_t intArg(const Napi::Value& v, const char* op, const char* what) {
  const double d = numberArg(v, op, what);
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740991.0)
    fail(Code::InvalidArgument, op, ": ", what, " must be an integer; got ", describeValue(v));
  return static_cast<int64_t>(d);
}

double numberField(const Napi::Object& o, const char* key, const char* op) {
  const double d = numberArg(o.Get(key), op, key);
  if (!std::isfinite(d)) fail(Code::InvalidArgument, op, ": ", key, " must be finite; got ", d);
  return d;
}

void numberFields(const Napi::Object& o, const char* op, std::initializer_list<std::pair<const char*, double*>> fields) {
  for (const auto& [key, dst] : fields) *dst = numberField(o, key, op);
}

bool boolField(const Napi::Object& o, const char* key, const char* op) { return boolArg(o.Get(key), op, key); }

}  // namespace antler::napi
