// The emulated cuDNN (emulator/src/cudnn*.{h,cpp}) on device memory:
//  * the three convolutions equal kernels/cpu conv bit for bit (the stand-in computes with that
//    code) for a grouped, a depthwise, a strided + dilated and a channel-slice (batch-stride)
//    convolution, with every algorithm the heuristics call supported;
//  * alpha / beta blending (beta == 0 never reads the poisoned output), stream capture into a
//    graph (alpha read at the call, not at replay), counting under the call's name;
//  * the v7 heuristics' fixed ranking, determinism, math type and workspace sizes;
//  * planted mistakes, each caught with cuDNN's status and a sentence naming the call.
#include <cudnn.h>
#include <cuda_emu/counters.h>
#include <gtest/gtest.h>

#include "tests/cuda_emu/device_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv_shape.h"
#include "kernels/cpu/conv.h"

namespace {

using bnas::kernels::ConvShape;
namespace cpu = bnas::kernels::cpu;

#define ASSERT_CUDA(call) ASSERT_EQ((call), cudaSuccess)
#define ASSERT_CUDNN(call) ASSERT_EQ((call), CUDNN_STATUS_SUCCESS)

std::vector<float> randn(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// A device buffer of floats (poisoned with NaN by cudaMalloc until written).
using bnas::testing::DeviceFloats;

// A workspace of `bytes` (at least one, so that its pointer is never null).
struct DeviceBytes : bnas::testing::DeviceBuffer<unsigned char> {
  explicit DeviceBytes(size_t bytes) : DeviceBuffer(std::vector<unsigned char>(std::max<size_t>(bytes, 1), 0xff)) {}
};

ConvShape shape(int64_t n, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t k, int64_t stride, int64_t pad,
                int64_t dilation, int64_t groups, int64_t x_channels = 0) {
  ConvShape s;
  s.n = n, s.cin = cin, s.h = h, s.w = w, s.cout = cout, s.kh = k, s.kw = k;
  s.stride = stride, s.pad = pad, s.dilation = dilation, s.groups = groups;
  s.ho = bnas::kernels::conv_out_size(h, k, stride, pad, dilation);
  s.wo = bnas::kernels::conv_out_size(w, k, stride, pad, dilation);
  s.x_batch_stride = (x_channels ? x_channels : cin) * h * w;
  return s;
}

// The descriptors of one convolution, set up as kernels/cuda/conv_cudnn.cpp does.
struct Descriptors {
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t x = nullptr, dx = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  explicit Descriptors(const ConvShape& s, bool fma = true) {
    EXPECT_EQ(cudnnCreate(&handle), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateTensorDescriptor(&x), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateTensorDescriptor(&dx), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateTensorDescriptor(&y), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateFilterDescriptor(&w), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateConvolutionDescriptor(&conv), CUDNN_STATUS_SUCCESS);
    const int n = int(s.n), c = int(s.cin), h = int(s.h), wd = int(s.w);
    EXPECT_EQ(cudnnSetTensor4dDescriptorEx(x, CUDNN_DATA_FLOAT, n, c, h, wd, int(s.x_batch_stride), h * wd, wd, 1),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetTensor4dDescriptor(dx, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, wd), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, int(s.cout), int(s.ho), int(s.wo)),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, int(s.cout), int(s.cin_g()),
                                         int(s.kh), int(s.kw)),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetConvolution2dDescriptor(conv, int(s.pad), int(s.pad), int(s.stride), int(s.stride),
                                              int(s.dilation), int(s.dilation), CUDNN_CROSS_CORRELATION,
                                              CUDNN_DATA_FLOAT),
              CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnSetConvolutionGroupCount(conv, int(s.groups)), CUDNN_STATUS_SUCCESS);
    if (fma) {
      EXPECT_EQ(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH), CUDNN_STATUS_SUCCESS);
    }
  }
  ~Descriptors() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(dx);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroy(handle);
  }
};

