// Copies between two GPUs (label multi_gpu: two real cards, or the emulated device with
// BNAS_EMU_DEVICES=2): the copy runs after the source GPU's queued work that wrote the data, and
// the source GPU's later work (freeing the staging buffer, overwriting the source) runs after the
// copy. Skips with fewer than two usable GPUs, so it is not among the `gpu` tests, which a
// one-GPU machine must run without skips (tools/gpu_check.sh).
#include <gtest/gtest.h>

#include <vector>

#include "engine/device.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace bnas {
namespace {

bool all_equal(const std::vector<double>& v, double x) {
  for (double y : v)
    if (y != x) return false;
  return true;
}

TEST(MultiGpu, PeerCopiesAreOrderedWithBothStreams) {
  if (cuda_device_count() < 2) {
    GTEST_SKIP() << "needs two GPUs: "
                 << (cuda_available() ? std::string("only one is usable") : cuda_unavailable_reason());
  }
  const Device a = Device::cuda(0), b = Device::cuda(1);
  const int64_t n = int64_t(1) << 20;
  for (int round = 1; round <= 8; ++round) {
    Tensor src = Tensor::zeros({n}, DType::F32, b);
    src.fill_(round);
    ops::scale_(src, 2.0);  // queued on b's stream just before the copy (exact: times 2)
    // F64 on a from F32 on b: staged as an F64 copy on b, which is freed on b's stream right
    // after the copy is queued on a's stream.
    Tensor dst = Tensor::empty({n}, DType::F64, a);
    dst.copy_(src);
    src.fill_(-1);  // b's later work must not reach the copy
    Tensor other = Tensor::zeros({2 * n}, DType::F32, b);
    other.fill_(-2);  // may reuse the freed staging block
    // Fills, a multiplication by 2 and copies: exact, so any stale or early value shows.
    EXPECT_TRUE(all_equal(dst.to_doubles(), 2.0 * round)) << "round " << round;
  }
  // And back: a to b.
  Tensor x = Tensor::zeros({n}, DType::F32, a);
  x.fill_(3);
  Tensor y = x.to(b);
  x.fill_(-3);
  EXPECT_TRUE(all_equal(y.to_doubles(), 3.0));
  synchronize(a);
  synchronize(b);
}

}  // namespace
}  // namespace bnas
