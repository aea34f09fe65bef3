#include "nas/search.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/checkpoint.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/schedule.h"
#include "nas/evaluate.h"
#include "nas/run_checkpoint.h"

namespace bnas::nas {

// ---- configuration ----------------------------------------------------------------------------

const std::vector<std::string>& SearchConfig::preset_names() {
  static const std::vector<std::string> names{"bnas-d", "bnas-v2-clr", "bnas-v2-pc", "imagenet"};
  return names;
}

SearchConfig SearchConfig::preset_config(const std::string& name) {
  SearchConfig c;  // common: 50 epochs, C 16, layers 2, en_layers 1, momentum 0.9, wd 3e-4, clip 5
  c.preset = name;
  if (name == "bnas-d") {
    c.batch = 256, c.lr = 0.025, c.lr_min = 0.001, c.arch_lr = 3e-4, c.arch_start_epoch = 0;
  } else if (name == "bnas-v2-clr") {
    c.batch = 256, c.lr = 0.1, c.lr_min = 0, c.arch_lr = 3e-4, c.arch_start_epoch = 0;
    c.clr.enabled = true, c.clr.power = 2, c.clr.mode = ClrMode::kScaleArchLr;
  } else if (name == "bnas-v2-pc") {
    c.pc_k = 4, c.edge_norm = true;
    c.batch = 512, c.lr = 0.2, c.lr_min = 0, c.arch_lr = 6e-4, c.arch_start_epoch = 15;
  } else if (name == "imagenet") {
    c.pc_k = 2, c.edge_norm = true;
    c.batch = 512, c.lr = 0.2, c.lr_min = 0, c.warmup_epochs = 5;
    c.arch_lr = 6e-3, c.arch_grad_clip = 5, c.unrolled = false, c.arch_start_epoch = 35;
  } else {
    std::string list;
    for (const auto& n : preset_names()) list += (list.empty() ? "" : ", ") + n;
    BNAS_FAIL("unknown search preset '", name, "': use one of ", list);
  }
  return c;
}

void SearchConfig::validate() const {
  BNAS_CHECK(epochs > 0, "the search needs at least one epoch, got ", epochs);
  BNAS_CHECK(batch > 0, "the batch size must be positive, got ", batch);
  BNAS_CHECK(channels > 0 && layers > 0 && en_layers >= 0, "the network sizes must be positive");
  BNAS_CHECK(pc_k >= 1 && channels % pc_k == 0, "the partial-channel proportion K = ", pc_k,
             " must be at least 1 and divide the channel count ", channels);
  BNAS_CHECK(lr > 0 && lr_min >= 0 && lr_min <= lr, "the weight learning rate must be positive and at least lr_min");
  BNAS_CHECK(warmup_epochs >= 0 && warmup_epochs < epochs, "warm-up epochs must be in [0, epochs), got ", warmup_epochs);
  BNAS_CHECK(momentum >= 0 && momentum < 1, "momentum must be in [0, 1), got ", momentum);
  BNAS_CHECK(weight_decay >= 0 && arch_weight_decay >= 0, "weight decay must not be negative");
  BNAS_CHECK(grad_clip > 0, "the weight gradient clipping norm must be positive, got ", grad_clip);
  BNAS_CHECK(arch_lr > 0, "the architecture learning rate must be positive, got ", arch_lr);
  BNAS_CHECK(arch_grad_clip >= 0, "the architecture gradient clipping norm must not be negative");
  BNAS_CHECK(arch_start_epoch >= 0, "the architecture start epoch must not be negative");
  BNAS_CHECK(!clr.enabled || clr.power >= 0, "the confident-learning-rate power must not be negative");
  BNAS_CHECK(train_portion > 0 && train_portion < 1, "train_portion must be in (0, 1), got ", train_portion);
  BNAS_CHECK(log_interval >= 0 && checkpoint_every >= 0, "intervals must not be negative");
}

nlohmann::json to_json(const SearchConfig& c) {
  return {{"preset", c.preset},
          {"channels", c.channels},
          {"layers", c.layers},
          {"en_layers", c.en_layers},
          {"pc_k", c.pc_k},
          {"edge_norm", c.edge_norm},
          {"random_channels", c.random_channels},
          {"epochs", c.epochs},
          {"batch", c.batch},
          {"lr", c.lr},
          {"lr_min", c.lr_min},
          {"warmup_epochs", c.warmup_epochs},
          {"momentum", c.momentum},
          {"weight_decay", c.weight_decay},
          {"grad_clip", c.grad_clip},
          {"arch_lr", c.arch_lr},
          {"arch_weight_decay", c.arch_weight_decay},
          {"arch_beta1", c.arch_beta1},
          {"arch_beta2", c.arch_beta2},
          {"arch_grad_clip", c.arch_grad_clip},
          {"arch_start_epoch", c.arch_start_epoch},
          {"unrolled", c.unrolled},
          {"clr", c.clr.enabled},
          {"clr_power", c.clr.power},
          {"clr_mode", clr_mode_name(c.clr.mode)},
          {"train_portion", c.train_portion},
          {"seed", c.seed},
          {"log_interval", c.log_interval},
          {"checkpoint_every", c.checkpoint_every},
          {"checkpoint_dir", c.checkpoint_dir}};
}

SearchConfig search_config_from_json(const nlohmann::json& j) {
  SearchConfig c;
  if (j.contains("preset")) c = SearchConfig::preset_config(j.at("preset").get<std::string>());
  auto get = [&](const char* k, auto& v) {
    if (j.contains(k)) v = j.at(k).get<std::decay_t<decltype(v)>>();
  };
  get("channels", c.channels), get("layers", c.layers), get("en_layers", c.en_layers);
  get("pc_k", c.pc_k), get("edge_norm", c.edge_norm), get("random_channels", c.random_channels);
  get("epochs", c.epochs), get("batch", c.batch);
  get("lr", c.lr), get("lr_min", c.lr_min), get("warmup_epochs", c.warmup_epochs);
  get("momentum", c.momentum), get("weight_decay", c.weight_decay), get("grad_clip", c.grad_clip);
  get("arch_lr", c.arch_lr), get("arch_weight_decay", c.arch_weight_decay);
  get("arch_beta1", c.arch_beta1), get("arch_beta2", c.arch_beta2), get("arch_grad_clip", c.arch_grad_clip);
  get("arch_start_epoch", c.arch_start_epoch), get("unrolled", c.unrolled);
  get("clr", c.clr.enabled), get("clr_power", c.clr.power);
  if (j.contains("clr_mode")) c.clr.mode = parse_clr_mode(j.at("clr_mode").get<std::string>());
  get("train_portion", c.train_portion), get("seed", c.seed), get("log_interval", c.log_interval);
  get("checkpoint_every", c.checkpoint_every), get("checkpoint_dir", c.checkpoint_dir);
  return c;
}

SupernetConfig supernet_config(const SearchConfig& c, int classes, int input_channels, int input_size,
                               Device device, DType dtype) {
  SupernetConfig s = c.preset == "imagenet" ? SupernetConfig::pc_imagenet() : SupernetConfig::pc_cifar();
  s.C = c.channels;
  s.layers = c.layers;
  s.en_layers = c.en_layers;
  s.k = c.pc_k;
  s.edge_norm = c.edge_norm;
  s.selection = c.random_channels ? ChannelSelection::kRandom : ChannelSelection::kFixed;
  s.classes = classes;
  s.input_channels = input_channels;
  s.input_size = input_size;
  s.device = device;
  s.dtype = dtype;
  s.seed = c.seed;
  return s;
}

// ---- records ----------------------------------------------------------------------------------

int count_param_free(const std::vector<GenotypeEdge>& cell) {
  int n = 0;
  for (const auto& e : cell)
    n += e.op == Primitive::kMaxPool3x3 || e.op == Primitive::kAvgPool3x3 || e.op == Primitive::kSkipConnect;
  return n;
}

namespace {

std::vector<double> softmax_of(const double* x, size_t n) {
  double m = -INFINITY;
  for (size_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  std::vector<double> out(n);
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += out[i] = std::exp(x[i] - m);
  for (double& v : out) v /= s;
  return out;
}

nlohmann::json rows_json(const std::vector<ArchRows>& rows) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& r : rows) j[r.name] = r.rows;
  return j;
}

}  // namespace

