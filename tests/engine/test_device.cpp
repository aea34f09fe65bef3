// Devices and memory without a GPU: why no GPU is usable (every outcome of cudaGetDeviceCount,
// as a plain function), the reason a CPU-only build or a GPU-less machine gives, the error for a
// GPU that is not there, the memory figures' reserved bytes on the CPU, the text of the cuDNN
// algorithm registry, and (in a CUDA build) the once-only report of a failed cleanup call.
#include <gtest/gtest.h>

#include <string>

#include "engine/check.h"
#include "engine/conv_algorithms.h"
#include "engine/device.h"
#include "engine/memory.h"

#if BNAS_WITH_CUDA
#include "engine/cuda_check.h"
#endif

using namespace bnas;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(CudaUnavailable, EveryOutcomeOfTheDeviceCount) {
  using detail::describe_cuda_unavailable;
  using detail::kCudaErrorInsufficientDriver;
  using detail::kCudaErrorNoDevice;
  // Usable GPUs: no reason.
  EXPECT_EQ(describe_cuda_unavailable(0, "no error", 2, 12080, 13000), "");
  // Success but no device.
  EXPECT_EQ(describe_cuda_unavailable(0, "no error", 0, 13000, 13000), "no GPU: the driver sees no device");
  // Error 35 without a driver (cudaDriverGetVersion gives 0).
  EXPECT_EQ(describe_cuda_unavailable(kCudaErrorInsufficientDriver, "CUDA driver version is insufficient", 0, 0, 13000),
            "no GPU: no NVIDIA driver is installed");
  // Error 35 with a driver older than the runtime.
  const std::string old = describe_cuda_unavailable(
      kCudaErrorInsufficientDriver, "CUDA driver version is insufficient for CUDA runtime version", 0, 12040, 13000);
  EXPECT_EQ(old, "the NVIDIA driver supports CUDA 12.4 but this build needs CUDA 13.0 (runtime 13000, driver 12040): "
                 "update the driver");
  // Error 35 although the driver is new enough: the error string is kept.
  EXPECT_TRUE(contains(describe_cuda_unavailable(kCudaErrorInsufficientDriver, "strange", 0, 13010, 13000), "strange"));
  // Error 100.
  EXPECT_EQ(describe_cuda_unavailable(kCudaErrorNoDevice, "no CUDA-capable device is detected", 0, 13000, 13000),
            "no GPU: the driver sees no device");
  // Anything else: the error string and code.
  const std::string other = describe_cuda_unavailable(999, "unknown error", 0, 13000, 13000);
  EXPECT_TRUE(contains(other, "unknown error")) << other;
  EXPECT_TRUE(contains(other, "999")) << other;
  EXPECT_EQ(detail::cuda_version_string(12040), "12.4");
  EXPECT_EQ(detail::cuda_version_string(13000), "13.0");
  EXPECT_EQ(detail::cuda_version_string(11080), "11.8");
}

TEST(CudaUnavailable, ReasonMatchesAvailability) {
  const std::string reason = cuda_unavailable_reason();
  EXPECT_EQ(reason.empty(), cuda_available()) << reason;
  if (!built_with_cuda()) {
    EXPECT_EQ(reason, "this build has no CUDA support");
    EXPECT_EQ(cuda_device_count(), 0);
  }
}

TEST(CudaUnavailable, AMissingGpuSaysWhy) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is usable here (the message is for machines without one)";
  const std::string reason = cuda_unavailable_reason();
  try {
    void* p = allocate(Device::cuda(0), 64);
    deallocate(Device::cuda(0), p, 64);
    FAIL() << "allocating on cuda:0 without a usable GPU did not throw";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), reason)) << e.what();
    EXPECT_TRUE(contains(e.what(), "cuda:0")) << e.what();
  }
  // Nothing is held on a GPU that is not there, and asking is not an error.
  const MemoryStats m = memory_stats(Device::cuda(0));
  EXPECT_EQ(m.reserved, 0u);
  EXPECT_EQ(m.reserved_peak, 0u);
}

