// The emulated CUDA runtime: what it enforces, each shown by planting the mistake and seeing it
// caught with CUDA's error code and a message naming the call; and what it counts. Runs with two
// emulated devices (BNAS_EMU_DEVICES=2, set by ctest).
#include <gtest/gtest.h>

#include <cuda_emu/counters.h>
#include <cuda_emu/kernel.h>
#include <cuda_runtime_api.h>

#include <string>
#include <thread>
#include <vector>

namespace {

// A hand-written kernel: y[i] = x[i] + 1 over a grid-stride loop.
cudaError_t add_one(const float* x, float* y, int n, cudaStream_t s, dim3 grid = dim3(2), dim3 block = dim3(32)) {
  return cuda_emu::launch(cuda_emu::KernelSite{"add_one", __FILE__, __LINE__, false}, grid, block, 0, s,
                          [=] {
                            for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < n;
                                 i += static_cast<int>(gridDim.x * blockDim.x))
                              y[i] = x[i] + 1.f;
                          },
                          cuda_emu::pointer_args(x, y));
}

float* device_floats(const std::vector<float>& v) {
  float* p = nullptr;
  EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&p), v.size() * sizeof(float)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(p, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  return p;
}
std::vector<float> host_floats(const float* p, size_t n) {
  std::vector<float> v(n);
  EXPECT_EQ(cudaMemcpy(v.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  return v;
}
// The message cudaGetErrorString gives for the thread's latest error.
std::string message(cudaError_t e) { return cudaGetErrorString(e); }

cudaStream_t new_stream() {
  cudaStream_t s = nullptr;
  EXPECT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  return s;
}

TEST(EmuRuntime, ReportsAnSm90DevicePerEmulatedGpu) {
  int n = 0;
  ASSERT_EQ(cudaGetDeviceCount(&n), cudaSuccess);
  EXPECT_EQ(n, 2);
  cudaDeviceProp p{};
  ASSERT_EQ(cudaGetDeviceProperties(&p, 1), cudaSuccess);
  EXPECT_EQ(p.major, 9);
  EXPECT_EQ(p.minor, 0);
  EXPECT_EQ(p.maxGridSize[1], 65535);
  EXPECT_EQ(cudaSetDevice(2), cudaErrorInvalidDevice);
  EXPECT_NE(message(cudaErrorInvalidDevice).find("cudaSetDevice"), std::string::npos);
}

TEST(EmuRuntime, KernelsCopiesAndMemsetsRunInStreamOrder) {
  cudaStream_t s = new_stream();
  float* x = device_floats({1, 2, 3, 4, 5});
  float* y = nullptr;
  ASSERT_EQ(cudaMallocAsync(reinterpret_cast<void**>(&y), 5 * sizeof(float), s), cudaSuccess);
  ASSERT_EQ(add_one(x, y, 5, s), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(host_floats(y, 5), (std::vector<float>{2, 3, 4, 5, 6}));
  ASSERT_EQ(cudaMemsetAsync(y, 0, 5 * sizeof(float), s), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(host_floats(y, 5), std::vector<float>(5, 0.f));
  EXPECT_EQ(cudaFreeAsync(y, s), cudaSuccess);
  EXPECT_EQ(cudaFree(x), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
}

TEST(EmuRuntime, NewDeviceMemoryIsPoisoned) {
  float* p = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&p), 4 * sizeof(float)), cudaSuccess);
  for (float v : host_floats(p, 4)) EXPECT_TRUE(std::isnan(v));
  cudaFree(p);
}

TEST(EmuRuntimeDeathTest, HostDereferenceOfDeviceMemoryFaultsWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        float* p = nullptr;
        cudaMalloc(reinterpret_cast<void**>(&p), 64);
        *static_cast<volatile float*>(p) = 1.f;
      },
      "the host dereferenced device memory at 0x[0-9a-f]+ \\(byte 0 of a 64-byte buffer on cuda:0\\)");
}

TEST(EmuRuntime, LaunchesBeyondTheLimitsFailAtTheLaunch) {
  float* x = device_floats({1});
  struct Case {
    dim3 grid, block;
    const char* why;
  };
  for (const Case& c : {Case{dim3(1, 70000), dim3(32), "beyond CUDA's limits"},
                        Case{dim3(1), dim3(2048), "more than 1024 threads"},
                        Case{dim3(1), dim3(32, 32, 2), "more than 1024 threads"}}) {
    EXPECT_EQ(add_one(x, x, 1, nullptr, c.grid, c.block), cudaErrorInvalidConfiguration);
    const cudaError_t e = cudaGetLastError();  // what code after a <<<>>> launch sees
    EXPECT_EQ(e, cudaErrorInvalidConfiguration);
    EXPECT_NE(message(e).find("add_one<<<"), std::string::npos) << message(e);
    EXPECT_NE(message(e).find(c.why), std::string::npos) << message(e);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // not sticky
  }
  EXPECT_EQ(cuda_emu::launch(cuda_emu::KernelSite{"big_smem", __FILE__, __LINE__, false}, dim3(1), dim3(32), 64 * 1024,
                             nullptr, [] {}, {}),
            cudaErrorInvalidConfiguration);
  EXPECT_NE(message(cudaGetLastError()).find("48 KiB"), std::string::npos);
  cudaFree(x);
}

