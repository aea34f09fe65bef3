// The command line on a GPU (gpu label: a real card, or the emulated device in CI): a tiny
// search, training and evaluation with --device cuda:0 against the same runs with --device cpu
// and the same seed. The GPU rounds differently (FMA contraction, cuDNN's and the fused kernels'
// summation orders), so values agree to a tolerance, and the discrete results (the genotype, the
// number of correct test images) are equal unless a value lands within that tolerance of a tie.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "engine/device.h"
#include "nas/genotype_file.h"
#include "tools/report.h"

using namespace bnas::clitest;
using nlohmann::json;

namespace {

#define REQUIRE_GPU() \
  if (!bnas::cuda_available()) GTEST_SKIP() << "no GPU: " << bnas::cuda_unavailable_reason()

// Relative agreement of two run figures: float32 on both sides, a few hundred steps of
// arithmetic that rounds differently on the GPU (FMAs, reordered sums, cuDNN's algorithms),
// compounded by every optimizer step. The emulated device, whose cuDNN stand-in runs the CPU's
// convolutions, measured up to 6e-8; a card's cuDNN differs from the first convolution on and
// its differences grow through training, so the bound is left at 1e-3: far below what a wrong
// kernel produces over an epoch.
constexpr double kRunTol = 1e-3;

void expect_close(double gpu, double cpu, const char* what) {
  EXPECT_NEAR(gpu, cpu, kRunTol * (1 + std::fabs(cpu))) << what;
}

std::vector<json> steps(const std::string& run) {
  std::vector<json> out;
  for (const json& j : bnas::report::read_jsonl(run + "/log.jsonl"))
    if (j.at("type") == "step") out.push_back(j);
  return out;
}

TEST(CliGpu, SearchOnCuda0MatchesTheCpu) {
  REQUIRE_GPU();
  const std::string data = write_tiny_mnist("gpu_search", 40, 10);
  const std::string base = temp_dir("gpu_search_runs");
  const std::string flags = " --preset bnas-v2-pc --epochs 2 --arch-start-epoch 1 --channels 4 --batch 10 "
                            "--log-interval 1 --threads 2 --seed 3 --data " + data;
  const Result c = run_cli("search mnist --device cpu --out " + base + "/cpu" + flags);
  ASSERT_EQ(c.rc, 0) << c.err;
  const Result g = run_cli("search mnist --device cuda:0 --out " + base + "/gpu" + flags);
  ASSERT_EQ(g.rc, 0) << g.err;
  EXPECT_EQ(json::parse(bnas::clitest::slurp(base + "/gpu/config.json")).at("device"), "cuda:0");
  EXPECT_EQ(bnas::nas::read_genotype_file(base + "/gpu/genotype.json"),
            bnas::nas::read_genotype_file(base + "/cpu/genotype.json"));
  const auto sc = steps(base + "/cpu"), sg = steps(base + "/gpu");
  ASSERT_EQ(sg.size(), sc.size());
  ASSERT_FALSE(sc.empty());
  for (size_t i = 0; i < sc.size(); ++i) expect_close(sg[i].at("train_loss"), sc[i].at("train_loss"), "step loss");
  const json jc = json::parse(slurp(base + "/cpu/summary.json")), jg = json::parse(slurp(base + "/gpu/summary.json"));
  expect_close(jg.at("final_valid_loss"), jc.at("final_valid_loss"), "final validation loss");
  EXPECT_TRUE(jg.contains("conv_algorithms"));  // the cuDNN choices are reported
  // The steps were CUDA graph replays (the default graph setting, auto), as the start record says.
  for (const json& j : bnas::report::read_jsonl(base + "/gpu/log.jsonl"))
    if (j.at("type") == "start") {
      EXPECT_EQ(j.at("graph"), "on") << j;
      EXPECT_GT(j.at("graph_nodes").get<int64_t>(), 0) << j;
    }
  EXPECT_NE(g.err.find("search step as a CUDA graph: on"), std::string::npos) << g.err;
}

TEST(CliGpu, TrainAndEvalOnCuda0MatchTheCpu) {
  REQUIRE_GPU();
  const std::string data = write_tiny_mnist("gpu_train", 40, 20);
  const std::string base = temp_dir("gpu_train_runs");
  const std::string flags = " --genotype BNASv2_PC_cifar_v1 --epochs 1 --seed 4 --data " + data + " " + tiny_train_flags();
  const Result c = run_cli("train mnist --device cpu --out " + base + "/cpu" + flags);
  ASSERT_EQ(c.rc, 0) << c.err;
  const Result g = run_cli("train mnist --device cuda:0 --out " + base + "/gpu" + flags);
  ASSERT_EQ(g.rc, 0) << g.err;
  const auto sc = steps(base + "/cpu"), sg = steps(base + "/gpu");
  ASSERT_EQ(sg.size(), sc.size());
  for (size_t i = 0; i < sc.size(); ++i) expect_close(sg[i].at("train_loss"), sc[i].at("train_loss"), "step loss");
  const double acc_c = json::parse(c.out).at("final_test_acc"), acc_g = json::parse(g.out).at("final_test_acc");
  EXPECT_NEAR(acc_g, acc_c, 1.0 / 20 + 1e-12);  // at most one of 20 test images on the other side of a tie
  // eval on the GPU reproduces the GPU training's accuracy exactly (same device, same kernels).
  const Result e = run_cli("eval mnist --device cuda:0 --data " + data + " --checkpoint " + base + "/gpu --threads 2");
  ASSERT_EQ(e.rc, 0) << e.err;
  EXPECT_DOUBLE_EQ(json::parse(e.out).at("test_acc").get<double>(), acc_g);
}

TEST(CliGpu, DeterministicFlagRestrictsTheConvolutionAlgorithms) {
  REQUIRE_GPU();
  const std::string data = write_tiny_mnist("gpu_det", 20, 10);
  const std::string base = temp_dir("gpu_det_runs");
  const std::string flags = " --genotype BNASv2_PC_cifar_v1 --epochs 1 --seed 4 --data " + data + " " + tiny_train_flags();
  for (const bool det : {true, false}) {
    const std::string run = base + (det ? "/det" : "/free");
    const Result r = run_cli("train mnist --device cuda:0 --deterministic " + std::string(det ? "true" : "false") +
                             " --out " + run + flags);
    ASSERT_EQ(r.rc, 0) << r.err;
    const json algos = json::parse(slurp(run + "/summary.json")).at("conv_algorithms");
    ASSERT_FALSE(algos.empty());
    for (const json& line : algos)  // format_conv_algorithm marks choices restricted to deterministic ones
      EXPECT_EQ(line.get<std::string>().find(", deterministic") != std::string::npos, det) << line;
    EXPECT_EQ(json::parse(slurp(run + "/config.json")).at("settings").at("deterministic"), det);
  }
}

}  // namespace
