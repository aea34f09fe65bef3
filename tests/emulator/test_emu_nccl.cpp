// Tests of the emulated NCCL (emulator/src/nccl.cpp) on four emulated devices: collectives with
// one host thread per rank (all-reduce sum/avg/max on 2 and 4 ranks, in place, broadcast from a
// root that is not 0), one thread driving every rank through ncclCommInitAll or grouped
// ncclCommInitRank and group calls, an all-reduce captured on each rank's stream and replayed,
// and the errors a GPU build would hang or corrupt data on: mismatched calls across ranks, a
// rank that never arrives (the timeout names it), a peer that aborts, bad arguments, and a
// captured group spanning devices. Buffers move through each rank's own non-blocking stream so
// that every access is stream ordered for the emulator's hazard checks.
#include <gtest/gtest.h>
#include <nccl.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kDevices = 4;

// ctest sets BNAS_EMU_DEVICES; setting it here too keeps the binary right when run by hand.
class EmulatedDevices : public ::testing::Environment {
 public:
  void SetUp() override { setenv("BNAS_EMU_DEVICES", "4", 1); }
};
const ::testing::Environment* const kEnvironment = ::testing::AddGlobalTestEnvironment(new EmulatedDevices);

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

cudaStream_t new_stream() {
  cudaStream_t s = nullptr;
  EXPECT_EQ(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), cudaSuccess);
  return s;
}

template <class T> T* device_buffer(size_t n) {
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, n * sizeof(T)), cudaSuccess);
  return static_cast<T*>(p);
}

template <class T> T* to_device(const std::vector<T>& v, cudaStream_t s) {
  T* p = device_buffer<T>(v.size());
  EXPECT_EQ(cudaMemcpyAsync(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice, s), cudaSuccess);
  return p;
}

template <class T> std::vector<T> to_host(const T* p, size_t n, cudaStream_t s) {
  std::vector<T> v(n);
  EXPECT_EQ(cudaMemcpyAsync(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost, s), cudaSuccess);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  return v;
}

// Runs body(rank) on one host thread per rank, each with its rank's device current.
void on_ranks(int nranks, const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  for (int r = 0; r < nranks; ++r)
    threads.emplace_back([&body, r] {
      ASSERT_EQ(cudaSetDevice(r), cudaSuccess);
      body(r);
    });
  for (std::thread& t : threads) t.join();
}

ncclComm_t init_rank(int nranks, const ncclUniqueId& id, int rank) {
  ncclComm_t comm = nullptr;
  EXPECT_EQ(ncclCommInitRank(&comm, nranks, id, rank), ncclSuccess);
  return comm;
}

// Rank r contributes (r + 1) * base(i), so sums, means and maxima are exact small floats.
float base(size_t i) { return static_cast<float>(i % 17 + 1); }

std::vector<float> contribution(int rank, size_t count) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = static_cast<float>(rank + 1) * base(i);
  return v;
}

ncclResult_t async_error(ncclComm_t comm) {
  ncclResult_t e = ncclInternalError;
  EXPECT_EQ(ncclCommGetAsyncError(comm, &e), ncclSuccess);
  return e;
}

class RankThreads : public ::testing::TestWithParam<int> {};

