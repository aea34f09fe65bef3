// `bnas_engine eval DATASET --checkpoint C`: the test accuracy of a network trained by
// `bnas_engine train`, rebuilt from the genotype and settings stored in its checkpoint; one
// sentence on stderr and a JSON object on stdout.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/check.h"
#include "engine/checkpoint.h"
#include "nas/eval_network.h"
#include "nas/genotype.h"
#include "nas/train.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_flags.h"
#include "tools/cli/run_setup.h"
#include "tools/cli_app.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace bnas::cli {
namespace {

struct EvalArgs {
  Common common;
  std::string checkpoint;
  int batch = 256;
  int64_t test_subset = 0;
};

int run_eval(const Common& c, const std::string& checkpoint_arg, int batch, int64_t test_subset) {
  std::string path = checkpoint_arg;
  if (fs::is_directory(path)) {
    const fs::path p1 = fs::path(path) / "checkpoints" / nas::Trainer::kCheckpointFile;
    const fs::path p2 = fs::path(path) / nas::Trainer::kCheckpointFile;
    path = fs::exists(p1) ? p1.string() : p2.string();
  }
  BNAS_CHECK(fs::is_regular_file(path), "--checkpoint ", checkpoint_arg, ": no such training checkpoint");
  const SafetensorsFile f = load_safetensors(path);
  const auto meta = [&](const char* key) -> const std::string& {
    const auto it = f.metadata.find(key);
    BNAS_CHECK(it != f.metadata.end(), path, " is not a training checkpoint of bnas_engine train (no '", key, "')");
    return it->second;
  };
  BNAS_CHECK(meta("format") == "bnas-train-checkpoint/1", path, " is not a training checkpoint (format '",
             meta("format"), "')");
  const nas::TrainConfig cfg =
      nas::train_config_from_json(json::parse(meta("config")), nas::TrainConfig::defaults_for(c.dataset));
  const nas::Genotype g = nas::genotype_from_json(json::parse(meta("genotype")), path);
  const data::DatasetInfo info = data::dataset_info(c.dataset);
  const std::string data_dir = dataset_dir(c.dataset, c.data);
  const Device dev = pick_device(c.device, nullptr);
  nas::EvalNetwork net(g, eval_net_config(cfg, info, dev));
  NamedTensors dest;
  for (const auto& [n, t] : net.state_dict()) {
    const auto it = f.tensors.find("model." + n);
    BNAS_CHECK(it != f.tensors.end() && it->second.shape() == t.shape(), path, " does not match the network for ",
               c.dataset, " (tensor model.", n, "): was it trained on another dataset?");
    dest.emplace_back(n, t);
  }
  for (auto& [n, t] : dest) {
    Tensor d = t;
    d.copy_(f.tensors.at("model." + n));
  }
  const TrainLoaders d = load_train_data(c.dataset, data_dir, dev, batch, cfg.seed, 0, 0, test_subset, false);
  // A one-epoch trainer is only used for its evaluation pass.
  nas::Trainer t(net, {d.test.get(), d.test.get()}, [&] {
    nas::TrainConfig e = cfg;
    e.checkpoint_dir.clear();
    return e;
  }());
  const auto [loss, acc] = t.evaluate(*d.test);
  const json out = {{"dataset", c.dataset}, {"checkpoint", path}, {"test_images", d.n_test},
                    {"test_loss", loss},     {"test_acc", acc},     {"epochs_trained", std::stoi(meta("epoch"))}};
  std::fprintf(stderr, "test accuracy %.2f%% (loss %.4f) on %lld %s test images\n", 100 * acc, loss,
               static_cast<long long>(d.n_test), c.dataset.c_str());
  std::printf("%s\n", out.dump().c_str());
  return kOk;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto* eval = app.add_subcommand("eval", "test accuracy of a trained network");
  auto a = std::make_shared<EvalArgs>();
  eval->add_option("dataset", a->common.dataset, "cifar10, cifar100, imagenet, mnist or fashion-mnist")->required();
  eval->add_option("--checkpoint", a->checkpoint, "train.safetensors, or a train run directory")->required();
  eval->add_option("--data", a->common.data, "dataset folder (default $BNAS_DATA/<dataset>, else ./data/<dataset>)");
  eval->add_option("--device", a->common.device, "auto, cpu or cuda:N")->capture_default_str();
  eval->add_option("--batch", a->batch, "batch size")->capture_default_str();
  eval->add_option("--test-subset", a->test_subset, "evaluate on this many test images (seeded)");
  eval->add_option("--threads", a->common.threads, "CPU threads (default: all cores)");
  return {eval, [eval, a] {
            apply_common(eval, a->common);
            return run_eval(a->common, a->checkpoint, a->batch, a->test_subset);
          }};
}

}  // namespace bnas::cli
