#include "tools/cli_app.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <omp.h>

#if BNAS_WITH_CUDA
#include <cuda_runtime.h>
#include <cudnn.h>
#if BNAS_WITH_NCCL
#include <nccl.h>
#endif
#endif

#include "data/augment.h"
#include "data/cifar.h"
#include "data/dataset.h"
#include "data/encoded_source.h"
#include "data/idx.h"
#include "data/loader.h"
#include "engine/check.h"
#include "engine/checkpoint.h"
#include "engine/device.h"
#include "engine/rng.h"
#include "nas/broad_network.h"
#include "nas/eval_network.h"
#include "nas/genotype.h"
#include "nas/search.h"
#include "nas/train.h"
#include "tools/report.h"

#ifndef BNAS_VERSION
#define BNAS_VERSION "unknown"
#endif
#ifndef BNAS_BUILD_TYPE
#define BNAS_BUILD_TYPE "unknown"
#endif
#ifndef BNAS_CXX_COMPILER
#define BNAS_CXX_COMPILER "unknown"
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace bnas::cli {
namespace {

// ---- small helpers ----------------------------------------------------------------------------

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BNAS_CHECK(in.good(), "cannot read ", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json read_json_file(const std::string& path, const std::string& what) {
  const std::string text = read_text(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    BNAS_FAIL(what, " ", path, " is not valid JSON (", e.what(), ")");
  }
}

void write_json(const std::string& path, const json& j) { write_file_atomically(path, j.dump(2) + "\n"); }

std::string timestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

std::string fmt_duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

// ---- Ctrl-C -----------------------------------------------------------------------------------

std::atomic<int> g_interrupts{0};

extern "C" void on_sigint(int) {
  if (g_interrupts.fetch_add(1) >= 1) {
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C stops at once
    std::raise(SIGINT);
  }
}

struct SigintScope {
  SigintScope() {
    g_interrupts = 0;
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_);
  }
  ~SigintScope() { sigaction(SIGINT, &old_, nullptr); }
  struct sigaction old_ {};
};

// ---- progress ---------------------------------------------------------------------------------

// One line rewritten in place on a terminal; plain lines otherwise (logs, CI).
class Progress {
 public:
  explicit Progress(int batch) : tty_(::isatty(STDERR_FILENO) != 0), batch_(batch) {}

  template <class P>  // nas::ProgressRecord or nas::TrainProgress
  void step(const P& p, int epochs) {
    const auto now = std::chrono::steady_clock::now();
    double ips = 0;
    if (have_last_ && p.global_step > last_step_) {
      const double dt = std::chrono::duration<double>(now - last_time_).count();
      if (dt > 0) ips = static_cast<double>(p.global_step - last_step_) * batch_ / dt;
    }
    have_last_ = true;
    last_step_ = p.global_step;
    last_time_ = now;
    if (first_step_ < 0) first_step_ = p.global_step, first_elapsed_ = p.elapsed_s;
    const int64_t total = static_cast<int64_t>(epochs) * p.steps_per_epoch;
    const int64_t done = p.global_step - first_step_;
    const double spent = p.elapsed_s - first_elapsed_;
    const double eta = done > 0 ? spent / static_cast<double>(done) * static_cast<double>(total - p.global_step) : -1;
    char buf[256];
    char rate[32] = "-";  // unknown until the second progress point
    if (ips > 0) std::snprintf(rate, sizeof rate, "%.0f", ips);
    std::snprintf(buf, sizeof buf, "epoch %d/%d  step %lld/%lld  %s img/s  loss %.4f  acc %.2f%%  ETA %s",
                  p.epoch + 1, epochs, static_cast<long long>(p.step_in_epoch),
                  static_cast<long long>(p.steps_per_epoch), rate, p.train_loss, 100 * p.train_acc,
                  fmt_duration(eta).c_str());
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s", buf);
      open_ = true;
    } else {
      std::fprintf(stderr, "%s\n", buf);
    }
    std::fflush(stderr);
  }

  void line(const std::string& text) {
    if (open_) std::fprintf(stderr, "\r\033[K");
    open_ = false;
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
  }

 private:
  bool tty_;
  int batch_;
  bool open_ = false;
  bool have_last_ = false;
  int64_t last_step_ = 0, first_step_ = -1;
  double first_elapsed_ = 0;
  std::chrono::steady_clock::time_point last_time_;
};

// Says once, at the next progress point after a Ctrl-C, that the run stops at the epoch's end.
void announce_interrupt(Progress& progress) {
  static bool announced = false;
  if (g_interrupts > 0 && !announced) {
    announced = true;
    progress.line("Ctrl-C: finishing this epoch, then writing a checkpoint (Ctrl-C again to stop at once)");
  }
}

// ---- datasets ---------------------------------------------------------------------------------

struct DatasetInfo {
  std::string name;
  int classes, channels, size;
  std::vector<std::string> files;  // expected files (alternatives joined with " or ")
  std::string where;               // how to get it
};

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> n{"cifar10", "cifar100", "imagenet", "mnist", "fashion-mnist"};
  return n;
}

DatasetInfo dataset_info(const std::string& name) {
  const std::vector<std::string> idx = {"train-images-idx3-ubyte[.gz]", "train-labels-idx1-ubyte[.gz]",
                                        "t10k-images-idx3-ubyte[.gz]", "t10k-labels-idx1-ubyte[.gz]"};
  if (name == "cifar10")
    return {name, 10, 3, 32,
            {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
             "test_batch.bin"},
            "download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and extract it (the files are in "
            "cifar-10-batches-bin/)"};
  if (name == "cifar100")
    return {name, 100, 3, 32, {"train.bin", "test.bin"},
            "download https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz and extract it (the files are in "
            "cifar-100-binary/)"};
  if (name == "mnist")
    return {name, 10, 1, 28, idx, "download the four files from https://ossci-datasets.s3.amazonaws.com/mnist/"};
  if (name == "fashion-mnist")
    return {name, 10, 1, 28, idx,
            "install Debian's dataset-fashion-mnist (files in /usr/share/datasets/fashion-mnist) or download them "
            "from https://github.com/zalandoresearch/fashion-mnist"};
  if (name == "imagenet")
    return {name, 1000, 3, 224, {"train/<class>/*.JPEG", "val/<class>/*.JPEG"},
            "download ILSVRC2012 from https://image-net.org and arrange train/ and val/ as one folder per class "
            "(or pack them with the data tools)"};
  std::string list;
  for (const auto& n : dataset_names()) list += (list.empty() ? "" : ", ") + n;
  BNAS_FAIL("unknown dataset '", name, "': use one of ", list);
}