TEST_P(RankThreads, AllReduceSumAvgMaxAndInPlace) {
  const int n = GetParam();
  const size_t count = 1000;
  ncclUniqueId id;
  ASSERT_EQ(ncclGetUniqueId(&id), ncclSuccess);
  on_ranks(n, [&](int r) {
    ncclComm_t comm = init_rank(n, id, r);
    ASSERT_NE(comm, nullptr);
    int value = -1;
    EXPECT_EQ(ncclCommCount(comm, &value), ncclSuccess);
    EXPECT_EQ(value, n);
    EXPECT_EQ(ncclCommCuDevice(comm, &value), ncclSuccess);
    EXPECT_EQ(value, r);
    EXPECT_EQ(ncclCommUserRank(comm, &value), ncclSuccess);
    EXPECT_EQ(value, r);

    cudaStream_t s = new_stream();
    float* send = to_device(contribution(r, count), s);
    float* recv = device_buffer<float>(count);
    const float triangle = static_cast<float>(n * (n + 1) / 2);
    const struct {
      ncclRedOp_t op;
      float factor;  // result / base(i)
    } cases[] = {{ncclSum, triangle}, {ncclAvg, triangle / static_cast<float>(n)}, {ncclMax, static_cast<float>(n)}};
    for (const auto& c : cases) {
      ASSERT_EQ(ncclAllReduce(send, recv, count, ncclFloat32, c.op, comm, s), ncclSuccess);
      const std::vector<float> out = to_host(recv, count, s);
      for (size_t i = 0; i < count; ++i) ASSERT_EQ(out[i], c.factor * base(i)) << "op " << c.op << " at " << i;
    }
    ASSERT_EQ(ncclAllReduce(send, send, count, ncclFloat32, ncclSum, comm, s), ncclSuccess);
    const std::vector<float> out = to_host(send, count, s);
    for (size_t i = 0; i < count; ++i) ASSERT_EQ(out[i], triangle * base(i)) << "in place at " << i;

    int64_t* wide = to_device(std::vector<int64_t>(3, (int64_t{1} << 40) * (r + 1)), s);
    ASSERT_EQ(ncclAllReduce(wide, wide, 3, ncclInt64, ncclSum, comm, s), ncclSuccess);
    for (int64_t v : to_host(wide, 3, s)) EXPECT_EQ(v, (int64_t{1} << 40) * n * (n + 1) / 2);

    EXPECT_EQ(async_error(comm), ncclSuccess);
    EXPECT_EQ(cudaFree(send), cudaSuccess);
    EXPECT_EQ(cudaFree(recv), cudaSuccess);
    EXPECT_EQ(cudaFree(wide), cudaSuccess);
    EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
    EXPECT_EQ(ncclCommDestroy(comm), ncclSuccess);
  });
}

INSTANTIATE_TEST_SUITE_P(Ranks, RankThreads, ::testing::Values(2, 4));

TEST(EmuNccl, BroadcastFromRootOne) {
  const size_t count = 257;
  ncclUniqueId id;
  ASSERT_EQ(ncclGetUniqueId(&id), ncclSuccess);
  on_ranks(kDevices, [&](int r) {
    ncclComm_t comm = init_rank(kDevices, id, r);
    ASSERT_NE(comm, nullptr);
    cudaStream_t s = new_stream();
    float* send = to_device(contribution(r, count), s);
    float* recv = device_buffer<float>(count);
    ASSERT_EQ(ncclBroadcast(send, recv, count, ncclFloat32, 1, comm, s), ncclSuccess);
    EXPECT_EQ(to_host(recv, count, s), contribution(1, count));

    int32_t* buff = to_device(std::vector<int32_t>(5, 10 * r), s);  // in place: ncclBcast
    ASSERT_EQ(ncclBcast(buff, 5, ncclInt32, 1, comm, s), ncclSuccess);
    EXPECT_EQ(to_host(buff, 5, s), std::vector<int32_t>(5, 10));

    EXPECT_EQ(cudaFree(send), cudaSuccess);
    EXPECT_EQ(cudaFree(recv), cudaSuccess);
    EXPECT_EQ(cudaFree(buff), cudaSuccess);
    EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
    EXPECT_EQ(ncclCommDestroy(comm), ncclSuccess);
  });
}

// One host thread, one communicator per device: the per-device state of the tests below.
struct Devices {
  std::vector<ncclComm_t> comms;
  std::vector<cudaStream_t> streams;

  explicit Devices(std::vector<ncclComm_t> c) : comms(std::move(c)) {
    for (size_t d = 0; d < comms.size(); ++d) {
      EXPECT_EQ(cudaSetDevice(static_cast<int>(d)), cudaSuccess);
      streams.push_back(new_stream());
    }
  }
  ~Devices() {
    for (size_t d = 0; d < comms.size(); ++d) {
      EXPECT_EQ(cudaSetDevice(static_cast<int>(d)), cudaSuccess);
      EXPECT_EQ(cudaStreamDestroy(streams[d]), cudaSuccess);
      if (comms[d]) {
        EXPECT_EQ(ncclCommDestroy(comms[d]), ncclSuccess);
      }
    }
    EXPECT_EQ(cudaSetDevice(0), cudaSuccess);
  }
  int size() const { return static_cast<int>(comms.size()); }
};

