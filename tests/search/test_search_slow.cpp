// Longer search tests on synthetic data: a short search learns, is reproducible, and resumes
// bit-exactly from a checkpoint (on both the TinySupernet and a small real BroadSupernet).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <unistd.h>
#include <filesystem>

#include "nas/search.h"
#include "search_test_util.h"

namespace bnas::nas {
namespace {

// 6 epochs of batch 16 (tests shorten them), a progress point every step, seed 4.
SearchConfig short_config() {
  SearchConfig c = testing::small_search(6, 16, 6e-3);
  c.log_interval = 1;
  c.seed = 4;
  return c;
}

struct RunResult {
  std::vector<double> state, alpha;
  Genotype genotype;
  std::vector<EpochRecord> records;
};

// A search of `kind` on 8 x 8 synthetic images.
RunResult run_search(testing::Supernet kind, const SearchConfig& c, int stop_after = -1,
                     const std::string& resume_dir = "", int images = 128) {
  const auto set = testing::synthetic_set(images, 4, 8, 1);
  auto loaders = testing::make_loaders(set, c.batch, c.seed);
  const std::unique_ptr<SearchModel> model = testing::make_supernet(kind, c, 8);
  Search s(*model, loaders.data(), c);
  if (!resume_dir.empty()) s.resume(resume_dir);
  RunResult r;
  r.genotype = s.run(stop_after);
  r.state = testing::flat(model->state_dict());
  r.alpha = testing::flat(model->arch_parameters());
  r.records = s.records();
  return r;
}

TEST(SearchSlow, ShortSearchLearnsAndIsReproducible) {
  const SearchConfig c = short_config();
  int progress = 0;
  const auto set = testing::synthetic_set(64, 4, 8, 1);  // 2 steps of 16 per epoch
  auto loaders = testing::make_loaders(set, c.batch, c.seed);
  const std::unique_ptr<SearchModel> model = testing::make_supernet(testing::Supernet::kTiny, c, 8);
  Search s(*model, loaders.data(), c);
  SearchInfo info;
  s.on_start = [&](const SearchInfo& i) { info = i; };
  s.on_progress = [&](const ProgressRecord&) { ++progress; };
  const auto alpha0 = testing::flat(model->arch_parameters());
  const Genotype g = s.run();
  const auto& rec = s.records();
  ASSERT_EQ(rec.size(), 6u);
  for (const auto& r : rec)
    std::printf("epoch %d: train loss %.4f acc %.3f, valid loss %.4f acc %.3f, entropy %.4f, param-free %d/%d, "
                "%.0f img/s\n", r.epoch, r.train_loss, r.train_acc, r.valid_loss, r.valid_acc, r.alpha_entropy,
                r.param_free_normal, r.param_free_reduce, r.images_per_s);
  EXPECT_LT(rec.back().valid_loss, rec.front().valid_loss);
  EXPECT_LT(rec.back().valid_loss, 0.9 * std::log(4.0));
  double moved = 0;
  const auto alpha1 = testing::flat(model->arch_parameters());
  for (size_t i = 0; i < alpha0.size(); ++i) moved = std::max(moved, std::fabs(alpha1[i] - alpha0[i]));
  EXPECT_GT(moved, 1e-3);
  EXPECT_LT(rec.back().alpha_entropy, rec.front().alpha_entropy);
  EXPECT_EQ(g, rec.back().genotype);
  EXPECT_GT(info.weight_parameters, 0);
  EXPECT_EQ(info.arch_parameters, 2 * 14 * 8);
  EXPECT_GT(info.memory_after_first_step, 0u);
  EXPECT_EQ(info.reserved_memory_after_first_step, info.memory_after_first_step);  // the CPU: the same figure
  EXPECT_EQ(rec.back().peak_reserved_memory, rec.back().peak_memory);
  EXPECT_EQ(progress, 6 * (2 - 1));  // every step but the epoch's last (the epoch record covers it)
  const auto j = to_json(rec.back());
  EXPECT_TRUE(j.contains("genotype") && j.contains("valid_acc") && j.contains("alpha_softmax"));
  EXPECT_EQ(j["alpha_softmax"]["alpha_conv"].size(), 14u);

  // Same seed, same everything.
  const RunResult again = run_search(testing::Supernet::kTiny, c, -1, "", 64);
  EXPECT_EQ(again.genotype, g);
  EXPECT_EQ(again.alpha, alpha1);
}

// 64 images, batch 16: 2 steps per epoch on each half.
void expect_resume_exact(testing::Supernet kind, SearchConfig c, int stop_after) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("bnas_search_resume_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  const RunResult straight = run_search(kind, c, -1, "", 64);
  c.checkpoint_dir = dir;
  c.checkpoint_every = 1;
  const RunResult first = run_search(kind, c, stop_after, "", 64);
  ASSERT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / Search::kCheckpointFile));
  EXPECT_NE(first.alpha, straight.alpha);  // stopped early: not the end state yet
  const RunResult resumed = run_search(kind, c, -1, dir, 64);
  EXPECT_EQ(resumed.records.size(), static_cast<size_t>(c.epochs - stop_after));
  EXPECT_EQ(resumed.state, straight.state);  // bit-identical weights and BN buffers
  EXPECT_EQ(resumed.alpha, straight.alpha);  // ... alpha and beta
  EXPECT_EQ(resumed.genotype, straight.genotype);
  EXPECT_EQ(resumed.records.back().valid_loss, straight.records.back().valid_loss);
  std::filesystem::remove_all(dir);
}

