// The search step as one CUDA graph (gpu label; skipped without a GPU): a search with the graph
// on (the first step of a shape eager and captured, the others replayed) against the same search
// with it off, from the same seed and batches, on a small BroadSupernet (C = 4, partial channels
// K = 2 with edge normalisation, 8 x 8 images, 4 classes). A replay runs the eager step's kernels
// in the same order with the same arguments (the emulated device runs graph nodes with the same
// code), so every comparison is bit-exact.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/device_activity.h"
#include "nas/search.h"
#include "search_test_util.h"

namespace bnas::nas {
namespace {

constexpr int kSize = 8;

SearchConfig graph_config(bool unrolled, const std::string& graph) {
  SearchConfig c = testing::small_search(2, 4, 3e-3);
  c.pc_k = 2, c.edge_norm = true, c.seed = 7;
  c.unrolled = unrolled;
  c.graph = graph;
  return c;
}

std::unique_ptr<BroadSupernet> make_model(const SearchConfig& c) {
  return std::make_unique<BroadSupernet>(supernet_config(c, 4, 3, kSize, Device::cuda()));
}

// Everything a step changes: weights and BN statistics, alpha and beta, both optimizers' states.
std::vector<double> search_state(Search& s, SearchModel& m) {
  std::vector<double> all = testing::flat(m.state_dict());
  for (const NamedTensors& group : {m.arch_parameters(), s.weight_optimizer().state(), s.architect().optimizer().state()}) {
    const std::vector<double> v = testing::flat(group);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

data::Batch batch_of(int n, uint64_t seed) {
  Generator g(seed, RngStream::Test);
  data::Batch b;
  b.images = Tensor::from_vector(g.normal(static_cast<uint64_t>(n) * 3 * kSize * kSize), Shape{n, 3, kSize, kSize},
                                 DType::F32, Device::cuda());
  std::vector<int32_t> labels(n);
  for (int i = 0; i < n; ++i) labels[i] = static_cast<int32_t>(g.below(4));
  b.labels = Tensor::from_ints(labels, Shape{n}, Device::cuda());
  return b;
}

const char* order_name(bool unrolled) { return unrolled ? "second order" : "first order"; }

// Search::run, one step per epoch: the graph captured in one epoch is replayed in the next, after
// the learning rates changed at the epoch boundary, and so did the confident learning rate
// (arch_lr mode in first order, val_loss mode in second). In first order the architecture step
// starts in epoch 1, so the weight-only step and the full step are two graphs (epochs 0 and 1,
// replayed in epoch 2). Records (running loss and accuracy summed inside the graph, validation
// figures from the validation pass's own graph, replayed from the second pass on) and the whole
// state must equal the eager run's.
TEST(SearchStepGraph, SearchRunReplaysEqualEagerSteps) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU";
  const data::ImageSet set = testing::synthetic_set(8, 4, kSize, 1);
  for (bool unrolled : {false, true}) {
    SCOPED_TRACE(order_name(unrolled));
    std::vector<std::vector<double>> states;
    std::vector<std::vector<EpochRecord>> records;
    for (const char* graph : {"off", "on"}) {
      SearchConfig c = graph_config(unrolled, graph);
      c.epochs = unrolled ? 2 : 3;
      c.clr.enabled = true, c.clr.power = 2;
      c.clr.mode = unrolled ? ClrMode::kScaleValLoss : ClrMode::kScaleArchLr;
      c.arch_start_epoch = unrolled ? 0 : 1;
      const testing::SearchLoaders loaders = testing::make_loaders(set, 4, 3, Device::cuda());
      auto model = make_model(c);
      Search s(*model, loaders.data(), c);
      SearchInfo info;
      s.on_start = [&](const SearchInfo& i) { info = i; };
      s.run();
      EXPECT_EQ(info.graph, std::string(graph) == "on" ? "on" : "off: the graph setting is off");
      EXPECT_EQ(s.info().eval_graph, info.graph);  // the validation passes too, to the end
      if (device_activity().available) {
        EXPECT_GT(info.step_launches, 0);
      }
      EXPECT_EQ(info.graph_nodes > 0, std::string(graph) == "on");
      states.push_back(search_state(s, *model));
      records.push_back(s.records());
    }
    EXPECT_EQ(states[1], states[0]);
    ASSERT_EQ(records[1].size(), records[0].size());
    for (size_t e = 0; e < records[0].size(); ++e) {
      EXPECT_EQ(records[1][e].train_loss, records[0][e].train_loss) << "epoch " << e;
      EXPECT_EQ(records[1][e].train_acc, records[0][e].train_acc) << "epoch " << e;
      EXPECT_EQ(records[1][e].valid_loss, records[0][e].valid_loss) << "epoch " << e;
      EXPECT_EQ(records[1][e].valid_acc, records[0][e].valid_acc) << "epoch " << e;
      EXPECT_EQ(records[1][e].arch_lr, records[0][e].arch_lr) << "epoch " << e;
      if (e > 0) {
        EXPECT_NE(records[1][e].lr, records[1][e - 1].lr) << "epoch " << e;  // the schedule moved
      }
    }
  }
}

// The counters of Search::step with the graph on. First order, batches of 4, 4, 2, 2, 4 images:
// a new shape runs eagerly and is captured (launches, no graph launch), a shape seen before is
// one graph launch and nothing else (no launch, synchronisation, allocation, free or host-device
// copy), and the state after the five steps is the eager search's. Second order: a capture and
// one replay.
TEST(SearchStepGraph, ReplaysLaunchOneGraphAndRecaptureOnANewShape) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU";
  if (!device_activity().available) GTEST_SKIP() << "this CUDA runtime does not count launches";
  for (bool unrolled : {false, true}) {
    SCOPED_TRACE(order_name(unrolled));
    const std::vector<int> sizes = unrolled ? std::vector<int>{4, 4} : std::vector<int>{4, 4, 2, 2, 4};
    std::vector<std::vector<double>> states;
    // Second order: SearchStepGraph.SearchRunReplaysEqualEagerSteps compares with eager steps.
    const std::vector<std::string> graphs = unrolled ? std::vector<std::string>{"on"} : std::vector<std::string>{"on", "off"};
    for (const std::string& graph : graphs) {
      const SearchConfig c = graph_config(unrolled, graph);
      auto model = make_model(c);
      Search s(*model, SearchData{}, c);
      s.begin_epoch(0);
      for (size_t i = 0; i < sizes.size(); ++i) {
        const data::Batch tb = batch_of(sizes[i], 10 + i), vb = batch_of(sizes[i], 20 + i);
        synchronize(Device::cuda());
        const DeviceActivity before = device_activity();
        s.step(tb, vb, 0);
        const DeviceActivity a = device_activity() - before;
        const bool replay = graph == "on" && i != 0 && i != 2;
        if (replay) {
          EXPECT_EQ(a.graph_launches, 1u) << "step " << i;
          EXPECT_EQ(a.launches, 0u) << "step " << i;
          EXPECT_EQ(a.syncs, 0u) << "step " << i;
          EXPECT_EQ(a.allocs, 0u) << "step " << i;
          EXPECT_EQ(a.frees, 0u) << "step " << i;
          EXPECT_EQ(a.h2d_bytes, 0u) << "step " << i;
          EXPECT_EQ(a.d2h_bytes, 0u) << "step " << i;
        } else {
          EXPECT_EQ(a.graph_launches, 0u) << "step " << i;
          EXPECT_GT(a.launches, 0u) << "step " << i;
        }
      }
      EXPECT_EQ(s.info().graph, graph == "on" ? "on" : "off: the graph setting is off");
      states.push_back(search_state(s, *model));
    }
    if (!unrolled) {
      EXPECT_EQ(states[0], states[1]);
    }
  }
}

// The validation pass as graph replays (Evaluator): 10 images in batches of 4, 4 and 2. The first
// pass captures the two shapes; in the second every batch is one graph launch, and the only
// other launches are the loader's own; both passes equal the eager pass.
TEST(SearchStepGraph, TheEvaluationPassReplaysOneGraphPerBatch) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU";
  const SearchConfig c = graph_config(false, "on");
  auto model = make_model(c);
  const auto set = data::upload(testing::synthetic_set(10, 4, kSize, 2), Device::cuda());
  data::LoaderOptions lo;
  lo.batch_size = 4, lo.shuffle = false, lo.device = Device::cuda();
  data::DeviceLoader loader(set, data::split_range(10, 0, 1), data::CropAugment{}, lo);
  const auto logits_of = [&](const Tensor& x) { return model->forward(x, false); };
  Evaluator eager(logits_of, DType::F32, Device::cuda(), false), graphed(logits_of, DType::F32, Device::cuda(), true);
  const LossAccuracy e = eager.run(loader, 0);
  for (int pass = 0; pass < 2; ++pass) {
    synchronize(Device::cuda());
    DeviceActivity before = device_activity();
    loader.restore({0, 0});
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) loader.next_batch();
    const DeviceActivity loading = device_activity() - before;
    before = device_activity();
    const LossAccuracy g = graphed.run(loader, 0);
    const DeviceActivity a = device_activity() - before;
    EXPECT_EQ(g.loss, e.loss) << "pass " << pass;
    EXPECT_EQ(g.accuracy, e.accuracy) << "pass " << pass;
    EXPECT_EQ(g.count, 10) << "pass " << pass;
    if (a.available && pass == 1) {
      EXPECT_EQ(a.graph_launches, 3u);
      EXPECT_EQ(a.launches, loading.launches);
    }
  }
}