bool file_present(const fs::path& dir, const std::string& pattern) {
  // "name[.gz]" accepts name or name.gz; "sub/<class>/..." needs the folder sub.
  const auto slash = pattern.find('/');
  if (slash != std::string::npos) return fs::is_directory(dir / pattern.substr(0, slash));
  const auto opt = pattern.find("[.gz]");
  if (opt != std::string::npos) {
    const std::string base = pattern.substr(0, opt);
    return fs::is_regular_file(dir / base) || fs::is_regular_file(dir / (base + ".gz"));
  }
  return fs::is_regular_file(dir / pattern);
}

// CIFAR archives extract into a subfolder; accept the parent too.
std::string descend(const std::string& dataset, const std::string& dir) {
  const char* sub = dataset == "cifar10" ? "cifar-10-batches-bin" : dataset == "cifar100" ? "cifar-100-binary" : nullptr;
  if (sub != nullptr && fs::is_directory(fs::path(dir) / sub)) return (fs::path(dir) / sub).string();
  return dir;
}

}  // namespace

std::string resolve_data_dir(const std::string& dataset, const std::string& flag) {
  if (!flag.empty()) return descend(dataset, flag);
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("BNAS_DATA"); env != nullptr && *env != '\0')
    candidates.push_back((fs::path(env) / dataset).string());
  candidates.push_back((fs::path("data") / dataset).string());
  if (dataset == "mnist" || dataset == "fashion-mnist") candidates.push_back("/usr/share/datasets/" + dataset);
  for (const auto& c : candidates)
    if (fs::is_directory(c)) return descend(dataset, c);
  return candidates.front();
}

void check_dataset_files(const std::string& dataset, const std::string& dir) {
  const DatasetInfo info = dataset_info(dataset);
  std::string missing;
  for (const auto& f : info.files)
    if (!file_present(dir, f)) missing += (missing.empty() ? "" : ", ") + f;
  if (missing.empty()) return;
  std::string expected;
  for (const auto& f : info.files) expected += (expected.empty() ? "" : ", ") + f;
  BNAS_FAIL("the ", dataset, " data is missing: expected ", expected, " in ", dir,
            fs::is_directory(dir) ? std::string(" (missing: ") + missing + ")" : std::string(" (no such folder)"),
            "; to get it, ", info.where, ", then pass --data DIR or set BNAS_DATA (looked in --data, $BNAS_DATA/",
            dataset, ", ./data/", dataset, ")");
}

