// What a running search or training shows on stderr: one progress line (epoch, step, images/s,
// loss, accuracy, ETA) rewritten in place on a terminal, plain lines otherwise (logs, CI), and
// whole lines (epoch summaries, notices) that first clear an open progress line.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace bnas::cli {

// "1h02m" or "3m07s"; "?" for a negative or absurd duration (an ETA not known yet).
std::string fmt_duration(double s);

class Progress {
 public:
  explicit Progress(int batch);

  // A progress point of `epochs` epochs: P is nas::ProgressRecord or nas::TrainProgress.
  template <class P>
  void step(const P& p, int epochs) {
    step(p.epoch, p.step_in_epoch, p.steps_per_epoch, p.global_step, p.elapsed_s, p.train_loss, p.train_acc, epochs);
  }
  void line(const std::string& text);

 private:
  void step(int epoch, int64_t step_in_epoch, int64_t steps_per_epoch, int64_t global_step, double elapsed_s,
            double train_loss, double train_acc, int epochs);

  bool tty_;
  int batch_;
  bool open_ = false;
  bool have_last_ = false;
  int64_t last_step_ = 0, first_step_ = -1;
  double first_elapsed_ = 0;
  std::chrono::steady_clock::time_point last_time_;
};

}  // namespace bnas::cli
