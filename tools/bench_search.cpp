// bnas_bench_search: seconds per BNAS-v2 search step (architecture step + weight step, as
// nas::Search::step runs it) on the CIFAR search network (BroadSupernet, C = 16, layers 2,
// en_layers 1, 32x32 inputs, 10 classes), for first- and second-order architecture steps with
// partial channels (K = 4 + edge normalisation, the bnas-v2-pc network) and full channels (the
// bnas-d / bnas-v2-clr network), with the peak device memory of the step: requested by tensors
// (peak_mem_mb) and held by the allocator (peak_reserved_mem_mb: the GPU pool's reserved bytes).
//
// One line per configuration as key=value pairs, or a JSON array with --json; on the emulated
// device (docs/EMULATOR.md) with the per-step launches, graph_launches, syncs, allocs, frees,
// h2d_bytes and d2h_bytes and timing=emulated (its times are not GPU times); on a GPU then a
// line per cuDNN algorithm chosen ("conv_algorithm cuda:0 fwd ...", a record with --json).
//   bnas_bench_search [--device cpu|cuda|all] [--batch N]... [--steps N] [--warmup N]
//                     [--channels C] [--graph on|off|both] [--filter SUBSTRING] [--json]
// Batches: 256 and 512 on a GPU, 64 on the CPU, unless --batch is given (repeatable). Steps:
// 1 untimed warm-up + 3 timed on a GPU, 0 + 1 on the CPU, unless given. On a GPU each
// configuration runs eagerly (graph=off) and as CUDA graph replays (graph=on, with the nodes of
// the step's graph as graph_nodes; its first warm-up step is the eager step that is captured, so
// graph=on takes at least one), or as --graph says; the CPU runs eagerly. The model and batches
// are random (the step's cost does not depend on the data); a configuration that runs out of
// memory or cannot be captured prints error=... and the others still run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/device.h"
#include "engine/memory.h"
#include "engine/rng.h"
#include "nas/broad_network.h"
#include "nas/search.h"
#include "tools/bench_util.h"

using namespace bnas;

namespace {

struct Options {
  std::vector<int> batches;
  int steps = -1, warmup = -1, channels = 16;
  std::string graph = "both";
};

// The network a configuration searches: built by the library's constructor from the preset.
std::unique_ptr<nas::SearchModel> make_model(const nas::SearchConfig& c, Device d) {
  return std::make_unique<nas::BroadSupernet>(nas::supernet_config(c, 10, 3, 32, d));
}

data::Batch random_batch(int n, Device d, uint64_t seed) {
  Generator g(seed, RngStream::Test);
  data::Batch b;
  b.images = Tensor::from_vector(g.normal(static_cast<uint64_t>(n) * 3 * 32 * 32), Shape{n, 3, 32, 32},
                                 DType::F32, d);
  std::vector<int32_t> labels(n);
  for (int i = 0; i < n; ++i) labels[i] = static_cast<int32_t>(g.below(10));
  b.labels = Tensor::from_ints(labels, Shape{n}, d);
  return b;
}

nlohmann::ordered_json run(const Options& o, Device d, int batch, bool pc, bool unrolled, bool graph) {
  nlohmann::ordered_json r = {{"bench", "search_step"},
                      {"device", d.str()},
                      {"channels", pc ? "pc" : "full"},
                      {"order", unrolled ? "second" : "first"},
                      {"batch", batch},
                      {"graph", graph ? "on" : "off"}};
  try {
    nas::SearchConfig c = nas::SearchConfig::preset_config(pc ? "bnas-v2-pc" : "bnas-d");
    c.channels = o.channels;
    c.unrolled = unrolled;
    c.batch = batch;
    c.arch_start_epoch = 0;
    c.graph = graph ? "on" : "off";
    auto model = make_model(c, d);
    nas::Search s(*model, nas::SearchData{}, c);
    s.begin_epoch(0);
    const data::Batch tb = random_batch(batch, d, 1), vb = random_batch(batch, d, 2);
    const int warmup = std::max(graph ? 1 : 0, o.warmup >= 0 ? o.warmup : (d.is_cuda() ? 1 : 0));
    const int steps = o.steps > 0 ? o.steps : (d.is_cuda() ? 3 : 1);
    synchronize(d);
    reset_peak_memory(d);
    const size_t base = memory_stats(d).current;
    for (int i = 0; i < warmup; ++i) s.step(tb, vb, 0);
    synchronize(d);
    const DeviceActivity before = device_activity();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) s.step(tb, vb, 0);
    const DeviceActivity after = device_activity();
    synchronize(d);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
    r["s_per_step"] = sec;
    r["images_per_s"] = batch / sec;
    r["steps"] = steps;
    const MemoryStats m = memory_stats(d);
    r["peak_mem_mb"] = static_cast<double>(m.peak) / 1e6;                  // requested by tensors
    r["peak_reserved_mem_mb"] = static_cast<double>(m.reserved_peak) / 1e6;  // held by the allocator
    r["model_mem_mb"] = static_cast<double>(base) / 1e6;
    r["weight_params"] = s.info().weight_parameters;
    if (graph) r["graph_nodes"] = s.info().graph_nodes;
    if (d.is_cuda()) bench::add_activity(r, after, before, steps);
  } catch (const std::exception& e) {
    r["error"] = e.what();
  }
  return r;
}

