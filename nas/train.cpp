#include "nas/train.h"

#include <chrono>
#include <cmath>
#include <set>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/checkpoint.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/schedule.h"
#include "nas/evaluate.h"

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
  nlohmann::json j = {{"epoch", r.epoch},         {"epochs", r.epochs},
                      {"train_loss", r.train_loss}, {"train_acc", r.train_acc},
                      {"lr", r.lr},               {"drop_prob", r.drop_prob},
                      {"images_per_s", r.images_per_s}, {"peak_memory", r.peak_memory},
                      {"elapsed_s", r.elapsed_s}, {"eta_s", r.eta_s}};
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
  r.epoch = j.at("epoch").get<int>();
  r.epochs = j.at("epochs").get<int>();
  r.train_loss = j.at("train_loss").get<double>();
  r.train_acc = j.at("train_acc").get<double>();
  r.lr = j.at("lr").get<double>();
  r.drop_prob = j.at("drop_prob").get<double>();
  r.images_per_s = j.at("images_per_s").get<double>();
  r.peak_memory = j.at("peak_memory").get<size_t>();
  r.elapsed_s = j.at("elapsed_s").get<double>();
  r.eta_s = j.at("eta_s").get<double>();
  if (j.contains("test_acc")) {
    r.test_loss = j.at("test_loss").get<double>();
    r.test_acc = j.at("test_acc").get<double>();
    r.best_test_acc = j.at("best_test_acc_selected_on_test").get<double>();
    r.best_epoch = j.at("best_epoch").get<int>();
  }
  return r;
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
    : net_(net), data_(data), cfg_(config) {
  cfg_.validate();
  BNAS_CHECK(data_.train != nullptr, "training needs a training loader");
  weights_ = net.parameters();
  BNAS_CHECK(!weights_.empty(), "the network has no weights to train");
  SgdOptions so;
  so.lr = cfg_.lr;
  so.momentum = cfg_.momentum;
  so.weight_decay = cfg_.weight_decay;
  opt_ = std::make_unique<SGD>(weights_, so);
  const Device dev = weights_.front().device();
  loss_sum_ = Tensor::zeros(Shape{1}, weights_.front().dtype(), dev);
  correct_sum_ = Tensor::zeros(Shape{1}, DType::F32, dev);
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
  const int64_t n = batch.labels.numel();
  ops::add_(loss_sum_, loss.detach(), static_cast<double>(n));
  ops::add_(correct_sum_, ops::count_correct(logits.detach(), batch.labels));
  seen_ += n;
  ++global_step_;
}

std::pair<double, double> Trainer::evaluate(data::Loader& loader) {
  const LossAccuracy r = nas::evaluate([&](const Tensor& x) { return net_.forward(x, false); }, loader, 0,
                                       weights_.front().dtype(), weights_.front().device());
  return {r.loss, r.accuracy};
}

TrainResult Trainer::result() const {
  TrainResult r;
  r.epochs_done = epoch_;
  r.elapsed_s = records_.empty() ? elapsed_before_ : records_.back().elapsed_s;
  if (!records_.empty()) {
    r.final_test_acc = records_.back().test_acc;
    r.final_test_loss = records_.back().test_loss;
    r.best_test_acc_selected_on_test = records_.back().best_test_acc;
    r.best_epoch = records_.back().best_epoch;
  }
  return r;
}

TrainResult Trainer::run(int until_epoch) {
  using clock = std::chrono::steady_clock;
  const int until = until_epoch < 0 ? cfg_.epochs : std::min(until_epoch, cfg_.epochs);
  const auto t_run = clock::now();
  const int first_epoch = epoch_;
  auto seconds_since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
  const Device dev = weights_.front().device();
  while (epoch_ < until) {
    const int e = epoch_;
    const double lr = begin_epoch(e);
    loss_sum_.zero_();
    correct_sum_.zero_();
    seen_ = 0;
    const auto t_epoch = clock::now();
    const int64_t steps = data_.train->batches_per_epoch();
    for (int64_t s = 0; s < steps; ++s) {
      step(data_.train->next_batch());
      const bool log = cfg_.log_interval > 0 && (s + 1) % cfg_.log_interval == 0 && s + 1 < steps;
      if (log && on_progress) {
        TrainProgress p;
        p.epoch = e;
        p.step_in_epoch = s + 1;
        p.steps_per_epoch = steps;
        p.global_step = global_step_;
        p.train_loss = loss_sum_.item() / static_cast<double>(seen_);
        p.train_acc = correct_sum_.item() / static_cast<double>(seen_);
        p.lr = lr;
        p.elapsed_s = elapsed_before_ + seconds_since(t_run);
        on_progress(p);
      }
    }
    synchronize(dev);
    const double train_seconds = seconds_since(t_epoch);
    TrainEpochRecord r;
    r.epoch = e;
    r.epochs = cfg_.epochs;
    r.lr = lr;
    r.drop_prob = net_.drop_prob();
    r.train_loss = seen_ ? loss_sum_.item() / static_cast<double>(seen_) : 0.0;
    r.train_acc = seen_ ? correct_sum_.item() / static_cast<double>(seen_) : 0.0;
    r.images_per_s = train_seconds > 0 ? static_cast<double>(seen_) / train_seconds : 0.0;
    if (data_.test) {
      const auto [tl, ta] = evaluate(*data_.test);
      r.test_loss = tl;
      r.test_acc = ta;
      const bool better = records_.empty() || ta > records_.back().best_test_acc;
      r.best_test_acc = better ? ta : records_.back().best_test_acc;
      r.best_epoch = better ? e : records_.back().best_epoch;
    }
    r.peak_memory = memory_stats(dev).peak;
    epoch_ = e + 1;
    const double run_seconds = seconds_since(t_run);
    r.elapsed_s = elapsed_before_ + run_seconds;
    r.eta_s = run_seconds / (epoch_ - first_epoch) * (cfg_.epochs - epoch_);
    records_.push_back(r);
    if (on_epoch) on_epoch(r);
    if (!cfg_.checkpoint_dir.empty() && cfg_.checkpoint_every > 0 &&
        (epoch_ % cfg_.checkpoint_every == 0 || epoch_ == cfg_.epochs)) {
      elapsed_before_ += run_seconds;
      save_checkpoint(cfg_.checkpoint_dir);
      elapsed_before_ -= run_seconds;
    }
  }
  elapsed_before_ += seconds_since(t_run);
  return result();
}