// The convolution's data on host and device: x lives in a wider tensor (x_batch_stride).
struct Data {
  std::vector<float> x, w, gy;  // x: n * x_batch_stride (the slice read from channel 0)
  DeviceFloats dx_all, dw, dgy;
  explicit Data(const ConvShape& s)
      : x(randn(size_t(s.n * s.x_batch_stride), 1)), w(randn(size_t(s.cout * s.cin_g() * s.kh * s.kw), 2)),
        gy(randn(size_t(s.n * s.cout * s.ho * s.wo), 3)), dx_all(x), dw(w), dgy(gy) {}
};

struct Case {
  const char* name;
  ConvShape s;
};
std::vector<Case> cases() {
  return {{"grouped", shape(2, 6, 7, 7, 4, 3, 1, 1, 1, 2)},
          {"depthwise", shape(2, 4, 6, 5, 4, 3, 1, 1, 1, 4)},
          {"strided_dilated", shape(2, 3, 11, 9, 5, 3, 2, 2, 2, 1)},
          {"channel_slice", shape(3, 4, 6, 5, 3, 3, 1, 1, 1, 1, /*x_channels=*/7)},
          {"plain_3x3", shape(2, 3, 8, 8, 4, 3, 1, 1, 1, 1)}};
}

// Every algorithm the heuristics report as supported, in their order.
template <class Perf> std::vector<int> supported(const Perf* perf, int returned) {
  std::vector<int> out;
  for (int i = 0; i < returned; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS) out.push_back(int(perf[i].algo));
  return out;
}

TEST(EmuCudnn, ConvolutionsEqualCpuReferenceForEveryAlgorithm) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const ConvShape& s = c.s;
    Descriptors d(s);
    Data data(s);
    const float one = 1.f, zero = 0.f;

    // CPU reference (the same kernels).
    std::vector<float> y_ref(size_t(s.n * s.cout * s.ho * s.wo)), gx_ref(size_t(s.n * s.cin * s.h * s.w)),
        gw_ref(data.w.size());
    cpu::conv2d_forward<float>(s, data.x.data(), data.w.data(), y_ref.data());
    ConvShape packed = s;
    packed.x_batch_stride = s.cin * s.h * s.w;  // gx is contiguous
    cpu::conv2d_backward<float>(packed, nullptr, data.w.data(), data.gy.data(), gx_ref.data(), nullptr);
    cpu::conv2d_backward<float>(s, data.x.data(), nullptr, data.gy.data(), nullptr, gw_ref.data());

    cudnnConvolutionFwdAlgoPerf_t fp[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    ASSERT_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(d.handle, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                        &returned, fp));
    for (int algo : supported(fp, returned)) {
      SCOPED_TRACE("forward algo " + std::to_string(algo));
      size_t bytes = 0;
      ASSERT_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(d.handle, d.x, d.w, d.conv, d.y,
                                                           cudnnConvolutionFwdAlgo_t(algo), &bytes));
      DeviceBytes ws(bytes);
      DeviceFloats y(y_ref.size());
      ASSERT_CUDNN(cudnnConvolutionForward(d.handle, &one, d.x, data.dx_all.get(), d.w, data.dw.get(), d.conv,
                                           cudnnConvolutionFwdAlgo_t(algo), ws.get(), bytes, &zero, d.y, y.get()));
      ASSERT_CUDA(cudaDeviceSynchronize());
      EXPECT_EQ(y.to_host(), y_ref);
    }

    cudnnConvolutionBwdDataAlgoPerf_t dp[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    ASSERT_CUDNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(d.handle, d.w, d.y, d.conv, d.dx,
                                                             CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, dp));
    for (int algo : supported(dp, returned)) {
      SCOPED_TRACE("backward data algo " + std::to_string(algo));
      size_t bytes = 0;
      ASSERT_CUDNN(cudnnGetConvolutionBackwardDataWorkspaceSize(d.handle, d.w, d.y, d.conv, d.dx,
                                                                cudnnConvolutionBwdDataAlgo_t(algo), &bytes));
      DeviceBytes ws(bytes);
      DeviceFloats gx(gx_ref.size());
      ASSERT_CUDNN(cudnnConvolutionBackwardData(d.handle, &one, d.w, data.dw.get(), d.y, data.dgy.get(), d.conv,
                                                cudnnConvolutionBwdDataAlgo_t(algo), ws.get(), bytes, &zero, d.dx, gx.get()));
      EXPECT_EQ(gx.to_host(), gx_ref);
    }

    cudnnConvolutionBwdFilterAlgoPerf_t wp[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    ASSERT_CUDNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(d.handle, d.x, d.y, d.conv, d.w,
                                                               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, wp));
    for (int algo : supported(wp, returned)) {
      SCOPED_TRACE("backward filter algo " + std::to_string(algo));
      size_t bytes = 0;
      ASSERT_CUDNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(d.handle, d.x, d.y, d.conv, d.w,
                                                                  cudnnConvolutionBwdFilterAlgo_t(algo), &bytes));
      DeviceBytes ws(bytes);
      DeviceFloats gw(gw_ref.size());
      ASSERT_CUDNN(cudnnConvolutionBackwardFilter(d.handle, &one, d.x, data.dx_all.get(), d.y, data.dgy.get(), d.conv,
                                                  cudnnConvolutionBwdFilterAlgo_t(algo), ws.get(), bytes, &zero, d.w,
                                                  gw.get()));
      EXPECT_EQ(gw.to_host(), gw_ref);
    }
  }
}

