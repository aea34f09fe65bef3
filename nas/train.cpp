#include "nas/train.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/checkpoint.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/schedule.h"
#include "nas/evaluate.h"
#include "nas/run_checkpoint.h"

namespace bnas::nas {

// ---- config -----------------------------------------------------------------------------------

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
  BNAS_CHECK(false, "unknown dataset '", dataset, "' (expected cifar10, cifar100, imagenet, mnist or fashion-mnist)");
  return c;
}

void TrainConfig::validate() const {
  BNAS_CHECK(channels > 0, "channels must be positive (got ", channels, ")");
  BNAS_CHECK(layers >= 2 && layers % 2 == 0, "layers must be an even number >= 2 (got ", layers, ")");
  BNAS_CHECK(en_layers >= 1, "en_layers must be at least 1 (got ", en_layers, ")");
  BNAS_CHECK(epochs > 0, "epochs must be positive (got ", epochs, ")");
  BNAS_CHECK(batch > 0, "batch must be positive (got ", batch, ")");
  BNAS_CHECK(lr > 0 && std::isfinite(lr), "lr must be a positive number (got ", lr, ")");
  BNAS_CHECK(lr_min >= 0 && lr_min <= lr, "lr_min must be in [0, lr] (got ", lr_min, ")");
  BNAS_CHECK(warmup_epochs >= 0 && warmup_epochs < epochs, "warmup_epochs must be in [0, epochs) (got ",
             warmup_epochs, ")");
  BNAS_CHECK(momentum >= 0 && momentum < 1, "momentum must be in [0, 1) (got ", momentum, ")");
  BNAS_CHECK(weight_decay >= 0, "weight_decay must be >= 0 (got ", weight_decay, ")");
  BNAS_CHECK(grad_clip >= 0, "grad_clip must be >= 0 (got ", grad_clip, "; 0 turns clipping off)");
  BNAS_CHECK(drop_path >= 0 && drop_path < 1, "drop_path must be in [0, 1) (got ", drop_path, ")");
  BNAS_CHECK(label_smoothing >= 0 && label_smoothing < 1, "label_smoothing must be in [0, 1) (got ",
             label_smoothing, ")");
  BNAS_CHECK(cutout >= 0, "cutout must be >= 0 (got ", cutout, ")");
  BNAS_CHECK(log_interval >= 0, "log_interval must be >= 0 (got ", log_interval, ")");
  BNAS_CHECK(checkpoint_every >= 0, "checkpoint_every must be >= 0 (got ", checkpoint_every, ")");
}

nlohmann::json to_json(const TrainConfig& c) {
  return {{"channels", c.channels},
          {"layers", c.layers},
          {"en_layers", c.en_layers},
          {"epochs", c.epochs},
          {"batch", c.batch},
          {"lr", c.lr},
          {"lr_min", c.lr_min},
          {"warmup_epochs", c.warmup_epochs},
          {"momentum", c.momentum},
          {"weight_decay", c.weight_decay},
          {"grad_clip", c.grad_clip},
          {"drop_path", c.drop_path},
          {"label_smoothing", c.label_smoothing},
          {"cutout", c.cutout},
          {"seed", c.seed},
          {"log_interval", c.log_interval},
          {"checkpoint_every", c.checkpoint_every},
          {"checkpoint_dir", c.checkpoint_dir}};
}

TrainConfig train_config_from_json(const nlohmann::json& j, TrainConfig c) {
  BNAS_CHECK(j.is_object(), "a training config must be a JSON object");
  const nlohmann::json known = to_json(c);
  for (const auto& [k, v] : j.items())
    BNAS_CHECK(known.contains(k), "unknown training setting '", k, "'");
  auto get = [&](const char* key, auto& field) {
    if (!j.contains(key)) return;
    try {
      field = j.at(key).get<std::decay_t<decltype(field)>>();
    } catch (const nlohmann::json::exception&) {
      BNAS_CHECK(false, "training setting '", key, "' has the wrong type (", j.at(key).dump(), ")");
    }
  };
  get("channels", c.channels), get("layers", c.layers), get("en_layers", c.en_layers);
  get("epochs", c.epochs), get("batch", c.batch), get("lr", c.lr), get("lr_min", c.lr_min);
  get("warmup_epochs", c.warmup_epochs), get("momentum", c.momentum), get("weight_decay", c.weight_decay);
  get("grad_clip", c.grad_clip), get("drop_path", c.drop_path), get("label_smoothing", c.label_smoothing);
  get("cutout", c.cutout), get("seed", c.seed), get("log_interval", c.log_interval);
  get("checkpoint_every", c.checkpoint_every), get("checkpoint_dir", c.checkpoint_dir);
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

Trainer::Trainer(EvalNetwork& net, TrainData data, const TrainConfig& config)
    : net_(net),
      data_(data),
      cfg_(config),
      weights_(net.parameters()),
      loop_({config.epochs, config.log_interval, config.checkpoint_every, config.checkpoint_dir}, weights_) {
  cfg_.validate();
  BNAS_CHECK(data_.train != nullptr, "training needs a training loader");
  SgdOptions so;
  so.lr = cfg_.lr;
  so.momentum = cfg_.momentum;
  so.weight_decay = cfg_.weight_decay;
  opt_ = std::make_unique<SGD>(weights_, so);
}

int64_t Trainer::parameter_count() const { return net_.parameter_count(); }

double Trainer::begin_epoch(int epoch) {
  const double lr = CosineSchedule{cfg_.lr, cfg_.lr_min, cfg_.epochs, cfg_.warmup_epochs}.at(epoch);
  opt_->set_lr(lr);
  net_.set_drop_prob(cfg_.drop_path * epoch / cfg_.epochs);
  return lr;
}

void Trainer::step(const data::Batch& batch) {
  opt_->zero_grad();
  const Tensor logits = net_.forward(batch.images, true);
  const Tensor loss = ops::cross_entropy(logits, batch.labels, cfg_.label_smoothing);
  backward(loss, weights_);
  if (cfg_.grad_clip > 0) opt_->clip_grad_norm(cfg_.grad_clip);
  opt_->step();
  loop_.count_step(loss, logits, batch.labels);
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
  append_group(all, "opt.", opt_->state());
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
  check_resume_config(f, path, to_json(cfg_));
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
