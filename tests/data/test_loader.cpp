// Index arithmetic (splits, epoch shuffles, rank shards), the epoch cursor, and both loaders on
// the CPU: coverage, agreement with the reference augmentation, save/restore of the position,
// and the decode pool's independence from its worker count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "data/idx.h"
#include "data/loader.h"
#include "data/pack.h"
#include "data_fixtures.h"

namespace bnas::data {
namespace {
using namespace testing;

ImageSet numbered_set(int n) {  // image i: all pixels i % 256, label i % 10
  ImageSet s;
  s.n = n;
  s.c = 3;
  s.h = s.w = 8;
  s.num_classes = 10;
  for (int i = 0; i < n; ++i) {
    s.labels.push_back(i % 10);
    s.pixels.insert(s.pixels.end(), 3 * 8 * 8, static_cast<uint8_t>(i % 256));
  }
  return s;
}

CropAugment small_train() {  // the CIFAR recipe scaled to 8 x 8 images
  CropAugment a = CropAugment::cifar10_train(4);
  a.out_h = a.out_w = 8;
  a.pad = 2;
  return a;
}

TEST(Indices, SplitHalvesAndEpochOrders) {
  const auto first = split_range(50000, 0, 0.5), second = split_range(50000, 0.5, 1);
  EXPECT_EQ(first.size(), 25000u);
  EXPECT_EQ(second.front(), 25000);
  EXPECT_EQ(second.back(), 49999);
  const auto e0 = epoch_order(first, 1, 0), e0b = epoch_order(first, 1, 0), e1 = epoch_order(first, 1, 1);
  EXPECT_EQ(e0, e0b);
  EXPECT_NE(e0, e1);
  EXPECT_NE(e0, epoch_order(first, 2, 0));
  auto sorted = e1;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, first);  // a permutation of the subset
}

TEST(Indices, ShardsAreDisjointAndEqual) {
  const auto order = epoch_order(split_range(103, 0, 1), 5, 0);
  std::set<int32_t> seen;
  for (int r = 0; r < 4; ++r) {
    const auto mine = shard(order, r, 4);
    EXPECT_EQ(mine.size(), 25u);
    for (int32_t i : mine) EXPECT_TRUE(seen.insert(i).second);
  }
  expect_error([&] { shard(order, 4, 4); }, {"rank 4"});
}

TEST(EpochCursor, BatchesRollOverAndRespectDropLast) {
  LoaderOptions o;
  o.batch_size = 4;
  EpochCursor keep(split_range(10, 0, 1), o);
  EXPECT_EQ(keep.batches_per_epoch(), 3);
  int64_t e, p, c;
  std::vector<int64_t> counts;
  for (int i = 0; i < 4; ++i) {
    keep.next(&e, &p, &c);
    counts.push_back(c);
  }
  EXPECT_EQ(counts, (std::vector<int64_t>{4, 4, 2, 4}));
  EXPECT_EQ(keep.state().epoch, 1);
  EXPECT_EQ(keep.state().position, 4);
  o.drop_last = true;
  EpochCursor drop(split_range(10, 0, 1), o);
  EXPECT_EQ(drop.batches_per_epoch(), 2);
  drop.next(&e, &p, &c);
  drop.next(&e, &p, &c);
  drop.next(&e, &p, &c);
  EXPECT_EQ(e, 1);
  EXPECT_EQ(p, 0);
  o.batch_size = 11;
  expect_error([&] { EpochCursor none(split_range(10, 0, 1), o); }, {"no full batch"});
}

TEST(DeviceLoader, CpuEpochCoversEveryImageOnceAndMatchesReference) {
  const ImageSet set = numbered_set(50);
  const auto data = upload(set, Device::cpu());
  LoaderOptions o;
  o.batch_size = 16;
  o.seed = 9;
  const CropAugment aug = small_train();
  const std::vector<int32_t> half = split_range(50, 0.5, 1);
  DeviceLoader loader(data, half, aug, o);
  EXPECT_EQ(loader.batches_per_epoch(), 2);  // 25 images: 16 + 9
  for (int epoch = 0; epoch < 2; ++epoch) {
    const auto order = epoch_order(half, 9, epoch);
    std::multiset<int32_t> labels;
    for (int64_t b = 0, pos = 0; b < loader.batches_per_epoch(); ++b) {
      const Batch batch = loader.next_batch();
      const int64_t n = batch.images.size(0);
      EXPECT_EQ(batch.images.shape(), (Shape{n, 3, 8, 8}));
      const std::vector<int32_t> idx(order.begin() + pos, order.begin() + pos + n);
      std::vector<int32_t> want_labels;
      const auto want = augment_batch_cpu(set, idx, aug, augment_range(9, epoch, pos, 8), &want_labels);
      const float* got = batch.images.data<float>();
      ASSERT_TRUE(std::equal(want.begin(), want.end(), got));
      EXPECT_EQ(batch.labels.to_ints(), want_labels);
      labels.insert(want_labels.begin(), want_labels.end());
      pos += n;
    }
    EXPECT_EQ(labels.size(), 25u);
  }
}

TEST(DeviceLoader, RestoredStateResumesTheExactStream) {
  const auto data = upload(numbered_set(30), Device::cpu());
  LoaderOptions o;
  o.batch_size = 7;
  o.seed = 1;
  DeviceLoader a(data, split_range(30, 0, 1), small_train(), o);
  for (int i = 0; i < 6; ++i) a.next_batch();  // into epoch 1
  const LoaderState saved = a.state();
  EXPECT_EQ(saved.epoch, 1);
  std::vector<std::vector<double>> rest;
  for (int i = 0; i < 5; ++i) rest.push_back(a.next_batch().images.to_doubles());
  DeviceLoader b(data, split_range(30, 0, 1), small_train(), o);
  b.restore(saved);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.next_batch().images.to_doubles(), rest[i]) << "batch " << i;
  expect_error([&] { b.restore({0, 31}); }, {"does not fit"});
}