TEST(EmuRuntime, CallsForbiddenDuringCaptureFailAndInvalidateIt) {
  cudaStream_t s = new_stream();
  float* x = device_floats({1, 2});
  std::vector<float> pageable(2);
  struct Forbidden {
    const char* call;
    std::function<cudaError_t()> run;
    cudaError_t code;
  };
  void* p = nullptr;
  const std::vector<Forbidden> calls = {
      {"cudaMalloc", [&] { return cudaMalloc(&p, 16); }, cudaErrorStreamCaptureUnsupported},
      {"cudaStreamSynchronize", [&] { return cudaStreamSynchronize(s); }, cudaErrorStreamCaptureUnsupported},
      {"cudaDeviceSynchronize", [&] { return cudaDeviceSynchronize(); }, cudaErrorStreamCaptureUnsupported},
      {"cudaStreamQuery", [&] { return cudaStreamQuery(s); }, cudaErrorStreamCaptureUnsupported},
      {"cudaMemcpyAsync",
       [&] { return cudaMemcpyAsync(pageable.data(), x, 8, cudaMemcpyDeviceToHost, s); },
       cudaErrorStreamCaptureUnsupported},
      {"cudaMemcpy", [&] { return cudaMemcpy(pageable.data(), x, 8, cudaMemcpyDeviceToHost); },
       cudaErrorStreamCaptureUnsupported},
  };
  for (const Forbidden& f : calls) {
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ASSERT_EQ(add_one(x, x, 2, s), cudaSuccess);  // recorded, not run
    const cudaError_t e = f.run();
    EXPECT_EQ(e, f.code) << f.call;
    EXPECT_NE(message(e).find(f.call), std::string::npos) << message(e);
    cudaGraph_t g = nullptr;
    EXPECT_EQ(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated) << f.call;
    EXPECT_EQ(g, nullptr);
  }
  // An event recorded in a capture cannot be waited for by the host.
  cudaEvent_t ev = nullptr;
  ASSERT_EQ(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(ev, s), cudaSuccess);
  EXPECT_EQ(cudaEventSynchronize(ev), cudaErrorCapturedEvent);
  cudaGraph_t g = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(s, &g), cudaSuccess);
  cudaGraphDestroy(g);
  // Thread-local mode forbids cudaMalloc on the capturing thread only.
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  cudaError_t other = cudaErrorUnknown;
  std::thread([&] {
    void* q = nullptr;
    other = cudaMalloc(&q, 16);
    cudaFreeAsync(q, nullptr);
  }).join();
  EXPECT_EQ(other, cudaSuccess);
  EXPECT_EQ(cudaMalloc(&p, 16), cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(host_floats(x, 2), (std::vector<float>{1, 2}));  // nothing captured ever ran
  cudaEventDestroy(ev);
  cudaFree(x);
  cudaStreamDestroy(s);
}

TEST(EmuRuntime, GraphsReplayTheCapturedWorkAndCountOneLaunch) {
  cudaStream_t s = new_stream();
  float* x = device_floats({0, 10});
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(add_one(x, x, 2, s), cudaSuccess);
  ASSERT_EQ(add_one(x, x, 2, s), cudaSuccess);
  cudaGraph_t g = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(s, &g), cudaSuccess);
  size_t nodes = 0;
  ASSERT_EQ(cudaGraphGetNodes(g, nullptr, &nodes), cudaSuccess);
  EXPECT_EQ(nodes, 2u);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
  const cuda_emu::Counters before = cuda_emu::counters();
  ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
  const cuda_emu::Counters d = cuda_emu::counters() - before;
  EXPECT_EQ(d.graph_launches, 2u);
  EXPECT_EQ(d.launches, 0u);  // the replayed kernels are the graph's, not host launches
  EXPECT_EQ(d.syncs, 0u);
  EXPECT_EQ(d.allocs, 0u);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);  // the legacy stream's copy must be ordered after s
  EXPECT_EQ(host_floats(x, 2), (std::vector<float>{4, 14}));
  // An update with another topology is refused; with the same one it is taken.
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(add_one(x, x, 2, s), cudaSuccess);
  cudaGraph_t one = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(s, &one), cudaSuccess);
  cudaGraphExecUpdateResultInfo info{};
  EXPECT_EQ(cudaGraphExecUpdate(exec, one, &info), cudaErrorGraphExecUpdateFailure);
  EXPECT_EQ(info.result, cudaGraphExecUpdateErrorTopologyChanged);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(one);
  cudaGraphDestroy(g);
  cudaFree(x);
  cudaStreamDestroy(s);
}

