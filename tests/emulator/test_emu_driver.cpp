// Machines where no GPU is usable, emulated: the CLI's info, --device auto and --device cuda:0
// say why (no driver, a driver older than the CUDA 13 runtime, no device), as engine/device.cpp
// tells the three apart. Each case runs bnas_engine with the emulator's environment for it
// (BNAS_EMU_DRIVER, BNAS_EMU_DEVICES), so none of them needs such a machine.
#include <gtest/gtest.h>

#include "tests/cli/cli_test_util.h"

using namespace bnas::clitest;

namespace {

struct Machine {
  const char* env;
  const char* reason;
};

class NoUsableGpu : public ::testing::TestWithParam<Machine> {};

TEST_P(NoUsableGpu, EveryCommandSaysWhy) {
  const Machine m = GetParam();
  const Result info = run_cli("info", m.env);
  EXPECT_EQ(info.rc, 0) << info.err;
  EXPECT_NE(info.out.find(std::string("GPUs: none usable: ") + m.reason), std::string::npos) << info.out;
  const std::string data = write_tiny_mnist("no_gpu", 20, 10);
  const std::string out = temp_dir("no_gpu_run");
  const Result cuda = run_cli("train mnist --genotype DARTS_V2 --device cuda:0 --data " + data + " --out " + out + "/a",
                              m.env);
  EXPECT_EQ(cuda.rc, 1);
  EXPECT_NE(cuda.err.find(m.reason), std::string::npos) << cuda.err;
  EXPECT_FALSE(fs::exists(out + "/a/config.json"));  // nothing written
  const Result automatic = run_cli("train mnist --genotype DARTS_V2 --device auto --epochs 1 --data " + data +
                                       " --out " + out + "/b " + tiny_train_flags(),
                                   m.env);
  EXPECT_EQ(automatic.rc, 0) << automatic.err;
  EXPECT_NE(automatic.err.find(std::string("device auto: ") + m.reason), std::string::npos) << automatic.err;
}

INSTANTIATE_TEST_SUITE_P(
    Emulated, NoUsableGpu,
    ::testing::Values(Machine{"BNAS_EMU_DRIVER=none", "no GPU: no NVIDIA driver is installed"},
                      Machine{"BNAS_EMU_DRIVER=12040",
                              "the NVIDIA driver supports CUDA 12.4 but this build needs CUDA 13.0"},
                      Machine{"BNAS_EMU_DEVICES=0", "no GPU: the driver sees no device"}));

}  // namespace
