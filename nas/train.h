// Training an evaluation network from scratch (docs/METHOD.md §7).
//
// Per epoch: the weight learning rate from the cosine schedule (optional linear warm-up), the
// drop-path probability drop_path * epoch / epochs, then one pass over the training loader:
// SGD (momentum, weight decay added to the gradient) on cross-entropy with optional label
// smoothing, gradient-norm clipping. Augmentation (crop, flip, cutout) belongs to the loader.
// After the pass, the whole test split in evaluation mode (BN running statistics). Running sums
// stay on the device and are read at log intervals and epoch ends only.
//
// Reported accuracy: the FINAL test accuracy (after the last epoch) is the result. The best
// accuracy over epochs is kept too, but it selects on the test set, so it is reported as
// best_test_acc_selected_on_test and must not be quoted as the result.
//
// Checkpoints (train.safetensors in checkpoint_dir, every checkpoint_every epochs, written
// atomically): the model's state_dict ("model.<name>"), the optimizer state ("opt.<name>"), and
// as metadata the next epoch, the global step, the drop-path generator offset, the training
// loader's (epoch, position), the elapsed time, the config and the epoch records so far.
// resume(dir) restores all of it; on the CPU a resumed run ends bit-identical to an
// uninterrupted one.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/loader.h"
#include "engine/optim.h"
#include "nas/epoch_loop.h"
#include "nas/eval_network.h"
#include "nas/run_settings.h"
#include "nas/weight_step.h"

namespace bnas::nas {

// The training's settings: the shared ones (RunSettings) and its regularisation. A default
// TrainConfig is the CIFAR-10 recipe.
struct TrainConfig : RunSettings {
  double drop_path = 0.3;      // maximum drop-path probability (ramped over the epochs)
  double label_smoothing = 0;  // 0.1 for ImageNet
  int cutout = 16;             // cutout length for the training loader (0: off)

  TrainConfig();
  // "cifar10" (C 48, 600 epochs, cutout 16, drop-path 0.3), "cifar100" (same), "imagenet"
  // (C 44, 250 epochs, batch 256, lr 0.1, wd 3e-5, label smoothing 0.1, no cutout, no drop-path),
  // "mnist" / "fashion-mnist" (the transfer setting: C 36, 600 epochs of the CIFAR recipe,
  // no cutout; the inputs are 1 x 28 x 28). Throws listing the names otherwise.
  static TrainConfig defaults_for(const std::string& dataset);
  // Every setting, one row each (settings.h).
  static const SettingTable<TrainConfig>& table();
  // Throws a sentence naming the first bad setting.
  void validate() const;
};

nlohmann::json to_json(const TrainConfig& c);
// The keys of j set on `base`. Unknown keys, wrong types and values out of bounds are errors
// naming the setting.
TrainConfig train_config_from_json(const nlohmann::json& j, TrainConfig base = TrainConfig{});

struct TrainData {
  data::Loader* train = nullptr;
  data::Loader* test = nullptr;  // walked once per epoch in evaluation mode; may be null
};

// A progress point within an epoch (every log_interval steps).
using TrainProgress = StepProgress;

struct TrainEpochRecord : EpochFigures {
  double test_loss = -1, test_acc = -1;  // -1: no test loader
  double best_test_acc = -1;             // selected on the test set: secondary figure only
  int best_epoch = -1;
  double drop_prob = 0;
};
nlohmann::json to_json(const TrainEpochRecord& r);
TrainEpochRecord train_record_from_json(const nlohmann::json& j);

// What a training run says once, after its first step.
struct TrainInfo {
  int64_t parameters = 0;
  int64_t steps_per_epoch = 0;
  size_t memory_after_first_step = 0;           // peak bytes on the network's device after the first step
  size_t reserved_memory_after_first_step = 0;  // ... and what its allocator held at most (reserved_peak)
  std::string device;
};
nlohmann::json to_json(const TrainInfo& i);

struct TrainResult {
  double final_test_acc = -1, final_test_loss = -1;
  double best_test_acc_selected_on_test = -1;
  int best_epoch = -1;
  int epochs_done = 0;
  double elapsed_s = 0;
};
nlohmann::json to_json(const TrainResult& r);

class Trainer {
 public:
  // The loaders must yield batches on the network's device.
  Trainer(EvalNetwork& net, TrainData data, const TrainConfig& config);

  std::function<void(const TrainInfo&)> on_start;         // once, after the first step this object runs (also after a resume)
  std::function<void(const TrainProgress&)> on_progress;  // every log_interval steps
  std::function<void(const TrainEpochRecord&)> on_epoch;   // after each epoch (before its checkpoint)

  // Runs epochs until `until_epoch` (exclusive; -1: all) and returns the result so far.
  TrainResult run(int until_epoch = -1);
  // One training step on a batch (learning rate and drop-path set by begin_epoch).
  void step(const data::Batch& batch);
  double begin_epoch(int epoch);
  // Mean loss and accuracy of the network (evaluation mode) over one pass of `loader`.
  std::pair<double, double> evaluate(data::Loader& loader);

  void save_checkpoint(const std::string& dir) const;
  // Restores a checkpoint written by save_checkpoint with the same config (seed, batch, epochs,
  // network); run() then continues with the next epoch.
  void resume(const std::string& dir);

  int epoch() const { return loop_.epoch(); }
  int64_t global_step() const { return loop_.global_step(); }
  const std::vector<TrainEpochRecord>& records() const { return records_; }
  TrainResult result() const;
  SGD& optimizer() { return wstep_.optimizer(); }
  int64_t parameter_count() const;

  static constexpr const char* kCheckpointFile = "train.safetensors";

 private:
  // Everything a checkpoint holds as tensors: "model.", "opt.".
  NamedTensors checkpoint_tensors() const;

  EvalNetwork& net_;
  TrainData data_;
  TrainConfig cfg_;
  std::vector<Tensor> weights_;
  WeightStep wstep_;
  EpochLoop loop_;
  std::vector<TrainEpochRecord> records_;
  bool started_ = false;  // on_start has fired: once per object, after its first step
};

}  // namespace bnas::nas