std::vector<ncclComm_t> init_all(int ndev) {
  std::vector<ncclComm_t> comms(ndev, nullptr);
  EXPECT_EQ(ncclCommInitAll(comms.data(), ndev, nullptr), ncclSuccess);
  return comms;
}

TEST(EmuNccl, OneThreadDrivesEveryRankThroughGroups) {
  Devices dev(init_all(kDevices));
  const int n = dev.size();
  const size_t count = 64;
  std::vector<float*> send(n), recv(n), gathered(n), scattered(n), reduced(n);
  for (int d = 0; d < n; ++d) {
    ASSERT_EQ(cudaSetDevice(d), cudaSuccess);
    send[d] = to_device(contribution(d, count * n), dev.streams[d]);
    recv[d] = device_buffer<float>(count);
    gathered[d] = device_buffer<float>(count * n);
    scattered[d] = device_buffer<float>(count);
    reduced[d] = device_buffer<float>(count);
  }
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);

  ASSERT_EQ(ncclGroupStart(), ncclSuccess);
  for (int d = 0; d < n; ++d)
    ASSERT_EQ(ncclAllReduce(send[d], recv[d], count, ncclFloat32, ncclSum, dev.comms[d], dev.streams[d]), ncclSuccess);
  ASSERT_EQ(ncclGroupEnd(), ncclSuccess);

  // Nested groups, several collectives per rank: they pair up by their order on each rank.
  ASSERT_EQ(ncclGroupStart(), ncclSuccess);
  for (int d = 0; d < n; ++d) {
    ASSERT_EQ(ncclGroupStart(), ncclSuccess);
    ASSERT_EQ(ncclAllGather(send[d], gathered[d], count, ncclFloat32, dev.comms[d], dev.streams[d]), ncclSuccess);
    ASSERT_EQ(ncclReduceScatter(send[d], scattered[d], count, ncclFloat32, ncclMin, dev.comms[d], dev.streams[d]),
              ncclSuccess);
    ASSERT_EQ(ncclReduce(send[d], reduced[d], count, ncclFloat32, ncclProd, 2, dev.comms[d], dev.streams[d]),
              ncclSuccess);
    ASSERT_EQ(ncclGroupEnd(), ncclSuccess);
  }
  ASSERT_EQ(ncclGroupEnd(), ncclSuccess);

  const float triangle = static_cast<float>(n * (n + 1) / 2);
  for (int d = 0; d < n; ++d) {
    ASSERT_EQ(cudaSetDevice(d), cudaSuccess);
    const std::vector<float> sum = to_host(recv[d], count, dev.streams[d]);
    for (size_t i = 0; i < count; ++i) ASSERT_EQ(sum[i], triangle * base(i)) << "device " << d;
    const std::vector<float> all = to_host(gathered[d], count * n, dev.streams[d]);
    for (int q = 0; q < n; ++q) {
      const std::vector<float> part = contribution(q, count * n);
      for (size_t i = 0; i < count; ++i) ASSERT_EQ(all[q * count + i], part[i]) << "device " << d;
    }
    const std::vector<float> mine = to_host(scattered[d], count, dev.streams[d]);
    for (size_t i = 0; i < count; ++i) ASSERT_EQ(mine[i], base(d * count + i)) << "min is rank 0's";
    if (d == 2) {
      const std::vector<float> prod = to_host(reduced[d], count, dev.streams[d]);
      for (size_t i = 0; i < count; ++i) ASSERT_EQ(prod[i], 24.f * base(i) * base(i) * base(i) * base(i));
    }
    for (float* p : {send[d], recv[d], gathered[d], scattered[d], reduced[d]}) EXPECT_EQ(cudaFree(p), cudaSuccess);
  }
  for (ncclComm_t c : dev.comms) EXPECT_EQ(async_error(c), ncclSuccess);
}

