// The run directory (run_dir.h).
#include "tools/cli/run_dir.h"

#include <omp.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/check.h"
#include "engine/checkpoint.h"
#include "nas/genotype_file.h"
#include "tools/cli/build_info.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace bnas::cli {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BNAS_CHECK(in.good(), "cannot read ", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string timestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

}  // namespace

json read_json_file(const std::string& path, const std::string& what) {
  const std::string text = read_text(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    BNAS_FAIL(what, " ", path, " is not valid JSON (", e.what(), ")");
  }
}

void write_json(const std::string& path, const json& j) { write_file_atomically(path, j.dump(2) + "\n"); }

Common resume_settings(const Common& c, const std::string& command, CLI::App* sub, json* saved) {
  Common cc = c;
  if (!c.resume.empty()) {
    const std::string path = (fs::path(c.resume) / "config.json").string();
    BNAS_CHECK(fs::exists(path), "--resume ", c.resume, ": no config.json there (not a run directory)");
    *saved = read_json_file(path, "run config");
    BNAS_CHECK(saved->value("command", "") == command, "--resume ", c.resume, " is a `",
               saved->value("command", "?"), "` run, not a `", command, "` run");
    BNAS_CHECK(fs::exists(fs::path(c.resume) / "checkpoints"), "--resume ", c.resume, ": no checkpoints folder");
    const std::string dataset = saved->at("dataset").get<std::string>();
    if (cc.dataset.empty()) cc.dataset = dataset;
    BNAS_CHECK(cc.dataset == dataset, "--resume ", c.resume, command == "search" ? " searched " : " trained on ",
               dataset, ", not ", cc.dataset);
    if (cc.data.empty()) cc.data = saved->at("data").get<std::string>();
    if (!sub->get_option("--device")->count()) cc.device = saved->value("device", "auto");
    if (!cc.subset.given()) cc.subset.value = saved->value("subset", int64_t{0});
  }
  BNAS_CHECK(!cc.dataset.empty(),
             "name a dataset (cifar10, cifar100, imagenet, mnist or fashion-mnist) or pass --resume DIR");
  return cc;
}

std::string prepare_run_dir(const Common& c, const std::string& command) {
  std::string dir = c.resume;
  if (dir.empty()) {
    dir = c.out.empty() ? (fs::path("runs") / (command + "-" + c.dataset + "-" + timestamp())).string() : c.out;
    BNAS_CHECK(!fs::exists(fs::path(dir) / "config.json"), "the run directory ", dir,
               " already holds a run: continue it with --resume ", dir, " or choose another --out");
  }
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "checkpoints", ec);
  BNAS_CHECK(!ec, "cannot create the run directory ", dir, ": ", ec.message());
  return dir;
}

json base_config_record(const std::string& command, const Common& c, const std::string& data_dir, Device dev,
                        uint64_t seed) {
  return {{"command", command},
          {"dataset", c.dataset},
          {"data", data_dir},
          {"device", dev.str()},
          {"seed", seed},
          {"threads", omp_get_max_threads()},
          {"subset", c.subset.value},
          {"engine_version", BNAS_VERSION},
          {"build", {{"type", BNAS_BUILD_TYPE}, {"compiler", BNAS_CXX_COMPILER}, {"cuda", built_with_cuda()}}}};
}

void write_genotype_both(const nas::Genotype& g, const std::string& stem) {
  nas::write_genotype_file(g, stem + ".json");
  nas::write_genotype_file(g, stem + ".txt");
}

}  // namespace bnas::cli
