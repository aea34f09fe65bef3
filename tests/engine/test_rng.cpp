// Philox streams: known-answer values, determinism, disjoint ranges, distribution sanity.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/rng.h"
#include "kernels/philox.h"

namespace bnas {
namespace {

TEST(Philox, MatchesTheRandom123KnownAnswer) {
  // Known-answer test of Philox4x32-10 from the Random123 distribution (kat_vectors):
  // counter = {0,0,0,0}, key = {0,0} -> {6627e8d5, e169c58d, bc57ac4c, 9b00dbd8}.
  const rng::Bits4 b = rng::philox4x32_10(0, 0, 0);
  EXPECT_EQ(b.x, 0x6627e8d5u);
  EXPECT_EQ(b.y, 0xe169c58du);
  EXPECT_EQ(b.z, 0xbc57ac4cu);
  EXPECT_EQ(b.w, 0x9b00dbd8u);
}

TEST(Generator, SameSeedSameStreamDifferentStreamsDiffer) {
  Generator a(42, RngStream::Init), b(42, RngStream::Init), c(42, RngStream::DataOrder);
  EXPECT_EQ(a.uniform(100), b.uniform(100));
  EXPECT_NE(a.uniform(100), c.uniform(100));
}

TEST(Generator, TakeHandsOutDisjointRanges) {
  Generator g(1);
  const RandomRange r1 = g.take(5), r2 = g.take(1);
  EXPECT_EQ(r1.offset, 0u);
  EXPECT_EQ(r2.offset, 2u);  // 5 values need 2 blocks of 4
  EXPECT_EQ(g.offset(), 3u);
}

TEST(Generator, PermutationIsAPermutationAndDeterministic) {
  Generator g(7), h(7);
  std::vector<uint32_t> p = g.permutation(1000);
  EXPECT_EQ(p, h.permutation(1000));
  std::vector<uint32_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (uint32_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_NE(p, sorted);
}

TEST(Generator, MomentsOfUniformAndNormal) {
  Generator g(3);
  const std::vector<float> u = g.uniform(100000);
  const double mu = std::accumulate(u.begin(), u.end(), 0.0) / u.size();
  EXPECT_NEAR(mu, 0.5, 0.005);  // 5 sigma of the mean of 1e5 uniforms is 0.0046
  EXPECT_GE(*std::min_element(u.begin(), u.end()), 0.0f);
  EXPECT_LT(*std::max_element(u.begin(), u.end()), 1.0f);
  const std::vector<double> n = g.normal(100000, 1.0, 2.0);
  double m = 0, v = 0;
  for (double x : n) m += x;
  m /= n.size();
  for (double x : n) v += (x - m) * (x - m);
  v /= n.size();
  EXPECT_NEAR(m, 1.0, 0.03);  // 5 sigma: 5 * 2 / sqrt(1e5)
  EXPECT_NEAR(v, 4.0, 0.1);   // 5 sigma: 5 * 4 * sqrt(2 / 1e5)
}

}  // namespace
}  // namespace bnas
