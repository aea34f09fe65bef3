// The run log (run_log.h).
#include "tools/cli/run_log.h"

#include <filesystem>

#include "engine/checkpoint.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace bnas::cli {

std::string log_path(const std::string& dir) { return (fs::path(dir) / "log.jsonl").string(); }

std::vector<json> trim_log(const std::string& log_path, int epoch) {
  std::vector<json> kept, epochs;
  if (fs::exists(log_path)) {
    for (auto& r : report::read_jsonl(log_path)) {
      const bool keep = !r.contains("epoch") || !r.at("epoch").is_number() || r.at("epoch").get<int>() < epoch;
      if (!keep) continue;
      if (r.value("type", "") == "epoch") epochs.push_back(r);
      kept.push_back(std::move(r));
    }
  }
  std::string text;
  for (const auto& r : kept) text += r.dump() + "\n";
  write_file_atomically(log_path, text);
  return epochs;
}

RunLog::RunLog(const std::string& dir, std::vector<json> epochs, std::string title)
    : log_(log_path(dir), true),
      epochs_(std::move(epochs)),
      curves_((fs::path(dir) / "curves.svg").string()),
      title_(std::move(title)) {}

void RunLog::epoch(json record) {
  record["type"] = "epoch";
  log_.write(record);
  epochs_.push_back(std::move(record));
  report::write_curves(curves_, epochs_, title_);
}

}  // namespace bnas::cli
