#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace antler {

enum class DType : int { Float32 = 0, Float64 = 1, Int32 = 2 };

inline size_t dtypeSize(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int32: return 4;
  }
  return 0;
}

inline const char* dtypeName(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
  }
  return "?";
}

inline bool isFloating(DType t) { return t == DType::Float32 || t == DType::Float64; }

// Parses "float32" | "float64" | "int32"; throws INVALID_ARGUMENT naming `what`.
DType parseDtype(const std::string& name, const char* what);

}  // namespace antler