// Random channels (drawn on the device, engine/random_subsets.h) are captured too. First order,
// three steps of one shape with the graph on (an eager step that is captured, then two replays)
// against the same three steps run eagerly, both from the same seed and so the same draw counter.
// No step copies between host and device or synchronises; a replay is one graph launch. Both runs
// end with the same counter and the same state bit for bit, which they could not if a replay
// drew the captured step's channels again.
TEST(SearchStepGraph, RandomChannelsAreCapturedAndReplaysEqualEagerSteps) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU";
  std::vector<std::vector<double>> states;
  std::vector<uint32_t> draws;
  for (const std::string graph : {"on", "off"}) {
    SCOPED_TRACE("graph " + graph);
    SearchConfig c = graph_config(false, graph);
    c.random_channels = true;
    auto model = make_model(c);
    Search s(*model, SearchData{}, c);
    s.begin_epoch(0);
    for (int i = 0; i < 3; ++i) {
      const data::Batch tb = batch_of(4, 10 + i), vb = batch_of(4, 20 + i);
      synchronize(Device::cuda());
      const DeviceActivity before = device_activity();
      s.step(tb, vb, 0);
      const DeviceActivity a = device_activity() - before;
      if (!a.available) continue;
      const bool replay = graph == "on" && i > 0;
      EXPECT_EQ(a.graph_launches, replay ? 1u : 0u) << "step " << i;
      if (replay) {
        EXPECT_EQ(a.launches, 0u) << "step " << i;
      }
      EXPECT_EQ(a.syncs, 0u) << "step " << i;
      EXPECT_EQ(a.h2d_bytes, 0u) << "step " << i;
      EXPECT_EQ(a.d2h_bytes, 0u) << "step " << i;
    }
    EXPECT_EQ(s.info().graph, graph == "on" ? "on" : "off: the graph setting is off");
    draws.push_back(model->channel_draws());
    states.push_back(search_state(s, *model));
  }
  EXPECT_EQ(draws[0], 6u);  // one draw per forward, two forwards per first-order step
  EXPECT_EQ(draws[1], draws[0]);
  EXPECT_EQ(states[0], states[1]);
}

TEST(SearchStepGraph, TheCpuRunsEagerly) {
  const SearchConfig c = graph_config(false, "on");
  auto model = std::make_unique<BroadSupernet>(supernet_config(c, 4, 3, kSize, Device::cpu()));
  const Search s(*model, SearchData{}, c);
  EXPECT_EQ(s.info().graph, "off: cpu runs the step eagerly (CUDA graphs are for GPUs)");
}

}  // namespace
}  // namespace bnas::nas
