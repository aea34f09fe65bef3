// Helpers of the command-line tests: running bnas_engine as a separate process, temporary
// folders, and a tiny synthetic IDX dataset (MNIST layout) written by the test.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace bnas::clitest {

namespace fs = std::filesystem;

struct Result {
  int rc = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `bnas_engine args...` (args already shell-quoted where needed) with the environment
// prefix `env` (e.g. "BNAS_DATA=/x").
inline Result run_cli(const std::string& args, const std::string& env = "") {
  static int counter = 0;
  const std::string base = (fs::temp_directory_path() / ("bnas_cli_" + std::to_string(::getpid()) + "_" +
                                                         std::to_string(counter++)))
                               .string();
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + std::string(BNAS_CLI) + " " + args + " >" +
                          base + ".out 2>" + base + ".err";
  const int status = std::system(cmd.c_str());
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  fs::remove(base + ".out");
  fs::remove(base + ".err");
  return r;
}

inline std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("bnas_cli_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

inline void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}

// n images of 28x28 whose class (0..9) is drawn as a bright horizontal bar at row 2 + 2 * class,
// plus deterministic noise, so that even a tiny network learns something.
inline void write_idx_pair(const std::string& dir, const std::string& prefix, int n, uint32_t seed) {
  std::vector<uint8_t> img, lab;
  img.insert(img.end(), {0, 0, 8, 3});
  put_be32(img, static_cast<uint32_t>(n));
  put_be32(img, 28);
  put_be32(img, 28);
  lab.insert(lab.end(), {0, 0, 8, 1});
  put_be32(lab, static_cast<uint32_t>(n));
  uint32_t state = seed * 2654435761u + 1;
  for (int i = 0; i < n; ++i) {
    const int cls = i % 10;
    lab.push_back(static_cast<uint8_t>(cls));
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        state = state * 1664525u + 1013904223u;
        uint8_t v = static_cast<uint8_t>((state >> 24) & 0x3f);
        if (y == 2 + 2 * cls || y == 3 + 2 * cls) v = 255;
        img.push_back(v);
      }
  }
  std::ofstream(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary)
      .write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
  std::ofstream(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary)
      .write(reinterpret_cast<const char*>(lab.data()), static_cast<std::streamsize>(lab.size()));
}

inline std::string write_tiny_mnist(const std::string& name, int train = 60, int test = 30) {
  const std::string dir = temp_dir(name);
  write_idx_pair(dir, "train", train, 1);
  write_idx_pair(dir, "t10k", test, 2);
  return dir;
}

// How many `start` records a run's log.jsonl holds (one per process that ran a step).
inline int start_records(const std::string& log) {
  std::ifstream in(log);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find("\"type\":\"start\"") != std::string::npos;
  return n;
}

// Flags for a network small enough to train in seconds on the CPU.
inline std::string tiny_train_flags() {
  return "--channels 4 --layers 2 --en-layers 1 --batch 16 --log-interval 2 --threads 2";
}

}  // namespace bnas::clitest
