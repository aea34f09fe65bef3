// Run directories written before the settings tables (tests/cli/fixtures, by 7d79521: a search
// and a training of 2 epochs killed after the first epoch's checkpoint) still resume, and read
// exactly as today's: the resumed run ends bit-identical to the same fixture resumed with the
// config.json that today's binary writes for the same flags, and the resumed process adds one
// start record to log.jsonl. (The first epoch is the old binary's; a run today does not
// reproduce it bit for bit, since the fused convolution branches sum in another order.)
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "cli_test_util.h"
#include "engine/checkpoint.h"

using namespace bnas::clitest;

namespace {

// The fixture runs read the tiny IDX dataset write_tiny_mnist(…, 40, 10) writes; the flags are
// the ones they were started with.
const char* const kSearchFlags =
    "search mnist --device cpu --threads 1 --preset bnas-v2-pc --channels 4 --epochs 2 --batch 10 "
    "--arch-start-epoch 0 --log-interval 1 --seed 3";
const char* const kTrainFlags =
    "train mnist --device cpu --threads 1 --genotype BNASv2_CLR_v1 --channels 4 --layers 2 --en-layers 1 --epochs 2 "
    "--batch 10 --log-interval 1 --seed 3";

void expect_same_checkpoints(const std::string& a, const std::string& b) {
  const bnas::SafetensorsFile fa = bnas::load_safetensors(a), fb = bnas::load_safetensors(b);
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  for (const auto& [name, t] : fa.tensors) {
    ASSERT_TRUE(fb.tensors.count(name)) << name;
    const bnas::Tensor& u = fb.tensors.at(name);
    ASSERT_EQ(t.nbytes(), u.nbytes()) << name;
    EXPECT_EQ(std::memcmp(t.raw(), u.raw(), t.nbytes()), 0) << name;
  }
  EXPECT_EQ(fa.metadata.at("epoch"), "2");
  EXPECT_EQ(fa.metadata.at("global_step"), fb.metadata.at("global_step"));
}

void resume_fixture(const std::string& fixture, const std::string& flags, const std::string& command,
                    const std::string& file) {
  const std::string data = write_tiny_mnist("old_runs_" + fixture, 40, 10);
  const std::string root = temp_dir("old_runs_" + fixture + "_runs");
  const std::string resumed = root + "/resumed", today = root + "/today";
  fs::copy(fs::path(BNAS_SOURCE_DIR) / "tests/cli/fixtures" / fixture, resumed, fs::copy_options::recursive);
  fs::copy(fs::path(BNAS_SOURCE_DIR) / "tests/cli/fixtures" / fixture, today, fs::copy_options::recursive);
  ASSERT_EQ(start_records(resumed + "/log.jsonl"), 1);  // the killed process's
  const Result r = run_cli(command + " --resume " + resumed + " --data " + data);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(start_records(resumed + "/log.jsonl"), 2);
  // The same first epoch, resumed under today's config.json for the same flags.
  const Result u = run_cli(flags + " --data " + data + " --out " + root + "/fresh");
  ASSERT_EQ(u.rc, 0) << u.err;
  fs::copy_file(root + "/fresh/config.json", today + "/config.json", fs::copy_options::overwrite_existing);
  const Result t = run_cli(command + " --resume " + today + " --data " + data);
  ASSERT_EQ(t.rc, 0) << t.err;
  expect_same_checkpoints(resumed + "/checkpoints/" + file, today + "/checkpoints/" + file);
  EXPECT_EQ(slurp(resumed + "/genotype.json"), slurp(today + "/genotype.json"));
  fs::remove_all(root);
  fs::remove_all(data);
}

}  // namespace

TEST(OldRuns, ASearchWrittenBeforeTheSettingsTablesResumes) {
  resume_fixture("search-run-7d79521", kSearchFlags, "search", "search.safetensors");
}

TEST(OldRuns, ATrainingWrittenBeforeTheSettingsTablesResumes) {
  resume_fixture("train-run-7d79521", kTrainFlags, "train", "train.safetensors");
}
