// The bnas_engine command line, run as a separate process exactly as a user would: --help on
// every command, bad flags, missing data, corrupt genotypes, every published genotype, and a
// tiny search and training on a synthetic IDX dataset the test writes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "engine/device.h"
#include "nas/genotype.h"
#include "nas/genotype_darts.h"
#include "nas/genotype_file.h"
#include "nas/published_genotypes.h"
#include "tools/report.h"

using namespace bnas::clitest;
using nlohmann::json;

namespace {

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST(Cli, HelpOnEveryCommand) {
  for (const char* cmd : {"", "info", "genotype", "genotype show", "genotype draw", "genotype list", "search", "train",
                          "eval"}) {
    const Result r = run_cli(std::string(cmd) + " --help");
    EXPECT_EQ(r.rc, 0) << cmd << "\n" << r.err;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
  const Result t = run_cli("train --help");
  for (const char* flag : {"--device", "--config", "--seed", "--out", "--resume", "--data", "--genotype", "--epochs"})
    EXPECT_NE(t.out.find(flag), std::string::npos) << flag;
  const Result s = run_cli("search --help");
  EXPECT_NE(s.out.find("bnas-v2-pc"), std::string::npos);
  EXPECT_NE(s.out.find("--preset"), std::string::npos);
}

TEST(Cli, BadFlagsAreOneLineAndNonZero) {
  for (const char* args : {"", "search fashion-mnist --bogus", "train mnist --epochs abc", "search mnist --preset nope",
                           "genotype", "frobnicate", "eval mnist", "genotype show"}) {
    const Result r = run_cli(args);
    EXPECT_NE(r.rc, 0) << args;
    EXPECT_EQ(lines(r.err), 1) << args << ": " << r.err;
    EXPECT_NE(r.err.find("error"), std::string::npos) << args << ": " << r.err;
  }
  EXPECT_NE(run_cli("search fashion-mnist --bogus").err.find("--bogus"), std::string::npos);
  // A dataset that does not exist.
  const Result d = run_cli("train svhn --genotype DARTS_V2 --data /tmp");
  EXPECT_EQ(d.rc, 1);
  EXPECT_NE(d.err.find("unknown dataset 'svhn'"), std::string::npos) << d.err;
}

TEST(Cli, MissingDataNamesTheExpectedFiles) {
  const std::string empty = temp_dir("empty");
  const Result r = run_cli("train mnist --genotype DARTS_V2 --data " + empty + "/nothing");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(lines(r.err), 1) << r.err;
  for (const char* f : {"train-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "nothing", "to get it", "--data"})
    EXPECT_NE(r.err.find(f), std::string::npos) << f << ": " << r.err;
  // Through $BNAS_DATA: the message names $BNAS_DATA/<dataset>.
  const Result e = run_cli("search cifar10 --out " + empty + "/run", "BNAS_DATA=" + empty);
  EXPECT_EQ(e.rc, 1);
  EXPECT_NE(e.err.find(empty + "/cifar10"), std::string::npos) << e.err;
  EXPECT_NE(e.err.find("data_batch_1.bin"), std::string::npos) << e.err;
  EXPECT_NE(e.err.find("cifar-10-binary.tar.gz"), std::string::npos) << e.err;
  EXPECT_FALSE(fs::exists(empty + "/run/config.json"));  // nothing half-written
}

TEST(Cli, CorruptGenotypeFile) {
  const std::string dir = temp_dir("corrupt");
  const std::string bad = dir + "/bad.txt";
  std::ofstream(bad) << "Genotype(normal=[('sep_conv_3x3', 1), ('warp_drive', 0)";
  for (const std::string& args : {"genotype show " + bad, "genotype draw " + bad + " --out " + dir + "/d",
                                  "train mnist --data " + dir + " --genotype " + bad}) {
    const Result r = run_cli(args);
    EXPECT_EQ(r.rc, 1) << args;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("bad.txt"), std::string::npos) << r.err;
  }
  std::ofstream(dir + "/bad.json") << "{\"normal\": [[\"sep_conv_3x3\", 1]]}";
  const Result j = run_cli("genotype show " + dir + "/bad.json");
  EXPECT_EQ(j.rc, 1);
  EXPECT_NE(j.err.find("bad.json"), std::string::npos) << j.err;
  const Result n = run_cli("genotype show NoSuchGenotype");
  EXPECT_EQ(n.rc, 1);
  EXPECT_NE(n.err.find("NoSuchGenotype"), std::string::npos) << n.err;
}

TEST(Cli, ShowEveryPublishedGenotypeAndConvert) {
  const std::string dir = temp_dir("show");
  for (const auto& name : bnas::nas::published_genotype_names()) {
    const Result r = run_cli("genotype show " + name);
    ASSERT_EQ(r.rc, 0) << name << r.err;
    const auto& g = bnas::nas::published_genotype(name);
    EXPECT_NE(r.out.find(bnas::nas::genotype_to_darts(g)), std::string::npos) << name;
    EXPECT_NE(r.out.find(bnas::nas::genotype_to_json_text(g)), std::string::npos) << name;
    // Convert to a file, read it back.
    ASSERT_EQ(run_cli("genotype show " + name + " --out " + dir + "/" + name + ".json").rc, 0);
    EXPECT_EQ(bnas::nas::read_genotype_file(dir + "/" + name + ".json"), g);
    ASSERT_EQ(run_cli("genotype show " + dir + "/" + name + ".json --out " + dir + "/" + name + ".txt").rc, 0);
    EXPECT_EQ(bnas::nas::read_genotype_file(dir + "/" + name + ".txt"), g);
  }
  const Result l = run_cli("genotype list");
  EXPECT_EQ(l.rc, 0);
  EXPECT_NE(l.out.find("BNASv2_CLR_v2"), std::string::npos);
  const Result only = run_cli("genotype show DARTS_V1 --format json");
  EXPECT_EQ(json::parse(only.out), bnas::nas::genotype_to_json(bnas::nas::published_genotype("DARTS_V1")));
}

TEST(Cli, DrawWritesDotAndSvg) {
  const std::string dir = temp_dir("draw");
  const Result r = run_cli("genotype draw BNASv2_PC_cifar_v1 --out " + dir + " --no-png");
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* f : {"BNASv2_PC_cifar_v1_normal.dot", "BNASv2_PC_cifar_v1_normal.svg",
                        "BNASv2_PC_cifar_v1_reduce.dot", "BNASv2_PC_cifar_v1_reduce.svg"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
}

TEST(Cli, Info) {
  const Result r = run_cli("info");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("bnas_engine"), std::string::npos);
  EXPECT_NE(r.out.find("CUDA"), std::string::npos);
  // Without a usable GPU, info says why (a CPU-only build, no driver, an old driver, no device).
  if (!bnas::cuda_available()) {
    EXPECT_NE(r.out.find("GPUs: none usable: " + bnas::cuda_unavailable_reason()), std::string::npos) << r.out;
  }
}

TEST(Cli, DeviceFlag) {
  const std::string data = write_tiny_mnist("device", 20, 10);
  const Result bad = run_cli("train mnist --genotype DARTS_V2 --data " + data + " --device tpu:3");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("tpu"), std::string::npos) << bad.err;
  // A GPU that cannot be used: one line saying why, before anything is written.
  const std::string out = temp_dir("device_run") + "/run";
  const int usable = bnas::cuda_device_count();
  const std::string gpu = "cuda:" + std::to_string(usable);  // cuda:0 without a usable GPU
  const Result no_gpu =
      run_cli("train mnist --genotype DARTS_V2 --data " + data + " --out " + out + " --device " + gpu);
  EXPECT_EQ(no_gpu.rc, 1);
  EXPECT_EQ(lines(no_gpu.err), 1) << no_gpu.err;
  EXPECT_NE(no_gpu.err.find("--device " + gpu + ": "), std::string::npos) << no_gpu.err;
  if (usable == 0) {
    EXPECT_NE(no_gpu.err.find(bnas::cuda_unavailable_reason()), std::string::npos) << no_gpu.err;
  }
  EXPECT_FALSE(fs::exists(out + "/config.json"));
}

TEST(Cli, TrainTinyIdxThenEval) {
  const std::string data = write_tiny_mnist("train");
  const std::string out = temp_dir("train_run") + "/run";
  const Result r = run_cli("train mnist --genotype BNASv2_PC_cifar_v1 --data " + data + " --out " + out +
                           " --epochs 1 --device auto " + tiny_train_flags());
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string device = bnas::cuda_available() ? "cuda:0" : "cpu";  // what auto picks here
  if (device == "cpu") EXPECT_NE(r.err.find("running on the CPU"), std::string::npos) << r.err;  // says it fell back ...
  if (!bnas::cuda_available()) {  // ... and why
    EXPECT_NE(r.err.find("device auto: " + bnas::cuda_unavailable_reason() + "; running on the CPU"),
              std::string::npos)
        << r.err;
  }
  for (const char* f : {"config.json", "log.jsonl", "summary.json", "curves.svg", "genotype.json", "genotype.txt",
                        "cells/cell_normal.svg", "cells/cell_reduce.dot", "checkpoints/train.safetensors"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  const json conf = json::parse(slurp(out + "/config.json"));
  EXPECT_EQ(conf.at("dataset"), "mnist");
  EXPECT_EQ(conf.at("device"), device);
  EXPECT_TRUE(conf.contains("seed"));
  EXPECT_TRUE(conf.contains("engine_version"));
  EXPECT_EQ(conf.at("settings").at("epochs"), 1);
  EXPECT_EQ(conf.at("settings").at("channels"), 4);
  const auto log = bnas::report::read_jsonl(out + "/log.jsonl");
  int epochs = 0, steps = 0, starts = 0;
  for (const auto& j : log) {
    epochs += j.at("type") == "epoch";
    steps += j.at("type") == "step";
    if (j.at("type") == "start") {  // after the first step: memory requested and held
      ++starts;
      const bool cpu = j.at("device") == "cpu";
      EXPECT_EQ(j.at("device"), conf.at("device"));
      EXPECT_GT(j.at("memory_after_first_step").get<size_t>(), 0u) << j;
      if (cpu) {
        EXPECT_EQ(j.at("reserved_memory_after_first_step"), j.at("memory_after_first_step")) << j;
      }
      EXPECT_EQ(j.contains("conv_algorithms"), !cpu) << j;  // cuDNN's choices: GPU runs only
    }
    if (j.at("type") == "epoch" && conf.at("device") == "cpu") {
      EXPECT_EQ(j.at("peak_reserved_memory"), j.at("peak_memory")) << j;
    }
  }
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(epochs, 1);
  EXPECT_GE(steps, 1);
  const json summary = json::parse(slurp(out + "/summary.json"));
  const double acc = summary.at("final_test_acc").get<double>();
  EXPECT_GE(acc, 0);
  EXPECT_LE(acc, 1);
  EXPECT_TRUE(summary.contains("best_test_acc_selected_on_test"));
  EXPECT_EQ(json::parse(r.out).at("final_test_acc").get<double>(), acc);

  // The same run directory is not overwritten.
  const Result again = run_cli("train mnist --genotype DARTS_V2 --data " + data + " --out " + out);
  EXPECT_EQ(again.rc, 1);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;

  // eval on the checkpoint reproduces the final test accuracy.
  const Result e = run_cli("eval mnist --data " + data + " --checkpoint " + out + " --threads 2");
  ASSERT_EQ(e.rc, 0) << e.err;
  EXPECT_DOUBLE_EQ(json::parse(e.out).at("test_acc").get<double>(), acc);
  const Result wrong = run_cli("eval mnist --data " + data + " --checkpoint " + out + "/config.json");
  EXPECT_EQ(wrong.rc, 1);
  EXPECT_EQ(lines(wrong.err), 1) << wrong.err;
}

TEST(Cli, ConfigFileMirrorsFlags) {
  const std::string data = write_tiny_mnist("config_data", 20, 10);
  const std::string dir = temp_dir("config");
  std::ofstream(dir + "/c.json") << R"({"epochs": 1, "batch": 16, "channels": 4, "layers": 2, "en_layers": 1,
                                       "genotype": "DARTS_V2", "seed": 5, "lr": 0.05})";
  const Result r = run_cli("train mnist --data " + data + " --config " + dir + "/c.json --out " + dir +
                           "/run --lr 0.01 --threads 2");
  ASSERT_EQ(r.rc, 0) << r.err;
  const json conf = json::parse(slurp(dir + "/run/config.json"));
  EXPECT_EQ(conf.at("seed"), 5);
  EXPECT_DOUBLE_EQ(conf.at("settings").at("lr").get<double>(), 0.01);  // the flag wins
  EXPECT_EQ(conf.at("settings").at("batch"), 16);
  std::ofstream(dir + "/bad.json") << R"({"epochz": 1})";
  const Result b = run_cli("train mnist --data " + data + " --config " + dir + "/bad.json --genotype DARTS_V2");
  EXPECT_EQ(b.rc, 1);
  EXPECT_NE(b.err.find("epochz"), std::string::npos) << b.err;
  std::ofstream(dir + "/notjson.json") << "{epochs: 1";
  const Result n = run_cli("train mnist --data " + data + " --config " + dir + "/notjson.json --genotype DARTS_V2");
  EXPECT_EQ(n.rc, 1);
  EXPECT_EQ(lines(n.err), 1) << n.err;
}

TEST(Cli, SearchTinyIdx) {
  const std::string data = write_tiny_mnist("search", 40, 10);
  const std::string out = temp_dir("search_run") + "/run";
  const Result r = run_cli("search mnist --data " + data + " --out " + out +
                           " --preset bnas-v2-pc --epochs 2 --arch-start-epoch 1 --channels 4 --batch 10 "
                           "--log-interval 1 --threads 2");
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* f : {"config.json", "log.jsonl", "summary.json", "curves.svg", "genotype.json", "genotype.txt",
                        "genotypes/epoch_001.json", "genotypes/epoch_002.txt", "cells/cell_normal.svg",
                        "cells/cell_reduce.svg", "checkpoints/search.safetensors"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  const auto g = bnas::nas::read_genotype_file(out + "/genotype.json");
  EXPECT_EQ(bnas::nas::read_genotype_file(out + "/genotype.txt"), g);
  const json summary = json::parse(slurp(out + "/summary.json"));
  EXPECT_EQ(bnas::nas::genotype_from_json(summary.at("genotype")), g);
  int starts = 0;
  for (const auto& j : bnas::report::read_jsonl(out + "/log.jsonl")) {
    if (j.at("type") != "start") continue;
    ++starts;
    const bool cpu = j.at("device") == "cpu";
    if (cpu) {
      EXPECT_EQ(j.at("reserved_memory_after_first_step"), j.at("memory_after_first_step")) << j;
    }
    EXPECT_EQ(j.contains("conv_algorithms"), !cpu) << j;  // cuDNN's choices: GPU runs only
    EXPECT_EQ(summary.contains("conv_algorithms"), !cpu);
  }
  EXPECT_EQ(starts, 1);
  // The found genotype trains through --genotype <search run dir>.
  const std::string tout = temp_dir("search_train") + "/run";
  const Result t = run_cli("train mnist --data " + data + " --genotype " + out + " --out " + tout +
                           " --epochs 1 " + tiny_train_flags());
  EXPECT_EQ(t.rc, 0) << t.err;
}

// One "start" record per process that runs steps (a search or training fires on_start once, and
// the command runs it epoch by epoch): a training of two epochs writes one (a search of two:
// SearchTinyIdx), and resuming a run killed after its first epoch adds exactly one more (the
// runs of tests/cli/fixtures, on a dataset of their size).
TEST(Cli, OneStartRecordPerProcess) {
  const std::string data = write_tiny_mnist("starts", 40, 10);
  const std::string out = temp_dir("starts_train") + "/run";
  const Result t = run_cli("train mnist --genotype DARTS_V2 --data " + data + " --out " + out + " --epochs 2 " +
                           tiny_train_flags());
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_EQ(start_records(out + "/log.jsonl"), 1);  // a resumed run adds one: test_old_runs
}
