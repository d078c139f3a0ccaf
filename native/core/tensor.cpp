#include "tensor.h"

#include <cstdlib>
#include <cstring>

#include "error.h"

namespace antler {

bool poisonNewBuffers() {
  static const bool poison = [] {
    const char* v = std::getenv("ANTLER_POISON");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return poison;
}

const ThreadBytes& threadBytes() {
  thread_local const ThreadBytes counter = std::make_shared<std::atomic<int64_t>>(0);
  return counter;
}

Storage::Storage(const Device& d, size_t bytes) : device_(d), bytes_(bytes) {
  data_ = backendFor(d).allocate(d, bytes);
  MemoryLedger::instance().addBuffer(d, static_cast<int64_t>(bytes));
  owner_ = threadBytes();
  *owner_ += static_cast<int64_t>(bytes);
}

Storage::~Storage() {
  // Only reached for storages whose backend exists (the constructor threw otherwise).
  Backend& b = device_.isCuda() ? cudaBackend(device_) : cpuBackend();
  b.deallocate(device_, data_, bytes_);
  MemoryLedger::instance().removeBuffer(device_, static_cast<int64_t>(bytes_));
  *owner_ -= static_cast<int64_t>(bytes_);
}

TensorPtr emptyTensor(const Shape& shape, DType dtype, const Device& device) {
  auto t = std::make_shared<Tensor>();
  t->shape = shape;
  t->dtype = dtype;
  const size_t bytes = static_cast<size_t>(numelOf(shape)) * dtypeSize(dtype);  // checkShape keeps numel <= 2^40
  try {
    t->storage = std::make_shared<Storage>(device, bytes);
  } catch (const Error& e) {
    if (e.code() != Code::OutOfMemory) throw;
    fail(Code::OutOfMemory, e.what(), " (for a ", dtypeName(dtype), " tensor of shape ", shapeStr(shape), " on ", device.str(), ")");
  }
  return t;
}

MemoryLedger& MemoryLedger::instance() {
  static MemoryLedger* ledger = new MemoryLedger();  // never destroyed: storages may outlive statics
  return *ledger;
}

DeviceMemory& MemoryLedger::slot(const Device& d) {
  for (auto& entry : devices_)
    if (entry.first == d) return entry.second;
  devices_.emplace_back(d, DeviceMemory{});
  return devices_.back().second;
}

void MemoryLedger::addBuffer(const Device& d, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  DeviceMemory& m = slot(d);
  m.buffers += 1;
  m.bytes += bytes;
  if (m.bytes > m.peakBytes) m.peakBytes = m.bytes;
  totalBytes_ += bytes;
}

void MemoryLedger::removeBuffer(const Device& d, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  DeviceMemory& m = slot(d);
  m.buffers -= 1;
  m.bytes -= bytes;
  totalBytes_ -= bytes;
}

void MemoryLedger::addTensor(const Device& d, int64_t delta) {
  std::lock_guard<std::mutex> lock(mutex_);
  slot(d).tensors += delta;
}

void MemoryLedger::resetPeaks() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& entry : devices_) entry.second.peakBytes = entry.second.bytes;
}

std::vector<std::pair<Device, DeviceMemory>> MemoryLedger::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return devices_;
}

}  // namespace antler
