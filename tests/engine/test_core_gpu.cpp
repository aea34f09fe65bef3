// The core on a GPU: copies both ways, strided copies and casts on the device, the pool's
// counters, and the in-place updates against the CPU (Philox on the device is checked through
// drop_path in tests/ops). Every test skips cleanly when no GPU is present.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace bnas {
namespace {

#define REQUIRE_GPU() \
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine"

TEST(CoreGpu, RoundTripStridedCopyAndCast) {
  REQUIRE_GPU();
  std::vector<double> v(2 * 4 * 3 * 3);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i) - 10.5;
  Tensor h = Tensor::from_vector(v, {2, 4, 3, 3});
  Tensor g = h.to(Device::cuda(0));
  // Copies, fills and casts of values that float holds exactly (halves): bitwise.
  EXPECT_TRUE(g.is_cuda());
  EXPECT_EQ(g.to_doubles(), v);
  Tensor slice = g.channel_slice(1, 3).contiguous();  // device strided copy
  EXPECT_EQ(slice.to_doubles(), h.channel_slice(1, 3).to_doubles());
  EXPECT_EQ(g.to(DType::F64).to_doubles(), v);  // device cast
  Tensor z = Tensor::zeros({5}, DType::F32, Device::cuda(0));
  z.fill_(2.5);
  EXPECT_EQ(z.to_doubles(), std::vector<double>(5, 2.5));
  Tensor labels = Tensor::from_ints({1, 2, 3}, {3}, Device::cuda(0));
  EXPECT_EQ(labels.to_ints(), (std::vector<int32_t>{1, 2, 3}));
}

TEST(CoreGpu, PoolCountersTrackDeviceBytes) {
  REQUIRE_GPU();
  const Device d = Device::cuda(0);
  const size_t before = memory_stats(d).current;
  {
    Tensor t = Tensor::empty({1 << 20}, DType::F32, d);
    EXPECT_EQ(memory_stats(d).current, before + (4u << 20));
  }
  EXPECT_EQ(memory_stats(d).current, before);
  EXPECT_GE(memory_stats(d).peak, before + (4u << 20));
}

// What the pool holds (reserved) is reported beside what tensors requested: at least as much,
// and its high-water mark resets with reset_peak_memory.
TEST(CoreGpu, PoolReservedBytesBesideRequestedBytes) {
  REQUIRE_GPU();
  const Device d = Device::cuda(0);
  {
    Tensor t = Tensor::empty({1 << 22}, DType::F32, d);  // 16 MiB
    synchronize(d);
    const MemoryStats m = memory_stats(d);
    EXPECT_GE(m.reserved, m.current);
    EXPECT_GE(m.reserved, 16u << 20);
    EXPECT_GE(m.reserved_peak, m.reserved);
  }
  synchronize(d);
  const MemoryStats after = memory_stats(d);
  EXPECT_GE(after.reserved, 16u << 20);  // freed blocks stay in the pool (release threshold: never)
  reset_peak_memory(d);
  const MemoryStats reset = memory_stats(d);
  EXPECT_EQ(reset.reserved_peak, reset.reserved);
  EXPECT_EQ(reset.peak, reset.current);
}

TEST(CoreGpu, InPlaceUpdatesMatchTheCpu) {
  REQUIRE_GPU();
  Generator gen(5);
  const std::vector<double> a = gen.normal(1000), b = gen.normal(1000);
  Tensor ca = Tensor::from_vector(a, {1000}), cb = Tensor::from_vector(b, {1000});
  Tensor ga = ca.to(Device::cuda(0)), gb = cb.to(Device::cuda(0));
  // One multiplication rounds the same way everywhere: exact.
  Tensor sc = ca.clone(), sg = ga.clone();
  ops::scale_(sc, 1.7);
  ops::scale_(sg, 1.7);
  EXPECT_EQ(sg.to_doubles(), sc.to_doubles());
  // a + alpha * b: nvcc contracts it into one FMA (one rounding), the CPU rounds the product and
  // then the sum. They differ by at most half an ulp of the product, 2^-24 |alpha b|, before the
  // scale; 2^-23 (1.7 |alpha b| + |result|) bounds that plus the scale's own rounding.
  ops::add_(ca, cb, -0.3);
  ops::add_(ga, gb, -0.3);
  ops::scale_(ca, 1.7);
  ops::scale_(ga, 1.7);
  const std::vector<double> c = ca.to_doubles(), g = ga.to_doubles();
  for (size_t i = 0; i < c.size(); ++i)
    EXPECT_NEAR(g[i], c[i], 0x1p-23 * (1.7 * 0.3 * std::fabs(b[i]) + std::fabs(c[i]))) << i;
}

}  // namespace
}  // namespace bnas
