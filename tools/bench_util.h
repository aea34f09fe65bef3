// Shared by the bnas_bench_* mains: timing by median of repeats and the --device choice.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/device.h"

namespace bnas::bench {

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median seconds per call of f (after one warm-up call), repeating until min_time has passed
// (at least 3 calls, at most 1000); the device is synchronised around every call.
inline double time_median(const std::function<void()>& f, Device d, double min_time) {
  f();
  synchronize(d);
  std::vector<double> t;
  const double start = now_s();
  while (t.size() < 3 || (now_s() - start < min_time && t.size() < 1000)) {
    const double t0 = now_s();
    f();
    synchronize(d);
    t.push_back(now_s() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The devices that --device (cpu | cuda | all) names. "all" without a GPU says so on stderr and
// keeps the CPU; an unknown name or "cuda" without a GPU sets *error and returns nothing.
inline std::vector<Device> select_devices(const std::string& device, const char* program, std::string* error) {
  std::vector<Device> devices;
  if (device == "cpu" || device == "all") devices.push_back(Device::cpu());
  if (device == "cuda" || device == "all") {
    if (cuda_available()) {
      devices.push_back(Device::cuda(0));
    } else if (device == "cuda") {
      *error = "--device cuda was asked for but no GPU is available";
      return {};
    } else {
      std::fprintf(stderr, "%s: no GPU found; timing the CPU only\n", program);
    }
  }
  if (devices.empty()) *error = "unknown device " + device + " (expected cpu, cuda or all)";
  return devices;
}

}  // namespace bnas::bench
