// Tensor: factories, views, copies across dtypes, memory counters, errors.
#include <gtest/gtest.h>

#include "engine/memory.h"
#include "engine/tensor.h"

namespace bnas {
namespace {

TEST(Tensor, FactoriesAndReadBack) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.dtype(), DType::F32);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.to_doubles(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(Tensor::zeros({4}, DType::F64).to_doubles(), std::vector<double>(4, 0.0));
  EXPECT_EQ(Tensor::full({3}, 2.5).to_doubles(), std::vector<double>(3, 2.5));
  EXPECT_EQ(Tensor::from_ints({3, -1}, {2}).to_ints(), (std::vector<int32_t>{3, -1}));
  EXPECT_DOUBLE_EQ(Tensor::full({1}, 7).item(), 7.0);
}

TEST(Tensor, ChannelSliceIsAStridedViewSharingStorage) {
  // x: 2 x 4 x 1 x 2, values 0..15
  std::vector<double> v(16);
  for (int i = 0; i < 16; ++i) v[i] = i;
  Tensor x = Tensor::from_vector(v, {2, 4, 1, 2});
  Tensor s = x.channel_slice(1, 3);  // 2 x 2 x 1 x 2
  EXPECT_EQ(s.shape(), (Shape{2, 2, 1, 2}));
  EXPECT_FALSE(s.is_contiguous());
  EXPECT_EQ(s.to_doubles(), (std::vector<double>{2, 3, 4, 5, 10, 11, 12, 13}));
  s.copy_(Tensor::zeros(s.shape()));
  EXPECT_EQ(x.to_doubles()[2], 0.0);   // writes through the view
  EXPECT_EQ(x.to_doubles()[1], 1.0);   // outside the slice untouched
  EXPECT_TRUE(s.contiguous().is_contiguous());
}

TEST(Tensor, CastsAndClone) {
  Tensor x = Tensor::from_vector({1.5, -2.25}, {2}, DType::F64);
  Tensor f = x.to(DType::F32);
  EXPECT_EQ(f.dtype(), DType::F32);
  EXPECT_EQ(f.to_doubles(), (std::vector<double>{1.5, -2.25}));
  Tensor c = x.clone();
  c.fill_(3);
  EXPECT_EQ(x.to_doubles()[0], 1.5);
  EXPECT_TRUE(x.to(Device::cpu()).same_as(x));
}

TEST(Tensor, ViewChecksShapes) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_EQ(x.view({3, 2}).shape(), (Shape{3, 2}));
  EXPECT_THROW(x.view({4, 2}), Error);
  EXPECT_THROW(Tensor::zeros({2, 4, 2}).channel_slice(0, 1).view({4, 1}), Error);
}

TEST(Tensor, ErrorsAreSentences) {
  try {
    Tensor::from_vector({1, 2, 3}, {2, 2});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("do not fill a tensor of shape [2, 2]"), std::string::npos) << e.what();
    EXPECT_NE(e.where().find("tensor.cpp"), std::string::npos);
  }
  EXPECT_THROW(Tensor().shape(), Error);
  EXPECT_THROW(Tensor::zeros({2}).data<double>(), Error);
  EXPECT_THROW(Tensor::zeros({2, 2, 2, 2, 2, 2}), Error);
}

TEST(Memory, CountsCurrentAndPeakBytes) {
  reset_peak_memory(Device::cpu());
  const MemoryStats before = memory_stats(Device::cpu());
  {
    Tensor a = Tensor::empty({1024}, DType::F64);  // 8 KiB
    EXPECT_EQ(memory_stats(Device::cpu()).current, before.current + 8192);
  }
  const MemoryStats after = memory_stats(Device::cpu());
  EXPECT_EQ(after.current, before.current);
  EXPECT_GE(after.peak, before.current + 8192);
}

TEST(Device, ParsesNamesAndRejectsGarbage) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_EQ(parse_device("cuda:1"), Device::cuda(1));
  EXPECT_EQ(parse_device("cuda").str(), "cuda:0");
  EXPECT_THROW(parse_device("gpu"), Error);
  EXPECT_THROW(parse_device("cuda:x"), Error);
}

}  // namespace
}  // namespace bnas
