#include "nas/search.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/checkpoint.h"
#include "engine/device_activity.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "nas/evaluate.h"
#include "nas/genotype_file.h"
#include "nas/run_checkpoint.h"

namespace bnas::nas {

// ---- configuration ----------------------------------------------------------------------------

SearchConfig::SearchConfig()
    : pc_k(SupernetConfig::pc_cifar().k),  // K and EN of the CIFAR search network, once
      edge_norm(SupernetConfig::pc_cifar().edge_norm) {
  batch = 512, lr = 0.2, lr_min = 0;  // bnas-v2-pc's weight schedule
}

const std::vector<std::string>& SearchConfig::preset_names() {
  static const std::vector<std::string> names{"bnas-v2-pc", "bnas-v2-clr", "bnas-d", "imagenet"};
  return names;
}

SearchConfig SearchConfig::preset_config(const std::string& name) {
  SearchConfig c;  // bnas-v2-pc; all: 50 epochs, C 16, layers 2, en_layers 1, momentum 0.9, wd 3e-4, clip 5
  c.preset = name;
  if (name == "bnas-v2-pc") return c;
  if (name == "bnas-d" || name == "bnas-v2-clr") {
    const SupernetConfig full = SupernetConfig::full_cifar();
    c.pc_k = full.k, c.edge_norm = full.edge_norm;
    c.batch = 256, c.arch_lr = 3e-4, c.arch_start_epoch = 0;
    if (name == "bnas-d") {
      c.lr = 0.025, c.lr_min = 0.001;
    } else {
      c.lr = 0.1, c.lr_min = 0;
      c.clr.enabled = true, c.clr.power = 2, c.clr.mode = ClrMode::kScaleArchLr;
    }
  } else if (name == "imagenet") {
    const SupernetConfig in = SupernetConfig::pc_imagenet();
    c.pc_k = in.k, c.edge_norm = in.edge_norm;
    c.warmup_epochs = 5;
    c.arch_lr = 6e-3, c.arch_grad_clip = 5, c.arch_start_epoch = 35;
  } else {
    std::string list;
    for (const auto& n : preset_names()) list += (list.empty() ? "" : ", ") + n;
    BNAS_FAIL("unknown search preset '", name, "': use one of ", list);
  }
  return c;
}

std::string SearchConfig::default_preset(const std::string& dataset) {
  return dataset == "imagenet" ? "imagenet" : "bnas-v2-pc";
}

const SettingTable<SearchConfig>& SearchConfig::table() {
  using C = SearchConfig;
  static const SettingTable<C> t = [] {
    SettingTable<C> rows{
        setting<C>("preset", [](auto& c) -> auto& { return c.preset; },
                   "the preset the other settings start from (default: the dataset's)", {}, preset_names()),
        setting<C>("pc_k", [](auto& c) -> auto& { return c.pc_k; },
                   "partial-channel proportion K: 1/K of the channels go through the mixed op (1: all)", at_least(1)),
        setting<C>("edge_norm", [](auto& c) -> auto& { return c.edge_norm; }, "edge normalisation (beta)"),
        setting<C>("random_channels", [](auto& c) -> auto& { return c.random_channels; },
                   "a random channel subset per step (PC-DARTS) instead of the first C/K channels"),
        setting<C>("arch_lr", [](auto& c) -> auto& { return c.arch_lr; }, "architecture (Adam) learning rate",
                   above(0)),
        setting<C>("arch_weight_decay", [](auto& c) -> auto& { return c.arch_weight_decay; },
                   "architecture weight decay", at_least(0)),
        setting<C>("arch_beta1", [](auto& c) -> auto& { return c.arch_beta1; }, "architecture Adam beta1",
                   in_closed_open(0, 1)),
        setting<C>("arch_beta2", [](auto& c) -> auto& { return c.arch_beta2; }, "architecture Adam beta2",
                   in_closed_open(0, 1)),
        setting<C>("arch_grad_clip", [](auto& c) -> auto& { return c.arch_grad_clip; },
                   "architecture gradient-norm clipping (0: off)", at_least(0)),
        setting<C>("arch_start_epoch", [](auto& c) -> auto& { return c.arch_start_epoch; },
                   "first epoch with architecture updates", at_least(0)),
        setting<C>("unrolled", [](auto& c) -> auto& { return c.unrolled; },
                   "second-order architecture gradient (one unrolled weight step)"),
        setting<C>("clr", [](auto& c) -> auto& { return c.clr.enabled; }, "confident learning rate"),
        setting<C>("clr_power", [](auto& c) -> auto& { return c.clr.power; },
                   "confident learning rate power p: confidence ((epoch + 1) / epochs)^p", at_least(0)),
        enum_setting<C>("clr_mode", [](auto& c) -> auto& { return c.clr.mode; }, clr_mode_name, parse_clr_mode,
                        "what the confidence scales: arch_lr (the paper) or val_loss (the reference's unrolled code)",
                        {clr_mode_name(ClrMode::kScaleArchLr), clr_mode_name(ClrMode::kScaleValLoss)}),
        setting<C>("train_portion", [](auto& c) -> auto& { return c.train_portion; },
                   "fraction of the training images that trains w (the rest trains alpha)", in_open(0, 1)),
        setting<C>("graph", [](auto& c) -> auto& { return c.graph; },
                   "the step as one CUDA graph: auto (on a GPU when the step can be captured), on (an error "
                   "when it cannot) or off",
                   {}, {"auto", "on", "off"})
            .may_change_on_resume(),
    };
    SettingTable<C> all = run_setting_rows<C>();
    all.insert(all.end(), rows.begin(), rows.end());
    return all;
  }();
  return t;
}

void SearchConfig::validate() const {
  check_settings(table(), *this, "search setting");
  check_run_settings(*this);
  BNAS_CHECK(channels % pc_k == 0, "the partial-channel proportion K = ", pc_k, " must divide the channel count ",
             channels);
}

nlohmann::json to_json(const SearchConfig& c) { return settings_to_json(SearchConfig::table(), c); }

SearchConfig search_config_from_json(const nlohmann::json& j, SearchConfig base) {
  check_settings_object(j, "search setting");
  if (j.contains("preset")) {
    find_setting(SearchConfig::table(), "preset")->check(j.at("preset"), "search setting");
    base = SearchConfig::preset_config(j.at("preset").get<std::string>());
  }
  settings_from_json(SearchConfig::table(), j, base, "search setting");
  return base;
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
  nlohmann::json j = {{"weight_parameters", i.weight_parameters},
          {"arch_parameters", i.arch_parameters},
          {"steps_per_epoch", i.steps_per_epoch},
          {"memory_after_first_step", i.memory_after_first_step},
          {"reserved_memory_after_first_step", i.reserved_memory_after_first_step},
          {"device", i.device},
          {"graph", i.graph},
          {"eval_graph", i.eval_graph}};
  if (i.step_launches >= 0) j["step_launches"] = i.step_launches;
  if (i.graph_nodes > 0) j["graph_nodes"] = i.graph_nodes;
  return j;
}

// ---- the search -------------------------------------------------------------------------------

namespace {
const SearchConfig& validated(const SearchConfig& c) {
  c.validate();
  return c;
}

// Whether the step of a search on `d` is captured as a CUDA graph: "on", or "off: <why>".
// Throws when the setting is "on" and a GPU step cannot be captured.
std::string graph_plan(const SearchConfig& c, Device d, int world_size) {
  if (c.graph == "off") return "off: the graph setting is off";
  if (!d.is_cuda()) return "off: " + d.str() + " runs the step eagerly (CUDA graphs are for GPUs)";
  if (world_size == 1) return "on";
  const std::string why = "the gradient average over data-parallel ranks is not captured";
  BNAS_CHECK(c.graph != "on", "the search step cannot be captured as a CUDA graph (graph = on): ", why);
  return "off: " + why;
}
}  // namespace

Search::Search(SearchModel& model, SearchData data, const SearchConfig& config, Communicator* comm)
    : model_(model),
      data_(data),
      cfg_(validated(config)),
      comm_(comm ? comm : &local_comm_),
      weights_(model.weights()),
      wstep_(weights_, cfg_),
      loop_({config.epochs, config.log_interval, config.checkpoint_every, config.checkpoint_dir}, weights_),
      graph_(model.device()) {
  set_deterministic(cfg_.deterministic);
  ArchitectOptions ao;
  ao.lr = cfg_.arch_lr;
  ao.beta1 = cfg_.arch_beta1;
  ao.beta2 = cfg_.arch_beta2;
  ao.weight_decay = cfg_.arch_weight_decay;
  ao.unrolled = cfg_.unrolled;
  ao.grad_clip = cfg_.arch_grad_clip;
  ao.scale_val_loss = cfg_.clr.enabled && cfg_.clr.mode == ClrMode::kScaleValLoss;
  architect_ = std::make_unique<Architect>(model, ao, &wstep_.optimizer());

  for (const Tensor& w : weights_) info_.weight_parameters += w.numel();
  for (const Tensor& a : architect_->arch_tensors()) info_.arch_parameters += a.numel();
  info_.steps_per_epoch = data_.train ? data_.train->batches_per_epoch() : 0;
  info_.device = model.device().str();
  info_.graph = info_.eval_graph = graph_plan(cfg_, model.device(), comm_->world_size());
  evaluator_ = make_evaluator(info_.graph == "on");

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
  const double lr = wstep_.begin_epoch(epoch);
  architect_->set_lr(cfg_.clr.arch_lr(cfg_.arch_lr, epoch, cfg_.epochs));
  if (architect_->options().scale_val_loss) architect_->set_val_loss_scale(cfg_.clr.val_loss_scale(epoch, cfg_.epochs));
  return lr;
}

void Search::device_step(const data::Batch& train, const data::Batch& valid, bool arch_step) {
  if (arch_step) {
    architect_->compute_gradient(train, valid);
    reduce_gradients(architect_->optimizer().grads());
    architect_->apply();
  }
  const Tensor logits = model_.forward(train.images, true);
  const Tensor loss = ops::cross_entropy(logits, train.labels);
  wstep_.step(loss, [this](const std::vector<Tensor>& grads) { reduce_gradients(grads); });
  loop_.add_to_sums(loss, logits, train.labels);
}

void Search::step(const data::Batch& train, const data::Batch& valid, int epoch) {
  const bool arch_step = epoch >= cfg_.arch_start_epoch;
  if (info_.graph == "on") {
    const data::Batch t = train_in_.stage(train, graph_), v = valid_in_.stage(valid, graph_);
    const std::string key = "train " + t.images.shape().str() + ", valid " + v.images.shape().str() +
                            (arch_step ? ", architecture and weight step" : ", weight step");
    try {
      graph_.run(key, [&] { device_step(t, v, arch_step); });
      if (info_.graph_nodes == 0) info_.graph_nodes = static_cast<int64_t>(graph_.nodes(key));
    } catch (const GraphCaptureError& e) {
      if (cfg_.graph == "on") throw;
      info_.graph = std::string("off: ") + e.what();  // auto: the step ran eagerly, and will from now on
      graph_.clear();
    }
  } else {
    device_step(train, valid, arch_step);
  }
  loop_.count_step(train.labels.numel());
}

std::unique_ptr<Evaluator> Search::make_evaluator(bool graph) {
  return std::make_unique<Evaluator>([this](const Tensor& x) { return model_.forward(x, false); },
                                     weights_.front().dtype(), model_.device(), graph);
}

EpochRecord Search::evaluate_epoch(int epoch) {
  EpochRecord r;
  r.arch_lr = architect_->optimizer().lr();
  r.confidence = cfg_.clr.confidence(epoch, cfg_.epochs);
  r.arch_updated = epoch >= cfg_.arch_start_epoch;

  if (data_.valid_eval) {
    LossAccuracy v;
    try {
      v = evaluator_->run(*data_.valid_eval, epoch);
    } catch (const GraphCaptureError& e) {
      if (cfg_.graph == "on") throw;
      info_.eval_graph = std::string("off: ") + e.what();  // auto: this pass again, and the next ones, eagerly
      evaluator_ = make_evaluator(false);
      v = evaluator_->run(*data_.valid_eval, epoch);
    }
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
    const DeviceActivity before = started_ ? DeviceActivity{} : device_activity();
    step(tb, vb, e);
    if (!started_) {
      started_ = true;
      const DeviceActivity a = device_activity() - before;
      if (a.available) info_.step_launches = static_cast<int64_t>(a.launches);
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
  append_group(all, "weight_opt.", wstep_.optimizer().state());
  append_group(all, "arch_opt.", architect_->optimizer().state());
  return all;
}

void Search::save_checkpoint(const std::string& dir) const {
  BNAS_CHECK(data_.train && data_.valid, "a search checkpoint needs the training and validation loaders");
  std::filesystem::create_directories(dir);
  CheckpointMetadata md = run_metadata(kFormat, to_json(cfg_), loop_);
  md["channel_draws"] = std::to_string(model_.channel_draws());
  md["train_loader"] = loader_meta(data_.train->state());
  md["valid_loader"] = loader_meta(data_.valid->state());
  save_safetensors((std::filesystem::path(dir) / kCheckpointFile).string(), checkpoint_tensors(), md);
  write_genotype_file(model_.genotype(), (std::filesystem::path(dir) / "genotype.json").string());
}

void Search::resume(const std::string& dir) {
  BNAS_CHECK(data_.train && data_.valid, "resuming a search needs the training and validation loaders");
  const std::string path = (std::filesystem::path(dir) / kCheckpointFile).string();
  const SafetensorsFile f = load_run_checkpoint(path, kFormat);
  check_resume_config(SearchConfig::table(), path,
                      search_config_from_json(nlohmann::json::parse(checkpoint_meta(f, path, "config"))), cfg_);
  const data::LoaderState train = loader_state_from_meta(checkpoint_meta(f, path, "train_loader"));
  const data::LoaderState valid = loader_state_from_meta(checkpoint_meta(f, path, "valid_loader"));
  restore_tensors(f, path, checkpoint_tensors());
  // Checkpoints written before the random channels were drawn on the device have no
  // channel_draws (their host generator's position, model_rng, has no meaning for the device
  // stream): the resumed run's draws start from the beginning of that stream.
  const auto draws = f.metadata.find("channel_draws");
  model_.set_channel_draws(draws == f.metadata.end() ? 0 : static_cast<uint32_t>(std::stoul(draws->second)));
  data_.train->restore(train);
  data_.valid->restore(valid);
  restore_loop(loop_, f, path);
  records_.clear();
  begin_epoch(std::min(loop_.epoch(), cfg_.epochs - 1));
}

}  // namespace bnas::nas