TEST(EmuNccl, GroupedInitRankFromOneThread) {
  ncclUniqueId id;
  ASSERT_EQ(ncclGetUniqueId(&id), ncclSuccess);
  std::vector<ncclComm_t> comms(2, nullptr);
  ASSERT_EQ(ncclGroupStart(), ncclSuccess);
  for (int d = 0; d < 2; ++d) {
    ASSERT_EQ(cudaSetDevice(d), cudaSuccess);
    ASSERT_EQ(ncclCommInitRank(&comms[d], 2, id, d), ncclSuccess);
  }
  ASSERT_EQ(ncclGroupEnd(), ncclSuccess);
  Devices dev(comms);
  std::vector<double*> buf(2);
  for (int d = 0; d < 2; ++d) {
    ASSERT_EQ(cudaSetDevice(d), cudaSuccess);
    buf[d] = to_device(std::vector<double>(4, d + 0.5), dev.streams[d]);
  }
  ASSERT_EQ(ncclGroupStart(), ncclSuccess);
  for (int d = 0; d < 2; ++d)
    ASSERT_EQ(ncclAllReduce(buf[d], buf[d], 4, ncclFloat64, ncclMax, dev.comms[d], dev.streams[d]), ncclSuccess);
  ASSERT_EQ(ncclGroupEnd(), ncclSuccess);
  for (int d = 0; d < 2; ++d) {
    ASSERT_EQ(cudaSetDevice(d), cudaSuccess);
    EXPECT_EQ(to_host(buf[d], 4, dev.streams[d]), std::vector<double>(4, 1.5));
    EXPECT_EQ(cudaFree(buf[d]), cudaSuccess);
  }
}

TEST(EmuNccl, CapturedAllReduceMeetsItsPeersAtEveryLaunch) {
  const size_t count = 100;
  ncclUniqueId id;
  ASSERT_EQ(ncclGetUniqueId(&id), ncclSuccess);
  on_ranks(2, [&](int r) {
    ncclComm_t comm = init_rank(2, id, r);
    ASSERT_NE(comm, nullptr);
    cudaStream_t s = new_stream();
    float* send = device_buffer<float>(count);
    float* recv = device_buffer<float>(count);
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    ASSERT_EQ(ncclAllReduce(send, recv, count, ncclFloat32, ncclSum, comm, s), ncclSuccess);
    cudaGraph_t graph = nullptr;
    ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
    cudaGraphExec_t exec = nullptr;
    ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    for (int launch = 1; launch <= 2; ++launch) {
      const std::vector<float> in(count, static_cast<float>(launch * (r + 1)));
      ASSERT_EQ(cudaMemcpyAsync(send, in.data(), count * sizeof(float), cudaMemcpyHostToDevice, s), cudaSuccess);
      ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
      EXPECT_EQ(to_host(recv, count, s), std::vector<float>(count, 3.f * launch)) << "launch " << launch;
    }
    EXPECT_EQ(async_error(comm), ncclSuccess);
    EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
    EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
    EXPECT_EQ(cudaFree(send), cudaSuccess);
    EXPECT_EQ(cudaFree(recv), cudaSuccess);
    EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
    EXPECT_EQ(ncclCommDestroy(comm), ncclSuccess);
  });
}

TEST(EmuNccl, MismatchedCountsAreInvalidUsageOnEveryRank) {
  ncclUniqueId id;
  ASSERT_EQ(ncclGetUniqueId(&id), ncclSuccess);
  on_ranks(2, [&](int r) {
    ncclComm_t comm = init_rank(2, id, r);
    ASSERT_NE(comm, nullptr);
    cudaStream_t s = new_stream();
    float* buf = to_device(contribution(r, 8), s);
    EXPECT_EQ(ncclAllReduce(buf, buf, r == 0 ? 8 : 4, ncclFloat32, ncclSum, comm, s), ncclInvalidUsage);
    const std::string why = ncclGetLastError(comm);
    EXPECT_NE(why.find("count"), std::string::npos) << why;
    EXPECT_NE(why.find("ncclAllReduce(count 8"), std::string::npos) << why;
    EXPECT_NE(why.find("ncclAllReduce(count 4"), std::string::npos) << why;
    EXPECT_EQ(async_error(comm), ncclInvalidUsage);
    EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT_EQ(cudaFree(buf), cudaSuccess);
    EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
    EXPECT_EQ(ncclCommDestroy(comm), ncclSuccess);
  });
}