TEST(MemoryStats, CpuReservedEqualsRequested) {
  const Device cpu = Device::cpu();
  reset_peak_memory(cpu);
  const MemoryStats before = memory_stats(cpu);
  void* p = allocate(cpu, 1 << 20);
  const MemoryStats during = memory_stats(cpu);
  EXPECT_EQ(during.current, before.current + (1u << 20));
  EXPECT_GE(during.peak, during.current);
  deallocate(cpu, p, 1 << 20);
  const MemoryStats after = memory_stats(cpu);
  for (const MemoryStats& m : {before, during, after}) {
    EXPECT_EQ(m.reserved, m.current);
    EXPECT_EQ(m.reserved_peak, m.peak);
  }
  EXPECT_GE(after.peak, before.current + (1u << 20));
  reset_peak_memory(cpu);
  EXPECT_EQ(memory_stats(cpu).reserved_peak, memory_stats(cpu).current);
}

TEST(ConvAlgorithms, LineFormat) {
  ConvAlgorithm a;
  a.device = 1;
  a.shape.n = 64, a.shape.cin = 16, a.shape.h = 32, a.shape.w = 32;
  a.shape.cout = 16, a.shape.kh = 3, a.shape.kw = 3;
  a.shape.stride = 1, a.shape.pad = 1, a.shape.dilation = 1, a.shape.groups = 16;
  a.shape.ho = 32, a.shape.wo = 32, a.shape.x_batch_stride = 16 * 32 * 32;
  a.direction = "fwd";
  a.algo = 1;
  a.name = "IMPLICIT_PRECOMP_GEMM";
  a.workspace_bytes = 1024;
  EXPECT_EQ(format_conv_algorithm(a),
            "cuda:1 fwd 64 x 16 x 32 x 32 -> 16 k3 s1 p1 d1 g16: IMPLICIT_PRECOMP_GEMM (algo 1), 1024 B workspace");

  ConvAlgorithm b = a;
  b.direction = "bwd_filter";
  b.shape.kw = 5;
  b.shape.stride = 2;
  b.shape.dilation = 2;
  b.shape.groups = 1;
  b.shape.x_batch_stride = 2 * 16 * 32 * 32;  // a channel slice of a wider tensor
  b.deterministic = true;
  b.algo = 1;
  b.name = "ALGO_1";
  b.workspace_bytes = 0;
  b.fallback = true;
  b.fallback_reason = "no FMA-math candidate among the 3 usable of the 5 candidates cuDNN's heuristics returned";
  EXPECT_EQ(format_conv_algorithm(b),
            "cuda:1 bwd_filter 64 x 16 x 32 x 32 -> 16 k3x5 s2 p1 d2 g1 xstride 32768: ALGO_1 (algo 1), 0 B workspace, "
            "deterministic, fallback: no FMA-math candidate among the 3 usable of the 5 candidates cuDNN's heuristics "
            "returned");

  const std::vector<std::string> lines = conv_algorithm_lines({a, b});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], format_conv_algorithm(a));
  EXPECT_EQ(lines[1], format_conv_algorithm(b));
  EXPECT_EQ(conv_algorithm_fallbacks({a, b}), 1);
  EXPECT_EQ(conv_algorithm_fallbacks({a}), 0);
}

TEST(ConvAlgorithms, NoneWithoutAGpu) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is usable here";
  EXPECT_TRUE(conv_algorithms().empty());
  EXPECT_TRUE(conv_algorithm_lines().empty());
}

#if BNAS_WITH_CUDA
// A failing cleanup call (a destructor's) is said once on stderr with the call and error string,
// and never throws; the runtime unloading at exit is not said.
TEST(CleanupCheck, SaysAFailureOnceAndDoesNotThrow) {
  testing::internal::CaptureStderr();
  for (int i = 0; i < 3; ++i) EXPECT_NO_THROW(CUDA_CHECK_CLEANUP(static_cast<cudaError_t>(cudaErrorInvalidValue)));
  for (int i = 0; i < 2; ++i) EXPECT_NO_THROW(CUDA_CHECK_CLEANUP(static_cast<cudaError_t>(cudaErrorCudartUnloading)));
  EXPECT_NO_THROW(CUDA_CHECK_CLEANUP(static_cast<cudaError_t>(cudaSuccess)));
  const std::string err = testing::internal::GetCapturedStderr();
  int lines = 0;
  for (char c : err) lines += c == '\n';
  EXPECT_EQ(lines, 1) << err;
  EXPECT_TRUE(contains(err, "cudaErrorInvalidValue")) << err;                    // the call
  EXPECT_TRUE(contains(err, cudaGetErrorString(cudaErrorInvalidValue))) << err;  // the error string
}
#endif