TEST(EmuCudnn, AlphaBetaBlendAndBetaZeroDoesNotReadOutput) {
  const ConvShape s = shape(2, 3, 6, 6, 4, 3, 1, 1, 1, 1);
  Descriptors d(s);
  Data data(s);
  std::vector<float> ref(size_t(s.n * s.cout * s.ho * s.wo));
  cpu::conv2d_forward<float>(s, data.x.data(), data.w.data(), ref.data());

  // beta == 0: the NaN poison of a fresh buffer must not leak in.
  DeviceFloats y(ref.size());
  const float two = 2.f, zero = 0.f, half = 0.5f;
  ASSERT_CUDNN(cudnnConvolutionForward(d.handle, &two, d.x, data.dx_all.get(), d.w, data.dw.get(), d.conv,
                                       CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, y.get()));
  std::vector<float> got = y.to_host();
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(got[i], 2.f * ref[i]) << i;

  // y = 2 conv + 0.5 y, one rounding (fma) as a GPU epilogue.
  const std::vector<float> y0 = randn(ref.size(), 9);
  y.upload(y0);
  ASSERT_CUDNN(cudnnConvolutionForward(d.handle, &two, d.x, data.dx_all.get(), d.w, data.dw.get(), d.conv,
                                       CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &half, d.y, y.get()));
  got = y.to_host();
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(got[i], std::fma(2.f, ref[i], 0.5f * y0[i])) << i;
}

