// nas/train: training an evaluation network from scratch, its settings, and exact resume.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/check.h"
#include "nas/eval_network.h"
#include "nas/published_genotypes.h"
#include "nas/train.h"

namespace fs = std::filesystem;
using namespace bnas;
using namespace bnas::nas;

namespace {

data::ImageSet tiny_set(int n, uint32_t seed) {
  data::ImageSet s;
  s.n = n, s.c = 1, s.h = 8, s.w = 8, s.num_classes = 3;
  uint32_t st = seed;
  for (int i = 0; i < n; ++i) {
    s.labels.push_back(i % 3);
    for (int p = 0; p < 64; ++p) {
      st = st * 1664525u + 1013904223u;
      s.pixels.push_back(static_cast<uint8_t>(((st >> 24) & 0x3f) + (p / 8 == 2 * (i % 3) ? 150 : 0)));
    }
  }
  return s;
}

// A whole training setup: data, network, trainer.
struct TrainSetup {
  std::shared_ptr<const data::DeviceImageSet> train_set, test_set;
  std::unique_ptr<data::DeviceLoader> train, test;
  std::unique_ptr<EvalNetwork> net;
  std::unique_ptr<Trainer> trainer;

  explicit TrainSetup(const TrainConfig& cfg) {
    train_set = data::upload(tiny_set(24, 1), Device::cpu());
    test_set = data::upload(tiny_set(12, 2), Device::cpu());
    data::CropAugment aug;
    aug.pad = 1, aug.random_crop = true, aug.flip = true, aug.cutout = 2;
    aug.mean = {0.3f}, aug.std = {0.3f};
    data::LoaderOptions lo;
    lo.batch_size = cfg.batch;
    lo.seed = cfg.seed;
    std::vector<int32_t> ti(24), vi(12);
    for (int i = 0; i < 24; ++i) ti[i] = i;
    for (int i = 0; i < 12; ++i) vi[i] = i;
    train = std::make_unique<data::DeviceLoader>(train_set, ti, aug, lo);
    data::CropAugment plain;
    plain.mean = {0.3f}, plain.std = {0.3f};
    data::LoaderOptions lt = lo;
    lt.shuffle = false;
    test = std::make_unique<data::DeviceLoader>(test_set, vi, plain, lt);
    EvalNetworkConfig ec;
    ec.C = cfg.channels, ec.layers = cfg.layers, ec.en_layers = cfg.en_layers;
    ec.classes = 3, ec.input_channels = 1, ec.seed = cfg.seed;
    net = std::make_unique<EvalNetwork>(published_genotype("BNASv2_PC_cifar_v1"), ec);
    trainer = std::make_unique<Trainer>(*net, TrainData{train.get(), test.get()}, cfg);
  }
};

TrainConfig tiny_config() {
  TrainConfig c = TrainConfig::defaults_for("mnist");
  c.channels = 4, c.layers = 2, c.en_layers = 1;
  c.epochs = 3, c.batch = 8, c.seed = 7, c.log_interval = 1;
  c.drop_path = 0.3, c.label_smoothing = 0.1, c.warmup_epochs = 1;
  return c;
}

std::vector<std::vector<double>> values(const EvalNetwork& net) {
  std::vector<std::vector<double>> v;
  for (const auto& [n, t] : net.state_dict()) v.push_back(t.to_doubles());
  return v;
}

// tiny_config() checkpointing into a fresh temporary folder `name`, after one epoch has run there.
TrainConfig checkpointed_first_epoch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  TrainConfig cb = tiny_config();
  cb.checkpoint_dir = dir.string();
  TrainSetup b(cb);
  b.trainer->run(1);
  EXPECT_EQ(b.trainer->epoch(), 1);
  return cb;
}

}  // namespace

TEST(TrainConfig, DefaultsFollowTheSpec) {
  const TrainConfig c = TrainConfig::defaults_for("cifar10");
  EXPECT_EQ(c.channels, 48);
  EXPECT_EQ(c.epochs, 600);
  EXPECT_EQ(c.batch, 128);
  EXPECT_DOUBLE_EQ(c.lr, 0.025);
  EXPECT_DOUBLE_EQ(c.weight_decay, 3e-4);
  EXPECT_EQ(c.cutout, 16);
  EXPECT_DOUBLE_EQ(c.drop_path, 0.3);
  EXPECT_DOUBLE_EQ(c.grad_clip, 5);
  const TrainConfig i = TrainConfig::defaults_for("imagenet");
  EXPECT_EQ(i.channels, 44);
  EXPECT_EQ(i.epochs, 250);
  EXPECT_DOUBLE_EQ(i.label_smoothing, 0.1);
  EXPECT_DOUBLE_EQ(i.weight_decay, 3e-5);
  EXPECT_EQ(TrainConfig::defaults_for("fashion-mnist").cutout, 0);
  EXPECT_THROW(TrainConfig::defaults_for("svhn"), Error);
}

TEST(TrainConfig, BadSettings) {
  const TrainConfig c = tiny_config();
  TrainConfig bad = c;
  bad.layers = 3;
  EXPECT_THROW(bad.validate(), Error);
  bad = c;
  bad.drop_path = 1.0;
  EXPECT_THROW(bad.validate(), Error);
}

