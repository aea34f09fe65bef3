// A run's log.jsonl (one JSON record a line: start, step, epoch) and curves.svg, redrawn from the
// epoch records after every epoch. On --resume the log is first cut back to the epochs the
// checkpoint covers, so a resumed run's log reads as if it had never stopped.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/cli/progress.h"
#include "tools/report.h"

namespace bnas::cli {

// dir/log.jsonl
std::string log_path(const std::string& dir);

// Keeps the log records of epochs before `epoch` (the ones the checkpoint covers) and returns
// the epoch records among them.
std::vector<nlohmann::json> trim_log(const std::string& log_path, int epoch);

// Restores `loop` (nas::Search or nas::Trainer) of the run in `dir` from its checkpoint, cuts
// the log back to the epochs it covers, says so and returns their epoch records.
template <class Loop>
std::vector<nlohmann::json> resume_loop(Loop& loop, const std::string& dir, const std::string& checkpoint_dir,
                                        int epochs, Progress& progress) {
  loop.resume(checkpoint_dir);
  std::vector<nlohmann::json> records = trim_log(log_path(dir), loop.epoch());
  progress.line("resuming " + dir + " at epoch " + std::to_string(loop.epoch() + 1) + "/" + std::to_string(epochs));
  return records;
}

// The "step" record of a progress point (nas::ProgressRecord or nas::TrainProgress).
template <class P>
nlohmann::json step_record(const P& p) {
  return {{"type", "step"},          {"epoch", p.epoch},           {"step", p.step_in_epoch},
          {"steps", p.steps_per_epoch}, {"global_step", p.global_step}, {"train_loss", p.train_loss},
          {"train_acc", p.train_acc},   {"lr", p.lr},                 {"elapsed_s", p.elapsed_s}};
}

class RunLog {
 public:
  // Appends to dir/log.jsonl; `epochs` are the epoch records already in it (a resumed run's).
  RunLog(const std::string& dir, std::vector<nlohmann::json> epochs, std::string title);

  void write(const nlohmann::json& record) { log_.write(record); }
  // Writes an epoch record (its "type" set to "epoch") and redraws curves.svg.
  void epoch(nlohmann::json record);
  const std::vector<nlohmann::json>& epochs() const { return epochs_; }

 private:
  report::JsonlWriter log_;
  std::vector<nlohmann::json> epochs_;
  std::string curves_, title_;
};

}  // namespace bnas::cli
