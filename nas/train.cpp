#include "nas/train.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/checkpoint.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "nas/evaluate.h"
#include "nas/run_checkpoint.h"

namespace bnas::nas {

// ---- config -----------------------------------------------------------------------------------

TrainConfig::TrainConfig() {
  channels = 48, layers = 6, en_layers = 2;
  epochs = 600, batch = 128, lr_min = 0, seed = 0;
}

TrainConfig TrainConfig::defaults_for(const std::string& dataset) {
  TrainConfig c;
  if (dataset == "cifar10" || dataset == "cifar100") return c;
  if (dataset == "imagenet") {
    c.channels = 44;
    c.epochs = 250;
    c.batch = 256;
    c.lr = 0.1;
    c.weight_decay = 3e-5;
    c.label_smoothing = 0.1;
    c.cutout = 0;
    c.drop_path = 0;
    return c;
  }
  if (dataset == "mnist" || dataset == "fashion-mnist") {
    c.channels = 36;
    c.cutout = 0;
    return c;
  }
  BNAS_FAIL("unknown dataset '", dataset, "' (expected cifar10, cifar100, imagenet, mnist or fashion-mnist)");
}

const SettingTable<TrainConfig>& TrainConfig::table() {
  using C = TrainConfig;
  static const SettingTable<C> t = [] {
    SettingTable<C> all = run_setting_rows<C>();
    all.push_back(setting<C>("drop_path", [](auto& c) -> auto& { return c.drop_path; },
                             "maximum drop-path probability (ramped linearly over the epochs)", in_closed_open(0, 1)));
    all.push_back(setting<C>("label_smoothing", [](auto& c) -> auto& { return c.label_smoothing; },
                             "label smoothing of the cross-entropy", in_closed_open(0, 1)));
    all.push_back(setting<C>("cutout", [](auto& c) -> auto& { return c.cutout; },
                             "cutout length of the training images (0: off)", at_least(0)));
    return all;
  }();
  return t;
}

void TrainConfig::validate() const {
  check_settings(table(), *this, "training setting");
  check_run_settings(*this);
}

nlohmann::json to_json(const TrainConfig& c) { return settings_to_json(TrainConfig::table(), c); }

TrainConfig train_config_from_json(const nlohmann::json& j, TrainConfig c) {
  settings_from_json(TrainConfig::table(), j, c, "training setting");
  return c;
}

nlohmann::json to_json(const TrainEpochRecord& r) {
  nlohmann::json j = to_json(static_cast<const EpochFigures&>(r));
  j["drop_prob"] = r.drop_prob;
  if (r.test_acc >= 0) {
    j["test_loss"] = r.test_loss;
    j["test_acc"] = r.test_acc;
    j["best_test_acc_selected_on_test"] = r.best_test_acc;
    j["best_epoch"] = r.best_epoch;
  }
  return j;
}

TrainEpochRecord train_record_from_json(const nlohmann::json& j) {
  TrainEpochRecord r;
  static_cast<EpochFigures&>(r) = epoch_figures_from_json(j);
  r.drop_prob = j.at("drop_prob").get<double>();
  if (j.contains("test_acc")) {
    r.test_loss = j.at("test_loss").get<double>();
    r.test_acc = j.at("test_acc").get<double>();
    r.best_test_acc = j.at("best_test_acc_selected_on_test").get<double>();
    r.best_epoch = j.at("best_epoch").get<int>();
  }
  return r;
}

nlohmann::json to_json(const TrainInfo& i) {
  return {{"parameters", i.parameters},
          {"steps_per_epoch", i.steps_per_epoch},
          {"memory_after_first_step", i.memory_after_first_step},
          {"reserved_memory_after_first_step", i.reserved_memory_after_first_step},
          {"device", i.device}};
}

nlohmann::json to_json(const TrainResult& r) {
  return {{"final_test_acc", r.final_test_acc},
          {"final_test_loss", r.final_test_loss},
          {"best_test_acc_selected_on_test", r.best_test_acc_selected_on_test},
          {"best_epoch", r.best_epoch},
          {"epochs_done", r.epochs_done},
          {"elapsed_s", r.elapsed_s}};
}

// ---- the trainer ------------------------------------------------------------------------------

namespace {
const TrainConfig& validated(const TrainConfig& c) {
  c.validate();
  return c;
}
}  // namespace

Trainer::Trainer(EvalNetwork& net, TrainData data, const TrainConfig& config)
    : net_(net),
      data_(data),
      cfg_(validated(config)),
      weights_(net.parameters()),
      wstep_(weights_, cfg_),
      loop_({config.epochs, config.log_interval, config.checkpoint_every, config.checkpoint_dir}, weights_) {
  BNAS_CHECK(data_.train != nullptr, "training needs a training loader");
  set_deterministic(cfg_.deterministic);
}

int64_t Trainer::parameter_count() const { return net_.parameter_count(); }

double Trainer::begin_epoch(int epoch) {
  const double lr = wstep_.begin_epoch(epoch);
  net_.set_drop_prob(cfg_.drop_path * epoch / cfg_.epochs);
  return lr;
}

void Trainer::step(const data::Batch& batch) {
  const Tensor logits = net_.forward(batch.images, true);
  const Tensor loss = ops::cross_entropy(logits, batch.labels, cfg_.label_smoothing);
  wstep_.step(loss);
  loop_.add_to_sums(loss, logits, batch.labels);
  loop_.count_step(batch.labels.numel());
}

std::pair<double, double> Trainer::evaluate(data::Loader& loader) {
  const LossAccuracy r = nas::evaluate([&](const Tensor& x) { return net_.forward(x, false); }, loader, 0,
                                       weights_.front().dtype(), weights_.front().device());
  return {r.loss, r.accuracy};
}

TrainResult Trainer::result() const {
  TrainResult r;
  r.epochs_done = loop_.epoch();
  r.elapsed_s = records_.empty() ? loop_.elapsed_s() : records_.back().elapsed_s;
  if (!records_.empty()) {
    r.final_test_acc = records_.back().test_acc;
    r.final_test_loss = records_.back().test_loss;
    r.best_test_acc_selected_on_test = records_.back().best_test_acc;
    r.best_epoch = records_.back().best_epoch;
  }
  return r;
}

TrainResult Trainer::run(int until_epoch) {
  TrainEpochRecord record;  // the epoch's: the test pass, then the shared figures
  EpochLoop::Hooks h;
  h.begin_epoch = [this](int e) { return begin_epoch(e); };
  h.step = [&](int) {
    step(data_.train->next_batch());
    if (!started_) {
      started_ = true;
      if (on_start) {
        const Device d = weights_.front().device();
        const MemoryStats m = memory_stats(d);
        TrainInfo info;
        info.parameters = parameter_count();
        info.steps_per_epoch = data_.train->batches_per_epoch();
        info.memory_after_first_step = m.peak;
        info.reserved_memory_after_first_step = m.reserved_peak;
        info.device = d.str();
        on_start(info);
      }
    }
  };
  h.progress = on_progress;
  h.evaluate = [&](int e) {
    record = TrainEpochRecord{};
    record.drop_prob = net_.drop_prob();
    if (!data_.test) return;
    const auto [tl, ta] = evaluate(*data_.test);
    record.test_loss = tl;
    record.test_acc = ta;
    const bool better = records_.empty() || ta > records_.back().best_test_acc;
    record.best_test_acc = better ? ta : records_.back().best_test_acc;
    record.best_epoch = better ? e : records_.back().best_epoch;
  };
  h.record = [&](const EpochFigures& f) {
    static_cast<EpochFigures&>(record) = f;
    records_.push_back(record);
    if (on_epoch) on_epoch(record);
  };
  h.save_checkpoint = [this](const std::string& dir) { save_checkpoint(dir); };
  loop_.run(until_epoch, data_.train->batches_per_epoch(), h);
  return result();
}

// ---- checkpoints ------------------------------------------------------------------------------

namespace {
const char* const kFormat = "bnas-train-checkpoint/1";
}  // namespace

NamedTensors Trainer::checkpoint_tensors() const {
  NamedTensors all;
  append_group(all, "model.", net_.state_dict());
  append_group(all, "opt.", wstep_.optimizer().state());
  return all;
}

void Trainer::save_checkpoint(const std::string& dir) const {
  nlohmann::json recs = nlohmann::json::array();
  for (const auto& r : records_) recs.push_back(to_json(r));
  CheckpointMetadata md = run_metadata(kFormat, to_json(cfg_), loop_);
  md["drop_path_rng"] = generator_meta(net_.drop_path_generator());
  md["train_loader"] = loader_meta(data_.train->state());
  md["genotype"] = genotype_to_json(net_.genotype()).dump();
  md["records"] = recs.dump();
  save_safetensors(dir + "/" + kCheckpointFile, checkpoint_tensors(), md);
}

void Trainer::resume(const std::string& dir) {
  const std::string path = dir + "/" + kCheckpointFile;
  const SafetensorsFile f = load_run_checkpoint(path, kFormat);
  check_resume_config(TrainConfig::table(), path,
                      train_config_from_json(nlohmann::json::parse(checkpoint_meta(f, path, "config"))), cfg_);
  const Genotype g = genotype_from_json(nlohmann::json::parse(checkpoint_meta(f, path, "genotype")), path);
  BNAS_CHECK(g == net_.genotype(), "checkpoint ", path, " was written for a different genotype");
  const data::LoaderState train = loader_state_from_meta(checkpoint_meta(f, path, "train_loader"));
  std::vector<TrainEpochRecord> records;
  for (const auto& r : nlohmann::json::parse(checkpoint_meta(f, path, "records")))
    records.push_back(train_record_from_json(r));

  restore_tensors(f, path, checkpoint_tensors());
  restore_generator(net_.drop_path_generator(), checkpoint_meta(f, path, "drop_path_rng"), path);
  data_.train->restore(train);
  records_ = std::move(records);
  restore_loop(loop_, f, path);
}

}  // namespace bnas::nas
