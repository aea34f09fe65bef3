// The epoch loop that the search (nas/search.h) and the training of an evaluation network
// (nas/train.h) share, and the progress and per-epoch figures both report: one place for the
// epoch schedule, progress points, timing (elapsed time across resumes, ETA) and checkpoint
// timing, while each loop supplies its step, its evaluation and its record (through hooks).
//
// The training loss and accuracy of the epoch are summed on the device at each step and read
// only at progress points and epoch ends (docs/DESIGN.md rule 2).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/device.h"
#include "engine/tensor.h"

namespace bnas::nas {

// A progress point within an epoch (every log_interval steps).
struct StepProgress {
  int epoch = 0;
  int64_t step_in_epoch = 0;  // steps done in this epoch
  int64_t steps_per_epoch = 0;
  int64_t global_step = 0;
  double train_loss = 0, train_acc = 0;  // running over this epoch so far
  double lr = 0;
  double elapsed_s = 0;
};

// What every epoch record holds (EpochRecord and TrainEpochRecord add their own figures).
struct EpochFigures {
  int epoch = 0;  // 0-based
  int epochs = 0;
  double train_loss = 0, train_acc = 0;  // over the epoch's steps
  double lr = 0;
  double images_per_s = 0;
  size_t peak_memory = 0;  // peak bytes on the device, read after the epoch's evaluation
  size_t peak_reserved_memory = 0;  // the allocator's high-water mark then (memory_stats().reserved_peak)
  double elapsed_s = 0, eta_s = 0;
};
nlohmann::json to_json(const EpochFigures& f);
EpochFigures epoch_figures_from_json(const nlohmann::json& j);

struct EpochLoopSettings {
  int epochs = 1;
  int log_interval = 0;     // steps between progress points (0: none)
  int checkpoint_every = 0; // epochs (0: never)
  std::string checkpoint_dir;  // empty: no checkpoints
};

class EpochLoop {
 public:
  // weights: what the steps train (at least one); the sums take their dtype and device.
  EpochLoop(const EpochLoopSettings& settings, const std::vector<Tensor>& weights);

  struct Hooks {
    std::function<double(int epoch)> begin_epoch;  // sets the epoch's rates; returns the weight lr
    std::function<void(int epoch)> step;           // one step (draws its batches, calls add_to_sums and count_step)
    std::function<void(const StepProgress&)> progress;  // at progress points; may be empty
    std::function<void(int epoch)> evaluate;       // after the epoch's steps (validation / test)
    // The epoch's record from the shared figures: keep it and report it.
    std::function<void(const EpochFigures&)> record;
    std::function<void(const std::string& dir)> save_checkpoint;  // when one is due
  };
  // Runs epochs from epoch() until `until_epoch` (exclusive; -1: all), steps_per_epoch steps each.
  void run(int until_epoch, int64_t steps_per_epoch, const Hooks& hooks);

  // Adds one step's batch-mean loss (1 element) and the hits of its logits (N x classes) on
  // labels (N) to the epoch's sums: device work only (the sums live at fixed addresses), so a
  // step captured into a CUDA graph holds it.
  void add_to_sums(const Tensor& loss, const Tensor& logits, const Tensor& labels);
  // Counts a step of `images` images on the host (after its add_to_sums ran, or was replayed).
  void count_step(int64_t images);

  int epoch() const { return epoch_; }  // next epoch to run
  int64_t global_step() const { return global_step_; }
  // Seconds spent in earlier run() calls (and earlier sessions, when resumed); while a
  // checkpoint is saved, up to that checkpoint.
  double elapsed_s() const { return elapsed_before_; }
  // A resumed run's position (from its checkpoint).
  void restore(int epoch, int64_t global_step, double elapsed_s);

 private:
  double mean_loss() const;  // device reads: 0 before the epoch's first step
  double accuracy() const;

  EpochLoopSettings settings_;
  Device device_;
  Tensor loss_sum_, correct_sum_;  // device running sums over the epoch
  int64_t seen_ = 0;               // images in the running sums (host count)
  int epoch_ = 0;
  int64_t global_step_ = 0;
  double elapsed_before_ = 0;
};

}  // namespace bnas::nas
