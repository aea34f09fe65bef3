// `bnas_engine train DATASET --genotype G`: trains an evaluation network from scratch
// (nas::Trainer) from a published, saved or just-searched genotype, in a run directory
// (config.json, genotype, cells, log.jsonl, curves.svg, checkpoints, summary.json), stopping
// cleanly on Ctrl-C and continuing exactly with --resume.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/check.h"
#include "engine/conv_algorithms.h"
#include "nas/eval_network.h"
#include "nas/genotype.h"
#include "nas/genotype_darts.h"
#include "nas/genotype_file.h"
#include "nas/published_genotypes.h"
#include "nas/train.h"
#include "tools/cli/commands.h"
#include "tools/cli/common_flags.h"
#include "tools/cli/interrupt.h"
#include "tools/cli/progress.h"
#include "tools/cli/run_dir.h"
#include "tools/cli/run_log.h"
#include "tools/cli/run_setup.h"
#include "tools/cli/setting_flags.h"
#include "tools/cli_app.h"
#include "tools/report.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace bnas::cli {
namespace {

struct TrainFlags {
  std::string genotype;
  Flag<int64_t> test_subset;
  SettingFlags<nas::TrainConfig> settings;
};

void add_train_flags(CLI::App* s, TrainFlags& f) {
  s->add_option("--genotype", f.genotype,
                "published genotype name (e.g. BNASv2_PC_cifar_v1), a genotype file (JSON or DARTS text) or a "
                "search run directory");
  f.test_subset.opt = s->add_option("--test-subset", f.test_subset.value, "evaluate on this many test images (seeded)");
  f.settings.add(s, nas::TrainConfig::table(), {"checkpoint_dir"});  // the run directory holds the checkpoints
}

nas::Genotype resolve_genotype_arg(const std::string& arg) {
  BNAS_CHECK(!arg.empty(), "--genotype is required: a published name, a genotype file or a search run directory");
  if (fs::is_directory(arg)) {
    const fs::path p = fs::path(arg) / "genotype.json";
    BNAS_CHECK(fs::exists(p), "--genotype ", arg, " is a folder without genotype.json (has its search finished?)");
    return nas::read_genotype_file(p.string());
  }
  return nas::resolve_genotype(arg);
}

int run_train(const Common& c, const TrainFlags& f, CLI::App* sub) {
  json saved;
  const Common cc = resume_settings(c, "train", sub, &saved);
  TrainFlags ff = f;
  if (!c.resume.empty() && !ff.test_subset.given()) ff.test_subset.value = saved.value("test_subset", int64_t{0});
  const data::DatasetInfo info = data::dataset_info(cc.dataset);
  const nas::Genotype genotype = c.resume.empty() ? resolve_genotype_arg(ff.genotype)
                                                  : nas::genotype_from_json(saved.at("genotype"), "run config");
  // The dataset's recipe, or the resumed run's settings, then the flags given.
  nas::TrainConfig cfg = nas::TrainConfig::defaults_for(cc.dataset);
  if (!c.resume.empty()) cfg = nas::train_config_from_json(saved.at("settings"), cfg);
  cfg = nas::train_config_from_json(ff.settings.given(), cfg);
  if (cfg.checkpoint_every == 0) cfg.checkpoint_every = 1;  // the run directory always keeps a checkpoint
  cfg.validate();
  const std::string data_dir = dataset_dir(cc.dataset, cc.data);

  Progress progress(cfg.batch);
  const Device dev = pick_device(cc.device, &progress);
  const std::string dir = prepare_run_dir(cc, "train");
  cfg.checkpoint_dir = (fs::path(dir) / "checkpoints").string();

  const TrainLoaders d = load_train_data(cc.dataset, data_dir, dev, cfg.batch, cfg.seed, cfg.cutout, cc.subset.value,
                                         ff.test_subset.value, true);
  nas::EvalNetwork net(genotype, eval_net_config(cfg, info, dev));
  nas::Trainer trainer(net, {d.train.get(), d.test.get()}, cfg);

  std::vector<json> epoch_records;
  if (!c.resume.empty()) {
    epoch_records = resume_loop(trainer, dir, cfg.checkpoint_dir, cfg.epochs, progress);
  } else {
    json conf = base_config_record("train", cc, data_dir, dev, cfg.seed);
    conf["settings"] = nas::to_json(cfg);
    conf["genotype"] = nas::genotype_to_json(genotype);
    conf["genotype_darts"] = nas::genotype_to_darts(genotype);
    conf["genotype_source"] = ff.genotype;
    conf["test_subset"] = ff.test_subset.value;
    conf["parameters"] = net.parameter_count();
    conf["images"] = {{"train", d.n_train}, {"test", d.n_test}};
    write_json((fs::path(dir) / "config.json").string(), conf);
    write_genotype_both(genotype, (fs::path(dir) / "genotype").string());
    fs::create_directories(fs::path(dir) / "cells");
    report::draw_genotype(genotype, (fs::path(dir) / "cells").string(), "cell");
  }
  RunLog log(dir, std::move(epoch_records), "train " + cc.dataset);
  char head[256];
  std::snprintf(head, sizeof head, "train %s on %s: C %d, %d+%d cells, %.3fM parameters, %d epochs, batch %d, %lld "
                "training / %lld test images; run directory %s",
                cc.dataset.c_str(), dev.str().c_str(), cfg.channels, cfg.layers, cfg.en_layers,
                static_cast<double>(net.parameter_count()) / 1e6, cfg.epochs, cfg.batch,
                static_cast<long long>(d.n_train), static_cast<long long>(d.n_test), dir.c_str());
  progress.line(head);

  trainer.on_start = [&](const nas::TrainInfo& i) {
    json j = nas::to_json(i);
    j["type"] = "start";
    // Written after the first step, so the cuDNN algorithms of the step's convolutions are chosen.
    if (dev.is_cuda()) j["conv_algorithms"] = conv_algorithm_lines();
    log.write(j);
  };
  trainer.on_progress = [&](const nas::TrainProgress& p) {
    progress.step(p, cfg.epochs);
    announce_interrupt(progress);
    log.write(step_record(p));
  };
  trainer.on_epoch = [&](const nas::TrainEpochRecord& r) {
    log.epoch(nas::to_json(r));
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "epoch %d/%d  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  lr %.4g  drop-path %.3f  "
                  "%s elapsed, ETA %s",
                  r.epoch + 1, r.epochs, r.train_loss, 100 * r.train_acc, r.test_loss, 100 * r.test_acc, r.lr,
                  r.drop_prob, fmt_duration(r.elapsed_s).c_str(), fmt_duration(r.eta_s).c_str());
    progress.line(buf);
  };

