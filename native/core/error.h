// Errors cross every layer as antler::Error; the N-API layer turns them into
// the JavaScript AntlerError with the same code and message.
#pragma once
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

// fail(Code::ShapeMismatch, "add: shapes ", a, " and ", b, " do not broadcast")
template <typename... Parts>
[[noreturn]] void fail(Code code, const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(code, os.str());
}

}  // namespace antler
