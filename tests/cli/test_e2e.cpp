// End to end on the real Fashion-MNIST (Debian's dataset-fashion-mnist): `bnas_engine search`
// with a small budget, then `bnas_engine train --genotype <the search run>`, through the command
// line exactly as a user would. Asserts a final test accuracy of at least 85% within 15 minutes
// on a 2-core machine. The budget (docs/CLI.md, "End-to-end budget"):
//   search: bnas-d (full channels), C 4, 600 training images (300 for w, 300 for alpha), 1 epoch,
//           batch 50;
//   train:  C 8, 2 convolution + 1 enhancement cells, 15000 training images, 3 epochs, batch 64,
//           lr 0.08 (cosine), no drop-path, pad-2 crop + flip; tested on all 10000 test images.
// BNAS_E2E_DATA overrides the dataset folder; BNAS_E2E_SEARCH_FLAGS / BNAS_E2E_TRAIN_FLAGS
// override the budgets.
#include <gtest/gtest.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"

using namespace bnas::clitest;
using nlohmann::json;

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}
}  // namespace

TEST(EndToEnd, FashionMnistSearchThenTrain) {
  const std::string data = env_or("BNAS_E2E_DATA", "/usr/share/datasets/fashion-mnist");
  if (!fs::exists(data + "/train-images-idx3-ubyte.gz") && !fs::exists(data + "/train-images-idx3-ubyte"))
    GTEST_SKIP() << "Fashion-MNIST not found in " << data << " (apt install dataset-fashion-mnist)";
  const std::string dir = temp_dir("e2e");
  const std::string search_flags =
      env_or("BNAS_E2E_SEARCH_FLAGS", "--preset bnas-d --channels 4 --subset 600 --epochs 1 --batch 50 --log-interval 2");
  const std::string train_flags = env_or(
      "BNAS_E2E_TRAIN_FLAGS",
      "--channels 8 --layers 2 --en-layers 1 --subset 15000 --epochs 3 --batch 64 --lr 0.08 "
      "--drop-path 0 --log-interval 20");
  const auto t0 = std::chrono::steady_clock::now();
  const Result s = run_cli("search fashion-mnist --data " + data + " --out " + dir + "/search --seed 1 " + search_flags);
  ASSERT_EQ(s.rc, 0) << s.err;
  const double search_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Result t = run_cli("train fashion-mnist --data " + data + " --genotype " + dir + "/search --out " + dir +
                           "/train --seed 1 " + train_flags);
  ASSERT_EQ(t.rc, 0) << t.err;
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const json summary = json::parse(slurp(dir + "/train/summary.json"));
  const double acc = summary.at("final_test_acc").get<double>();
  std::printf("end-to-end: search %.0f s, total %.0f s, final test accuracy %.2f%% on %lld images\n", search_s,
              total_s, 100 * acc, static_cast<long long>(summary.at("test_images").get<int64_t>()));
  RecordProperty("final_test_acc", std::to_string(acc));
  RecordProperty("seconds", std::to_string(total_s));
  EXPECT_GE(acc, 0.85);
  EXPECT_LE(total_s, 15 * 60);
}
