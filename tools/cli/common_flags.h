// The flags search and train share besides their settings (dataset, --device, --config, --out,
// --resume, --data, --threads, --subset; the settings' flags are tools/cli/setting_flags.h), such
// a run command's registration, and what every command does with them: apply the --config file,
// set the threads, choose the device and find the dataset's folder.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "engine/device.h"
#include "tools/cli/commands.h"
#include "tools/cli/progress.h"

namespace bnas::cli {

// A run option that is not a setting (--subset, --test-subset) and whether it was given (on the
// command line or in the --config file); when not, a resumed run keeps its recorded value.
template <class T>
struct Flag {
  T value{};
  CLI::Option* opt = nullptr;
  bool given() const { return opt != nullptr && opt->count() > 0; }
};

struct Common {
  std::string dataset;
  std::string device = "auto";
  std::string config;
  std::string out;
  std::string resume;
  std::string data;
  int threads = 0;
  Flag<int64_t> subset;  // training images used (0: all)
};

void add_common(CLI::App* sub, Common& c, bool dataset_required);

// Before a run command runs: applies the --config JSON file (each key names a flag of `sub`,
// underscores or dashes; a flag given on the command line wins) and --threads.
void apply_common(CLI::App* sub, const Common& c);

// A run command (search, train): the subcommand `name` with the shared flags and its own
// (add_flags); it runs `run` after the --config file and --threads are applied.
template <class Flags>
Command add_run_command(CLI::App& app, const char* name, const char* description,
                        void (*add_flags)(CLI::App*, Flags&), int (*run)(const Common&, const Flags&, CLI::App*)) {
  CLI::App* sub = app.add_subcommand(name, description);
  auto common = std::make_shared<Common>();
  auto flags = std::make_shared<Flags>();
  add_common(sub, *common, false);
  add_flags(sub, *flags);
  return {sub, [sub, common, flags, run] {
            apply_common(sub, *common);
            return run(*common, *flags, sub);
          }};
}

// The device --device names; "auto" takes the GPU when there is one and otherwise says (on
// `say`, or stderr when null) why no GPU is usable (cuda_unavailable_reason) and that it runs on
// the CPU. cuda:N without a usable GPU N throws a bnas::Error saying why.
Device pick_device(const std::string& flag, Progress* say);

// The folder of `dataset` (--data `flag`, else data::resolve_dataset_dir's defaults); throws a
// bnas::Error naming the expected files, the folder and where to get them when files are missing.
std::string dataset_dir(const std::string& dataset, const std::string& flag);

}  // namespace bnas::cli