// Resuming on both networks: the TinySupernet and a small real BroadSupernet.
class SearchResume : public ::testing::TestWithParam<testing::Supernet> {};
INSTANTIATE_TEST_SUITE_P(Supernets, SearchResume,
                         ::testing::Values(testing::Supernet::kTiny, testing::Supernet::kBroad),
                         testing::SupernetName());

TEST_P(SearchResume, BitIdenticalFirstOrder) {
  SearchConfig c = short_config();
  c.epochs = 3;
  expect_resume_exact(GetParam(), c, 1);
}

TEST_P(SearchResume, BitIdenticalUnrolledPcEnClr) {
  SearchConfig c = short_config();
  c.epochs = 3;
  c.unrolled = true;
  c.pc_k = 2;
  c.edge_norm = true;
  c.clr.enabled = true;
  c.arch_start_epoch = 1;
  c.warmup_epochs = 1;
  c.arch_grad_clip = 5;
  expect_resume_exact(GetParam(), c, 1);
}

// Random channels (a small BroadSupernet, K = 2): the draw counter goes into the checkpoint
// (channel_draws), so a resumed search ends bit-identical to an uninterrupted one; a checkpoint
// without it (written while the channels were drawn on the host) resumes with the counter at 0.
TEST(SearchSlow, ResumeContinuesTheRandomChannelDraws) {
  SearchConfig c = short_config();
  c.epochs = 2;
  c.pc_k = 2;
  c.random_channels = true;
  expect_resume_exact(testing::Supernet::kBroad, c, 1);

  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("bnas_search_draws_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  c.checkpoint_dir = dir;
  c.checkpoint_every = 1;
  const auto set = testing::synthetic_set(64, 4, 8, 1);
  auto search = [&](SearchModel& model, const testing::SearchLoaders& loaders, bool resume) {
    Search s(model, loaders.data(), c);
    if (resume) s.resume(dir);
    else s.run(1);
  };
  const auto loaders = testing::make_loaders(set, c.batch, c.seed);
  const std::unique_ptr<SearchModel> first = testing::make_supernet(testing::Supernet::kBroad, c, 8);
  search(*first, loaders, false);
  const std::string path = (std::filesystem::path(dir) / Search::kCheckpointFile).string();
  SafetensorsFile f = load_safetensors(path);
  EXPECT_GT(first->channel_draws(), 0u);
  EXPECT_EQ(f.metadata.at("channel_draws"), std::to_string(first->channel_draws()));
  f.metadata.erase("channel_draws");
  save_safetensors(path, NamedTensors(f.tensors.begin(), f.tensors.end()), f.metadata);
  const std::unique_ptr<SearchModel> resumed = testing::make_supernet(testing::Supernet::kBroad, c, 8);
  resumed->set_channel_draws(99);
  search(*resumed, loaders, true);
  EXPECT_EQ(resumed->channel_draws(), 0u);
  std::filesystem::remove_all(dir);
}

TEST(SearchSlow, ResumeRefusesADifferentConfig) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("bnas_search_refuse_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  SearchConfig c = short_config();
  c.epochs = 2;
  c.checkpoint_dir = dir;
  run_search(testing::Supernet::kTiny, c, 1, "", 32);
  c.lr = 0.1;
  EXPECT_THROW(run_search(testing::Supernet::kTiny, c, -1, dir, 32), Error);
  std::filesystem::remove_all(dir);
}

// A tiny real BroadSupernet (C = 4, K = 2 + EN, 16x16 synthetic images) through the loop.
TEST(SearchSlow, TinyBroadSupernetSearch) {
  SearchConfig c = short_config();
  c.channels = 4;
  c.pc_k = 2;
  c.edge_norm = true;
  c.epochs = 2;
  c.batch = 16;
  c.clr.enabled = true;
  const auto set = testing::synthetic_set(64, 4, 16, 1);
  auto loaders = testing::make_loaders(set, c.batch, c.seed);
  BroadSupernet model(supernet_config(c, 4, 3, 16));
  Search s(model, loaders.data(), c);
  const auto a0 = testing::flat(model.arch_parameters());
  const Genotype g = s.run();
  for (const auto& r : s.records())
    std::printf("BroadSupernet epoch %d: train loss %.4f, valid loss %.4f acc %.3f, %.1f img/s\n", r.epoch,
                r.train_loss, r.valid_loss, r.valid_acc, r.images_per_s);
  EXPECT_NO_THROW(validate_genotype(g));
  EXPECT_TRUE(std::isfinite(s.records().back().valid_loss));
  EXPECT_NE(testing::flat(model.arch_parameters()), a0);
  EXPECT_EQ(s.info().arch_parameters, 2 * (14 * 8 + 14));
}

}  // namespace
}  // namespace bnas::nas
