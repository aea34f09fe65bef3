// BNAS_SYNC_CHECK=1 (set by ctest for this test): every kernel launch and library call of the
// engine synchronises its stream right after it (CUDA_CHECK_LAUNCH), so a fault is reported at
// the line that launched it; skipped while a stream captures, where synchronising is forbidden.
#include <gtest/gtest.h>

#include <cuda_emu/kernel.h>

#include "engine/cuda_check.h"
#include "engine/cuda_context.h"
#include "engine/device_activity.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace bnas {
namespace {

TEST(SyncCheck, EveryLaunchIsFollowedByASynchronisation) {
  ASSERT_TRUE(detail::sync_check_enabled());
  const Tensor x = Tensor::from_vector({-1.0, 2.0, -3.0}, {3}).to(Device::cuda(0));
  const DeviceActivity before = device_activity();
  Tensor y = ops::relu(x);
  ops::add_(y, x, 2.0);
  const DeviceActivity d = device_activity() - before;
  ASSERT_TRUE(d.available);
  EXPECT_GE(d.launches, 2u);
  EXPECT_EQ(d.syncs, d.launches);
}

TEST(SyncCheck, AFailedLaunchIsReportedAtItsLine) {
  cuda_emu::launch(cuda_emu::KernelSite{"too_wide", __FILE__, __LINE__, false}, dim3(1), dim3(4096), 0, nullptr, [] {},
                   {});
  try {
    CUDA_CHECK_LAUNCH(nullptr);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("test_emu_sync_check.cpp"), std::string::npos) << m;
    EXPECT_NE(m.find("too_wide<<<"), std::string::npos) << m;
  }
}

TEST(SyncCheck, CapturedLaunchesAreNotSynchronised) {
  Tensor x = Tensor::from_vector({1.0, 2.0}, {2}).to(Device::cuda(0));
  cudaStream_t s = cuda_stream(Device::cuda(0));
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  ops::scale_(x, 3.0);
  cudaGraph_t g = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(s, &g), cudaSuccess);  // not invalidated by a synchronisation
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
  EXPECT_EQ(x.to_doubles(), (std::vector<double>{3.0, 6.0}));
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(g);
}

}  // namespace
}  // namespace bnas
