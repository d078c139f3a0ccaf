#pragma once
// Which GPUs a CUDA build can run on, from its architecture string: plain C++,
// shared by the CUDA backend's device probe and its tests.
#include <cctype>
#include <string>

namespace antler {

// Whether a build for `archs` ("75,80,86,89,90+PTX90": real code, then the PTX
// arch) has code for compute capability major.minor: real code of the same
// major and a minor no higher (binary compatible), or PTX of an arch no higher
// (compiled by the driver). A string with no architecture in it (an
// emulation's, "unknown") counts as yes: the first use of the device decides.
inline bool cudaBuildRunsOn(const std::string& archs, int major, int minor) {
  const int device = major * 10 + minor;
  const size_t plus = archs.find('+');
  const std::string real = archs.substr(0, plus);
  const std::string ptx = plus == std::string::npos ? std::string() : archs.substr(plus + 1);
  bool parsed = false, runs = false;
  for (size_t i = 0; i < real.size();) {
    if (!std::isdigit(static_cast<unsigned char>(real[i]))) {
      ++i;
      continue;
    }
    int arch = 0;
    for (; i < real.size() && std::isdigit(static_cast<unsigned char>(real[i])); ++i) arch = arch * 10 + (real[i] - '0');
    parsed = true;
    if (arch / 10 == major && arch % 10 <= minor) runs = true;
  }
  const size_t p = ptx.find("PTX");
  if (p != std::string::npos && p + 3 < ptx.size() && std::isdigit(static_cast<unsigned char>(ptx[p + 3]))) {
    int arch = 0;
    for (size_t i = p + 3; i < ptx.size() && std::isdigit(static_cast<unsigned char>(ptx[i])); ++i) arch = arch * 10 + (ptx[i] - '0');
    parsed = true;
    if (arch <= device) runs = true;
  }
  return !parsed || runs;
}

}  // namespace antler