TEST(EmuRuntime, ForkedCaptureStreamsMustBeJoined) {
  cudaStream_t s = new_stream(), side = new_stream();
  float* x = device_floats({0, 0});
  float* y = device_floats({0, 0});
  cudaEvent_t fork = nullptr, join = nullptr;
  cudaEventCreateWithFlags(&fork, cudaEventDisableTiming);
  cudaEventCreateWithFlags(&join, cudaEventDisableTiming);
  for (bool joined : {false, true}) {
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
    ASSERT_EQ(cudaEventRecord(fork, s), cudaSuccess);
    ASSERT_EQ(cudaStreamWaitEvent(side, fork, 0), cudaSuccess);
    ASSERT_EQ(add_one(x, y, 2, side), cudaSuccess);
    if (joined) {
      ASSERT_EQ(cudaEventRecord(join, side), cudaSuccess);
      ASSERT_EQ(cudaStreamWaitEvent(s, join, 0), cudaSuccess);
    }
    cudaGraph_t g = nullptr;
    const cudaError_t e = cudaStreamEndCapture(s, &g);
    EXPECT_EQ(e, joined ? cudaSuccess : cudaErrorStreamCaptureUnjoined);
    if (!joined) EXPECT_NE(message(e).find("not joined"), std::string::npos);
    if (g) cudaGraphDestroy(g);
  }
  cudaEventDestroy(fork);
  cudaEventDestroy(join);
  cudaFree(x);
  cudaFree(y);
  cudaStreamDestroy(s);
  cudaStreamDestroy(side);
}

