// StepGraph (engine/cuda_graph.h): a step run eagerly and captured the first time, replayed as
// one graph launch after; captures that break the rules (a synchronisation inside the step, a
// tensor outliving it) fail with a GraphCaptureError that names the key and the reason; the CPU
// runs the step every time. Skips the GPU cases when no GPU is present.
#include <gtest/gtest.h>

#include <string>

#include "engine/cuda_graph.h"
#include "engine/device.h"
#include "engine/device_activity.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace bnas {
namespace {

#define BNAS_REQUIRE_GPU() \
  if (!cuda_available()) GTEST_SKIP() << "no CUDA GPU is available"

// y += 2 x through a temporary (an allocation freed inside the step).
void add_twice(Tensor& y, const Tensor& x) {
  const Tensor t = ops::scale(x, 2.0);
  ops::add_(y, t);
}

// The error of run(key, step), which must fail.
std::string capture_error(StepGraph& g, const std::string& key, const std::function<void()>& step) {
  try {
    g.run(key, step);
  } catch (const GraphCaptureError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the capture of '" << key << "' succeeded";
  return {};
}

TEST(StepGraphGpu, RunsEagerlyCapturesThenReplaysOneGraphLaunch) {
  BNAS_REQUIRE_GPU();
  const Device d = Device::cuda();
  Tensor y = Tensor::zeros(Shape{1000}, DType::F32, d);
  const Tensor x = Tensor::full(Shape{1000}, 1.5, DType::F32, d);
  StepGraph g(d);
  const auto step = [&] { add_twice(y, x); };
  g.run("add", step);  // eager, then captured
  EXPECT_TRUE(g.captured("add"));
  EXPECT_GT(g.nodes("add"), 0u);
  synchronize(d);
  const DeviceActivity before = device_activity();
  g.run("add", step);
  g.run("add", step);
  const DeviceActivity a = device_activity() - before;
  if (a.available) {
    EXPECT_EQ(a.graph_launches, 2u);
    EXPECT_EQ(a.launches, 0u);
    EXPECT_EQ(a.allocs, 0u);
    EXPECT_EQ(a.syncs, 0u);
  }
  EXPECT_EQ(y.to_doubles(), std::vector<double>(1000, 9.0));  // three runs of += 3
  g.clear();
  EXPECT_FALSE(g.captured("add"));
}

TEST(StepGraphGpu, ASynchronisationInsideTheStepFailsTheCaptureAfterTheEagerRun) {
  BNAS_REQUIRE_GPU();
  const Device d = Device::cuda();
  Tensor y = Tensor::zeros(Shape{4}, DType::F32, d);
  const Tensor x = Tensor::full(Shape{4}, 1.0, DType::F32, d);
  StepGraph g(d);
  const std::string e = capture_error(g, "syncing step", [&] {
    add_twice(y, x);
    synchronize(d);
  });
  EXPECT_NE(e.find("capturing the step 'syncing step' as a CUDA graph on cuda:0 failed: "), std::string::npos) << e;
  EXPECT_NE(e.find("cudaStreamSynchronize"), std::string::npos) << e;  // the call that broke it
  EXPECT_FALSE(g.captured("syncing step"));
  EXPECT_EQ(y.to_doubles(), std::vector<double>(4, 2.0));  // the eager run happened, once
  add_twice(y, x);                                           // and the stream still works
  EXPECT_EQ(y.to_doubles(), std::vector<double>(4, 4.0));
}

// A step that keeps a tensor it allocated (here: from its second run, the capture on). The kept
// tensor points into the discarded graph's memory, as it would on a GPU, so it is not released.
TEST(StepGraphGpu, ATensorOutlivingTheStepFailsTheCapture) {
  BNAS_REQUIRE_GPU();
  const Device d = Device::cuda();
  const Tensor x = Tensor::full(Shape{4}, 1.0, DType::F32, d);
  auto* kept = new Tensor;  // deliberately leaked
  int runs = 0;
  StepGraph g(d);
  const std::string e = capture_error(g, "leaky step", [&] {
    const Tensor t = ops::scale(x, 2.0);
    if (runs++ == 1) *kept = t;
  });
  EXPECT_NE(e.find("16 bytes of tensors it allocated are still alive after it"), std::string::npos) << e;
}

// A step that frees a tensor allocated before it: a captured free would run at every replay.
TEST(StepGraphGpu, FreeingAnOlderTensorFailsTheCapture) {
  BNAS_REQUIRE_GPU();
  const Device d = Device::cuda();
  Tensor a = Tensor::zeros(Shape{4}, DType::F32, d), b = Tensor::zeros(Shape{4}, DType::F32, d);
  int runs = 0;
  StepGraph g(d);
  const std::string e = capture_error(g, "freeing step", [&] {
    if (runs++ == 1) b = Tensor();
  });
  EXPECT_NE(e.find("it freed 16 bytes of tensors allocated before it"), std::string::npos) << e;
}

TEST(StepGraph, TheCpuRunsTheStepEveryTime) {
  Tensor y = Tensor::zeros(Shape{3});
  const Tensor x = Tensor::full(Shape{3}, 1.0);
  StepGraph g(Device::cpu());
  for (int i = 0; i < 3; ++i) g.run("add", [&] { add_twice(y, x); });
  EXPECT_FALSE(g.captured("add"));
  EXPECT_EQ(y.to_doubles(), std::vector<double>(3, 6.0));
}

}  // namespace
}  // namespace bnas
