#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace antler {

using Shape = std::vector<int64_t>;

// Largest element count a tensor may have: keeps byte sizes far from overflow.
constexpr int64_t kMaxElements = int64_t(1) << 40;

std::string shapeStr(const Shape& s);
int64_t numelOf(const Shape& s);  // assumes a validated shape
// Throws INVALID_ARGUMENT (naming `op`) unless every dim is a non-negative
// integer and the element count stays under kMaxElements.
void checkShape(const Shape& s, const char* op);
// The shape two operands broadcast to (NumPy/PyTorch rules), or SHAPE_MISMATCH.
Shape broadcastShapes(const Shape& a, const Shape& b, const char* op);

}  // namespace antler