namespace {

data::ImageSet read_split(const std::string& dataset, const std::string& dir, data::Split split) {
  if (dataset == "cifar10") return data::read_cifar10(dir, split);
  if (dataset == "cifar100") return data::read_cifar100(dir, split);
  return data::read_mnist(dir, split);
}

data::CropAugment train_augment(const std::string& dataset, int cutout) {
  if (dataset == "cifar10") return data::CropAugment::cifar10_train(cutout);
  if (dataset == "cifar100") return data::CropAugment::cifar100_train(cutout);
  data::CropAugment a = data::CropAugment::fashion_mnist_train();
  if (dataset == "mnist") {
    a.flip = false;  // digits are not mirror-symmetric
    a.mean = {0.1307f};
    a.std = {0.3081f};
  }
  a.cutout = cutout;
  return a;
}

data::CropAugment test_augment(const std::string& dataset) {
  if (dataset == "cifar10") return data::CropAugment::cifar10_test();
  if (dataset == "cifar100") return data::CropAugment::cifar100_test();
  data::CropAugment a = data::CropAugment::fashion_mnist_test();
  if (dataset == "mnist") a.mean = {0.1307f}, a.std = {0.3081f};
  return a;
}

// A seeded subset of n items (all when subset <= 0 or >= n), in increasing order.
std::vector<int32_t> subset_indices(int64_t n, int64_t subset, uint64_t seed) {
  std::vector<int32_t> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) all[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  if (subset <= 0 || subset >= n) return all;
  Generator g(seed, RngStream::Split);
  const std::vector<uint32_t> perm = g.permutation(static_cast<uint32_t>(n));
  std::vector<int32_t> out(perm.begin(), perm.begin() + subset);
  std::sort(out.begin(), out.end());
  return out;
}

// The ImageNet search data (BNAS-V2.md section 6): per class, 10% of the images train w and
// another 2.5% train alpha, drawn without replacement (disjoint) by a seeded shuffle per class.
void imagenet_search_split(const data::EncodedSource& src, uint64_t seed, std::vector<int32_t>* w,
                           std::vector<int32_t>* alpha) {
  std::map<int32_t, std::vector<int32_t>> by_class;
  for (size_t i = 0; i < src.size(); ++i) by_class[src.label(i)].push_back(static_cast<int32_t>(i));
  Generator g(seed, RngStream::Split);
  for (auto& [label, items] : by_class) {
    const std::vector<uint32_t> perm = g.permutation(static_cast<uint32_t>(items.size()));
    const size_t nw = items.size() / 10, na = items.size() / 40;
    for (size_t k = 0; k < nw + na; ++k) (k < nw ? w : alpha)->push_back(items[perm[k]]);
  }
  std::sort(w->begin(), w->end());
  std::sort(alpha->begin(), alpha->end());
}

// ---- device -----------------------------------------------------------------------------------

Device pick_device(const std::string& flag, Progress* say) {
  if (flag == "auto") {
    if (cuda_available()) return Device::cuda(0);
    const std::string why = built_with_cuda() ? "no usable GPU was found" : "this build has no CUDA backend";
    const std::string msg = "device auto: " + why + "; running on the CPU (" +
                            std::to_string(omp_get_max_threads()) + " threads)";
    if (say) say->line(msg); else std::fprintf(stderr, "%s\n", msg.c_str());
    return Device::cpu();
  }
  const Device d = parse_device(flag);
  if (d.is_cuda()) {
    BNAS_CHECK(built_with_cuda(), "--device ", flag, ": this build has no CUDA backend (use cpu or auto)");
    BNAS_CHECK(d.index < cuda_device_count(), "--device ", flag, ": there are ", cuda_device_count(),
               " usable GPUs");
  }
  return d;
}

// ---- options shared by the run commands -------------------------------------------------------

template <class T>
struct Flag {
  T value{};
  CLI::Option* opt = nullptr;
  bool given() const { return opt != nullptr && opt->count() > 0; }
  void apply(T& dst) const {
    if (given()) dst = value;
  }
};

struct Common {
  std::string dataset;
  std::string device = "auto";
  std::string config;
  Flag<uint64_t> seed;
  std::string out;
  std::string resume;
  std::string data;
  int threads = 0;
  Flag<int64_t> subset;  // training images used (0: all)
};

void add_common(CLI::App* sub, Common& c, bool dataset_required) {
  auto* ds = sub->add_option("dataset", c.dataset, "cifar10, cifar100, imagenet, mnist or fashion-mnist");
  if (dataset_required) ds->required();
  sub->add_option("--device", c.device, "auto, cpu or cuda:N (auto: the GPU when there is one)")
      ->capture_default_str();
  sub->add_option("--config", c.config, "JSON file whose keys mirror the flags (flags override it)")
      ->check(CLI::ExistingFile);
  c.seed.opt = sub->add_option("--seed", c.seed.value, "random seed (weights, data order, augmentation)");
  sub->add_option("--out", c.out, "run directory (default runs/<command>-<dataset>-<time>)");
  sub->add_option("--resume", c.resume, "continue the run in this run directory from its last checkpoint")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--data", c.data, "dataset folder (default $BNAS_DATA/<dataset>, else ./data/<dataset>)");
  sub->add_option("--threads", c.threads, "CPU threads (default: all cores)");
  c.subset.opt = sub->add_option("--subset", c.subset.value, "use only this many training images (seeded choice)");
}

std::string key_to_flag(const std::string& key) {
  std::string f = "--" + key;
  for (char& ch : f)
    if (ch == '_') ch = '-';
  return f;
}

// Applies the --config JSON file: each key names a flag (underscores or dashes); a flag given on
// the command line wins.
void apply_config_file(CLI::App* sub, const std::string& path) {
  if (path.empty()) return;
  const json j = read_json_file(path, "config file");
  BNAS_CHECK(j.is_object(), "config file ", path, " must hold a JSON object whose keys are flag names");
  for (const auto& [key, value] : j.items()) {
    if (key == "config" || key == "dataset") continue;
    CLI::Option* opt = sub->get_option_no_throw(key_to_flag(key));
    BNAS_CHECK(opt != nullptr, "config file ", path, ": '", key, "' is not a setting of `", sub->get_name(),
               "` (see bnas_engine ", sub->get_name(), " --help)");
    if (opt->count() > 0) continue;
    std::string s;
    if (value.is_string())
      s = value.get<std::string>();
    else if (value.is_boolean())
      s = value.get<bool>() ? "true" : "false";
    else if (value.is_number())
      s = value.dump();
    else
      BNAS_FAIL("config file ", path, ": '", key, "' must be a string, number or boolean");
    try {
      opt->add_result(s);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      BNAS_FAIL("config file ", path, ": bad value for '", key, "': ", e.what());
    }
  }
}

// Prepares the run directory: a fresh one (refusing to overwrite a run) or the resumed one.
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

// On resume: keeps the log records of epochs before `epoch` (the ones the checkpoint covers) and
// returns the epoch records among them.
std::vector<json> trim_log(const std::string& log_path, int epoch) {
  std::vector<json> kept, epochs;
  if (fs::exists(log_path)) {
    for (auto& r : report::read_jsonl(log_path)) {
      const bool keep = !r.contains("epoch") || !r.at("epoch").is_number() || r.at("epoch").get<int>() < epoch;
      if (!keep) continue;
      if (r.value("type", "") == "epoch") epochs.push_back(r);
      kept.push_back(std::move(r));
    }
  }
  std::string text;
  for (const auto& r : kept) text += r.dump() + "\n";
  write_file_atomically(log_path, text);
  return epochs;
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

void print_resume_hint(const std::string& command, const std::string& dir) {
  std::fprintf(stderr, "stopped: checkpoint written. Resume with:\n  bnas_engine %s --resume %s\n", command.c_str(),
               dir.c_str());
}

// Loads the saved config.json of a resumed run into the flags that were not given.
void load_resume_config(const Common& c, const std::string& command, json* saved) {
  const std::string path = (fs::path(c.resume) / "config.json").string();
  BNAS_CHECK(fs::exists(path), "--resume ", c.resume, ": no config.json there (not a run directory)");
  *saved = read_json_file(path, "run config");
  BNAS_CHECK(saved->value("command", "") == command, "--resume ", c.resume, " is a `", saved->value("command", "?"),
             "` run, not a `", command, "` run");
  BNAS_CHECK(fs::exists(fs::path(c.resume) / "checkpoints"), "--resume ", c.resume, ": no checkpoints folder");
}

// ---- search -----------------------------------------------------------------------------------

struct SearchFlags {
  std::string preset = "bnas-v2-pc";
  Flag<int> epochs, batch, channels, layers, en_layers, pc_k, arch_start_epoch, warmup_epochs, log_interval,
      checkpoint_every;
  Flag<double> lr, lr_min, arch_lr, train_portion, clr_power, weight_decay, grad_clip, arch_grad_clip;
  Flag<bool> edge_norm, unrolled, clr;
  Flag<std::string> clr_mode;
};

void add_search_flags(CLI::App* s, SearchFlags& f) {
  s->add_option("--preset", f.preset, "bnas-v2-pc, bnas-v2-clr, bnas-d or imagenet")
      ->check(CLI::IsMember(nas::SearchConfig::preset_names()))
      ->capture_default_str();
  f.epochs.opt = s->add_option("--epochs", f.epochs.value, "search epochs");
  f.batch.opt = s->add_option("--batch", f.batch.value, "batch size");
  f.channels.opt = s->add_option("--channels", f.channels.value, "initial node width C");
  f.layers.opt = s->add_option("--layers", f.layers.value, "convolution cells");
  f.en_layers.opt = s->add_option("--en-layers", f.en_layers.value, "enhancement cells");
  f.pc_k.opt = s->add_option("--pc-k", f.pc_k.value, "partial-channel proportion K (1: full channels)");
  f.edge_norm.opt = s->add_option("--edge-norm", f.edge_norm.value, "edge normalisation (true/false)");
  f.lr.opt = s->add_option("--lr", f.lr.value, "weight learning rate");
  f.lr_min.opt = s->add_option("--lr-min", f.lr_min.value, "final weight learning rate");
  f.warmup_epochs.opt = s->add_option("--warmup-epochs", f.warmup_epochs.value, "linear warm-up epochs");
  f.weight_decay.opt = s->add_option("--weight-decay", f.weight_decay.value, "weight decay");
  f.grad_clip.opt = s->add_option("--grad-clip", f.grad_clip.value, "weight gradient clipping norm");
  f.arch_lr.opt = s->add_option("--arch-lr", f.arch_lr.value, "architecture learning rate");
  f.arch_grad_clip.opt = s->add_option("--arch-grad-clip", f.arch_grad_clip.value, "architecture gradient clip (0: off)");
  f.arch_start_epoch.opt = s->add_option("--arch-start-epoch", f.arch_start_epoch.value,
                                         "first epoch with architecture updates");
  f.unrolled.opt = s->add_option("--unrolled", f.unrolled.value, "second-order architecture gradient (true/false)");
  f.clr.opt = s->add_option("--clr", f.clr.value, "confident learning rate (true/false)");
  f.clr_power.opt = s->add_option("--clr-power", f.clr_power.value, "CLR power p (implies --clr true)");
  f.clr_mode.opt = s->add_option("--clr-mode", f.clr_mode.value, "arch_lr (paper) or val_loss (reference unrolled)");
  f.train_portion.opt = s->add_option("--train-portion", f.train_portion.value,
                                      "fraction of the training images that trains w (the rest trains alpha)");
  f.log_interval.opt = s->add_option("--log-interval", f.log_interval.value, "steps between progress lines");
  f.checkpoint_every.opt = s->add_option("--checkpoint-every", f.checkpoint_every.value, "epochs between checkpoints");
}

nas::SearchConfig resolve_search_config(const SearchFlags& f, const Common& c, const json* saved) {
  nas::SearchConfig cfg = saved ? nas::search_config_from_json(saved->at("settings"))
                                : nas::SearchConfig::preset_config(f.preset);
  if (!saved && (c.dataset == "mnist" || c.dataset == "fashion-mnist" || c.dataset == "cifar100") &&
      f.preset == "imagenet")
    BNAS_FAIL("the imagenet preset is for the imagenet dataset");
  f.epochs.apply(cfg.epochs), f.batch.apply(cfg.batch), f.channels.apply(cfg.channels);
  f.layers.apply(cfg.layers), f.en_layers.apply(cfg.en_layers), f.pc_k.apply(cfg.pc_k);
  f.edge_norm.apply(cfg.edge_norm), f.lr.apply(cfg.lr), f.lr_min.apply(cfg.lr_min);
  f.warmup_epochs.apply(cfg.warmup_epochs), f.weight_decay.apply(cfg.weight_decay), f.grad_clip.apply(cfg.grad_clip);
  f.arch_lr.apply(cfg.arch_lr), f.arch_grad_clip.apply(cfg.arch_grad_clip);
  f.arch_start_epoch.apply(cfg.arch_start_epoch), f.unrolled.apply(cfg.unrolled), f.clr.apply(cfg.clr.enabled);
  if (f.clr_power.given()) cfg.clr.enabled = true, cfg.clr.power = f.clr_power.value;
  if (f.clr_mode.given()) cfg.clr.mode = nas::parse_clr_mode(f.clr_mode.value);
  f.train_portion.apply(cfg.train_portion), f.log_interval.apply(cfg.log_interval);
  f.checkpoint_every.apply(cfg.checkpoint_every);
  c.seed.apply(cfg.seed);
  if (cfg.checkpoint_every == 0) cfg.checkpoint_every = 1;  // the run directory always keeps a checkpoint
  cfg.validate();
  return cfg;
}

// The loaders and the data they share, kept alive for the run.
struct LoadedData {
  std::shared_ptr<const data::DeviceImageSet> train_set, test_set;
  std::shared_ptr<const data::EncodedSource> train_src, test_src;
  std::unique_ptr<data::Loader> a, b, c;
  int64_t n_a = 0, n_b = 0, n_c = 0;
};

int run_search(const Common& c, const SearchFlags& f, CLI::App* sub) {
  json saved;
  if (!c.resume.empty()) load_resume_config(c, "search", &saved);
  Common cc = c;
  if (!c.resume.empty()) {
    if (cc.dataset.empty()) cc.dataset = saved.at("dataset").get<std::string>();
    BNAS_CHECK(cc.dataset == saved.at("dataset").get<std::string>(), "--resume ", c.resume, " searched ",
               saved.at("dataset").get<std::string>(), ", not ", cc.dataset);
    if (cc.data.empty()) cc.data = saved.at("data").get<std::string>();
    if (!sub->get_option("--device")->count()) cc.device = saved.value("device", "auto");
    if (!cc.subset.given()) cc.subset.value = saved.value("subset", int64_t{0});
  }
  BNAS_CHECK(!cc.dataset.empty(), "name a dataset (cifar10, cifar100, imagenet, mnist or fashion-mnist) or pass --resume DIR");
  const DatasetInfo info = dataset_info(cc.dataset);
  nas::SearchConfig cfg = resolve_search_config(f, cc, c.resume.empty() ? nullptr : &saved);
  const std::string data_dir = resolve_data_dir(cc.dataset, cc.data);
  check_dataset_files(cc.dataset, data_dir);

  Progress progress(cfg.batch);
  const Device dev = pick_device(cc.device, &progress);
  const std::string dir = prepare_run_dir(cc, "search");
  cfg.checkpoint_dir = (fs::path(dir) / "checkpoints").string();

  // Data: the training split, optionally a seeded subset, split into the w and alpha halves.
  LoadedData d;
  data::LoaderOptions lo;
  lo.batch_size = cfg.batch;
  lo.seed = cfg.seed;
  lo.device = dev;
  lo.drop_last = false;
  if (cc.dataset == "imagenet") {
    d.train_src = data::open_encoded((fs::path(data_dir) / "train").string());
    std::vector<int32_t> ia, ib;
    if (cc.subset.value > 0) {
      const auto idx = subset_indices(static_cast<int64_t>(d.train_src->size()), cc.subset.value, cfg.seed);
      const auto split = static_cast<size_t>(static_cast<double>(idx.size()) * cfg.train_portion);
      ia.assign(idx.begin(), idx.begin() + static_cast<long>(split));
      ib.assign(idx.begin() + static_cast<long>(split), idx.end());
    } else {
      imagenet_search_split(*d.train_src, cfg.seed, &ia, &ib);
    }
    BNAS_CHECK(!ia.empty() && !ib.empty(), "the ImageNet search subsets are empty (too few images per class)");
    d.n_a = static_cast<int64_t>(ia.size()), d.n_b = static_cast<int64_t>(ib.size());
    d.a = std::make_unique<data::DecodeLoader>(d.train_src, ia, data::ImageAugment::imagenet_train(), lo);
    data::LoaderOptions lv = lo;
    lv.seed = cfg.seed + 1;
    d.b = std::make_unique<data::DecodeLoader>(d.train_src, ib, data::ImageAugment::imagenet_train(), lv);
    data::LoaderOptions le = lo;
    le.shuffle = false;
    d.c = std::make_unique<data::DecodeLoader>(d.train_src, ib, data::ImageAugment::imagenet_test(), le);
  } else {
    const data::ImageSet set = read_split(cc.dataset, data_dir, data::Split::Train);
    d.train_set = data::upload(set, dev);
    const auto idx = subset_indices(set.n, cc.subset.value, cfg.seed);
    const auto split = static_cast<size_t>(static_cast<double>(idx.size()) * cfg.train_portion);
    std::vector<int32_t> ia(idx.begin(), idx.begin() + static_cast<long>(split)), ib(idx.begin() + static_cast<long>(split), idx.end());
    BNAS_CHECK(!ia.empty() && !ib.empty(), "the search needs images in both halves: ", idx.size(),
               " images with train_portion ", cfg.train_portion);
    d.n_a = static_cast<int64_t>(ia.size()), d.n_b = static_cast<int64_t>(ib.size());
    const data::CropAugment aug = train_augment(cc.dataset, 0);  // no cutout in the search
    d.a = std::make_unique<data::DeviceLoader>(d.train_set, ia, aug, lo);
    data::LoaderOptions lv = lo;
    lv.seed = cfg.seed + 1;  // its own order
    d.b = std::make_unique<data::DeviceLoader>(d.train_set, ib, aug, lv);
    data::LoaderOptions le = lo;
    le.shuffle = false;
    d.c = std::make_unique<data::DeviceLoader>(d.train_set, ib, test_augment(cc.dataset), le);
  }

  nas::SupernetConfig sc;
  sc.C = cfg.channels;
  sc.layers = cfg.layers;
  sc.en_layers = cfg.en_layers;
  sc.k = cfg.pc_k;
  sc.edge_norm = cfg.edge_norm;
  sc.classes = info.classes;
  sc.input_channels = info.channels;
  sc.input_size = info.size;
  sc.stem = cc.dataset == "imagenet" ? nas::StemKind::kImageNet : nas::StemKind::kCifar;
  sc.device = dev;
  sc.seed = cfg.seed;
  nas::BroadSupernet model(sc);
  nas::Search search(model, {d.a.get(), d.b.get(), d.c.get()}, cfg);

  const std::string log_path = (fs::path(dir) / "log.jsonl").string();
  std::vector<json> epoch_records;
  if (!c.resume.empty()) {
    search.resume(cfg.checkpoint_dir);
    epoch_records = trim_log(log_path, search.epoch());
    progress.line("resuming " + dir + " at epoch " + std::to_string(search.epoch() + 1) + "/" +
                  std::to_string(cfg.epochs));
  } else {
    json conf = base_config_record("search", cc, data_dir, dev, cfg.seed);
    conf["settings"] = nas::to_json(cfg);
    conf["supernet"] = {{"C", sc.C}, {"layers", sc.layers}, {"en_layers", sc.en_layers}, {"k", sc.k},
                        {"edge_norm", sc.edge_norm}, {"classes", sc.classes}, {"input_channels", sc.input_channels},
                        {"input_size", sc.input_size}};
    conf["images"] = {{"train_w", d.n_a}, {"train_alpha", d.n_b}};
    write_json((fs::path(dir) / "config.json").string(), conf);
  }
  report::JsonlWriter log(log_path, true);
  fs::create_directories(fs::path(dir) / "genotypes");
  const std::string title = "search " + cc.dataset + " (" + cfg.preset + ")";
  progress.line("search " + cc.dataset + " on " + dev.str() + ": preset " + cfg.preset + ", " +
                std::to_string(cfg.epochs) + " epochs, batch " + std::to_string(cfg.batch) + ", " +
                std::to_string(d.n_a) + " + " + std::to_string(d.n_b) + " images; run directory " + dir);

  search.on_start = [&](const nas::SearchInfo& i) {
    json j = nas::to_json(i);
    j["type"] = "start";
    log.write(j);
  };
  search.on_progress = [&](const nas::ProgressRecord& p) {
    progress.step(p, cfg.epochs);
    announce_interrupt(progress);
    log.write({{"type", "step"}, {"epoch", p.epoch}, {"step", p.step_in_epoch}, {"steps", p.steps_per_epoch},
               {"global_step", p.global_step}, {"train_loss", p.train_loss}, {"train_acc", p.train_acc},
               {"lr", p.lr}, {"arch_lr", p.arch_lr}, {"elapsed_s", p.elapsed_s}});
  };
  search.on_epoch = [&](const nas::EpochRecord& r) {
    json j = nas::to_json(r);
    j["type"] = "epoch";
    j["genotype_darts"] = nas::genotype_to_darts(r.genotype);
    log.write(j);
    epoch_records.push_back(j);
    char name[32];
    std::snprintf(name, sizeof name, "epoch_%03d", r.epoch + 1);
    write_genotype_both(r.genotype, (fs::path(dir) / "genotypes" / name).string());
    report::write_curves((fs::path(dir) / "curves.svg").string(), epoch_records, title);
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
  while (search.epoch() < cfg.epochs) {
    search.run(search.epoch() + 1);
    if (g_interrupts > 0 && search.epoch() < cfg.epochs) {
      search.save_checkpoint(cfg.checkpoint_dir);
      print_resume_hint("search", dir);
      return kInterrupted;
    }
  }
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
  if (!epoch_records.empty()) {
    summary["final_valid_acc"] = epoch_records.back().value("valid_acc", -1.0);
    summary["elapsed_s"] = epoch_records.back().value("elapsed_s", 0.0);
  }
  write_json((fs::path(dir) / "summary.json").string(), summary);
  progress.line("final genotype (" + (fs::path(dir) / "genotype.json").string() + "):");
  std::printf("%s\n", nas::genotype_to_darts(g).c_str());
  progress.line("train it with: bnas_engine train " + cc.dataset + " --genotype " +
                (fs::path(dir) / "genotype.json").string());
  return kOk;
}

// ---- train ------------------------------------------------------------------------------------

struct TrainFlags {
  std::string genotype;
  Flag<int> epochs, batch, channels, layers, en_layers, warmup_epochs, cutout, log_interval, checkpoint_every;
  Flag<double> lr, lr_min, weight_decay, grad_clip, drop_path, label_smoothing, momentum;
  Flag<int64_t> test_subset;
};

void add_train_flags(CLI::App* s, TrainFlags& f) {
  s->add_option("--genotype", f.genotype,
                "published genotype name (e.g. BNASv2_PC_cifar_v1), a genotype file (JSON or DARTS text) or a "
                "search run directory");
  f.epochs.opt = s->add_option("--epochs", f.epochs.value, "training epochs");
  f.batch.opt = s->add_option("--batch", f.batch.value, "batch size");
  f.channels.opt = s->add_option("--channels", f.channels.value, "initial node width C");
  f.layers.opt = s->add_option("--layers", f.layers.value, "convolution cells (even)");
  f.en_layers.opt = s->add_option("--en-layers", f.en_layers.value, "enhancement cells");
  f.lr.opt = s->add_option("--lr", f.lr.value, "learning rate");
  f.lr_min.opt = s->add_option("--lr-min", f.lr_min.value, "final learning rate");
  f.warmup_epochs.opt = s->add_option("--warmup-epochs", f.warmup_epochs.value, "linear warm-up epochs");
  f.momentum.opt = s->add_option("--momentum", f.momentum.value, "SGD momentum");
  f.weight_decay.opt = s->add_option("--weight-decay", f.weight_decay.value, "weight decay");
  f.grad_clip.opt = s->add_option("--grad-clip", f.grad_clip.value, "gradient clipping norm (0: off)");
  f.drop_path.opt = s->add_option("--drop-path", f.drop_path.value, "drop-path probability (ramped over the epochs)");
  f.label_smoothing.opt = s->add_option("--label-smoothing", f.label_smoothing.value, "label smoothing");
  f.cutout.opt = s->add_option("--cutout", f.cutout.value, "cutout length (0: off)");
  f.log_interval.opt = s->add_option("--log-interval", f.log_interval.value, "steps between progress lines");
  f.checkpoint_every.opt = s->add_option("--checkpoint-every", f.checkpoint_every.value, "epochs between checkpoints");
  f.test_subset.opt = s->add_option("--test-subset", f.test_subset.value, "evaluate on this many test images (seeded)");
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

nas::EvalNetworkConfig eval_net_config(const nas::TrainConfig& cfg, const DatasetInfo& info, Device dev) {
  nas::EvalNetworkConfig ec;
  ec.C = cfg.channels;
  ec.layers = cfg.layers;
  ec.en_layers = cfg.en_layers;
  ec.classes = info.classes;
  ec.input_channels = info.channels;
  ec.stem = info.name == "imagenet" ? nas::StemKind::kImageNet : nas::StemKind::kCifar;
  ec.device = dev;
  ec.seed = cfg.seed;
  return ec;
}

// Test loader (and training loader when train_cfg is given).
void load_train_data(const std::string& dataset, const std::string& data_dir, Device dev, int batch,
                     uint64_t seed, int cutout, int64_t subset, int64_t test_subset, bool want_train, LoadedData& d) {
  data::LoaderOptions lo;
  lo.batch_size = batch;
  lo.seed = seed;
  lo.device = dev;
  data::LoaderOptions lt = lo;
  lt.shuffle = false;
  if (dataset == "imagenet") {
    if (want_train) {
      d.train_src = data::open_encoded((fs::path(data_dir) / "train").string());
      const auto idx = subset_indices(static_cast<int64_t>(d.train_src->size()), subset, seed);
      d.n_a = static_cast<int64_t>(idx.size());
      d.a = std::make_unique<data::DecodeLoader>(d.train_src, idx, data::ImageAugment::imagenet_train(), lo);
    }
    d.test_src = data::open_encoded((fs::path(data_dir) / "val").string());
    const auto tidx = subset_indices(static_cast<int64_t>(d.test_src->size()), test_subset, seed);
    d.n_b = static_cast<int64_t>(tidx.size());
    d.b = std::make_unique<data::DecodeLoader>(d.test_src, tidx, data::ImageAugment::imagenet_test(), lt);
    return;
  }
  if (want_train) {
    const data::ImageSet set = read_split(dataset, data_dir, data::Split::Train);
    d.train_set = data::upload(set, dev);
    const auto idx = subset_indices(set.n, subset, seed);
    d.n_a = static_cast<int64_t>(idx.size());
    d.a = std::make_unique<data::DeviceLoader>(d.train_set, idx, train_augment(dataset, cutout), lo);
  }
  const data::ImageSet test = read_split(dataset, data_dir, data::Split::Test);
  d.test_set = data::upload(test, dev);
  const auto tidx = subset_indices(test.n, test_subset, seed);
  d.n_b = static_cast<int64_t>(tidx.size());
  d.b = std::make_unique<data::DeviceLoader>(d.test_set, tidx, test_augment(dataset), lt);
}

int run_train(const Common& c, const TrainFlags& f, CLI::App* sub) {
  json saved;
  Common cc = c;
  TrainFlags ff = f;
  if (!c.resume.empty()) {
    load_resume_config(c, "train", &saved);
    if (cc.dataset.empty()) cc.dataset = saved.at("dataset").get<std::string>();
    BNAS_CHECK(cc.dataset == saved.at("dataset").get<std::string>(), "--resume ", c.resume, " trained on ",
               saved.at("dataset").get<std::string>(), ", not ", cc.dataset);
    if (cc.data.empty()) cc.data = saved.at("data").get<std::string>();
    if (!sub->get_option("--device")->count()) cc.device = saved.value("device", "auto");
    if (!cc.subset.given()) cc.subset.value = saved.value("subset", int64_t{0});
    if (!ff.test_subset.given()) ff.test_subset.value = saved.value("test_subset", int64_t{0});
  }
  BNAS_CHECK(!cc.dataset.empty(), "name a dataset (cifar10, cifar100, imagenet, mnist or fashion-mnist) or pass --resume DIR");
  const DatasetInfo info = dataset_info(cc.dataset);
  const nas::Genotype genotype = c.resume.empty() ? resolve_genotype_arg(ff.genotype)
                                                  : nas::genotype_from_json(saved.at("genotype"), "run config");
  nas::TrainConfig cfg = c.resume.empty()
                             ? nas::TrainConfig::defaults_for(cc.dataset)
                             : nas::train_config_from_json(saved.at("settings"), nas::TrainConfig::defaults_for(cc.dataset));
  ff.epochs.apply(cfg.epochs), ff.batch.apply(cfg.batch), ff.channels.apply(cfg.channels);
  ff.layers.apply(cfg.layers), ff.en_layers.apply(cfg.en_layers), ff.lr.apply(cfg.lr), ff.lr_min.apply(cfg.lr_min);
  ff.warmup_epochs.apply(cfg.warmup_epochs), ff.momentum.apply(cfg.momentum), ff.weight_decay.apply(cfg.weight_decay);
  ff.grad_clip.apply(cfg.grad_clip), ff.drop_path.apply(cfg.drop_path), ff.label_smoothing.apply(cfg.label_smoothing);
  ff.cutout.apply(cfg.cutout), ff.log_interval.apply(cfg.log_interval), ff.checkpoint_every.apply(cfg.checkpoint_every);
  cc.seed.apply(cfg.seed);
  if (cfg.checkpoint_every == 0) cfg.checkpoint_every = 1;
  cfg.validate();
  const std::string data_dir = resolve_data_dir(cc.dataset, cc.data);
  check_dataset_files(cc.dataset, data_dir);

  Progress progress(cfg.batch);
  const Device dev = pick_device(cc.device, &progress);
  const std::string dir = prepare_run_dir(cc, "train");
  cfg.checkpoint_dir = (fs::path(dir) / "checkpoints").string();

  LoadedData d;
  load_train_data(cc.dataset, data_dir, dev, cfg.batch, cfg.seed, cfg.cutout, cc.subset.value, ff.test_subset.value,
                  true, d);
  nas::EvalNetwork net(genotype, eval_net_config(cfg, info, dev));
  nas::Trainer trainer(net, {d.a.get(), d.b.get()}, cfg);

  const std::string log_path = (fs::path(dir) / "log.jsonl").string();
  std::vector<json> epoch_records;
  if (!c.resume.empty()) {
    trainer.resume(cfg.checkpoint_dir);
    epoch_records = trim_log(log_path, trainer.epoch());
    progress.line("resuming " + dir + " at epoch " + std::to_string(trainer.epoch() + 1) + "/" +
                  std::to_string(cfg.epochs));
  } else {
    json conf = base_config_record("train", cc, data_dir, dev, cfg.seed);
    conf["settings"] = nas::to_json(cfg);
    conf["genotype"] = nas::genotype_to_json(genotype);
    conf["genotype_darts"] = nas::genotype_to_darts(genotype);
    conf["genotype_source"] = ff.genotype;
    conf["test_subset"] = ff.test_subset.value;
    conf["parameters"] = net.parameter_count();
    conf["images"] = {{"train", d.n_a}, {"test", d.n_b}};
    write_json((fs::path(dir) / "config.json").string(), conf);
    write_genotype_both(genotype, (fs::path(dir) / "genotype").string());
    fs::create_directories(fs::path(dir) / "cells");
    report::draw_genotype(genotype, (fs::path(dir) / "cells").string(), "cell");
  }
  report::JsonlWriter log(log_path, true);
  const std::string title = "train " + cc.dataset;
  char head[256];
  std::snprintf(head, sizeof head, "train %s on %s: C %d, %d+%d cells, %.3fM parameters, %d epochs, batch %d, %lld "
                "training / %lld test images; run directory %s",
                cc.dataset.c_str(), dev.str().c_str(), cfg.channels, cfg.layers, cfg.en_layers,
                static_cast<double>(net.parameter_count()) / 1e6, cfg.epochs, cfg.batch,
                static_cast<long long>(d.n_a), static_cast<long long>(d.n_b), dir.c_str());
  progress.line(head);

  trainer.on_progress = [&](const nas::TrainProgress& p) {
    progress.step(p, cfg.epochs);
    announce_interrupt(progress);
    log.write({{"type", "step"}, {"epoch", p.epoch}, {"step", p.step_in_epoch}, {"steps", p.steps_per_epoch},
               {"global_step", p.global_step}, {"train_loss", p.train_loss}, {"train_acc", p.train_acc},
               {"lr", p.lr}, {"elapsed_s", p.elapsed_s}});
  };
  trainer.on_epoch = [&](const nas::TrainEpochRecord& r) {
    json j = nas::to_json(r);
    j["type"] = "epoch";
    log.write(j);
    epoch_records.push_back(j);
    report::write_curves((fs::path(dir) / "curves.svg").string(), epoch_records, title);
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "epoch %d/%d  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  lr %.4g  drop-path %.3f  "
                  "%s elapsed, ETA %s",
                  r.epoch + 1, r.epochs, r.train_loss, 100 * r.train_acc, r.test_loss, 100 * r.test_acc, r.lr,
                  r.drop_prob, fmt_duration(r.elapsed_s).c_str(), fmt_duration(r.eta_s).c_str());
    progress.line(buf);
  };

  SigintScope sigint;
  while (trainer.epoch() < cfg.epochs) {
    trainer.run(trainer.epoch() + 1);
    if (g_interrupts > 0 && trainer.epoch() < cfg.epochs) {
      trainer.save_checkpoint(cfg.checkpoint_dir);
      print_resume_hint("train", dir);
      return kInterrupted;
    }
  }
  const nas::TrainResult res = trainer.result();
  json summary = nas::to_json(res);
  summary["command"] = "train";
  summary["dataset"] = cc.dataset;
  summary["genotype_darts"] = nas::genotype_to_darts(genotype);
  summary["parameters"] = net.parameter_count();
  summary["device"] = dev.str();
  summary["test_images"] = d.n_b;
  summary["note"] = "final_test_acc is the result; best_test_acc_selected_on_test picks the best epoch on the test "
                    "set and is not an unbiased estimate";
  write_json((fs::path(dir) / "summary.json").string(), summary);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "final test accuracy %.2f%% (%lld images); best epoch %d at %.2f%% (selected on the test set)",
                100 * res.final_test_acc, static_cast<long long>(d.n_b), res.best_epoch + 1,
                100 * res.best_test_acc_selected_on_test);
  progress.line(buf);
  std::printf("%s\n", summary.dump().c_str());
  return kOk;
}

// ---- eval -------------------------------------------------------------------------------------

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
  const DatasetInfo info = dataset_info(c.dataset);
  const std::string data_dir = resolve_data_dir(c.dataset, c.data);
  check_dataset_files(c.dataset, data_dir);
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
  LoadedData d;
  load_train_data(c.dataset, data_dir, dev, batch, cfg.seed, 0, 0, test_subset, false, d);
  // A one-epoch trainer is only used for its evaluation pass.
  nas::Trainer t(net, {d.b.get(), d.b.get()}, [&] {
    nas::TrainConfig e = cfg;
    e.checkpoint_dir.clear();
    return e;
  }());
  const auto [loss, acc] = t.evaluate(*d.b);
  const json out = {{"dataset", c.dataset}, {"checkpoint", path}, {"test_images", d.n_b},
                    {"test_loss", loss},     {"test_acc", acc},     {"epochs_trained", std::stoi(meta("epoch"))}};
  std::fprintf(stderr, "test accuracy %.2f%% (loss %.4f) on %lld %s test images\n", 100 * acc, loss,
               static_cast<long long>(d.n_b), c.dataset.c_str());
  std::printf("%s\n", out.dump().c_str());
  return kOk;
}

// ---- genotype ---------------------------------------------------------------------------------

int run_genotype_show(const std::string& arg, const std::string& format, const std::string& out) {
  const nas::Genotype g = nas::resolve_genotype(arg);
  if (!out.empty()) {
    nas::write_genotype_file(g, out);
    std::fprintf(stderr, "wrote %s\n", out.c_str());
    return kOk;
  }
  if (format == "darts" || format == "both") std::printf("%s\n", nas::genotype_to_darts(g).c_str());
  if (format == "json" || format == "both") std::printf("%s", nas::genotype_to_json_text(g).c_str());
  return kOk;
}

int run_genotype_draw(const std::string& arg, const std::string& out, bool png) {
  const nas::Genotype g = nas::resolve_genotype(arg);
  std::error_code ec;
  fs::create_directories(out, ec);
  BNAS_CHECK(!ec, "cannot create ", out, ": ", ec.message());
  std::string stem = fs::path(arg).stem().string();
  if (stem.empty()) stem = "cell";
  for (const auto& p : report::draw_genotype(g, out, stem, png)) std::printf("%s\n", p.c_str());
  return kOk;
}

// ---- info -------------------------------------------------------------------------------------

int run_info() {
  std::printf("bnas_engine %s (%s build, %s)\n", BNAS_VERSION, BNAS_BUILD_TYPE, BNAS_CXX_COMPILER);
  std::printf("build options: CUDA %s, NCCL %s, OpenMP %d, BLAS OpenBLAS\n", built_with_cuda() ? "on" : "off",
              BNAS_WITH_NCCL ? "on" : "off", _OPENMP);
  std::printf("cpu: %d threads\n", omp_get_max_threads());
#if BNAS_WITH_CUDA
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  std::printf("CUDA runtime %d.%d, driver %d.%d\n", runtime / 1000, (runtime % 1000) / 10, driver / 1000,
              (driver % 1000) / 10);
  const size_t cudnn = cudnnGetVersion();
  std::printf("cuDNN %zu.%zu.%zu\n", cudnn / 10000, (cudnn % 10000) / 100, cudnn % 100);
#if BNAS_WITH_NCCL
  int nccl = 0;
  ncclGetVersion(&nccl);
  std::printf("NCCL %d.%d.%d\n", nccl / 10000, (nccl % 10000) / 100, nccl % 100);
#endif
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    count = 0;
  }
  if (count == 0) std::printf("GPUs: none usable (running on the CPU)\n");
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    std::printf("cuda:%d  %s, %.1f GiB, compute capability %d.%d, %d SMs\n", i, p.name,
                static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), p.major, p.minor,
                p.multiProcessorCount);
  }