TEST(EmuCudnn, CapturedIntoGraphWithAlphaReadAtTheCall) {
  const ConvShape s = shape(1, 2, 5, 5, 3, 3, 1, 1, 1, 1);
  Descriptors d(s);
  Data data(s);
  std::vector<float> ref(size_t(s.n * s.cout * s.ho * s.wo));
  cpu::conv2d_forward<float>(s, data.x.data(), data.w.data(), ref.data());
  cudaStream_t stream;
  ASSERT_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  ASSERT_CUDNN(cudnnSetStream(d.handle, stream));
  cudaStream_t got_stream = nullptr;
  ASSERT_CUDNN(cudnnGetStream(d.handle, &got_stream));
  EXPECT_EQ(got_stream, stream);
  DeviceFloats y(ref.size());
  y.upload(std::vector<float>(ref.size(), 0.f));

  float alpha = 3.f;
  const float zero = 0.f;
  ASSERT_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  ASSERT_CUDNN(cudnnConvolutionForward(d.handle, &alpha, d.x, data.dx_all.get(), d.w, data.dw.get(), d.conv,
                                       CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, y.get()));
  cudaGraph_t graph;
  ASSERT_CUDA(cudaStreamEndCapture(stream, &graph));
  alpha = 100.f;  // the captured call keeps the value it was given
  EXPECT_EQ(y.to_host(), std::vector<float>(ref.size(), 0.f)) << "capture must not run the convolution";

  const cuda_emu::Counters before = cuda_emu::counters();
  cudaGraphExec_t exec;
  ASSERT_CUDA(cudaGraphInstantiate(&exec, graph, 0));
  ASSERT_CUDA(cudaGraphLaunch(exec, stream));
  ASSERT_CUDA(cudaStreamSynchronize(stream));
  std::vector<float> got = y.to_host();
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(got[i], 3.f * ref[i]) << i;
  EXPECT_EQ((cuda_emu::counters() - before).graph_launches, 1u);

  // Outside a graph, the call is counted as a launch under its name.
  const cuda_emu::Counters b2 = cuda_emu::counters();
  ASSERT_CUDNN(cudnnConvolutionForward(d.handle, &alpha, d.x, data.dx_all.get(), d.w, data.dw.get(), d.conv,
                                       CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, y.get()));
  const cuda_emu::Counters diff = cuda_emu::counters() - b2;
  EXPECT_EQ(diff.launches, 1u);
  EXPECT_EQ(diff.by_name.count("cudnnConvolutionForward") ? diff.by_name.at("cudnnConvolutionForward") : 0u, 1u);
  ASSERT_CUDA(cudaStreamSynchronize(stream));
  ASSERT_CUDA(cudaGraphExecDestroy(exec));
  ASSERT_CUDA(cudaGraphDestroy(graph));
  ASSERT_CUDNN(cudnnSetStream(d.handle, nullptr));
  ASSERT_CUDA(cudaStreamDestroy(stream));
}

TEST(EmuCudnn, HeuristicsRankingDeterminismMathAndWorkspace) {
  const ConvShape s = shape(2, 3, 8, 8, 4, 3, 1, 1, 1, 1);
  Descriptors d(s);
  int count = 0;
  ASSERT_CUDNN(cudnnGetConvolutionForwardAlgorithmMaxCount(d.handle, &count));
  EXPECT_EQ(count, CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
  cudnnConvolutionFwdAlgoPerf_t fp[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int returned = 0;
  ASSERT_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(d.handle, d.x, d.w, d.conv, d.y, count, &returned, fp));
  ASSERT_EQ(returned, count);
  EXPECT_EQ(fp[0].algo, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM);
  EXPECT_EQ(fp[1].algo, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);
  EXPECT_EQ(fp[1].memory, 0u);
  std::vector<int> seen(size_t(count), 0);
  bool unsupported_seen = false;
  for (int i = 0; i < returned; ++i) {
    ++seen[size_t(fp[i].algo)];
    EXPECT_EQ(fp[i].mathType, CUDNN_FMA_MATH);
    EXPECT_EQ(fp[i].determinism, CUDNN_DETERMINISTIC);
    if (fp[i].status != CUDNN_STATUS_SUCCESS) {
      unsupported_seen = true;
      EXPECT_EQ(fp[i].status, CUDNN_STATUS_NOT_SUPPORTED);
      continue;
    }
    EXPECT_FALSE(unsupported_seen) << "supported algorithms come first";
    size_t bytes = 1234;
    ASSERT_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(d.handle, d.x, d.w, d.conv, d.y, fp[i].algo, &bytes));
    EXPECT_EQ(bytes, fp[i].memory);
  }
  for (int n : seen) EXPECT_EQ(n, 1) << "each algorithm once";
  EXPECT_EQ(fp[returned - 1].algo, CUDNN_CONVOLUTION_FWD_ALGO_DIRECT);  // cuDNN implements no DIRECT

  // Fewer requested: the best ones.
  ASSERT_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(d.handle, d.x, d.w, d.conv, d.y, 2, &returned, fp));
  EXPECT_EQ(returned, 2);

  cudnnConvolutionBwdDataAlgoPerf_t dp[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  ASSERT_CUDNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(d.handle, d.w, d.y, d.conv, d.dx,
                                                           CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, dp));
  EXPECT_EQ(dp[0].algo, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1);
  EXPECT_EQ(dp[0].determinism, CUDNN_DETERMINISTIC);
  EXPECT_EQ(dp[1].algo, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0);
  EXPECT_EQ(dp[1].determinism, CUDNN_NON_DETERMINISTIC);

  cudnnConvolutionBwdFilterAlgoPerf_t wp[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  ASSERT_CUDNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(d.handle, d.x, d.y, d.conv, d.w,
                                                             CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, wp));
  EXPECT_EQ(wp[0].algo, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0);
  EXPECT_EQ(wp[0].determinism, CUDNN_NON_DETERMINISTIC);
  EXPECT_EQ(wp[1].algo, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);
  EXPECT_EQ(wp[1].determinism, CUDNN_DETERMINISTIC);
  EXPECT_GT(wp[1].memory, 0u);
  EXPECT_EQ(wp[returned - 1].algo, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD);  // not implemented by cuDNN
  EXPECT_EQ(wp[returned - 1].status, CUDNN_STATUS_NOT_SUPPORTED);

  // Without FMA math asked for, the default math type is reported.
  Descriptors plain(s, /*fma=*/false);
  ASSERT_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(plain.handle, plain.x, plain.w, plain.conv, plain.y, 1,
                                                      &returned, fp));
  EXPECT_EQ(fp[0].mathType, CUDNN_DEFAULT_MATH);
}

