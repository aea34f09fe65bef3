// Random subsets drawn on the device (engine/random_subsets.h), the draw behind random partial
// channels: every row a sorted set of n / k distinct elements of [0, n), fresh per row and per
// draw, reproducible from (seed, counter), uniformly distributed; on a GPU the same subsets as
// the CPU, in one launch that copies nothing between host and device. One executable, its CPU
// and GPU tests labelled apart (unit, gpu). The kernel itself, with a shrunk block, against the
// CPU kernel: tests/cuda_emu/test_random_subsets_emu.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "engine/device.h"
#include "engine/device_activity.h"
#include "engine/random_subsets.h"

namespace bnas {
namespace {

std::vector<std::vector<int32_t>> draw_rows(RandomSubsets& s) {
  const Tensor d = s.draw();
  std::vector<std::vector<int32_t>> rows;
  for (int r = 0; r < s.rows(); ++r) rows.push_back(s.row(d, r).to_ints());
  return rows;
}

TEST(RandomSubsets, RowsAreSortedDistinctInRangeAndFreshPerRowAndDraw) {
  // Rows of the CIFAR search network's widths (16, 32, 64, at K = 4) and a few odd ones.
  const std::vector<int> sizes{16, 16, 32, 64, 64, 64, 12, 4};
  RandomSubsets s(sizes, 4, 3, RngStream::Channels, Device::cpu());
  std::vector<std::vector<int32_t>> previous;
  for (int d = 0; d < 20; ++d) {
    EXPECT_EQ(s.draws(), static_cast<uint32_t>(d));
    const std::vector<std::vector<int32_t>> rows = draw_rows(s);
    for (size_t r = 0; r < sizes.size(); ++r) {
      ASSERT_EQ(rows[r].size(), static_cast<size_t>(sizes[r] / 4)) << "row " << r;
      for (size_t j = 0; j < rows[r].size(); ++j) {
        EXPECT_TRUE(rows[r][j] >= 0 && rows[r][j] < sizes[r]) << "row " << r << ": " << rows[r][j];
        if (j > 0) EXPECT_LT(rows[r][j - 1], rows[r][j]) << "row " << r;  // increasing, hence distinct
      }
    }
    // 16 of 64 coincide by chance with probability 1 / C(64, 16) < 1e-14.
    EXPECT_NE(rows[3], rows[4]);
    EXPECT_NE(rows[4], rows[5]);
    if (!previous.empty()) EXPECT_NE(rows[5], previous[5]) << "draw " << d;
    previous = rows;
  }
}

TEST(RandomSubsets, TheSeedAndTheCounterFixTheDraw) {
  const std::vector<int> sizes{32, 64};
  RandomSubsets a(sizes, 2, 11, RngStream::Channels, Device::cpu());
  RandomSubsets b(sizes, 2, 11, RngStream::Channels, Device::cpu());
  RandomSubsets other_seed(sizes, 2, 12, RngStream::Channels, Device::cpu());
  RandomSubsets other_stream(sizes, 2, 11, RngStream::Test, Device::cpu());
  std::vector<std::vector<std::vector<int32_t>>> seq;
  for (int d = 0; d < 4; ++d) seq.push_back(draw_rows(a));
  EXPECT_NE(draw_rows(other_seed), seq[0]);
  EXPECT_NE(draw_rows(other_stream), seq[0]);
  EXPECT_EQ(draw_rows(b), seq[0]);
  b.set_draws(2);  // a resumed run: draw 2 again, then 3
  EXPECT_EQ(draw_rows(b), seq[2]);
  EXPECT_EQ(draw_rows(b), seq[3]);
  EXPECT_EQ(b.draws(), 4u);
  // A row's subset depends on its index and size only, not on the other rows.
  RandomSubsets one_row({64, 64}, 2, 11, RngStream::Channels, Device::cpu());
  EXPECT_EQ(draw_rows(one_row)[1], seq[0][1]);
}

// Every element is drawn m / n of the time: 16 of 64 (K = 4), 14 rows x 300 draws = 4,200 trials
// per element, each kept with p = 1/4, so its frequency has standard deviation
// sqrt(p (1 - p) / 4200) = 0.0067; the tolerance, 5 of them, fails a correct draw with
// probability below 6e-7 per element (the seed is fixed, so the test is deterministic anyway).
TEST(RandomSubsets, EveryElementIsDrawnMOverNOfTheTime) {
  const int n = 64, k = 4, rows = 14, draws = 300;
  RandomSubsets s(std::vector<int>(rows, n), k, 5, RngStream::Channels, Device::cpu());
  std::vector<int> hits(n, 0);
  for (int d = 0; d < draws; ++d)
    for (const auto& row : draw_rows(s))
      for (int32_t c : row) ++hits[c];
  const double trials = rows * draws, p = 1.0 / k, tol = 5 * std::sqrt(p * (1 - p) / trials);
  for (int c = 0; c < n; ++c) EXPECT_NEAR(hits[c] / trials, p, tol) << "element " << c;
}

// Every subset is equally likely (which per-element frequencies alone do not show: a random
// window of consecutive elements passes them): 3 of 6, C(6, 3) = 20 subsets, 40 rows x 100 draws
// = 4,000 subsets, 200 expected of each. Pearson's statistic then follows chi-square with 19
// degrees of freedom, above 65 with probability 6e-7.
TEST(RandomSubsets, EverySubsetIsEquallyLikely) {
  const int rows = 40, draws = 100;
  RandomSubsets s(std::vector<int>(rows, 6), 2, 9, RngStream::Channels, Device::cpu());
  std::map<std::vector<int32_t>, int> seen;
  for (int d = 0; d < draws; ++d)
    for (const auto& row : draw_rows(s)) ++seen[row];
  EXPECT_EQ(seen.size(), 20u);
  const double expected = rows * draws / 20.0;
  double chi2 = 0;
  for (const auto& [subset, count] : seen) chi2 += (count - expected) * (count - expected) / expected;
  EXPECT_LT(chi2, 65.0);
}

TEST(RandomSubsets, RefusesSizesItCannotDraw) {
  EXPECT_THROW(RandomSubsets({}, 2, 0, RngStream::Channels, Device::cpu()), Error);
  EXPECT_THROW(RandomSubsets({6, 7}, 2, 0, RngStream::Channels, Device::cpu()), Error);  // 7 % 2 != 0
  EXPECT_THROW(RandomSubsets({0}, 1, 0, RngStream::Channels, Device::cpu()), Error);
  EXPECT_THROW(RandomSubsets({1 << 17}, 2, 0, RngStream::Channels, Device::cpu()), Error);
  EXPECT_THROW(RandomSubsets({8}, 0, 0, RngStream::Channels, Device::cpu()), Error);
}

// The GPU draws the CPU's subsets, rows wider than a thread block included, at every counter;
// one draw is one launch and one allocation (the result), with no synchronisation and no
// host-device copy.
TEST(RandomSubsetsGpu, DrawsTheCpuSubsetsInOneLaunchWithoutCopies) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU";
  const std::vector<int> sizes{16, 32, 64, 300, 520, 8};
  RandomSubsets cpu(sizes, 4, 21, RngStream::Channels, Device::cpu());
  RandomSubsets gpu(sizes, 4, 21, RngStream::Channels, Device::cuda());
  for (int d = 0; d < 3; ++d) EXPECT_EQ(draw_rows(gpu), draw_rows(cpu)) << "draw " << d;
  cpu.set_draws(0xfffffffeu);  // the counter wraps at 2^32
  gpu.set_draws(0xfffffffeu);
  for (int d = 0; d < 3; ++d) EXPECT_EQ(draw_rows(gpu), draw_rows(cpu)) << "draw " << d;
  EXPECT_EQ(gpu.draws(), 1u);
  synchronize(Device::cuda());
  const DeviceActivity before = device_activity();
  const Tensor drawn = gpu.draw();
  const DeviceActivity a = device_activity() - before;
  if (a.available) {
    EXPECT_EQ(a.launches, 1u);
    EXPECT_EQ(a.allocs, 1u);
    EXPECT_EQ(a.syncs, 0u);
    EXPECT_EQ(a.h2d_bytes, 0u);
    EXPECT_EQ(a.d2h_bytes, 0u);
  }
  EXPECT_EQ(drawn.to_ints(), cpu.draw().to_ints());
}

}  // namespace
}  // namespace bnas