#else
  std::printf("GPUs: not available (built without CUDA)\n");
#endif
  return kOk;
}

}  // namespace

// ---- entry point ------------------------------------------------------------------------------

int run(int argc, char** argv) {
  CLI::App app{"bnas_engine: BNAS-v2 broad neural architecture search, from scratch in C++/CUDA", "bnas_engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bnas_engine ") + BNAS_VERSION);
  app.footer("Run `bnas_engine <command> --help` for a command's options. Documentation: docs/CLI.md");

  app.add_subcommand("info", "devices, CUDA/cuDNN/NCCL versions and build options");

  auto* geno = app.add_subcommand("genotype", "print, convert and draw genotypes");
  geno->require_subcommand(1);
  std::string g_arg, g_format = "both", g_out;
  bool g_no_png = false;
  auto* show = geno->add_subcommand("show", "print a genotype as DARTS text and JSON, or convert it with --out");
  show->add_option("genotype", g_arg, "published name or file (JSON or DARTS text)")->required();
  show->add_option("--format", g_format, "darts, json or both")
      ->check(CLI::IsMember({"darts", "json", "both"}))
      ->capture_default_str();
  show->add_option("--out", g_out, "write to this file instead (.json: JSON, anything else: DARTS text)");
  auto* draw = geno->add_subcommand("draw", "draw both cells as Graphviz .dot and SVG (and PNG when dot is installed)");
  draw->add_option("genotype", g_arg, "published name or file (JSON or DARTS text)")->required();
  draw->add_option("--out", g_out, "output folder")->required();
  draw->add_flag("--no-png", g_no_png, "do not call Graphviz even when it is installed");
  auto* list = geno->add_subcommand("list", "the published genotype names");

  Common sc_common, tr_common, ev_common;
  SearchFlags sflags;
  auto* search = app.add_subcommand("search", "search cells on a dataset (BNAS-v2 bilevel optimisation)");
  add_common(search, sc_common, false);
  add_search_flags(search, sflags);

  TrainFlags tflags;
  auto* train = app.add_subcommand("train", "train an evaluation network from scratch from a genotype");
  add_common(train, tr_common, false);
  add_train_flags(train, tflags);

  std::string ev_checkpoint;
  int ev_batch = 256;
  int64_t ev_test_subset = 0;
  auto* eval = app.add_subcommand("eval", "test accuracy of a trained network");
  eval->add_option("dataset", ev_common.dataset, "cifar10, cifar100, imagenet, mnist or fashion-mnist")->required();
  eval->add_option("--checkpoint", ev_checkpoint, "train.safetensors, or a train run directory")->required();
  eval->add_option("--data", ev_common.data, "dataset folder (default $BNAS_DATA/<dataset>, else ./data/<dataset>)");
  eval->add_option("--device", ev_common.device, "auto, cpu or cuda:N")->capture_default_str();
  eval->add_option("--batch", ev_batch, "batch size")->capture_default_str();
  eval->add_option("--test-subset", ev_test_subset, "evaluate on this many test images (seeded)");
  eval->add_option("--threads", ev_common.threads, "CPU threads (default: all cores)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "bnas_engine: error: %s (see bnas_engine --help)\n", e.what());
    return kUsage;
  }

  try {
    if (app.got_subcommand("info")) return run_info();
    if (app.got_subcommand("genotype")) {
      if (geno->got_subcommand("show")) return run_genotype_show(g_arg, g_format, g_out);
      if (geno->got_subcommand("draw")) return run_genotype_draw(g_arg, g_out, !g_no_png);
      if (geno->got_subcommand("list")) {
        for (const auto& n : nas::published_genotype_names()) std::printf("%s\n", n.c_str());
        return kOk;
      }
      (void)list;
    }
    auto set_threads = [](int n) {
      if (n > 0) omp_set_num_threads(n);
    };
    if (app.got_subcommand("search")) {
      apply_config_file(search, sc_common.config);
      set_threads(sc_common.threads);
      return run_search(sc_common, sflags, search);
    }
    if (app.got_subcommand("train")) {
      apply_config_file(train, tr_common.config);
      set_threads(tr_common.threads);
      return run_train(tr_common, tflags, train);
    }
    if (app.got_subcommand("eval")) {
      set_threads(ev_common.threads);
      return run_eval(ev_common, ev_checkpoint, ev_batch, ev_test_subset);
    }
  } catch (const std::exception& e) {
    // bnas::Error's what() is the sentence for the user; one line, after any open progress line.
    std::string msg = e.what();
    for (char& ch : msg)
      if (ch == '\n') ch = ' ';
    std::fprintf(stderr, "%sbnas_engine: error: %s\n", ::isatty(STDERR_FILENO) ? "\r\033[K" : "", msg.c_str());
    return kError;
  }
  return kOk;
}

}  // namespace bnas::cli
