#pragma once
#include <string>

namespace antler {

enum class DeviceType : int { Cpu = 0, Cuda = 1 };

struct Device {
  DeviceType type = DeviceType::Cpu;
  int index = 0;

  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  bool isCuda() const { return type == DeviceType::Cuda; }
  std::string str() const { return type == DeviceType::Cpu ? "cpu" : "cuda:" + std::to_string(index); }
};

// Parses "cpu", "cuda", "cuda:N"; throws INVALID_ARGUMENT naming `what`.
Device parseDevice(const std::string& name, const char* what);

}  // namespace antler