TEST(EmuRuntime, StreamsAndBuffersOfAnotherDeviceNeedTheRightSetup) {
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  cudaStream_t s1 = new_stream();
  float* on1 = device_floats({1, 2});
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  float* on0 = device_floats({5, 6});
  // A kernel on a stream of device 1 while device 0 is current.
  EXPECT_EQ(add_one(on1, on1, 2, s1), cudaErrorInvalidResourceHandle);
  EXPECT_NE(message(cudaGetLastError()).find("current device is cuda:0"), std::string::npos);
  // A kernel on device 0 reading device 1's buffer without peer access.
  EXPECT_EQ(add_one(on1, on0, 2, nullptr), cudaErrorIllegalAddress);
  EXPECT_NE(message(cudaGetLastError()).find("without peer access"), std::string::npos);
  ASSERT_EQ(cudaDeviceEnablePeerAccess(1, 0), cudaSuccess);
  // With peer access the read is legal, but device 1's stream wrote the buffer: the default
  // stream of device 0 must be ordered after it.
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  ASSERT_EQ(add_one(on1, on1, 2, s1), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  EXPECT_EQ(add_one(on1, on0, 2, nullptr), cudaErrorIllegalState);
  EXPECT_NE(message(cudaGetLastError()).find("race"), std::string::npos);
  cudaEvent_t done = nullptr;
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  ASSERT_EQ(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(done, s1), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  ASSERT_EQ(cudaStreamWaitEvent(nullptr, done, 0), cudaSuccess);
  EXPECT_EQ(add_one(on1, on0, 2, nullptr), cudaSuccess);
  EXPECT_EQ(host_floats(on0, 2), (std::vector<float>{3, 4}));
  // A peer copy queued on device 0 without waiting for device 1's stream is a race too.
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  ASSERT_EQ(add_one(on1, on1, 2, s1), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  EXPECT_EQ(cudaMemcpyPeerAsync(on0, 0, on1, 1, 8, nullptr), cudaErrorIllegalState);
  cudaEventDestroy(done);
  cudaFree(on0);
  cudaFree(on1);
  cudaStreamDestroy(s1);
}

TEST(EmuRuntime, CrossStreamHazardsAreReportedAndEventsOrderThem) {
  cudaStream_t a = new_stream(), b = new_stream();
  float* x = device_floats({1, 2});
  float* y = device_floats({0, 0});
  ASSERT_EQ(add_one(x, y, 2, a), cudaSuccess);  // a writes y
  EXPECT_EQ(add_one(y, x, 2, b), cudaErrorIllegalState);  // b reads y unordered
  const std::string m = message(cudaGetLastError());
  EXPECT_NE(m.find("add_one"), std::string::npos) << m;
  EXPECT_NE(m.find("with no event wait or synchronisation"), std::string::npos) << m;
  cudaEvent_t e = nullptr;
  cudaEventCreateWithFlags(&e, cudaEventDisableTiming);
  ASSERT_EQ(cudaEventRecord(e, a), cudaSuccess);
  ASSERT_EQ(cudaStreamWaitEvent(b, e, 0), cudaSuccess);
  EXPECT_EQ(add_one(y, x, 2, b), cudaSuccess);
  // b now wrote x; a host synchronisation with b orders a after it as well.
  ASSERT_EQ(cudaStreamSynchronize(b), cudaSuccess);
  EXPECT_EQ(add_one(x, y, 2, a), cudaSuccess);
  // b reads what a wrote, unordered again.
  ASSERT_EQ(add_one(y, x, 2, b), cudaErrorIllegalState);
  cudaEventDestroy(e);
  cudaDeviceSynchronize();
  cudaFree(x);
  cudaFree(y);
  cudaStreamDestroy(a);
  cudaStreamDestroy(b);
}

TEST(EmuRuntime, FreedAndOverrunBuffersAreReported) {
  float* x = device_floats({1, 2});
  float* y = device_floats({1, 2});
  ASSERT_EQ(cudaFree(y), cudaSuccess);
  EXPECT_EQ(add_one(x, y, 2, nullptr), cudaErrorIllegalAddress);
  EXPECT_NE(message(cudaGetLastError()).find("not allocated"), std::string::npos);
  EXPECT_EQ(cudaFree(y), cudaErrorInvalidValue);  // twice
  std::vector<float> big(3);
  EXPECT_EQ(cudaMemcpy(x, big.data(), 3 * sizeof(float), cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_NE(message(cudaErrorInvalidValue).find("past its end"), std::string::npos);
  float host = 0;
  EXPECT_EQ(add_one(&host, x, 1, nullptr), cudaErrorIllegalAddress);
  EXPECT_NE(message(cudaGetLastError()).find("host address"), std::string::npos);
  cudaFree(x);
}

TEST(EmuRuntime, CountsLaunchesSyncsAllocationsAndCopies) {
  cudaStream_t s = new_stream();
  const cuda_emu::Counters before = cuda_emu::counters();
  float* x = device_floats({1, 2, 3});
  ASSERT_EQ(add_one(x, x, 3, s), cudaSuccess);
  ASSERT_EQ(add_one(x, x, 3, s), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  host_floats(x, 3);
  cudaFree(x);
  const cuda_emu::Counters d = cuda_emu::counters() - before;
  EXPECT_EQ(d.launches, 2u);
  EXPECT_EQ(d.by_name.at("add_one"), 2u);
  EXPECT_EQ(d.allocs, 1u);
  EXPECT_EQ(d.frees, 1u);
  EXPECT_EQ(d.h2d_bytes, 12u);
  EXPECT_EQ(d.d2h_bytes, 12u);
  // cudaStreamSynchronize, two synchronous cudaMemcpy and cudaFree.
  EXPECT_EQ(d.syncs, 4u);
  uint64_t raw[8] = {};
  EXPECT_EQ(cuda_emu_read_counters(raw, 8), 8);
  EXPECT_EQ(raw[0], cuda_emu::counters().launches);
  cudaStreamDestroy(s);
}

TEST(EmuRuntime, ThePoolReportsWhatItHoldsAndWhatItHandsOut) {
  cudaMemPool_t pool = nullptr;
  ASSERT_EQ(cudaDeviceGetDefaultMemPool(&pool, 0), cudaSuccess);
  uint64_t reserved0 = 0, used0 = 0, reserved1 = 0, used1 = 0;
  cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved0);
  cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used0);
  void* p = nullptr;
  ASSERT_EQ(cudaMallocAsync(&p, 1000, nullptr), cudaSuccess);
  ASSERT_EQ(cudaFreeAsync(p, nullptr), cudaSuccess);
  cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved1);
  cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used1);
  EXPECT_EQ(used1, used0);               // handed back
  EXPECT_GE(reserved1, reserved0 + 1000);  // but the pool keeps it
  void* q = nullptr;
  ASSERT_EQ(cudaMallocAsync(&q, 1000, nullptr), cudaSuccess);
  EXPECT_EQ(q, p);  // reused
  cudaFreeAsync(q, nullptr);
}

}  // namespace