  SigintScope sigint;
  if (!run_epochs(trainer, cfg.epochs, cfg.checkpoint_dir, "train", dir)) return kInterrupted;
  const nas::TrainResult res = trainer.result();
  json summary = nas::to_json(res);
  summary["command"] = "train";
  summary["dataset"] = cc.dataset;
  summary["genotype_darts"] = nas::genotype_to_darts(genotype);
  summary["parameters"] = net.parameter_count();
  summary["device"] = dev.str();
  summary["test_images"] = d.n_test;
  summary["note"] = "final_test_acc is the result; best_test_acc_selected_on_test picks the best epoch on the test "
                    "set and is not an unbiased estimate";
  if (dev.is_cuda()) summary["conv_algorithms"] = conv_algorithm_lines();  // all, the test passes' included
  write_json((fs::path(dir) / "summary.json").string(), summary);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "final test accuracy %.2f%% (%lld images); best epoch %d at %.2f%% (selected on the test set)",
                100 * res.final_test_acc, static_cast<long long>(d.n_test), res.best_epoch + 1,
                100 * res.best_test_acc_selected_on_test);
  progress.line(buf);
  std::printf("%s\n", summary.dump().c_str());
  return kOk;
}

}  // namespace

Command add_train_command(CLI::App& app) {
  return add_run_command<TrainFlags>(app, "train", "train an evaluation network from scratch from a genotype",
                                     add_train_flags, run_train);
}

}  // namespace bnas::cli