// ---- checkpoints ------------------------------------------------------------------------------

namespace {

const char* const kFormat = "bnas-train-checkpoint/1";

nlohmann::json resume_identity(const TrainConfig& c) {
  nlohmann::json j = to_json(c);
  for (const char* k : {"log_interval", "checkpoint_every", "checkpoint_dir"}) j.erase(k);
  return j;
}

const std::string& meta(const SafetensorsFile& f, const std::string& path, const std::string& key) {
  const auto it = f.metadata.find(key);
  BNAS_CHECK(it != f.metadata.end(), "checkpoint ", path, " lacks the metadata field '", key,
             "' (not a training checkpoint, or written by another version)");
  return it->second;
}

}  // namespace

void Trainer::save_checkpoint(const std::string& dir) const {
  NamedTensors tensors;
  for (const auto& [n, t] : net_.state_dict()) tensors.emplace_back("model." + n, t);
  for (const auto& [n, t] : opt_->state()) tensors.emplace_back("opt." + n, t);
  nlohmann::json recs = nlohmann::json::array();
  for (const auto& r : records_) recs.push_back(to_json(r));
  const data::LoaderState ts = data_.train->state();
  const std::map<std::string, std::string> metadata = {
      {"format", kFormat},
      {"epoch", std::to_string(epoch_)},
      {"global_step", std::to_string(global_step_)},
      {"drop_path_rng", nlohmann::json{net_.drop_path_generator().seed(), net_.drop_path_generator().stream(),
                                       net_.drop_path_generator().offset()}
                            .dump()},
      {"train_loader", nlohmann::json{ts.epoch, ts.position}.dump()},
      {"elapsed_s", nlohmann::json(elapsed_before_).dump()},
      {"config", to_json(cfg_).dump()},
      {"genotype", genotype_to_json(net_.genotype()).dump()},
      {"records", recs.dump()},
  };
  save_safetensors(dir + "/" + kCheckpointFile, tensors, metadata);
}

void Trainer::resume(const std::string& dir) {
  const std::string path = dir + "/" + kCheckpointFile;
  const SafetensorsFile f = load_safetensors(path);
  BNAS_CHECK(meta(f, path, "format") == kFormat, "checkpoint ", path, " is not a training checkpoint");
  const nlohmann::json saved = nlohmann::json::parse(meta(f, path, "config"));
  const nlohmann::json want = resume_identity(cfg_);
  for (const auto& [k, v] : want.items())
    BNAS_CHECK(saved.contains(k) && saved.at(k) == v, "checkpoint ", path, " was written with ", k, " = ",
               saved.contains(k) ? saved.at(k).dump() : std::string("(unset)"), " but this run has ", k, " = ",
               v.dump(), ": resume with the original settings");
  const Genotype g = genotype_from_json(nlohmann::json::parse(meta(f, path, "genotype")), path);
  BNAS_CHECK(g == net_.genotype(), "checkpoint ", path, " was written for a different genotype");

  // Check every tensor before touching anything.
  NamedTensors dest;
  for (const auto& [n, t] : net_.state_dict()) dest.emplace_back("model." + n, t);
  for (const auto& [n, t] : opt_->state()) dest.emplace_back("opt." + n, t);
  std::set<std::string> expected;
  for (const auto& [n, t] : dest) {
    expected.insert(n);
    const auto it = f.tensors.find(n);
    BNAS_CHECK(it != f.tensors.end(), "checkpoint ", path, " has no tensor '", n,
               "': it was written by a different network");
    BNAS_CHECK(it->second.shape() == t.shape() && it->second.dtype() == t.dtype(), "checkpoint ", path,
               ": tensor '", n, "' has shape ", it->second.shape().str(), " but the network expects ",
               t.shape().str());
  }
  for (const auto& [n, t] : f.tensors)
    BNAS_CHECK(expected.count(n) != 0, "checkpoint ", path, " holds an unexpected tensor '", n, "'");
  const nlohmann::json rng = nlohmann::json::parse(meta(f, path, "drop_path_rng"));
  const nlohmann::json tl = nlohmann::json::parse(meta(f, path, "train_loader"));
  const nlohmann::json recs = nlohmann::json::parse(meta(f, path, "records"));
  std::vector<TrainEpochRecord> records;
  for (const auto& r : recs) records.push_back(train_record_from_json(r));
  const int epoch = std::stoi(meta(f, path, "epoch"));
  const int64_t step = std::stoll(meta(f, path, "global_step"));
  const double elapsed = nlohmann::json::parse(meta(f, path, "elapsed_s")).get<double>();

  for (auto& [n, t] : dest) {
    Tensor d = t;
    d.copy_(f.tensors.at(n));
  }
  net_.drop_path_generator().set_offset(rng.at(2).get<uint64_t>());
  data_.train->restore({tl.at(0).get<int64_t>(), tl.at(1).get<int64_t>()});
  records_ = std::move(records);
  epoch_ = epoch;
  global_step_ = step;
  elapsed_before_ = elapsed;
}

}  // namespace bnas::nas
