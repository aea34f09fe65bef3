// GPU vs CPU: the CUDA gather/augment kernel must equal the CPU loop bit for bit, batch after
// batch, for every augmentation option; the decode pool's pinned buffers and asynchronous copies
// must deliver exactly what its CPU twin delivers. Skips cleanly without a GPU.
// Exact by construction (kernels/augment.h): the crop, flip and cutout draws come from the same
// Philox lanes, positions are integer index math, and a pixel is (v / 255 - mean) / std, two
// correctly rounded divisions and a subtraction (__fdiv_rn / __fsub_rn on the device, which nvcc
// never contracts, --use_fast_math or not); the decode loader's images are decoded and
// augmented on the CPU threads for both devices, so the GPU side only copies them.
#include <gtest/gtest.h>

#include "data/loader.h"
#include "data_fixtures.h"
#include "engine/device.h"

namespace bnas::data {
namespace {

ImageSet random_set(int n, int c, int h, int w) {
  ImageSet s;
  s.n = n;
  s.c = c;
  s.h = h;
  s.w = w;
  s.num_classes = 10;
  uint32_t x = 12345;
  for (int i = 0; i < n; ++i) s.labels.push_back(i % 10);
  for (int64_t k = 0; k < int64_t{n} * c * h * w; ++k) {
    x = x * 1664525u + 1013904223u;
    s.pixels.push_back(static_cast<uint8_t>(x >> 24));
  }
  return s;
}

void expect_same_batches(const ImageSet& set, const CropAugment& aug, int batch) {
  LoaderOptions cpu;
  cpu.batch_size = batch;
  cpu.seed = 77;
  LoaderOptions gpu = cpu;
  gpu.device = Device::cuda(0);
  const std::vector<int32_t> idx = split_range(set.n, 0, 1);
  DeviceLoader a(upload(set, Device::cpu()), idx, aug, cpu), b(upload(set, gpu.device), idx, aug, gpu);
  for (int i = 0; i < 2 * a.batches_per_epoch() + 1; ++i) {
    const Batch x = a.next_batch(), y = b.next_batch();
    const auto xv = x.images.to_doubles(), yv = y.images.to_doubles();
    ASSERT_EQ(xv.size(), yv.size());
    for (size_t k = 0; k < xv.size(); ++k) ASSERT_EQ(xv[k], yv[k]) << "batch " << i << " element " << k;
    ASSERT_EQ(x.labels.to_ints(), y.labels.to_ints());
  }
}

TEST(AugmentGpu, Cifar10TrainMatchesCpuBitForBit) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  expect_same_batches(random_set(300, 3, 32, 32), CropAugment::cifar10_train(16), 128);
}

TEST(AugmentGpu, TestTransformAndMnistShapesMatchCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  expect_same_batches(random_set(257, 3, 32, 32), CropAugment::cifar100_test(), 64);
  expect_same_batches(random_set(500, 1, 28, 28), CropAugment::fashion_mnist_train(), 100);
  CropAugment odd;  // non-square crop, odd cutout, center crop of a padded image
  odd.out_h = 20;
  odd.out_w = 24;
  odd.pad = 3;
  odd.flip = true;
  odd.cutout = 7;
  expect_same_batches(random_set(90, 3, 22, 26), odd, 32);
}

TEST(AugmentGpu, DecodeLoaderPinnedCopiesMatchCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU";
  testing::TempDir dir;
  testing::write_image_folder(dir / "train", {9, 8}, 40, 30);
  std::shared_ptr<const EncodedSource> src = open_encoded(dir / "train");
  LoaderOptions cpu;
  cpu.batch_size = 5;
  cpu.seed = 3;
  LoaderOptions gpu = cpu;
  gpu.device = Device::cuda(0);
  ImageAugment aug = ImageAugment::imagenet_train();
  aug.size = 24;
  DecodeLoader a(src, {}, aug, cpu, 2, 3), b(src, {}, aug, gpu, 3, 4);
  for (int i = 0; i < 9; ++i) {  // two epochs and a bit: every slot reused several times
    const Batch x = a.next_batch(), y = b.next_batch();
    ASSERT_TRUE(y.images.is_cuda());
    ASSERT_EQ(x.images.to_doubles(), y.images.to_doubles()) << "batch " << i;
    ASSERT_EQ(x.labels.to_ints(), y.labels.to_ints()) << "batch " << i;
  }
}

}  // namespace
}  // namespace bnas::data