TEST(EmuCudnn, FftAndWinogradUnsupportedForGroupedConvolutions) {
  Descriptors d(shape(2, 6, 8, 8, 4, 3, 1, 1, 1, 2));
  cudnnConvolutionFwdAlgoPerf_t fp[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int returned = 0;
  ASSERT_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(d.handle, d.x, d.w, d.conv, d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                      &returned, fp));
  for (int i = 0; i < returned; ++i) {
    const bool fft_or_winograd = fp[i].algo >= CUDNN_CONVOLUTION_FWD_ALGO_FFT;
    if (!fft_or_winograd) continue;
    EXPECT_EQ(fp[i].status, CUDNN_STATUS_NOT_SUPPORTED) << fp[i].algo;
    size_t bytes = 0;
    testing::internal::CaptureStderr();
    EXPECT_EQ(cudnnGetConvolutionForwardWorkspaceSize(d.handle, d.x, d.w, d.conv, d.y, fp[i].algo, &bytes),
              CUDNN_STATUS_NOT_SUPPORTED);
    EXPECT_NE(testing::internal::GetCapturedStderr().find("cudnnGetConvolutionForwardWorkspaceSize"),
              std::string::npos);
  }
}

// Runs f with stderr captured; expects `status` and a message naming `call` (on stderr and in
// cudnnGetLastErrorString) that contains `words`.
template <class F> void expect_rejected(F f, cudnnStatus_t status, const std::string& call, const std::string& words) {
  testing::internal::CaptureStderr();
  const cudnnStatus_t got = f();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(got, status) << cudnnGetErrorString(got) << "; stderr: " << err;
  EXPECT_NE(err.find("cuDNN emulator: " + call + ": "), std::string::npos) << err;
  EXPECT_NE(err.find(words), std::string::npos) << err;
  char last[512];
  cudnnGetLastErrorString(last, sizeof last);
  EXPECT_NE(std::string(last).find(call), std::string::npos) << last;
}

