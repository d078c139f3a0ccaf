#include "device.h"
#include "dtype.h"
#include "error.h"
#include "shape.h"

#include <cstdlib>

namespace antler {

DType parseDtype(const std::string& name, const char* what) {
  if (name == "float32") return DType::Float32;
  if (name == "float64") return DType::Float64;
  if (name == "int32") return DType::Int32;
  fail(Code::InvalidArgument, what, ": dtype '", name, "' is not supported; expected 'float32', 'float64' or 'int32'");
}

Device parseDevice(const std::string& name, const char* what) {
  if (name == "cpu") return Device{DeviceType::Cpu, 0};
  if (name == "cuda") return Device{DeviceType::Cuda, 0};
  if (name.rfind("cuda:", 0) == 0 && name.size() > 5 && name.size() <= 8) {
    int index = 0;
    for (size_t i = 5; i < name.size(); ++i) {
      if (name[i] < '0' || name[i] > '9') goto bad;
      index = index * 10 + (name[i] - '0');
    }
    return Device{DeviceType::Cuda, index};
  }
bad:
  fail(Code::InvalidArgument, what, ": device '", name, "' is not recognised; expected 'cpu', 'cuda' or 'cuda:N'");
}

std::string shapeStr(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

int64_t numelOf(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

void checkShape(const Shape& s, const char* op) {
  if (s.size() > 8) fail(Code::InvalidArgument, op, ": shape ", shapeStr(s), " has ", s.size(), " dims; at most 8 are supported");
  bool empty = false;
  for (int64_t d : s) {
    if (d < 0) fail(Code::InvalidArgument, op, ": shape ", shapeStr(s), " has a negative dimension");
    empty = empty || d == 0;
  }
  if (empty) return;  // no elements, whatever the other dims
  int64_t n = 1;
  for (int64_t d : s) {
    if (n > kMaxElements / d) fail(Code::InvalidArgument, op, ": shape ", shapeStr(s), " has more than 2^40 elements");
    n *= d;
  }
}

Shape broadcastShapes(const Shape& a, const Shape& b, const char* op) {
  const size_t nd = a.size() > b.size() ? a.size() : b.size();
  Shape out(nd);
  for (size_t i = 0; i < nd; ++i) {
    const int64_t da = i < nd - a.size() ? 1 : a[i - (nd - a.size())];
    const int64_t db = i < nd - b.size() ? 1 : b[i - (nd - b.size())];
    if (da != db && da != 1 && db != 1)
      fail(Code::ShapeMismatch, op, ": shapes ", shapeStr(a), " and ", shapeStr(b), " do not broadcast (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace antler
