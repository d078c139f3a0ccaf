#pragma once
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "backend.h"
#include "device.h"
#include "dtype.h"
#include "shape.h"

namespace antler {

// Bytes of the storages made on one thread, shared by them (a storage freed on
// another thread still subtracts from its maker's). Each thread's addon
// instance reports its own thread's to its V8 isolate, so one worker's
// allocations do not put the main thread's garbage collector under pressure.
using ThreadBytes = std::shared_ptr<std::atomic<int64_t>>;
const ThreadBytes& threadBytes();

// A buffer on one device. Freed through its backend when the last tensor
// that views it goes away.
class Storage {
 public:
  Storage(const Device& d, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  const Device& device() const { return device_; }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  // Bumped by every in-place write (assign, the optimizer steps); autograd
  // keeps the value it saw when it saved a tensor and refuses a backward
  // through data that changed since (PyTorch's version counter). Read and
  // written on the JavaScript thread only.
  uint64_t version() const { return version_; }
  void bumpVersion() { ++version_; }

 private:
  Device device_;
  void* data_ = nullptr;
  size_t bytes_ = 0;
  uint64_t version_ = 0;
  ThreadBytes owner_;
};

// Shape, dtype and a view onto storage; always contiguous row-major.
struct Tensor {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::Float32;
  int64_t offset = 0;  // in elements

  int64_t numel() const { return numelOf(shape); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtypeSize(dtype); }
  const Device& device() const { return storage->device(); }
  void* data() const { return static_cast<char*>(storage->data()) + offset * dtypeSize(dtype); }
};

using TensorPtr = std::shared_ptr<Tensor>;

TensorPtr emptyTensor(const Shape& shape, DType dtype, const Device& device);

// Per-device accounting behind memory(). Buffers and bytes are counted by
// Storage; tensors by the JavaScript handles (see napi/).
struct DeviceMemory {
  int64_t tensors = 0;
  int64_t buffers = 0;
  int64_t bytes = 0;
  int64_t peakBytes = 0;
};

class MemoryLedger {
 public:
  static MemoryLedger& instance();
  void addBuffer(const Device& d, int64_t bytes);
  void removeBuffer(const Device& d, int64_t bytes);
  void addTensor(const Device& d, int64_t delta);
  std::vector<std::pair<Device, DeviceMemory>> snapshot() const;
  // peakBytes = bytes on every device (torch.cuda.reset_peak_memory_stats).
  void resetPeaks();
  int64_t totalBytes() const { return totalBytes_.load(); }

 private:
  DeviceMemory& slot(const Device& d);
  mutable std::mutex mutex_;
  std::vector<std::pair<Device, DeviceMemory>> devices_;
  std::atomic<int64_t> totalBytes_{0};
};

}  // namespace antler
