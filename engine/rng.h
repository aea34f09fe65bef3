// Random numbers: one Philox4x32-10 stream per (seed, stream id), the same bits on the CPU and
// the GPU (kernels/philox.h). A Generator hands out disjoint ranges of its stream; an op that
// draws n values takes a RandomRange and element i uses value i of it, whatever the thread
// layout. The generator's whole state is (seed, stream, offset), so checkpoints save it exactly.
#pragma once
#include <cstdint>
#include <vector>

namespace bnas {

struct RandomRange {
  uint64_t seed = 0;
  uint64_t stream = 0;
  uint64_t offset = 0;  // in 4-value Philox blocks
};

// Streams that share a seed: one id per purpose, so adding draws to one never shifts another.
enum class RngStream : uint64_t {
  Init = 1,        // weight and architecture-parameter initialisation
  DataOrder = 2,   // epoch shuffles
  Augment = 3,     // crops, flips, cutout, jitter
  DropPath = 4,    // drop-path masks
  Channels = 5,    // random partial-channel selection
  Split = 6,       // dataset subsets and splits
  Test = 100,      // tests
};

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, RngStream stream = RngStream::Test)
      : seed_(seed), stream_(static_cast<uint64_t>(stream)) {}
  // Reserves n consecutive 32-bit values (rounded up to whole blocks).
  RandomRange take(uint64_t n) {
    RandomRange r{seed_, stream_, offset_};
    offset_ += (n + 3) / 4;
    return r;
  }
  uint64_t seed() const { return seed_; }
  uint64_t stream() const { return stream_; }
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t o) { offset_ = o; }

  // Host draws (each consumes from the stream like take()).
  std::vector<float> uniform(uint64_t n);                       // [0, 1)
  std::vector<double> normal(uint64_t n, double mean = 0, double std = 1);
  std::vector<uint32_t> permutation(uint32_t n);                // Fisher-Yates
  uint32_t below(uint32_t n);                                   // [0, n)

 private:
  uint64_t seed_, stream_, offset_ = 0;
};

}  // namespace bnas