TEST(EmuNccl, BadArgumentsAreRejectedBeforeTheRendezvous) {
  Devices dev(init_all(2));
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  float* on0 = device_buffer<float>(16);
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  float* on1 = device_buffer<float>(16);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  std::vector<float> host(16, 1.f);
  auto last = [&] { return std::string(ncclGetLastError(dev.comms[0])); };

  EXPECT_EQ(ncclAllReduce(host.data(), on0, 16, ncclFloat32, ncclSum, dev.comms[0], dev.streams[0]),
            ncclInvalidArgument);
  EXPECT_NE(last().find("sendbuff"), std::string::npos) << last();
  EXPECT_NE(last().find("host memory"), std::string::npos) << last();
  EXPECT_EQ(ncclAllReduce(on0, on1, 16, ncclFloat32, ncclSum, dev.comms[0], dev.streams[0]), ncclInvalidArgument);
  EXPECT_NE(last().find("cuda:1"), std::string::npos) << last();
  EXPECT_EQ(ncclAllReduce(on0, on0, 17, ncclFloat32, ncclSum, dev.comms[0], dev.streams[0]), ncclInvalidArgument);
  EXPECT_EQ(ncclAllReduce(on0, on0, 16, ncclFloat32, ncclSum, dev.comms[0], dev.streams[1]), ncclInvalidArgument);
  EXPECT_NE(last().find("stream"), std::string::npos) << last();
  EXPECT_EQ(ncclAllReduce(on0, on0, 16, ncclFloat16, ncclSum, dev.comms[0], dev.streams[0]), ncclInvalidArgument);
  EXPECT_EQ(ncclAllReduce(on0, on0, 16, ncclBfloat16, ncclSum, dev.comms[0], dev.streams[0]), ncclInvalidArgument);
  EXPECT_EQ(ncclBroadcast(on0, on0, 16, ncclFloat32, 2, dev.comms[0], dev.streams[0]), ncclInvalidArgument);
  EXPECT_NE(last().find("root 2"), std::string::npos) << last();
  EXPECT_EQ(ncclAllReduce(on0, on0, 16, ncclFloat32, ncclSum, nullptr, dev.streams[0]), ncclInvalidArgument);
  EXPECT_EQ(ncclGroupEnd(), ncclInvalidUsage);  // no group open

  // A failed call inside a group fails its ncclGroupEnd, which launches nothing.
  ASSERT_EQ(ncclGroupStart(), ncclSuccess);
  EXPECT_EQ(ncclAllReduce(host.data(), on0, 16, ncclFloat32, ncclSum, dev.comms[0], dev.streams[0]),
            ncclInvalidArgument);
  EXPECT_EQ(ncclGroupEnd(), ncclInvalidArgument);

  int devices[] = {0, 0};
  ncclComm_t twice[2] = {nullptr, nullptr};
  EXPECT_EQ(ncclCommInitAll(twice, 2, devices), ncclInvalidUsage);
  for (ncclComm_t c : dev.comms) EXPECT_EQ(async_error(c), ncclSuccess) << "argument errors are not async errors";
  EXPECT_EQ(cudaFree(on0), cudaSuccess);
  EXPECT_EQ(cudaFree(on1), cudaSuccess);
}

