// Shared pieces of the structure ops (kernels/cpu/structure.cpp, kernels/cuda/structure.cu):
// the channel-block description used by concat/narrow, and the drop-path mask.
#pragma once
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/philox.h"

namespace bnas::kernels {

// One operand of a channel copy: a tensor viewed as N x channels x inner whose samples are
// contiguous (channels x inner) but may lie `nstride` elements apart (a channel-slice view of a
// wider tensor has nstride = wider C * inner). Its channels sit at [c0, c0 + channels) of the
// wide tensor on the other side of the copy.
template <class P> struct ChannelBlock {
  P* ptr = nullptr;
  int64_t nstride = 0;
  int64_t c0 = 0;
  int64_t channels = 0;
};

// Drop-path mask. For a generator range r = gen.take(N), sample n is KEPT iff
//   double(rng::uniform_at(r.seed, r.stream, r.offset, n)) >= p,
// i.e. with probability 1 - p (up to the 2^-24 resolution of the uniform), and a kept sample is
// scaled by 1 / (1 - p); a dropped one becomes zero. The same (seed, stream, offset) gives the
// same mask on both backends and in tests/reference/philox.py, and backward recomputes it.
BNAS_HD bool drop_path_keep(uint64_t seed, uint64_t stream, uint64_t offset, int64_t n, double p) {
  return static_cast<double>(rng::uniform_at(seed, stream, offset, static_cast<uint64_t>(n))) >= p;
}

}  // namespace bnas::kernels
