// Random subsets drawn on the device, for PC-DARTS' random partial channels
// (nas/broad_network.h): row r of R rows (n_r elements) gets n_r / k distinct elements of
// [0, n_r) in increasing order, every subset equally likely, fresh at every draw
// (kernels/random_subsets_math.h). A draw is one launch that reads and advances a draw counter
// kept on the device (Philox keyed by the seed and the stream, the counter picking the block
// range): it reads nothing from the host and copies nothing, so a CUDA graph that captured it
// draws new subsets at every replay. The CPU draws exactly the GPU's subsets for the same seed,
// stream and counter.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/rng.h"
#include "engine/tensor.h"

namespace bnas {

class RandomSubsets {
 public:
  // sizes: n_r per row, each a positive multiple of k and at most 2^16; at most 2^16 rows. The
  // counter starts at 0.
  RandomSubsets(const std::vector<int>& sizes, int k, uint64_t seed, RngStream stream, Device device);

  // One launch: int32 [sum_r n_r / k] on the device, row r's subset after rows 0..r-1's. A fresh
  // tensor from the stream-ordered pool (legal inside a graph capture), so the autograd nodes that
  // keep an edge's selection for backward are never overwritten by a later draw.
  Tensor draw();
  // Row r of a draw: an int32 [n_r / k] view.
  Tensor row(const Tensor& drawn, int r) const;

  int rows() const { return static_cast<int>(sizes_.size()); }
  // Draws made so far, modulo 2^32 (the device counter). Reads the device, which waits for it:
  // for checkpoints, not inside a step.
  uint32_t draws() const;
  // Sets the counter (a resumed run; a host-to-device copy: outside a step).
  void set_draws(uint32_t n);

 private:
  const std::vector<int> sizes_;
  const int k_;
  const uint64_t seed_, stream_;
  std::vector<int64_t> starts_;  // row r's offset in a draw
  int64_t total_ = 0;            // elements of all rows
  // Allocated once: the row sizes [R], the draw counter [1] (uint32 bits) and the kernel's
  // scratch [sum_r n_r + R], all int32.
  Tensor sizes_tensor_, counter_, scratch_;
};

}  // namespace bnas
