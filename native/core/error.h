// Errors cross every layer as antler::Error; the N-API layer turns them into
// the JavaScript AntlerError with the same code and message.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

namespace antler {

enum class Code {
  InvalidArgument,
  ShapeMismatch,
  DtypeMismatch,
  DeviceMismatch,
  Disposed,
  OutOfMemory,
  CudaUnavailable,
  CudaError,
  NotConverged,
  BadFile,
  Internal,
};

const char* codeName(Code code);

class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Code code() const { return code_; }

 private:
  Code code_;
};

namespace detail {
template <typename T>
void putPart(std::ostringstream& os, const T& part) {
  os << part;
}
// A double in the fewest digits that read back as the same value (as JavaScript prints it):
// 2147483648 stays 2147483648 and 0.1 stays 0.1, where the stream's default 6 digits would
// print 2.14748e+09 and hide the value a message is about.
inline void putPart(std::ostringstream& os, const double& v) {
  char buf[32];
  for (int p = 6; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, v);
    if (std::strtod(buf, nullptr) == v || v != v) break;
  }
  os << buf;
}
}  // namespace detail

// fail(Code::ShapeMismatch, "add: shapes ", a, " and ", b, " do not broadcast")
template <typename... Parts>
[[noreturn]] void fail(Code code, const Parts&... parts) {
  std::ostringstream os;
  (detail::putPart(os, parts), ...);
  throw Error(code, os.str());
}

}  // namespace antler
