// The shared flags (common_flags.h). The --config file goes through CLI11 itself (add_result +
// run_callback), so a value in the file is validated exactly like the same flag typed.
#include "tools/cli/common_flags.h"

#include <omp.h>

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "data/catalog.h"
#include "engine/check.h"
#include "nas/settings.h"
#include "tools/cli/run_dir.h"
#include "tools/cli/setting_flags.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace bnas::cli {
namespace {

// The setting of `sub` whose name is closest to `key`, written as a config key.
std::string closest_config_key(const CLI::App* sub, const std::string& key) {
  std::vector<std::string> names;
  for (const CLI::Option* o : sub->get_options())
    if (!o->get_lnames().empty() && o->get_lnames().front() != "help" && o->get_lnames().front() != "config")
      names.push_back(o->get_lnames().front());
  std::string hint = nas::closest_name(key, names);
  for (char& ch : hint)
    if (ch == '-') ch = '_';
  return hint;
}

void apply_config_file(CLI::App* sub, const std::string& path) {
  if (path.empty()) return;
  const json j = read_json_file(path, "config file");
  BNAS_CHECK(j.is_object(), "config file ", path, " must hold a JSON object whose keys are flag names");
  for (const auto& [key, value] : j.items()) {
    if (key == "config" || key == "dataset") continue;
    CLI::Option* opt = sub->get_option_no_throw(flag_name(key));
    BNAS_CHECK(opt != nullptr, "config file ", path, ": '", key, "' is not a setting of `", sub->get_name(),
               "` (did you mean '", closest_config_key(sub, key), "'? see bnas_engine ", sub->get_name(), " --help)");
    if (opt->count() > 0) continue;
    std::string s;
    if (value.is_string())
      s = value.get<std::string>();
    else if (value.is_boolean())
      s = value.get<bool>() ? "true" : "false";
    else if (value.is_number())
      s = value.dump();
    else
      BNAS_FAIL("config file ", path, ": '", key, "' must be a string, number or boolean");
    try {
      opt->add_result(s);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      BNAS_FAIL("config file ", path, ": bad value for '", key, "': ", e.what());
    }
  }
}

}  // namespace

void add_common(CLI::App* sub, Common& c, bool dataset_required) {
  auto* ds = sub->add_option("dataset", c.dataset, "cifar10, cifar100, imagenet, mnist or fashion-mnist");
  if (dataset_required) ds->required();
  sub->add_option("--device", c.device, "auto, cpu or cuda:N (auto: the GPU when there is one)")
      ->capture_default_str();
  sub->add_option("--config", c.config, "JSON file whose keys mirror the flags (flags override it)")
      ->check(CLI::ExistingFile);
  sub->add_option("--out", c.out, "run directory (default runs/<command>-<dataset>-<time>)");
  sub->add_option("--resume", c.resume, "continue the run in this run directory from its last checkpoint")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--data", c.data, "dataset folder (default $BNAS_DATA/<dataset>, else ./data/<dataset>)");
  sub->add_option("--threads", c.threads, "CPU threads (default: all cores)");
  c.subset.opt = sub->add_option("--subset", c.subset.value, "use only this many training images (seeded choice)");
}

void apply_common(CLI::App* sub, const Common& c) {
  apply_config_file(sub, c.config);
  if (c.threads > 0) omp_set_num_threads(c.threads);
}

Device pick_device(const std::string& flag, Progress* say) {
  if (flag == "auto") {
    if (cuda_available()) return Device::cuda(0);
    // Why no GPU is usable (a CPU-only build, no driver, an old driver, no device), so that a
    // run meant for a GPU does not pass for one silently.
    const std::string msg = "device auto: " + cuda_unavailable_reason() + "; running on the CPU (" +
                            std::to_string(omp_get_max_threads()) + " threads)";
    if (say) say->line(msg); else std::fprintf(stderr, "%s\n", msg.c_str());
    return Device::cpu();
  }
  const Device d = parse_device(flag);
  if (d.is_cuda()) {
    const int n = cuda_device_count();
    BNAS_CHECK(n > 0, "--device ", flag, ": ", cuda_unavailable_reason(), " (use --device cpu or auto)");
    BNAS_CHECK(d.index < n, "--device ", flag, ": only ", n, " GPU(s) are usable (cuda:0",
               n > 1 ? " to cuda:" + std::to_string(n - 1) : std::string(), ")");
  }
  return d;
}

std::string dataset_dir(const std::string& dataset, const std::string& flag) {
  const std::string dir = data::resolve_dataset_dir(dataset, flag);
  const data::DatasetInfo info = data::dataset_info(dataset);
  const std::vector<std::string> missing = data::missing_files(info, dir);
  if (missing.empty()) return dir;
  const auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& f : v) s += (s.empty() ? "" : ", ") + f;
    return s;
  };
  BNAS_FAIL("the ", dataset, " data is missing: expected ", join(info.files), " in ", dir,
            fs::is_directory(dir) ? " (missing: " + join(missing) + ")" : std::string(" (no such folder)"),
            "; to get it, ", info.where, ", then pass --data DIR or set BNAS_DATA (looked in --data, $BNAS_DATA/",
            dataset, ", ./data/", dataset, ")");
}

}  // namespace bnas::cli