// Whether to run each configuration eagerly (false) and/or as graph replays (true): on a GPU as
// --graph says, eagerly on the CPU.
std::vector<bool> graph_modes(const std::string& flag, Device d) {
  if (!d.is_cuda()) return {false};
  if (flag == "both") return {false, true};
  return {flag == "on"};
}

void print(const nlohmann::ordered_json& r, bool json, bool& first) {
  if (json) {
    std::printf("%s\n  %s", first ? "" : ",", r.dump().c_str());
  } else {
    std::printf("%s\n", bench::key_values(r).c_str());
  }
  std::fflush(stdout);
  first = false;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool json = false;
  bench::Args args("bnas_bench_search",
                   "seconds per search step (architecture + weight step) on the CIFAR search network", &json);
  args.add_selection();
  args.app.add_option("--batch", o.batches, "batch size (repeatable)")->check(bench::positive());
  args.app.add_option("--steps", o.steps, "timed steps")->check(bench::positive());
  args.app.add_option("--warmup", o.warmup, "untimed steps first")
      ->check(bench::must_be("non-negative", [](double x) { return x >= 0; }));
  args.app.add_option("--channels", o.channels, "initial node width C")
      ->check(bench::must_be("a positive multiple of 4", [](double x) { return x > 0 && std::fmod(x, 4) == 0; }))
      ->capture_default_str();
  args.app.add_option("--graph", o.graph, "on a GPU: eager steps (off), CUDA graph replays (on) or both")
      ->check(CLI::IsMember({"on", "off", "both"}))
      ->capture_default_str();
  if (const int rc = args.parse(argc, argv); rc >= 0) return rc;
  std::vector<Device> devices = args.devices;
  // With a GPU and no explicit device, time the GPU only (a CPU step at batch 64 takes seconds to
  // minutes on a 2-core machine, docs/SEARCH.md).
  if (args.device == "all" && devices.size() == 2) devices.erase(devices.begin());
  bool first = true;
  if (json) std::printf("[");
  for (const Device& d : devices) {
    std::vector<int> batches = o.batches;
    if (batches.empty()) batches = d.is_cuda() ? std::vector<int>{256, 512} : std::vector<int>{64};
    for (int b : batches)
      for (bool pc : {true, false})
        for (bool unrolled : {false, true}) {
          const std::string tag = std::string(pc ? "pc" : "full") + (unrolled ? " second" : " first");
          if (!args.selected(tag)) continue;
          for (bool graph : graph_modes(o.graph, d)) print(run(o, d, b, pc, unrolled, graph), json, first);
        }
    bench::print_conv_algorithms(d, json, first);  // on a GPU: what cuDNN ran for each conv
  }
  if (json) std::printf("\n]\n");
  return 0;
}
