// What the emulated device counts: the figures that stand for GPU performance until a card
// measures times. Read counters() before and after a region (a search step) and subtract.
// launches: kernels and library calls (cuDNN, cuBLAS, NCCL) run outside graphs, by name in
// by_name; graph_launches: cudaGraphLaunch calls (their nodes are not counted as launches);
// syncs: host waits (stream, event and device synchronisations, cudaFree, synchronous copies);
// allocs/frees: device allocations (cudaMalloc, cudaMallocAsync) and frees; *_bytes: copies.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace cuda_emu {

struct Counters {
  uint64_t launches = 0, graph_launches = 0, syncs = 0, allocs = 0, frees = 0;
  uint64_t h2d_bytes = 0, d2h_bytes = 0, d2d_bytes = 0;
  std::map<std::string, uint64_t> by_name;
};
Counters counters();
Counters operator-(const Counters& after, const Counters& before);

}  // namespace cuda_emu

// The same figures for code that cannot include this header (the engine finds it as a weak
// symbol): writes launches, graph_launches, syncs, allocs, frees, h2d_bytes, d2h_bytes,
// d2d_bytes (in that order, at most n) and returns how many it wrote.
extern "C" int cuda_emu_read_counters(uint64_t* values, int n);
