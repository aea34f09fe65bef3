// The CIFAR-10 path of the command line, end to end on real images: `bnas_engine search cifar10`,
// `train cifar10 --genotype <that run>` and `eval cifar10 --checkpoint <that run>`, exactly as
// the README tells a CIFAR-10 user, but on the real Fashion-MNIST (Debian's
// dataset-fashion-mnist) rewritten in the CIFAR-10 binary layout, because CIFAR-10 itself cannot
// be fetched on these machines. This runs the CIFAR reader, the 3-channel 32x32 stem, the CIFAR
// normalisation and the CIFAR-10 training defaults (cutout 16, drop-path ramp) on real data.
//
// The rewrite: the 60000 training images become data_batch_1..5.bin (the first 50000, 10000
// records each) and the 10000 test images test_batch.bin; each 28x28 grey image is padded by 2
// pixels to 32x32 and copied into the red, green and blue planes; batches.meta.txt names the
// classes. Budget (not timed on its own; smaller than test_e2e.cpp's, which took 166 s on an idle
// 2-core machine):
//   search: bnas-v2-pc (partial channels, K 4), C 8, 600 training images, 1 epoch, batch 50;
//   train:  C 8, 2 convolution + 1 enhancement cells, 5000 training images, 2 epochs, batch 64,
//           lr 0.08, CIFAR-10 defaults otherwise (cutout 16, drop-path 0.2 ramped);
//   test:   2000 seeded test images, by train and again by eval from the checkpoint.
// BNAS_E2E_DATA overrides the Fashion-MNIST folder.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "data/idx.h"

using namespace bnas::clitest;
using nlohmann::json;

namespace {

void write_cifar_records(const bnas::data::ImageSet& set, int64_t first, int64_t count, const std::string& path) {
  constexpr int kSide = 32, kPad = 2;
  std::vector<uint8_t> bytes;
  bytes.reserve(static_cast<size_t>(count) * (1 + 3 * kSide * kSide));
  for (int64_t i = first; i < first + count; ++i) {
    bytes.push_back(static_cast<uint8_t>(set.labels[static_cast<size_t>(i)]));
    const uint8_t* img = set.image(i);  // [1, 28, 28]
    std::vector<uint8_t> plane(kSide * kSide, 0);  // [32, 32], zero border of 2
    for (int y = 0; y < set.h; ++y)
      for (int x = 0; x < set.w; ++x) plane[(y + kPad) * kSide + x + kPad] = img[y * set.w + x];
    for (int ch = 0; ch < 3; ++ch) bytes.insert(bytes.end(), plane.begin(), plane.end());
  }
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Writes Fashion-MNIST from fmnist_dir as cifar-10-batches-bin under root; returns root.
std::string fashion_mnist_as_cifar10(const std::string& fmnist_dir, const std::string& root) {
  const std::string dir = root + "/cifar-10-batches-bin";
  fs::create_directories(dir);
  const auto train = bnas::data::read_mnist(fmnist_dir, bnas::data::Split::Train);
  const auto test = bnas::data::read_mnist(fmnist_dir, bnas::data::Split::Test);
  EXPECT_EQ(train.n, 60000);
  EXPECT_EQ(test.n, 10000);
  for (int b = 0; b < 5; ++b)
    write_cifar_records(train, b * 10000, 10000, dir + "/data_batch_" + std::to_string(b + 1) + ".bin");
  write_cifar_records(test, 0, 10000, dir + "/test_batch.bin");
  std::ofstream(dir + "/batches.meta.txt")
      << "t-shirt\ntrouser\npullover\ndress\ncoat\nsandal\nshirt\nsneaker\nbag\nankle-boot\n";
  return root;
}

}  // namespace

TEST(EndToEnd, Cifar10PathOnRealImages) {
  const char* env = std::getenv("BNAS_E2E_DATA");
  const std::string fmnist = env != nullptr && *env != '\0' ? env : "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fmnist + "/train-images-idx3-ubyte.gz") && !fs::exists(fmnist + "/train-images-idx3-ubyte"))
    GTEST_SKIP() << "Fashion-MNIST not found in " << fmnist << " (apt install dataset-fashion-mnist)";
  const std::string dir = temp_dir("e2e_cifar");
  // --data may name the folder that holds the extracted archive, as a user's download would.
  const std::string data = fashion_mnist_as_cifar10(fmnist, dir + "/data");

  const Result s = run_cli("search cifar10 --data " + data + " --out " + dir + "/search --seed 3 --preset bnas-v2-pc "
                           "--channels 8 --subset 600 --epochs 1 --batch 50 --log-interval 4");
  ASSERT_EQ(s.rc, 0) << s.err;
  EXPECT_EQ(json::parse(slurp(dir + "/search/summary.json")).at("dataset"), "cifar10");
  EXPECT_TRUE(fs::exists(dir + "/search/genotype.json"));

  const Result t = run_cli("train cifar10 --data " + data + " --genotype " + dir + "/search --out " + dir +
                           "/train --seed 3 --channels 8 --layers 2 --en-layers 1 --subset 5000 --epochs 2 "
                           "--batch 64 --lr 0.08 --test-subset 2000 --log-interval 20");
  ASSERT_EQ(t.rc, 0) << t.err;
  const json config = json::parse(slurp(dir + "/train/config.json"));
  const json summary = json::parse(slurp(dir + "/train/summary.json"));
  const double acc = summary.at("final_test_acc").get<double>();
  EXPECT_EQ(summary.at("test_images").get<int64_t>(), 2000);
  // The CIFAR-10 training defaults of docs/METHOD.md §7 that the flags above leave alone.
  const json& settings = config.at("settings");
  EXPECT_EQ(settings.at("cutout").get<int>(), 16);
  EXPECT_DOUBLE_EQ(settings.at("drop_path").get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(settings.at("grad_clip").get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(settings.at("weight_decay").get<double>(), 3e-4);
  EXPECT_EQ(config.at("images").at("train").get<int64_t>(), 5000);
  std::printf("CIFAR-10 path on Fashion-MNIST: final test accuracy %.2f%% on 2000 images\n", 100 * acc);

  // eval rebuilds the network from the checkpoint alone and must see the same accuracy.
  const Result e = run_cli("eval cifar10 --data " + data + " --checkpoint " + dir + "/train --test-subset 2000");
  ASSERT_EQ(e.rc, 0) << e.err;
  const json ev = json::parse(e.out);
  EXPECT_EQ(ev.at("test_images").get<int64_t>(), 2000);
  EXPECT_NEAR(ev.at("test_acc").get<double>(), acc, 1e-9);
  RecordProperty("final_test_acc", std::to_string(acc));
  // Chance is 10%. Measured with the same searched genotype: 66.15% before the fused
  // FactorizedReduce, 62.45% after it. Its CPU convolutions add in another order; the mean loss
  // of the first 20 steps moved by 3e-4 (1.8832 -> 1.8838), and over 158 steps such rounding
  // changes the final accuracy by several points. The bound is set below that spread: it checks
  // that the network learned, not which rounding it used.
  EXPECT_GE(acc, 0.55);
}