TEST(DeviceLoader, NoShuffleKeepsOrderAndShardsSplitRanks) {
  const auto data = upload(numbered_set(20), Device::cpu());
  LoaderOptions o;
  o.batch_size = 10;
  o.shuffle = false;
  o.world_size = 2;
  o.rank = 1;
  DeviceLoader loader(data, split_range(20, 0, 1), CropAugment{}, o);
  const Batch b = loader.next_batch();
  EXPECT_EQ(b.labels.to_ints(), (std::vector<int32_t>{1, 3, 5, 7, 9, 1, 3, 5, 7, 9}));
  EXPECT_FLOAT_EQ(static_cast<float>(b.images.to_doubles()[0]), 1 / 255.0f);
}

// One epoch of the real Fashion-MNIST test split through the CPU pipeline: every class 1000
// times, and the test transform's normalised pixels have mean ~0 and std ~1.
TEST(DeviceLoader, RealFashionMnistTestEpoch) {
  const ImageSet test = read_mnist("/usr/share/datasets/fashion-mnist", Split::Test);
  LoaderOptions o;
  o.batch_size = 500;
  DeviceLoader loader(upload(test, Device::cpu()), split_range(test.n, 0, 1), CropAugment::fashion_mnist_test(), o);
  std::vector<int> per_class(10, 0);
  double sum = 0, sq = 0;
  int64_t count = 0;
  for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
    const Batch batch = loader.next_batch();
    for (int32_t l : batch.labels.to_ints()) ++per_class[static_cast<size_t>(l)];
    const float* x = batch.images.data<float>();
    for (int64_t i = 0; i < batch.images.numel(); ++i) sum += x[i], sq += double{x[i]} * x[i];
    count += batch.images.numel();
  }
  EXPECT_EQ(per_class, std::vector<int>(10, 1000));
  const double mean = sum / count;
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(std::sqrt(sq / count - mean * mean), 1.0, 0.02);
}

TEST(DecodeLoader, WorkerCountDoesNotChangeBatchesAndStateResumes) {
  TempDir dir;
  write_image_folder(dir / "train", {5, 6}, 40, 30);
  std::shared_ptr<const EncodedSource> src = open_encoded(dir / "train");
  LoaderOptions o;
  o.batch_size = 4;
  o.seed = 5;
  ImageAugment aug = ImageAugment::imagenet_train();
  aug.size = 16;
  DecodeLoader one(src, {}, aug, o, 1, 1), many(src, {}, aug, o, 3, 5);
  EXPECT_EQ(one.batches_per_epoch(), 3);
  std::vector<std::vector<double>> seq;
  std::multiset<int32_t> epoch_labels;
  for (int i = 0; i < 7; ++i) {
    const Batch a = one.next_batch(), b = many.next_batch();
    EXPECT_EQ(a.images.shape(), (Shape{i % 3 == 2 ? 3 : 4, 3, 16, 16}));
    EXPECT_EQ(a.images.to_doubles(), b.images.to_doubles()) << "batch " << i;
    EXPECT_EQ(a.labels.to_ints(), b.labels.to_ints());
    if (i < 3)
      for (int32_t l : a.labels.to_ints()) epoch_labels.insert(l);
    seq.push_back(a.images.to_doubles());
  }
  EXPECT_EQ(epoch_labels.count(0), 5u);
  EXPECT_EQ(epoch_labels.count(1), 6u);
  DecodeLoader resumed(src, {}, aug, o, 2);
  resumed.restore({1, 4});
  EXPECT_EQ(resumed.next_batch().images.to_doubles(), seq[4]);
  many.restore({0, 0});
  EXPECT_EQ(many.next_batch().images.to_doubles(), seq[0]);
}

TEST(DecodeLoader, CorruptImageSurfacesAsError) {
  TempDir dir;
  write_image_folder(dir / "train", {3});
  write_bytes(dir / "train/class_0/img_9.png", {'b', 'a', 'd'});
  LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = false;
  ImageAugment aug = ImageAugment::imagenet_test();
  aug.size = 8;
  aug.resize = 8;
  DecodeLoader loader(open_encoded(dir / "train"), {}, aug, o, 2);
  expect_error([&] { loader.next_batch(); }, {"img_9.png", "not a readable image"});
}

}  // namespace
}  // namespace bnas::data
