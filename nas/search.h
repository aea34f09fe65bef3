// The BNAS-v2 search loop (docs/METHOD.md §6): bilevel optimisation of a SearchModel's
// weights (SGD) and architecture parameters (Architect), with the presets of the paper, per-epoch
// structured records, and checkpoints that resume exactly.
//
// Each step: draw a training batch (one epoch of the training loader per search epoch) and a
// validation batch (a persistent iterator over the validation half: it walks its own epochs and
// is never recreated); from arch_start_epoch on, the architecture step; then the weight step
// (SGD momentum 0.9, weight decay 3e-4, gradient clipping at 5, cosine learning rate per epoch
// with optional linear warm-up). Gradients are averaged over data-parallel ranks at one place,
// Search::reduce_gradients (docs/DESIGN.md rule 8). Nothing in a step waits for the device:
// running sums of the training loss and correct count stay on the device and are read at log
// intervals.
//
// On a GPU the step is captured as one CUDA graph per input shape and mode (architecture step or
// not) and replayed (the graph setting, engine/cuda_graph.h): the first step of a shape runs
// eagerly and is then captured; later ones copy their batches into fixed device buffers and
// launch the graph, with no synchronisation, allocation or host-device copy, and the same
// kernels in the same order as the eager step. The validation pass of each epoch likewise, per
// batch (nas/evaluate.h).
//
// Per epoch, an EpochRecord (to_json gives one JSONL line): genotype, softmax(alpha) rows,
// softmax(beta) per node, parameter-free ops per cell of the genotype, mean alpha entropy,
// running train loss/accuracy, validation loss/accuracy (eval mode with BN running statistics
// over the whole validation split), learning rates and confidence, images/s, peak memory,
// elapsed time and ETA. The final genotype is derived after the last epoch.
//
// Checkpoints (every checkpoint_every epochs, in checkpoint_dir): one safetensors file
// search.safetensors holding the model's state_dict ("model.<name>": weights and BN buffers),
// the architecture parameters ("arch.<name>"), both optimizer states ("weight_opt.<name>",
// "arch_opt.<name>"), and as metadata the next epoch, the global step, the model generator's
// (seed, stream, offset), both loaders' (epoch, position), the elapsed time and the config.
// The file is written atomically (temporary + rename), so the previous checkpoint stays in place
// until the new one is complete; genotype.json beside it is a convenience copy. resume(dir)
// restores all of it; on the CPU the resumed search ends bit-identical to an uninterrupted one.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/loader.h"
#include "engine/comm.h"
#include "engine/cuda_graph.h"
#include "engine/optim.h"
#include "nas/architect.h"
#include "nas/batch_buffers.h"
#include "nas/broad_network.h"
#include "nas/confident_lr.h"
#include "nas/epoch_loop.h"
#include "nas/evaluate.h"
#include "nas/run_settings.h"
#include "nas/search_model.h"
#include "nas/weight_step.h"

namespace bnas::nas {

// The search's settings: the shared ones (RunSettings) and the architecture's. A default
// SearchConfig is the bnas-v2-pc preset (the CIFAR setting of BNAS-v2-PC).
struct SearchConfig : RunSettings {
  std::string preset = "bnas-v2-pc";
  // Search space.
  int pc_k;                      // partial-channel proportion K (1: full channels)
  bool edge_norm;                // edge normalisation (beta); both from SupernetConfig::pc_cifar()
  bool random_channels = false;  // PC-DARTS' random channel subsets instead of the first C/K
  // Architecture.
  double arch_lr = 6e-4, arch_weight_decay = 1e-3, arch_beta1 = 0.5, arch_beta2 = 0.999;
  double arch_grad_clip = 0;  // 0: off
  int arch_start_epoch = 15;  // no architecture update before this epoch
  bool unrolled = false;      // second order
  ConfidentLr clr;
  // Data.
  double train_portion = 0.5;  // first part trains w, the rest alpha
  // Execution. The step as a CUDA graph: "on", "off", or "auto" (the default): on a GPU whenever
  // the step can be captured, else eager with the reason in SearchInfo::graph. auto is the
  // default because a replay runs the eager step's kernels in the same order (tests check it
  // bit-identical) without its thousands of launches, and a step that cannot be captured (random
  // channel selection, data-parallel ranks, a capture error) still runs, eagerly. "on" makes
  // those an error; the CPU always runs eagerly.
  std::string graph = "auto";

