// Random subsets (kernels/cpu/random_subsets.h): one block, whose threads share out the elements
// of all rows (flat element i, over the rows in order, belongs to thread i % blockDim.x) in three
// passes separated by barriers: the keys, each row's last subset element (the one of rank m - 1),
// the subset in increasing order. One block, so that its barriers order every thread's read of the
// counter before thread 0 advances it: a graph that captured the launch draws anew at each replay.
#include "kernels/cuda/random_subsets.cuh"
#include "kernels/cuda_check.h"
#include "kernels/random_subsets_math.h"

namespace bnas::kernels::cuda {
namespace {

constexpr int kDrawThreads = 256;

// The first element of a row starting at flat element `off` that thread t owns.
__device__ int first_owned(int64_t off, int t) {
  return static_cast<int>(((t - off) % kDrawThreads + kDrawThreads) % kDrawThreads);
}

__global__ void draw_subsets_k(const int32_t* sizes, int rows, int k, uint64_t seed, uint64_t stream,
                               uint32_t* counter, uint32_t* scratch, int32_t* out) {
  namespace rs = random_subsets;
  const int t = threadIdx.x;
  const uint32_t draw = counter[0];
  int64_t total = 0;
  for (int r = 0; r < rows; ++r) total += sizes[r];
  uint32_t* last = scratch + total;
  int64_t off = 0;
  for (int r = 0; r < rows; off += sizes[r++])
    for (int c = first_owned(off, t); c < sizes[r]; c += kDrawThreads)
      scratch[off + c] = rs::key(seed, stream, draw, r, c);
  __syncthreads();
  off = 0;
  for (int r = 0; r < rows; off += sizes[r++])
    for (int c = first_owned(off, t); c < sizes[r]; c += kDrawThreads)
      if (rs::rank(scratch + off, sizes[r], c) == sizes[r] / k - 1) last[r] = static_cast<uint32_t>(c);
  __syncthreads();
  off = 0;
  for (int r = 0; r < rows; off += sizes[r++]) {
    const int l = static_cast<int>(last[r]);
    for (int c = first_owned(off, t); c < sizes[r]; c += kDrawThreads)
      if (rs::in_subset(scratch + off, l, c)) out[off / k + rs::position(scratch + off, l, c)] = c;
  }
  if (t == 0) counter[0] = draw + 1u;  // every thread read it before the first barrier
}

}  // namespace

void draw_subsets(const int32_t* sizes, int rows, int k, uint64_t seed, uint64_t stream, uint32_t* counter,
                  uint32_t* scratch, int32_t* out, cudaStream_t s) {
  draw_subsets_k<<<1, kDrawThreads, 0, s>>>(sizes, rows, k, seed, stream, counter, scratch, out);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace bnas::kernels::cuda