TEST(Trainer, RecordsScheduleDropPathAndAccuracy) {
  TrainSetup s(tiny_config());
  int progress = 0;
  s.trainer->on_progress = [&](const TrainProgress& p) {
    ++progress;
    EXPECT_GT(p.train_loss, 0);
  };
  const TrainResult r = s.trainer->run();
  EXPECT_EQ(progress, 3 * 2);  // 3 steps per epoch, the last step of each epoch is not a progress point
  const auto& rec = s.trainer->records();
  ASSERT_EQ(rec.size(), 3u);
  EXPECT_DOUBLE_EQ(rec[0].lr, 0.025);  // warm-up epoch 0 of 1: lr * 1 / 1
  EXPECT_DOUBLE_EQ(rec[0].drop_prob, 0.0);
  EXPECT_DOUBLE_EQ(rec[1].drop_prob, 0.3 * 1 / 3);
  EXPECT_DOUBLE_EQ(rec[2].drop_prob, 0.3 * 2 / 3);
  for (const auto& e : rec) {
    EXPECT_GE(e.test_acc, 0);
    EXPECT_LE(e.test_acc, 1);
    EXPECT_GE(e.best_test_acc, e.test_acc);
  }
  EXPECT_DOUBLE_EQ(r.final_test_acc, rec.back().test_acc);
  EXPECT_EQ(r.epochs_done, 3);
  const nlohmann::json j = to_json(rec.back());
  EXPECT_TRUE(j.contains("best_test_acc_selected_on_test"));
  EXPECT_EQ(to_json(train_record_from_json(j)), j);
  // Memory: requested and held by the allocator; on the CPU the same figure.
  EXPECT_GT(rec.back().peak_memory, 0u);
  EXPECT_EQ(rec.back().peak_reserved_memory, rec.back().peak_memory);
  // A record of an older log (no peak_reserved_memory) still reads.
  nlohmann::json old = j;
  old.erase("peak_reserved_memory");
  EXPECT_EQ(train_record_from_json(old).peak_reserved_memory, 0u);
  EXPECT_EQ(train_record_from_json(old).peak_memory, rec.back().peak_memory);
}

TEST(Trainer, TheDeterministicSettingReachesTheConvolutions) {
  // deterministic restricts cuDNN to deterministic algorithms process-wide (engine/device.h);
  // the trainer (like the search) applies its setting when it is made.
  TrainConfig cfg = tiny_config();
  cfg.deterministic = true;
  { TrainSetup s(cfg); EXPECT_TRUE(bnas::deterministic()); }
  cfg.deterministic = false;
  { TrainSetup s(cfg); EXPECT_FALSE(bnas::deterministic()); }
}

TEST(Trainer, OnStartAfterTheFirstStep) {
  TrainConfig cfg = tiny_config();
  cfg.epochs = 2;  // run() epoch by epoch, as the CLI does: on_start fires once
  TrainSetup s(cfg);
  int starts = 0;
  TrainInfo seen;
  s.trainer->on_start = [&](const TrainInfo& i) {
    ++starts;
    seen = i;
    EXPECT_EQ(s.trainer->global_step(), 1);  // after the first step, before the second
  };
  s.trainer->run(1);
  s.trainer->run(2);
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(seen.parameters, s.trainer->parameter_count());
  EXPECT_EQ(seen.steps_per_epoch, 3);
  EXPECT_EQ(seen.device, "cpu");
  EXPECT_GT(seen.memory_after_first_step, 0u);
  EXPECT_EQ(seen.reserved_memory_after_first_step, seen.memory_after_first_step);  // the CPU
  const nlohmann::json j = to_json(seen);
  for (const char* k : {"parameters", "steps_per_epoch", "memory_after_first_step", "reserved_memory_after_first_step",
                        "device"})
    EXPECT_TRUE(j.contains(k)) << k;
}

TEST(Trainer, ResumeIsBitIdenticalOnTheCpu) {
  // Uninterrupted.
  TrainSetup a(tiny_config());
  a.trainer->run();
  // Interrupted after one epoch, then a fresh process-like setup resumes from the checkpoint.
  const TrainConfig cb = checkpointed_first_epoch("bnas_train_resume_test");
  const fs::path dir = cb.checkpoint_dir;
  TrainSetup c(cb);
  c.trainer->resume(dir.string());
  EXPECT_EQ(c.trainer->epoch(), 1);
  c.trainer->run();
  EXPECT_EQ(values(*a.net), values(*c.net));
  ASSERT_EQ(a.trainer->records().size(), c.trainer->records().size());
  for (size_t i = 0; i < a.trainer->records().size(); ++i) {
    EXPECT_EQ(a.trainer->records()[i].train_loss, c.trainer->records()[i].train_loss) << i;
    EXPECT_EQ(a.trainer->records()[i].test_acc, c.trainer->records()[i].test_acc) << i;
  }
  EXPECT_EQ(a.trainer->global_step(), c.trainer->global_step());
}

TEST(Trainer, ResumeRefusesADifferentConfig) {
  const TrainConfig cb = checkpointed_first_epoch("bnas_train_resume_refuse");
  const fs::path dir = cb.checkpoint_dir;
  TrainConfig other = cb;
  other.lr = 0.05;
  TrainSetup c(other);
  try {
    c.trainer->resume(dir.string());
    FAIL() << "resumed with another lr";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lr"), std::string::npos) << e.what();
  }
  EXPECT_THROW(c.trainer->resume((dir / "missing").string()), Error);
}