nlohmann::json to_json(const EpochRecord& r) {
  nlohmann::json j = to_json(static_cast<const EpochFigures&>(r));
  j["genotype"] = genotype_to_json(r.genotype);
  j["alpha_softmax"] = rows_json(r.alpha_softmax);
  j["beta_softmax"] = rows_json(r.beta_softmax);
  j["param_free_normal"] = r.param_free_normal;
  j["param_free_reduce"] = r.param_free_reduce;
  j["alpha_entropy"] = r.alpha_entropy;
  j["arch_lr"] = r.arch_lr;
  j["confidence"] = r.confidence;
  j["arch_updated"] = r.arch_updated;
  if (r.valid_loss >= 0) {
    j["valid_loss"] = r.valid_loss;
    j["valid_acc"] = r.valid_acc;
  }
  return j;
}

nlohmann::json to_json(const SearchInfo& i) {
  return {{"weight_parameters", i.weight_parameters},
          {"arch_parameters", i.arch_parameters},
          {"steps_per_epoch", i.steps_per_epoch},
          {"memory_after_first_step", i.memory_after_first_step},
          {"reserved_memory_after_first_step", i.reserved_memory_after_first_step},
          {"device", i.device}};
}

// ---- the search -------------------------------------------------------------------------------

Search::Search(SearchModel& model, SearchData data, const SearchConfig& config, Communicator* comm)
    : model_(model),
      data_(data),
      cfg_(config),
      comm_(comm ? comm : &local_comm_),
      weights_(model.weights()),
      loop_({config.epochs, config.log_interval, config.checkpoint_every, config.checkpoint_dir}, weights_) {
  cfg_.validate();
  SgdOptions so;
  so.lr = cfg_.lr;
  so.momentum = cfg_.momentum;
  so.weight_decay = cfg_.weight_decay;
  wopt_ = std::make_unique<SGD>(weights_, so);
  ArchitectOptions ao;
  ao.lr = cfg_.arch_lr;
  ao.beta1 = cfg_.arch_beta1;
  ao.beta2 = cfg_.arch_beta2;
  ao.weight_decay = cfg_.arch_weight_decay;
  ao.unrolled = cfg_.unrolled;
  ao.grad_clip = cfg_.arch_grad_clip;
  architect_ = std::make_unique<Architect>(model, ao, wopt_.get());

  for (const Tensor& w : weights_) info_.weight_parameters += w.numel();
  for (const Tensor& a : architect_->arch_tensors()) info_.arch_parameters += a.numel();
  info_.steps_per_epoch = data_.train ? data_.train->batches_per_epoch() : 0;
  info_.device = model.device().str();

  // Every rank starts from rank 0's weights, BN buffers and architecture parameters.
  std::vector<Tensor> init;
  for (const auto& [n, t] : model.state_dict()) init.push_back(t);
  for (const Tensor& a : architect_->arch_tensors()) init.push_back(a);
  comm_->broadcast(init, 0);
}

