// The shared epoch loop of the search and the training (see epoch_loop.h).
#include "nas/epoch_loop.h"

#include <algorithm>
#include <chrono>

#include "engine/check.h"
#include "engine/memory.h"
#include "engine/ops.h"

namespace bnas::nas {

nlohmann::json to_json(const EpochFigures& f) {
  return {{"epoch", f.epoch},
          {"epochs", f.epochs},
          {"train_loss", f.train_loss},
          {"train_acc", f.train_acc},
          {"lr", f.lr},
          {"images_per_s", f.images_per_s},
          {"peak_memory", f.peak_memory},
          {"peak_reserved_memory", f.peak_reserved_memory},
          {"elapsed_s", f.elapsed_s},
          {"eta_s", f.eta_s}};
}

EpochFigures epoch_figures_from_json(const nlohmann::json& j) {
  EpochFigures f;
  f.epoch = j.at("epoch").get<int>();
  f.epochs = j.at("epochs").get<int>();
  f.train_loss = j.at("train_loss").get<double>();
  f.train_acc = j.at("train_acc").get<double>();
  f.lr = j.at("lr").get<double>();
  f.images_per_s = j.at("images_per_s").get<double>();
  f.peak_memory = j.at("peak_memory").get<size_t>();
  f.peak_reserved_memory = j.value("peak_reserved_memory", size_t{0});  // absent in older run logs
  f.elapsed_s = j.at("elapsed_s").get<double>();
  f.eta_s = j.at("eta_s").get<double>();
  return f;
}

EpochLoop::EpochLoop(const EpochLoopSettings& settings, const std::vector<Tensor>& weights)
    : settings_(settings) {
  BNAS_CHECK(!weights.empty(), "the model has no weights to train");
  device_ = weights.front().device();
  loss_sum_ = Tensor::zeros(Shape{1}, weights.front().dtype(), device_);
  correct_sum_ = Tensor::zeros(Shape{1}, DType::F32, device_);
}

void EpochLoop::add_to_sums(const Tensor& loss, const Tensor& logits, const Tensor& labels) {
  ops::add_(loss_sum_, loss.detach(), static_cast<double>(labels.numel()));
  ops::add_(correct_sum_, ops::count_correct(logits.detach(), labels));
}

void EpochLoop::count_step(int64_t images) {
  seen_ += images;
  ++global_step_;
}

double EpochLoop::mean_loss() const { return seen_ ? loss_sum_.item() / static_cast<double>(seen_) : 0.0; }

double EpochLoop::accuracy() const { return seen_ ? correct_sum_.item() / static_cast<double>(seen_) : 0.0; }

void EpochLoop::restore(int epoch, int64_t global_step, double elapsed_s) {
  epoch_ = epoch;
  global_step_ = global_step;
  elapsed_before_ = elapsed_s;
}

void EpochLoop::run(int until_epoch, int64_t steps, const Hooks& h) {
  using clock = std::chrono::steady_clock;
  const int epochs = settings_.epochs;
  const int until = until_epoch < 0 ? epochs : std::min(until_epoch, epochs);
  const auto t_run = clock::now();
  const int first_epoch = epoch_;
  auto seconds_since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
  while (epoch_ < until) {
    const int e = epoch_;
    const double lr = h.begin_epoch(e);
    loss_sum_.zero_();
    correct_sum_.zero_();
    seen_ = 0;
    const auto t_epoch = clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      h.step(e);
      const bool log = settings_.log_interval > 0 && (s + 1) % settings_.log_interval == 0 && s + 1 < steps;
      if (log && h.progress) {
        StepProgress p;
        p.epoch = e;
        p.step_in_epoch = s + 1;
        p.steps_per_epoch = steps;
        p.global_step = global_step_;
        p.train_loss = mean_loss();
        p.train_acc = accuracy();
        p.lr = lr;
        p.elapsed_s = elapsed_before_ + seconds_since(t_run);
        h.progress(p);
      }
    }
    synchronize(device_);
    const double train_seconds = seconds_since(t_epoch);
    EpochFigures f;
    f.epoch = e;
    f.epochs = epochs;
    f.lr = lr;
    f.train_loss = mean_loss();
    f.train_acc = accuracy();
    f.images_per_s = train_seconds > 0 ? static_cast<double>(seen_) / train_seconds : 0.0;
    h.evaluate(e);
    const MemoryStats m = memory_stats(device_);
    f.peak_memory = m.peak;
    f.peak_reserved_memory = m.reserved_peak;
    epoch_ = e + 1;
    const double run_seconds = seconds_since(t_run);
    f.elapsed_s = elapsed_before_ + run_seconds;
    f.eta_s = run_seconds / (epoch_ - first_epoch) * (epochs - epoch_);
    h.record(f);
    if (!settings_.checkpoint_dir.empty() && settings_.checkpoint_every > 0 &&
        (epoch_ % settings_.checkpoint_every == 0 || epoch_ == epochs)) {
      elapsed_before_ += run_seconds;  // saved with the checkpoint
      h.save_checkpoint(settings_.checkpoint_dir);
      elapsed_before_ -= run_seconds;
    }
  }
  elapsed_before_ += seconds_since(t_run);
}

}  // namespace bnas::nas