TEST(EmuNccl, TimeoutNamesTheRankThatNeverJoined) {
  ScopedEnv timeout("BNAS_EMU_NCCL_TIMEOUT", "1");
  Devices dev(init_all(2));
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  float* buf = device_buffer<float>(8);
  ::testing::internal::CaptureStderr();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ncclAllReduce(buf, buf, 8, ncclFloat32, ncclSum, dev.comms[0], dev.streams[0]), ncclSystemError);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_GE(waited, 0.9);
  EXPECT_LT(waited, 30.0);
  const std::string expected =
      "ncclAllReduce on a communicator of 2 ranks: rank 1 never joined within 1 s; one host thread driving several "
      "ranks must wrap their calls in ncclGroupStart/ncclGroupEnd";
  EXPECT_NE(err.find(expected), std::string::npos) << err;
  EXPECT_EQ(std::string(ncclGetLastError(dev.comms[0])), expected);
  EXPECT_EQ(async_error(dev.comms[0]), ncclSystemError);
  // The communicator stays failed: later calls return its error at once.
  EXPECT_EQ(ncclAllReduce(buf, buf, 8, ncclFloat32, ncclSum, dev.comms[0], dev.streams[0]), ncclSystemError);
  EXPECT_EQ(cudaStreamSynchronize(dev.streams[0]), cudaSuccess);
  EXPECT_EQ(cudaFree(buf), cudaSuccess);
}

TEST(EmuNccl, AbortWakesThePeerWithARemoteError) {
  std::vector<ncclComm_t> comms = init_all(2);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  cudaStream_t s = new_stream();
  float* buf = device_buffer<float>(8);
  ncclResult_t result = ncclSuccess;
  std::string why;
  std::thread rank0([&] {
    result = ncclAllReduce(buf, buf, 8, ncclFloat32, ncclSum, comms[0], s);
    why = ncclGetLastError(comms[0]);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ncclCommAbort(comms[1]), ncclSuccess);
  rank0.join();
  EXPECT_EQ(result, ncclRemoteError);
  EXPECT_NE(why.find("rank 1's communicator was aborted"), std::string::npos) << why;
  EXPECT_EQ(async_error(comms[0]), ncclRemoteError);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  EXPECT_EQ(cudaFree(buf), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(s), cudaSuccess);
  EXPECT_EQ(ncclCommDestroy(comms[0]), ncclSuccess);
}

TEST(EmuNccl, CapturedGroupSpanningDevicesIsRefused) {
  Devices dev(init_all(2));
  std::vector<float*> buf(2);
  for (int d = 0; d < 2; ++d) {
    ASSERT_EQ(cudaSetDevice(d), cudaSuccess);
    buf[d] = device_buffer<float>(8);
  }
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(dev.streams[0], cudaStreamCaptureModeThreadLocal), cudaSuccess);
  ASSERT_EQ(ncclGroupStart(), ncclSuccess);
  for (int d = 0; d < 2; ++d)
    ASSERT_EQ(ncclAllReduce(buf[d], buf[d], 8, ncclFloat32, ncclSum, dev.comms[d], dev.streams[d]), ncclSuccess);
  EXPECT_EQ(ncclGroupEnd(), ncclInvalidUsage);
  EXPECT_NE(std::string(ncclGetLastError(nullptr)).find("capture"), std::string::npos);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(dev.streams[0], &graph), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  for (int d = 0; d < 2; ++d) {
    ASSERT_EQ(cudaSetDevice(d), cudaSuccess);
    EXPECT_EQ(cudaFree(buf[d]), cudaSuccess);
  }
}

TEST(EmuNccl, VersionAndErrorStrings) {
  int version = 0;
  ASSERT_EQ(ncclGetVersion(&version), ncclSuccess);
  EXPECT_EQ(version, NCCL_VERSION_CODE);
  EXPECT_EQ(version, NCCL_VERSION(NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH));
  EXPECT_EQ(version / 10000, 2);
  EXPECT_STREQ(ncclGetErrorString(ncclSuccess), "no error");
  EXPECT_NE(std::string(ncclGetErrorString(ncclInvalidUsage)), std::string(ncclGetErrorString(ncclSuccess)));
  ncclUniqueId bogus{};
  ncclComm_t comm = nullptr;
  EXPECT_EQ(ncclCommInitRank(&comm, 1, bogus, 0), ncclInvalidArgument);
  EXPECT_EQ(comm, nullptr);
}

}  // namespace
