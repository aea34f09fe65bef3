// Shared by the bnas_bench_* mains: timing by median of repeats, their command line (CLI11,
// with the flags most of them take: --json, --device cpu|cuda|all, --filter SUBSTRING), and the
// cuDNN algorithms chosen on a GPU (print_conv_algorithms).
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "engine/check.h"
#include "engine/conv_algorithms.h"
#include "engine/device.h"
#include "engine/device_activity.h"
#include "engine/memory.h"

namespace bnas::bench {

inline double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The device activity of `steps` steps (after - before), per step, into r: launches, syncs,
// allocs, frees, h2d_bytes, d2h_bytes (prefixed by `prefix`), and timing=emulated, since only the
// emulated device counts and its times are host times of the emulation, not GPU times. Nothing
// where the runtime does not count (a real GPU, the CPU).
inline void add_activity(nlohmann::ordered_json& r, const DeviceActivity& after, const DeviceActivity& before,
                         int steps, const std::string& prefix = "") {
  const DeviceActivity a = after - before;
  if (!a.available || steps <= 0) return;
  auto per = [&](uint64_t v) -> nlohmann::ordered_json {
    if (v % static_cast<uint64_t>(steps) == 0) return v / static_cast<uint64_t>(steps);  // a count stays a count
    return static_cast<double>(v) / steps;
  };
  r[prefix + "launches"] = per(a.launches);
  r[prefix + "graph_launches"] = per(a.graph_launches);
  r[prefix + "syncs"] = per(a.syncs);
  r[prefix + "allocs"] = per(a.allocs);
  r[prefix + "frees"] = per(a.frees);
  r[prefix + "h2d_bytes"] = per(a.h2d_bytes);
  r[prefix + "d2h_bytes"] = per(a.d2h_bytes);
  r["timing"] = "emulated";
}

// r as key=value pairs on one line (spaces in values become '_'; floats with 4 significant digits).
inline std::string key_values(const nlohmann::ordered_json& r) {
  std::string line;
  for (auto it = r.begin(); it != r.end(); ++it) {
    if (!line.empty()) line += ' ';
    line += it.key() + "=";
    if (it.value().is_string()) {
      std::string v = it.value().get<std::string>();
      std::replace(v.begin(), v.end(), ' ', '_');
      line += v;
    } else if (it.value().is_number_float()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4g", it.value().get<double>());
      line += buf;
    } else {
      line += it.value().dump();
    }
  }
  return line;
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

// The devices that --device (cpu | cuda | all) names. "all" without a GPU says why on stderr and
// keeps the CPU; an unknown name or "cuda" without a GPU sets *error (with why) and returns nothing.
inline std::vector<Device> select_devices(const std::string& device, const char* program, std::string* error) {
  std::vector<Device> devices;
  if (device == "cpu" || device == "all") devices.push_back(Device::cpu());
  if (device == "cuda" || device == "all") {
    if (cuda_available()) {
      devices.push_back(Device::cuda(0));
    } else if (device == "cuda") {
      *error = "--device cuda: " + cuda_unavailable_reason();
      return {};
    } else {
      std::fprintf(stderr, "%s: %s; timing the CPU only\n", program, cuda_unavailable_reason().c_str());
    }
  }
  if (devices.empty()) *error = "unknown device " + device + " (expected cpu, cuda or all)";
  return devices;
}

// A CLI11 check that a flag's value is a number meeting `ok`, failing with "must be <what>"
// (CLI::PositiveNumber's message spells out the whole range of a double).
inline CLI::Validator must_be(const std::string& what, const std::function<bool(double)>& ok) {
  return CLI::Validator(
      [what, ok](std::string& v) {
        double x = 0;
        return CLI::detail::lexical_cast(v, x) && ok(x) ? std::string() : "must be " + what;
      },
      what);
}
inline CLI::Validator positive() {
  return must_be("positive", [](double x) { return x > 0; });
}

// A bench's command line: `app` takes --json (into *json), and --device and --filter after
// add_selection(); each main adds its own flags to `app`. parse() returns -1 to go on, else the
// exit status: 0 after --help, 2 after a bad command line (said as "<program>: <what> (see
// <program> --help)").
struct Args {
  Args(const char* program_name, const std::string& description, bool* json_flag)
      : app(std::string(program_name) + ": " + description, program_name), program(program_name), json(json_flag) {
    app.add_flag("--json", *json, "print a JSON array instead of key=value lines");
  }

  void add_selection() {
    app.add_option("--device", device, "cpu, cuda or all (all: the GPU too when there is one)")->capture_default_str();
    app.add_option("--filter", filter, "only the cases whose name contains this");
    selection = true;
  }

  // --batch N and --min-time S (seconds of repeats per timing), both positive.
  void add_timing(int64_t* batch, double* min_time) {
    app.add_option("--batch", *batch, "batch size")->check(positive());
    app.add_option("--min-time", *min_time, "seconds of repeats per timing")->check(positive())->capture_default_str();
  }

  int parse(int argc, char** argv) {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      return fail(e.what());
    }
    if (!selection) return -1;
    std::string error;
    devices = select_devices(device, program, &error);
    return devices.empty() ? fail(error) : -1;
  }

  int fail(const std::string& what) const {
    std::fprintf(stderr, "%s: %s (see %s --help)\n", program, what.c_str(), program);
    return 2;
  }

  // Runs `body`, which prints one record per case, inside "[" and "]" with --json; then prints
  // the peak memory of every device on stderr: the bytes requested and the allocator's
  // high-water mark (on a GPU the memory pool's reserved bytes; on the CPU the same figure). A
  // bnas::Error is said as "<program>: <what>" and returns status 1.
  int run(const std::function<void()>& body) const {
    try {
      if (*json) std::printf("[");
      body();
      if (*json) std::printf("\n]\n");
      for (const Device& d : devices) {
        const MemoryStats m = memory_stats(d);
        std::fprintf(stderr, "peak_memory_mib device=%s %.1f reserved_peak_mib=%.1f\n", d.str().c_str(),
                     m.peak / 1048576.0, m.reserved_peak / 1048576.0);
      }
    } catch (const Error& e) {
      std::fprintf(stderr, "%s: %s\n", program, e.what());
      return 1;
    }
    return 0;
  }

  // Whether a case named `tag` passes --filter.
  bool selected(const std::string& tag) const { return filter.empty() || tag.find(filter) != std::string::npos; }

  CLI::App app;
  const char* program;
  bool* json;
  std::string device = "all", filter;
  std::vector<Device> devices;  // after parse(), with add_selection()
  bool selection = false;
};

// The cuDNN algorithms chosen on GPU d so far (nothing on the CPU): a line each,
//   conv_algorithm cuda:0 fwd 64 x 16 x 32 x 32 -> 16 k3 s1 p1 d1 g16: IMPLICIT_GEMM (algo 0), 0 B workspace
// or with --json a record each in the array being printed ({"conv_algorithm": ..., "device": ...,
// "fallback": ...}; `first` as for the other records).
inline void print_conv_algorithms(Device d, bool json, bool& first) {
  if (!d.is_cuda()) return;
  for (const ConvAlgorithm& a : conv_algorithms()) {
    if (a.device != d.index) continue;
    const std::string line = format_conv_algorithm(a);
    if (json) {
      const nlohmann::ordered_json r = {{"conv_algorithm", line}, {"device", d.str()}, {"fallback", a.fallback}};
      std::printf("%s\n  %s", first ? "" : ",", r.dump().c_str());
    } else {
      std::printf("conv_algorithm %s\n", line.c_str());
    }
    first = false;
  }
  std::fflush(stdout);
}

}  // namespace bnas::bench
