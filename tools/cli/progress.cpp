// The progress line (progress.h): images/s from the last two progress points, ETA from the
// points seen since this process started (a resumed run's earlier epochs do not count).
#include "tools/cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace bnas::cli {

std::string fmt_duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

Progress::Progress(int batch) : tty_(::isatty(STDERR_FILENO) != 0), batch_(batch) {}

void Progress::step(int epoch, int64_t step_in_epoch, int64_t steps_per_epoch, int64_t global_step, double elapsed_s,
                    double train_loss, double train_acc, int epochs) {
  const auto now = std::chrono::steady_clock::now();
  double ips = 0;
  if (have_last_ && global_step > last_step_) {
    const double dt = std::chrono::duration<double>(now - last_time_).count();
    if (dt > 0) ips = static_cast<double>(global_step - last_step_) * batch_ / dt;
  }
  have_last_ = true;
  last_step_ = global_step;
  last_time_ = now;
  if (first_step_ < 0) first_step_ = global_step, first_elapsed_ = elapsed_s;
  const int64_t total = static_cast<int64_t>(epochs) * steps_per_epoch;
  const int64_t done = global_step - first_step_;
  const double spent = elapsed_s - first_elapsed_;
  const double eta = done > 0 ? spent / static_cast<double>(done) * static_cast<double>(total - global_step) : -1;
  char buf[256];
  char rate[32] = "-";  // unknown until the second progress point
  if (ips > 0) std::snprintf(rate, sizeof rate, "%.0f", ips);
  std::snprintf(buf, sizeof buf, "epoch %d/%d  step %lld/%lld  %s img/s  loss %.4f  acc %.2f%%  ETA %s", epoch + 1,
                epochs, static_cast<long long>(step_in_epoch), static_cast<long long>(steps_per_epoch), rate,
                train_loss, 100 * train_acc, fmt_duration(eta).c_str());
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", buf);
    open_ = true;
  } else {
    std::fprintf(stderr, "%s\n", buf);
  }
  std::fflush(stderr);
}

void Progress::line(const std::string& text) {
  if (open_) std::fprintf(stderr, "\r\033[K");
  open_ = false;
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

}  // namespace bnas::cli