TEST(EmuCudnn, PlantedMistakesAreCaught) {
  const ConvShape s = shape(2, 4, 7, 7, 6, 3, 1, 1, 1, 1);
  Descriptors d(s);
  Data data(s);
  DeviceFloats y(size_t(s.n * s.cout * s.ho * s.wo));
  const float one = 1.f, zero = 0.f;
  auto forward = [&](cudnnTensorDescriptor_t yd, cudnnConvolutionDescriptor_t conv, int algo, void* ws,
                     size_t ws_bytes) {
    return cudnnConvolutionForward(d.handle, &one, d.x, data.dx_all.get(), d.w, data.dw.get(), conv,
                                   cudnnConvolutionFwdAlgo_t(algo), ws, ws_bytes, &zero, yd, y.get());
  };

  // A workspace smaller than the workspace-size call asks for.
  size_t need = 0;
  ASSERT_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(d.handle, d.x, d.w, d.conv, d.y,
                                                       CUDNN_CONVOLUTION_FWD_ALGO_GEMM, &need));
  ASSERT_GT(need, 4u);
  DeviceBytes ws(need);
  expect_rejected([&] { return forward(d.y, d.conv, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, ws.get(), need - 4); },
                  CUDNN_STATUS_BAD_PARAM, "cudnnConvolutionForward", "workSpaceSizeInBytes");
  expect_rejected([&] { return forward(d.y, d.conv, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, nullptr, need); },
                  CUDNN_STATUS_BAD_PARAM, "cudnnConvolutionForward", "workSpace is null");
  // The right workspace passes.
  EXPECT_EQ(forward(d.y, d.conv, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, ws.get(), need), CUDNN_STATUS_SUCCESS);

  // A y descriptor that is not the convolution's output.
  cudnnTensorDescriptor_t bad_y;
  ASSERT_CUDNN(cudnnCreateTensorDescriptor(&bad_y));
  expect_rejected([&] { return forward(bad_y, d.conv, 0, nullptr, 0); }, CUDNN_STATUS_BAD_PARAM,
                  "cudnnConvolutionForward", "never set");
  ASSERT_CUDNN(cudnnSetTensor4dDescriptor(bad_y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 6, 6, 7));
  expect_rejected([&] { return forward(bad_y, d.conv, 0, nullptr, 0); }, CUDNN_STATUS_BAD_PARAM,
                  "cudnnConvolutionForward", "the y descriptor is 2 x 6 x 6 x 7");

  // A group count that does not divide the channels (6 output channels, 4 groups).
  cudnnConvolutionDescriptor_t grouped;
  ASSERT_CUDNN(cudnnCreateConvolutionDescriptor(&grouped));
  ASSERT_CUDNN(cudnnSetConvolution2dDescriptor(grouped, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  ASSERT_CUDNN(cudnnSetConvolutionGroupCount(grouped, 4));
  expect_rejected([&] { return forward(d.y, grouped, 0, nullptr, 0); }, CUDNN_STATUS_BAD_PARAM,
                  "cudnnConvolutionForward", "group count 4 does not divide");
  int on, oc, oh, ow;
  expect_rejected([&] { return cudnnGetConvolution2dForwardOutputDim(grouped, d.x, d.w, &on, &oc, &oh, &ow); },
                  CUDNN_STATUS_BAD_PARAM, "cudnnGetConvolution2dForwardOutputDim", "group count");
  ASSERT_CUDNN(cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.w, &on, &oc, &oh, &ow));
  EXPECT_EQ(on, 2);
  EXPECT_EQ(oc, 6);
  EXPECT_EQ(oh, 7);
  EXPECT_EQ(ow, 7);

  // Out-of-range and unsupported algorithms.
  expect_rejected([&] { return forward(d.y, d.conv, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, nullptr, 0); },
                  CUDNN_STATUS_BAD_PARAM, "cudnnConvolutionForward", "not an algorithm");
  expect_rejected([&] { return forward(d.y, d.conv, CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, nullptr, 0); },
                  CUDNN_STATUS_NOT_SUPPORTED, "cudnnConvolutionForward", "DIRECT");

  // Null and destroyed objects.
  expect_rejected(
      [&] {
        return cudnnConvolutionForward(nullptr, &one, d.x, data.dx_all.get(), d.w, data.dw.get(), d.conv,
                                       CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, y.get());
      },
      CUDNN_STATUS_BAD_PARAM, "cudnnConvolutionForward", "handle");
  ASSERT_CUDNN(cudnnDestroyTensorDescriptor(bad_y));
  expect_rejected([&] { return forward(bad_y, d.conv, 0, nullptr, 0); }, CUDNN_STATUS_BAD_PARAM,
                  "cudnnConvolutionForward", "not a live tensor descriptor");
  ASSERT_CUDNN(cudnnDestroyConvolutionDescriptor(grouped));

  // Descriptor contents cuDNN rejects when they are set.
  cudnnTensorDescriptor_t t;
  ASSERT_CUDNN(cudnnCreateTensorDescriptor(&t));
  expect_rejected([&] { return cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 0, 3, 3); },
                  CUDNN_STATUS_BAD_PARAM, "cudnnSetTensor4dDescriptor", "positive");
  cudnnConvolutionDescriptor_t c;
  ASSERT_CUDNN(cudnnCreateConvolutionDescriptor(&c));
  expect_rejected(
      [&] { return cudnnSetConvolution2dDescriptor(c, -1, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT); },
      CUDNN_STATUS_BAD_PARAM, "cudnnSetConvolution2dDescriptor", "negative");
  expect_rejected(
      [&] { return cudnnSetConvolution2dDescriptor(c, 0, 0, 0, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT); },
      CUDNN_STATUS_BAD_PARAM, "cudnnSetConvolution2dDescriptor", "strides");
  expect_rejected([&] { return cudnnSetConvolutionGroupCount(c, 0); }, CUDNN_STATUS_BAD_PARAM,
                  "cudnnSetConvolutionGroupCount", "groupCount");
  cudnnFilterDescriptor_t f;
  ASSERT_CUDNN(cudnnCreateFilterDescriptor(&f));
  expect_rejected([&] { return cudnnSetFilter4dDescriptor(f, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, 6, 4, 3, 3); },
                  CUDNN_STATUS_NOT_SUPPORTED, "cudnnSetFilter4dDescriptor", "NCHW");

  // An x whose channel stride makes channels overlap; non-float data.
  ASSERT_CUDNN(cudnnSetTensor4dDescriptorEx(t, CUDNN_DATA_FLOAT, 2, 4, 7, 7, 4 * 49, 20, 7, 1));
  expect_rejected(
      [&] {
        return cudnnConvolutionForward(d.handle, &one, t, data.dx_all.get(), d.w, data.dw.get(), d.conv,
                                       CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, y.get());
      },
      CUDNN_STATUS_BAD_PARAM, "cudnnConvolutionForward", "overlapping");
  ASSERT_CUDNN(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_HALF, 2, 4, 7, 7));
  expect_rejected(
      [&] {
        return cudnnConvolutionForward(d.handle, &one, t, data.dx_all.get(), d.w, data.dw.get(), d.conv,
                                       CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, y.get());
      },
      CUDNN_STATUS_BAD_PARAM, "cudnnConvolutionForward", "data types differ");

  // The output overlapping an input (no in-place convolution).
  expect_rejected(
      [&] {
        return cudnnConvolutionBackwardData(d.handle, &one, d.w, data.dw.get(), d.y, data.dgy.get(), d.conv,
                                            CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, nullptr, 0, &zero, d.dx, data.dgy.get());
      },
      CUDNN_STATUS_BAD_PARAM, "cudnnConvolutionBackwardData", "overlap");

  // A host buffer where device memory is needed: the runtime says why, the status is BAD_PARAM.
  std::vector<float> host_y(y.size());
  EXPECT_EQ(cudnnConvolutionForward(d.handle, &one, d.x, data.dx_all.get(), d.w, data.dw.get(), d.conv,
                                    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, nullptr, 0, &zero, d.y, host_y.data()),
            CUDNN_STATUS_BAD_PARAM);
  // The runtime recorded it as the thread's CUDA error, with a sentence naming the call.
  const std::string why = cudaGetErrorString(cudaGetLastError());
  EXPECT_NE(why.find("cudnnConvolutionForward"), std::string::npos) << why;
  EXPECT_NE(why.find("host address"), std::string::npos) << why;

  ASSERT_CUDNN(cudnnDestroyTensorDescriptor(t));
  ASSERT_CUDNN(cudnnDestroyConvolutionDescriptor(c));
  ASSERT_CUDNN(cudnnDestroyFilterDescriptor(f));
  EXPECT_EQ(cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM), std::string("CUDNN_STATUS_BAD_PARAM"));
  EXPECT_EQ(cudnnGetVersion() / 10000, 9u);
}

}  // namespace