Search::~Search() = default;

void Search::reduce_gradients(const std::vector<Tensor>& grads) {
  if (comm_->world_size() > 1) comm_->all_reduce_mean(grads);
}

double Search::begin_epoch(int epoch) {
  const double lr = CosineSchedule{cfg_.lr, cfg_.lr_min, cfg_.epochs, cfg_.warmup_epochs}.at(epoch);
  wopt_->set_lr(lr);
  architect_->set_lr(cfg_.clr.arch_lr(cfg_.arch_lr, epoch, cfg_.epochs));
  return lr;
}

void Search::step(const data::Batch& train, const data::Batch& valid, int epoch) {
  if (epoch >= cfg_.arch_start_epoch) {
    architect_->compute_gradient(train, valid, wopt_->lr(), cfg_.clr.val_loss_scale(epoch, cfg_.epochs));
    reduce_gradients(architect_->optimizer().grads());
    architect_->apply();
  }
  wopt_->zero_grad();
  const Tensor logits = model_.forward(train.images, true);
  const Tensor loss = ops::cross_entropy(logits, train.labels);
  backward(loss, weights_);
  reduce_gradients(wopt_->grads());
  wopt_->clip_grad_norm(cfg_.grad_clip);
  wopt_->step();
  loop_.count_step(loss, logits, train.labels);
}

EpochRecord Search::evaluate_epoch(int epoch) {
  EpochRecord r;
  r.arch_lr = architect_->optimizer().lr();
  r.confidence = cfg_.clr.confidence(epoch, cfg_.epochs);
  r.arch_updated = epoch >= cfg_.arch_start_epoch;

  if (data_.valid_eval) {
    const LossAccuracy v = nas::evaluate([&](const Tensor& x) { return model_.forward(x, false); },
                                         *data_.valid_eval, epoch, weights_.front().dtype(), model_.device());
    r.valid_loss = v.loss;
    r.valid_acc = v.accuracy;
  }

  r.genotype = model_.genotype();
  r.param_free_normal = count_param_free(r.genotype.normal);
  r.param_free_reduce = count_param_free(r.genotype.reduce);
  double entropy = 0;
  int nrows = 0;
  for (const auto& [name, t] : model_.arch_parameters()) {
    const std::vector<double> v = t.to_doubles();
    ArchRows rows{name, {}};
    if (t.ndim() == 2) {
      const size_t cols = static_cast<size_t>(t.size(1));
      for (size_t i = 0; i + cols <= v.size(); i += cols) {
        rows.rows.push_back(softmax_of(v.data() + i, cols));
        double h = 0;
        for (double p : rows.rows.back()) h -= p > 0 ? p * std::log(p) : 0.0;
        entropy += h;
        ++nrows;
      }
      r.alpha_softmax.push_back(std::move(rows));
    } else if (static_cast<int>(v.size()) == kCellEdges) {
      for (int j = 0; j < kCellSteps; ++j)
        rows.rows.push_back(softmax_of(v.data() + cell_edge_offset(j), static_cast<size_t>(j + 2)));
      r.beta_softmax.push_back(std::move(rows));
    } else {
      rows.rows.push_back(softmax_of(v.data(), v.size()));
      r.beta_softmax.push_back(std::move(rows));
    }
  }
  r.alpha_entropy = nrows ? entropy / nrows : 0.0;
  return r;
}

