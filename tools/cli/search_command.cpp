// `bnas_engine search DATASET`: the BNAS-v2 bilevel search (nas::Search) on a dataset from a
// preset plus flags, in a run directory (config.json, log.jsonl, a genotype per epoch,
// curves.svg, checkpoints; at the end genotype.{json,txt}, the cells drawn and summary.json),
// stopping cleanly on Ctrl-C and continuing exactly with --resume.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/check.h"
#include "engine/conv_algorithms.h"
#include "nas/broad_network.h"
#include "nas/genotype.h"
#include "nas/genotype_darts.h"
#include "nas/search.h"
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

struct SearchFlags {
  SettingFlags<nas::SearchConfig> settings;
};

void add_search_flags(CLI::App* s, SearchFlags& f) {
  f.settings.add(s, nas::SearchConfig::table(), {"checkpoint_dir"});  // the run directory holds the checkpoints
}

// The resumed run's settings, or the preset (the given one, else the dataset's); then the
// flags given.
nas::SearchConfig resolve_search_config(const SearchFlags& f, const Common& c, const json* saved) {
  json given = f.settings.given();
  nas::SearchConfig cfg;
  if (saved) {
    const nas::SearchConfig base = nas::search_config_from_json(saved->at("settings"));
    BNAS_CHECK(given.value("preset", base.preset) == base.preset, "--resume: the run searched with preset ",
               base.preset, ", not ", given.value("preset", ""));
    given.erase("preset");  // the preset would replace the run's settings
    cfg = nas::search_config_from_json(given, base);
  } else {
    if (!given.contains("preset")) given["preset"] = nas::SearchConfig::default_preset(c.dataset);
    BNAS_CHECK(given["preset"] != "imagenet" || c.dataset == "imagenet",
               "the imagenet preset is for the imagenet dataset, not ", c.dataset);
    cfg = nas::search_config_from_json(given);
  }
  if (cfg.checkpoint_every == 0) cfg.checkpoint_every = 1;  // the run directory always keeps a checkpoint
  cfg.validate();
  return cfg;
}