  SearchConfig();
  // A preset: "bnas-v2-pc", "bnas-v2-clr", "bnas-d", "imagenet"; throws listing them otherwise.
  static SearchConfig preset_config(const std::string& name);
  static const std::vector<std::string>& preset_names();
  // The preset a dataset searches with by default: imagenet for imagenet, else bnas-v2-pc.
  static std::string default_preset(const std::string& dataset);
  // Every setting, one row each (settings.h).
  static const SettingTable<SearchConfig>& table();
  // Throws a sentence naming the first bad setting.
  void validate() const;
};

nlohmann::json to_json(const SearchConfig& c);
// The keys of j set on `base`; a "preset" key first replaces base by that preset. Unknown keys,
// wrong types and values out of bounds are errors naming the setting.
SearchConfig search_config_from_json(const nlohmann::json& j, SearchConfig base = SearchConfig{});

// The BroadSupernet a config searches (C, layers, en_layers, K, EN, channel selection; the
// ImageNet stem for the imagenet preset), for `classes` classes on input_channels x
// input_size x input_size images, its weights drawn from config.seed.
SupernetConfig supernet_config(const SearchConfig& config, int classes, int input_channels, int input_size,
                               Device device = Device::cpu(), DType dtype = DType::F32);

// Both halves of the search data (required by run, save_checkpoint and resume; step alone works
// without them, e.g. in benchmarks). train and valid are persistent loaders (their state is saved
// in checkpoints); valid_eval walks the validation half once per epoch in evaluation mode (no
// shuffling or augmentation needed; restored to the epoch's start each time) and may be null
// (then no validation figures are recorded).
struct SearchData {
  data::Loader* train = nullptr;
  data::Loader* valid = nullptr;
  data::Loader* valid_eval = nullptr;
};

struct SearchInfo {
  int64_t weight_parameters = 0;
  int64_t arch_parameters = 0;
  int64_t steps_per_epoch = 0;
  size_t memory_after_first_step = 0;  // peak bytes on the model's device after the first step
  // ... and the high-water mark of what its allocator holds (memory_stats().reserved_peak)
  size_t reserved_memory_after_first_step = 0;
  std::string device;
  std::string graph;             // "on" (steps are CUDA graph replays) or "off: <why>"
  std::string eval_graph;        // the same for the validation pass (Evaluator, nas/evaluate.h)
  int64_t step_launches = -1;    // kernel launches of the first (eager) step; -1: not counted here
  int64_t graph_nodes = 0;       // nodes of the first step's graph (when graph is on)
};

struct ProgressRecord : StepProgress {
  double arch_lr = 0;
};

struct ArchRows {
  std::string name;                       // alpha_conv, beta_enh, ...
  std::vector<std::vector<double>> rows;  // alpha: softmax per edge; beta: softmax per node
};

struct EpochRecord : EpochFigures {
  Genotype genotype;
  std::vector<ArchRows> alpha_softmax;
  std::vector<ArchRows> beta_softmax;
  int param_free_normal = 0;  // parameter-free ops (pools, skip) in the convolution cell
  int param_free_reduce = 0;  // ... and in the enhancement cell
  double alpha_entropy = 0;   // mean entropy (nats) of the softmax(alpha) rows
  double valid_loss = -1, valid_acc = -1;  // -1: no validation loader
  double arch_lr = 0, confidence = 1;
  bool arch_updated = false;  // epoch >= arch_start_epoch
};
nlohmann::json to_json(const EpochRecord& r);
nlohmann::json to_json(const SearchInfo& i);
// Parameter-free ops (max/avg pool, skip) among a cell's genotype entries.
int count_param_free(const std::vector<GenotypeEdge>& cell);

class Search {
 public:
  // The loaders must yield batches on the model's device. comm: null for a single rank.
  Search(SearchModel& model, SearchData data, const SearchConfig& config, Communicator* comm = nullptr);
  ~Search();

  std::function<void(const SearchInfo&)> on_start;        // once, after the first step this object runs (also after a resume)
  std::function<void(const ProgressRecord&)> on_progress;  // every log_interval steps
  std::function<void(const EpochRecord&)> on_epoch;        // after each epoch

  // Runs epochs from the current one until `until_epoch` (exclusive; -1: config.epochs) and
  // returns the genotype derived at the end.
  Genotype run(int until_epoch = -1);
  // One search step (architecture step when epoch >= arch_start_epoch, then weight step) on
  // the given batches; learning rates must have been set (begin_epoch). For benchmarks. With the
  // graph on, the first step of a shape and mode runs eagerly and is captured, the next ones
  // replay it.
  void step(const data::Batch& train, const data::Batch& valid, int epoch);
  // Sets the epoch's learning rates; returns the weight lr.
  double begin_epoch(int epoch);

  void save_checkpoint(const std::string& dir) const;
  // Restores a checkpoint written by save_checkpoint for the same config (seed, batch, epochs
  // and search space must agree); run() then continues with the next epoch.
  void resume(const std::string& dir);

  int epoch() const { return loop_.epoch(); }  // next epoch to run
  int64_t global_step() const { return loop_.global_step(); }
  const SearchInfo& info() const { return info_; }
  const std::vector<EpochRecord>& records() const { return records_; }
  Architect& architect() { return *architect_; }
  SGD& weight_optimizer() { return wstep_.optimizer(); }
  // The step's data-parallel gradient average: the only call to the communicator in a step.
  void reduce_gradients(const std::vector<Tensor>& grads);

  static constexpr const char* kCheckpointFile = "search.safetensors";

 private:
  // The step's device work: what a CUDA graph captures (nothing on the host that a replay would
  // have to repeat).
  void device_step(const data::Batch& train, const data::Batch& valid, bool arch_step);
  // The validation pass over data_.valid_eval, as CUDA graph replays or not.
  std::unique_ptr<Evaluator> make_evaluator(bool graph);
  // The epoch's figures of the search itself (validation, genotype, alpha/beta, rates).
  EpochRecord evaluate_epoch(int epoch);
  // Everything a checkpoint holds as tensors: "model.", "arch.", "weight_opt.", "arch_opt.".
  NamedTensors checkpoint_tensors() const;

  SearchModel& model_;
  SearchData data_;
  SearchConfig cfg_;
  Communicator* comm_;
  LocalCommunicator local_comm_;
  std::vector<Tensor> weights_;
  WeightStep wstep_;
  std::unique_ptr<Architect> architect_;
  EpochLoop loop_;
  SearchInfo info_;
  StepGraph graph_;
  BatchBuffers train_in_, valid_in_;  // the fixed device buffers a captured step reads
  std::unique_ptr<Evaluator> evaluator_;
  bool started_ = false;  // on_start has fired: once per object, after its first step
  std::vector<EpochRecord> records_;
};

}  // namespace bnas::nas
