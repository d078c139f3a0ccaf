// Argument checks for the N-API layer. JavaScript validates first, but the
// native side never trusts it: every value is checked again here, and every
// failure is an antler::Error that the addon turns into AntlerError.
#pragma once
#include <napi.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "../core/device.h"
#include "../core/dtype.h"
#include "../core/shape.h"

namespace antler::napi {

std::string describeValue(const Napi::Value& v);
void expectArgs(const Napi::CallbackInfo& info, size_t count, const char* op);
Shape shapeArg(const Napi::Value& v, const char* op, const char* what);
std::vector<int64_t> intListArg(const Napi::Value& v, const char* op, const char* what);
DType dtypeArg(const Napi::Value& v, const char* op);
Device deviceArg(const Napi::Value& v, const char* op);
double numberArg(const Napi::Value& v, const char* op, const char* what);
// A non-negative integer below 2^53.
uint64_t seedArg(const Napi::Value& v, const char* op, const char* what);
bool boolArg(const Napi::Value& v, const char* op, const char* what);
std::string stringArg(const Napi::Value& v, const char* op, const char* what);
// Any safe integer (negative allowed).
int64_t intArg(const Napi::Value& v, const char* op, const char* what);
// Reads a number / boolean field of an options object (required).
double numberField(const Napi::Object& o, const char* key, const char* op);
// numberField for each (key, destination) pair, in order.
void numberFields(const Napi::Object& o, const char* op, std::initializer_list<std::pair<const char*, double*>> fields);
bool boolField(const Napi::Object& o, const char* key, const char* op);

}  // namespace antler::napi