int run_search(const Common& c, const SearchFlags& f, CLI::App* sub) {
  json saved;
  const Common cc = resume_settings(c, "search", sub, &saved);
  const data::DatasetInfo info = data::dataset_info(cc.dataset);
  nas::SearchConfig cfg = resolve_search_config(f, cc, c.resume.empty() ? nullptr : &saved);
  const std::string data_dir = dataset_dir(cc.dataset, cc.data);

  Progress progress(cfg.batch);
  const Device dev = pick_device(cc.device, &progress);
  const std::string dir = prepare_run_dir(cc, "search");
  cfg.checkpoint_dir = (fs::path(dir) / "checkpoints").string();

  // Data: the training split, optionally a seeded subset, split into the w and alpha halves.
  const SearchLoaders d = load_search_data(cc.dataset, data_dir, dev, cfg, cc.subset.value);
  const nas::SupernetConfig sc = search_network_config(cfg, info, dev);
  nas::BroadSupernet model(sc);
  nas::Search search(model, d.search_data(), cfg);

  std::vector<json> epoch_records;
  if (!c.resume.empty()) {
    epoch_records = resume_loop(search, dir, cfg.checkpoint_dir, cfg.epochs, progress);
  } else {
    json conf = base_config_record("search", cc, data_dir, dev, cfg.seed);
    conf["settings"] = nas::to_json(cfg);
    conf["supernet"] = {{"C", sc.C}, {"layers", sc.layers}, {"en_layers", sc.en_layers}, {"k", sc.k},
                        {"edge_norm", sc.edge_norm}, {"classes", sc.classes}, {"input_channels", sc.input_channels},
                        {"input_size", sc.input_size}};
    conf["images"] = {{"train_w", d.n_train_w}, {"train_alpha", d.n_train_alpha}};
    write_json((fs::path(dir) / "config.json").string(), conf);
  }
  RunLog log(dir, std::move(epoch_records), "search " + cc.dataset + " (" + cfg.preset + ")");
  fs::create_directories(fs::path(dir) / "genotypes");
  progress.line("search " + cc.dataset + " on " + dev.str() + ": preset " + cfg.preset + ", " +
                std::to_string(cfg.epochs) + " epochs, batch " + std::to_string(cfg.batch) + ", " +
                std::to_string(d.n_train_w) + " + " + std::to_string(d.n_train_alpha) + " images; run directory " + dir);

  search.on_start = [&](const nas::SearchInfo& i) {
    json j = nas::to_json(i);
    j["type"] = "start";
    // Written after the first step, so the cuDNN algorithms of the step's convolutions are chosen
    // and the step's graph is captured (or why not is known).
    if (dev.is_cuda()) {
      j["conv_algorithms"] = conv_algorithm_lines();
      progress.line("search step as a CUDA graph: " + i.graph);
    }
    log.write(j);
  };
  search.on_progress = [&](const nas::ProgressRecord& p) {
    progress.step(p, cfg.epochs);
    announce_interrupt(progress);
    json j = step_record(p);
    j["arch_lr"] = p.arch_lr;
    log.write(j);
  };
  search.on_epoch = [&](const nas::EpochRecord& r) {
    json j = nas::to_json(r);
    j["genotype_darts"] = nas::genotype_to_darts(r.genotype);
    log.epoch(std::move(j));
    char name[32];
    std::snprintf(name, sizeof name, "epoch_%03d", r.epoch + 1);
    write_genotype_both(r.genotype, (fs::path(dir) / "genotypes" / name).string());
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "epoch %d/%d  train loss %.4f acc %.2f%%  valid loss %.4f acc %.2f%%  lr %.4g  arch lr %.3g  "
                  "param-free %d/%d  %s elapsed, ETA %s",
                  r.epoch + 1, r.epochs, r.train_loss, 100 * r.train_acc, r.valid_loss, 100 * r.valid_acc, r.lr,
                  r.arch_lr, r.param_free_normal, r.param_free_reduce, fmt_duration(r.elapsed_s).c_str(),
                  fmt_duration(r.eta_s).c_str());
    progress.line(buf);
  };

  SigintScope sigint;
  if (!run_epochs(search, cfg.epochs, cfg.checkpoint_dir, "search", dir)) return kInterrupted;
  const nas::Genotype g = model.genotype();
  write_genotype_both(g, (fs::path(dir) / "genotype").string());
  fs::create_directories(fs::path(dir) / "cells");
  report::draw_genotype(g, (fs::path(dir) / "cells").string(), "cell");
  json summary = {{"command", "search"}, {"dataset", cc.dataset}, {"preset", cfg.preset}, {"epochs", cfg.epochs},
                  {"genotype", nas::genotype_to_json(g)}, {"genotype_darts", nas::genotype_to_darts(g)},
                  {"device", dev.str()}, {"weight_parameters", search.info().weight_parameters}};
  if (!search.records().empty()) {
    const auto& last = search.records().back();
    summary["final_valid_acc"] = last.valid_acc;
    summary["final_valid_loss"] = last.valid_loss;
    summary["elapsed_s"] = last.elapsed_s;
  }
  if (!log.epochs().empty()) {
    summary["final_valid_acc"] = log.epochs().back().value("valid_acc", -1.0);
    summary["elapsed_s"] = log.epochs().back().value("elapsed_s", 0.0);
  }
  if (dev.is_cuda()) summary["conv_algorithms"] = conv_algorithm_lines();  // all, evaluation's included
  write_json((fs::path(dir) / "summary.json").string(), summary);
  progress.line("final genotype (" + (fs::path(dir) / "genotype.json").string() + "):");
  std::printf("%s\n", nas::genotype_to_darts(g).c_str());
  progress.line("train it with: bnas_engine train " + cc.dataset + " --genotype " +
                (fs::path(dir) / "genotype.json").string());
  return kOk;
}

}  // namespace

Command add_search_command(CLI::App& app) {
  return add_run_command<SearchFlags>(app, "search", "search cells on a dataset (BNAS-v2 bilevel optimisation)",
                                      add_search_flags, run_search);
}

}  // namespace bnas::cli