Genotype Search::run(int until_epoch) {
  BNAS_CHECK(data_.train && data_.valid, "the search needs a training and a validation loader");
  EpochRecord record;      // the epoch's: evaluate_epoch, then the shared figures
  EpochLoop::Hooks h;
  h.begin_epoch = [this](int e) { return begin_epoch(e); };
  h.step = [&](int e) {
    const data::Batch tb = data_.train->next_batch();
    const data::Batch vb = data_.valid->next_batch();
    step(tb, vb, e);
    if (!started_) {
      started_ = true;
      const MemoryStats m = memory_stats(model_.device());
      info_.memory_after_first_step = m.peak;
      info_.reserved_memory_after_first_step = m.reserved_peak;
      if (on_start) on_start(info_);
    }
  };
  if (on_progress)
    h.progress = [this](const StepProgress& p) { on_progress({p, architect_->optimizer().lr()}); };
  h.evaluate = [&](int e) { record = evaluate_epoch(e); };
  h.record = [&](const EpochFigures& f) {
    static_cast<EpochFigures&>(record) = f;
    records_.push_back(record);
    if (on_epoch) on_epoch(record);
  };
  h.save_checkpoint = [this](const std::string& dir) {
    if (comm_->rank() == 0) save_checkpoint(dir);
  };
  loop_.run(until_epoch, data_.train->batches_per_epoch(), h);
  return model_.genotype();
}

// ---- checkpoints ------------------------------------------------------------------------------

namespace {
const char* const kFormat = "bnas-search-checkpoint/1";
}  // namespace

NamedTensors Search::checkpoint_tensors() const {
  NamedTensors all;
  append_group(all, "model.", model_.state_dict());
  append_group(all, "arch.", model_.arch_parameters());
  append_group(all, "weight_opt.", wopt_->state());
  append_group(all, "arch_opt.", architect_->optimizer().state());
  return all;
}

void Search::save_checkpoint(const std::string& dir) const {
  BNAS_CHECK(data_.train && data_.valid, "a search checkpoint needs the training and validation loaders");
  std::filesystem::create_directories(dir);
  CheckpointMetadata md = run_metadata(kFormat, to_json(cfg_), loop_);
  md["model_rng"] = generator_meta(model_.generator());
  md["train_loader"] = loader_meta(data_.train->state());
  md["valid_loader"] = loader_meta(data_.valid->state());
  save_safetensors((std::filesystem::path(dir) / kCheckpointFile).string(), checkpoint_tensors(), md);
  write_genotype_file(model_.genotype(), (std::filesystem::path(dir) / "genotype.json").string());
}

void Search::resume(const std::string& dir) {
  BNAS_CHECK(data_.train && data_.valid, "resuming a search needs the training and validation loaders");
  const std::string path = (std::filesystem::path(dir) / kCheckpointFile).string();
  const SafetensorsFile f = load_run_checkpoint(path, kFormat);
  check_resume_config(f, path, to_json(cfg_));
  const data::LoaderState train = loader_state_from_meta(checkpoint_meta(f, path, "train_loader"));
  const data::LoaderState valid = loader_state_from_meta(checkpoint_meta(f, path, "valid_loader"));
  restore_tensors(f, path, checkpoint_tensors());
  restore_generator(model_.generator(), checkpoint_meta(f, path, "model_rng"), path);
  data_.train->restore(train);
  data_.valid->restore(valid);
  restore_loop(loop_, f, path);
  records_.clear();
  begin_epoch(std::min(loop_.epoch(), cfg_.epochs - 1));
}

}  // namespace bnas::nas
