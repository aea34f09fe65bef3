// Readers on files written by the test (CIFAR-10/100, IDX raw and gzip, PNG/JPEG, image folders)
// and on the real Fashion-MNIST from Debian's dataset-fashion-mnist package.
#include <gtest/gtest.h>

#include "data/cifar.h"
#include "data/idx.h"
#include "data/image.h"
#include "data/image_folder.h"
#include "data_fixtures.h"

namespace bnas::data {
namespace {
using namespace testing;

TEST(Cifar10, ReadsTrainAndTestBatches) {
  TempDir dir;
  for (int b = 1; b <= 5; ++b) write_bytes(dir / ("data_batch_" + std::to_string(b) + ".bin"), cifar_records(4, 1, 10));
  write_bytes(dir / "test_batch.bin", cifar_records(3, 1, 10));
  write_bytes(dir / "batches.meta.txt", {'a', '\n', 'b', '\n', 'c', '\n', 'd', '\n', 'e', '\n', 'f', '\n', 'g',
                                          '\n', 'h', '\n', 'i', '\n', 'j', '\n', '\n'});
  const ImageSet train = read_cifar10(dir.str(), Split::Train);
  EXPECT_EQ(train.n, 20);
  EXPECT_EQ(train.c, 3);
  EXPECT_EQ(train.h, 32);
  EXPECT_EQ(train.w, 32);
  EXPECT_EQ(train.num_classes, 10);
  ASSERT_EQ(train.class_names.size(), 10u);
  EXPECT_EQ(train.class_names[9], "j");
  EXPECT_EQ(train.labels[5], 1);  // record 1 of batch 2
  EXPECT_EQ(train.image(5)[0], 7);
  EXPECT_EQ(train.image(5)[1024], (7 + 1024) % 256);  // green plane
  train.validate("train");
  const ImageSet test = read_cifar10(dir.str(), Split::Test);
  EXPECT_EQ(test.n, 3);
  EXPECT_EQ(test.labels[2], 2);
}

TEST(Cifar100, FineByDefaultCoarseOnRequest) {
  TempDir dir;
  write_bytes(dir / "train.bin", cifar_records(25, 2, 20));
  write_bytes(dir / "test.bin", cifar_records(2, 2, 20));
  const ImageSet fine = read_cifar100(dir.str(), Split::Train);
  EXPECT_EQ(fine.n, 25);
  EXPECT_EQ(fine.num_classes, 100);
  EXPECT_EQ(fine.labels[21], (21 + 1) % 20);  // second label byte
  const ImageSet coarse = read_cifar100(dir.str(), Split::Train, Cifar100Labels::Coarse);
  EXPECT_EQ(coarse.num_classes, 20);
  EXPECT_EQ(coarse.labels[21], 21 % 20);
  EXPECT_EQ(coarse.image(3)[10], (3 * 7 + 10) % 256);
  EXPECT_EQ(read_cifar100(dir.str(), Split::Test).n, 2);
}

TEST(Idx, ReadsRawAndGzipMnistFiles) {
  TempDir dir;
  std::vector<uint8_t> pixels(5 * 4 * 3), labels = {3, 1, 4, 1, 5};
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i);
  write_bytes(dir / "train-images-idx3-ubyte", idx_bytes({5, 4, 3}, pixels));
  write_bytes(dir / "train-labels-idx1-ubyte.gz", gzip(idx_bytes({5}, labels)));
  write_bytes(dir / "t10k-images-idx3-ubyte.gz", gzip(idx_bytes({1, 4, 3}, std::vector<uint8_t>(12, 9))));
  write_bytes(dir / "t10k-labels-idx1-ubyte", idx_bytes({1}, {7}));
  const ImageSet train = read_mnist(dir.str(), Split::Train);
  EXPECT_EQ(train.n, 5);
  EXPECT_EQ(train.c, 1);
  EXPECT_EQ(train.h, 4);
  EXPECT_EQ(train.w, 3);
  EXPECT_EQ(train.pixels, pixels);
  EXPECT_EQ(train.labels, (std::vector<int32_t>{3, 1, 4, 1, 5}));
  const ImageSet test = read_mnist(dir.str(), Split::Test);
  EXPECT_EQ(test.n, 1);
  EXPECT_EQ(test.labels[0], 7);
  EXPECT_EQ(test.pixels[11], 9);
}

// The package is a CI prerequisite (.ci/run installs it): absence is a failure, not a skip.
TEST(FashionMnist, RealDebianPackage) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  ASSERT_TRUE(fs::exists(dir + "/train-images-idx3-ubyte.gz"))
      << "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)";
  const ImageSet train = read_mnist(dir, Split::Train);
  const ImageSet test = read_mnist(dir, Split::Test);
  EXPECT_EQ(train.n, 60000);
  EXPECT_EQ(test.n, 10000);
  EXPECT_EQ(train.h, 28);
  EXPECT_EQ(train.w, 28);
  for (int64_t c : train.class_counts()) EXPECT_EQ(c, 6000);
  for (int64_t c : test.class_counts()) EXPECT_EQ(c, 1000);
  double mean = 0;
  for (uint8_t v : train.pixels) mean += v;
  EXPECT_NEAR(mean / train.pixels.size() / 255.0, 0.2860, 0.001);  // the published pixel mean
}

TEST(Image, DecodesPngExactlyAndJpegClosely) {
  const auto rgb = test_rgb(13, 17, 1);
  const auto png = encode_png(rgb, 13, 17);
  const DecodedImage a = decode_image(png.data(), png.size(), "a.png");
  EXPECT_EQ(a.h, 13);
  EXPECT_EQ(a.w, 17);
  EXPECT_EQ(a.rgb, rgb);
  const auto jpg = encode_jpeg(rgb, 13, 17, 100);
  const DecodedImage b = decode_image(jpg.data(), jpg.size(), "b.jpg");
  ASSERT_EQ(b.rgb.size(), rgb.size());
  double err = 0;
  for (size_t i = 0; i < rgb.size(); ++i) err += std::abs(int{b.rgb[i]} - int{rgb[i]});
  EXPECT_LT(err / rgb.size(), 6.0);
}

TEST(ImageFolder, SortedClassesAndImageFilesOnly) {
  TempDir dir;
  write_image_folder(dir / "train", {3, 2});
  write_bytes(dir / "train/class_0/notes.txt", {'x'});
  const FolderIndex index = scan_image_folder(dir / "train");
  EXPECT_EQ(index.class_names, (std::vector<std::string>{"class_0", "class_1"}));
  ASSERT_EQ(index.records.size(), 5u);
  EXPECT_EQ(index.records[3].label, 1);
  EXPECT_NE(index.records[0].path.find("img_0.JPEG"), std::string::npos);
}

}  // namespace
}  // namespace bnas::data
