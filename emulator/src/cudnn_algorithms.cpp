// The emulated cuDNN's algorithms: their names, the heuristics' ranking, what each one supports
// and needs (algo_info), and the C API of algorithm counts, heuristics and workspace sizes.
//
// Every algorithm the emulator accepts computes the same thing, with the CPU reference kernels
// (kernels/cpu/conv.h), so results equal the CPU's bit for bit whatever the heuristics pick.
// What differs per algorithm is what a caller can observe: whether it is supported for the
// shape, its workspace size (a fixed plausible formula) and whether cuDNN documents it as
// deterministic. The heuristics return a fixed ranking (kRank below).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "cudnn_state.h"

namespace cudnn_emu {

// ---- algorithms -----------------------------------------------------------------------------
namespace {
const char* const kFwdNames[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
                                 "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
const char* const kBwdDataNames[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
const char* const kBwdFilterNames[] = {"ALGO_0",   "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED",
                                       "FFT_TILING"};
}  // namespace

std::string algo_name(Dir d, int algo) {
  static const char* const prefix[3] = {"CUDNN_CONVOLUTION_FWD_ALGO_", "CUDNN_CONVOLUTION_BWD_DATA_ALGO_",
                                        "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_"};
  const char* const* names = d == kForward ? kFwdNames : d == kBackwardData ? kBwdDataNames : kBwdFilterNames;
  return std::string(prefix[d]) + names[algo];
}

namespace {
// The heuristics' fixed ranking, best first (the emulator measures nothing, so the order is a
// stated policy, loosely after what cuDNN ranks first on a recent GPU for small float
// convolutions): forward prefers the implicit GEMMs; backward data the deterministic ALGO_1;
// backward filter the atomic-based ALGO_0, so that asking for determinism changes the choice as
// it does on a GPU. Supported algorithms are returned first, in this order, then the others.
constexpr int kFwdRank[] = {1, 0, 2, 7, 6, 5, 4, 3};
constexpr int kBwdDataRank[] = {1, 0, 5, 4, 3, 2};
constexpr int kBwdFilterRank[] = {0, 1, 3, 5, 6, 2, 4};
const int* const kRank[3] = {kFwdRank, kBwdDataRank, kBwdFilterRank};

int64_t div_up(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t pow2_at_least(int64_t v) {
  int64_t p = 1;
  while (p < v) p *= 2;
  return p;
}
}  // namespace

// Whether algo runs problem p in direction d, with how much workspace, and whether cuDNN
// documents it as deterministic. The support rules follow cuDNN's documented limits in
// simplified form: FFT and Winograd variants want ungrouped, undilated, stride-1 convolutions on
// packed tensors (Winograd: 3 x 3 filters; both FFTs: pads smaller than the filter; FFT: a padded
// input of at most 256 x 256; FFT_TILING: filters of at most 32 x 32); DIRECT and the backward-filter
// WINOGRAD are not implemented by cuDNN at all. Workspace formulas are plausible sizes of what
// each method keeps (index tables, an im2col matrix, transformed tiles), deterministic in the
// shape; they exist so that callers exercise their workspace handling.
AlgoInfo algo_info(Dir d, int algo, const Problem& p) {
  const ConvShape& s = p.s;
  AlgoInfo r;
  const bool plain = s.groups == 1 && s.dilation == 1 && p.packed_x && s.stride == 1;
  const bool fft_pads = s.pad < s.kh && s.pad < s.kw;
  const bool fft = plain && fft_pads && s.h + 2 * s.pad <= 256 && s.w + 2 * s.pad <= 256;
  const bool fft_tiling = plain && fft_pads && s.kh <= 32 && s.kw <= 32;
  const bool winograd = plain && s.kh == 3 && s.kw == 3;
  const char* plain_rule = "an ungrouped, undilated, stride-1 convolution over packed tensors";
  int64_t ws = 0;
  auto unsupported = [&](std::string why) {
    r.supported = false;
    r.why_not = std::move(why);
  };
  auto when = [&](bool ok, int64_t bytes, const std::string& rule) {  // supported if ok, with bytes
    if (ok) ws = bytes;
    else unsupported(rule);
  };
  // Complex bins of the whole padded input, and of one 32 x 32 tile.
  const int64_t fft_bins = pow2_at_least(s.h + 2 * s.pad) * (pow2_at_least(s.w + 2 * s.pad) / 2 + 1);
  const int64_t tiles32 = div_up(s.ho, std::max<int64_t>(1, 32 - s.kh + 1)) *
                          div_up(s.wo, std::max<int64_t>(1, 32 - s.kw + 1)),
                tile_bins = 32 * 17;
  const int64_t wino_tiles = div_up(s.ho, 4) * div_up(s.wo, 4);  // F(4x4, 3x3): 6 x 6 tiles
  const int64_t fft_ws = 8 * fft_bins * (s.n * s.cin + s.cout * s.cin + s.n * s.cout);
  const int64_t tiling_ws = 8 * tile_bins * (s.n * tiles32 * s.cin + s.cout * s.cin + s.n * tiles32 * s.cout);
  const int64_t wino_ws = 4 * 36 * (s.n * wino_tiles * s.cin + s.cout * s.cin + s.n * wino_tiles * s.cout);
  const std::string fft_rule = std::string("FFT needs ") + plain_rule +
                               " with pads smaller than the filter and a padded input of at most 256 x 256";
  const std::string tiling_rule =
      std::string("FFT_TILING needs ") + plain_rule + " with pads smaller than the filter and filters up to 32 x 32";
  const std::string wino_rule = std::string("Winograd needs ") + plain_rule + " with a 3 x 3 filter";
  const int64_t taps = s.cin_g() * s.kh * s.kw;
  switch (d) {
    case kForward:
      switch (algo) {
        case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: break;
        case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: ws = 4 * taps; break;  // one index per filter tap
        case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: ws = 4 * taps * s.ho * s.wo; break;      // one group's im2col
        case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT: unsupported("cuDNN implements no DIRECT convolution"); break;
        case CUDNN_CONVOLUTION_FWD_ALGO_FFT: when(fft, fft_ws, fft_rule); break;
        case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING: when(fft_tiling, tiling_ws, tiling_rule); break;
        case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD: when(winograd, 0, wino_rule); break;
        case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED: when(winograd, wino_ws, wino_rule); break;
      }
      break;
    case kBackwardData:
      switch (algo) {
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_0: r.determinism = CUDNN_NON_DETERMINISTIC; break;
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_1: ws = 4 * s.cout_g() * s.kh * s.kw; break;  // index table
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT: when(fft, fft_ws, fft_rule); break;
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING: when(fft_tiling, tiling_ws, tiling_rule); break;
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD: when(winograd, 0, wino_rule); break;
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED: when(winograd, wino_ws, wino_rule); break;
      }
      break;
    case kBackwardFilter:
      switch (algo) {
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0: r.determinism = CUDNN_NON_DETERMINISTIC; break;
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1: ws = 4 * s.cout * taps; break;  // a private copy of dw
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT: when(fft, fft_ws, fft_rule); break;
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3:
          r.determinism = CUDNN_NON_DETERMINISTIC;
          ws = 4 * 4 * s.cout * taps;  // four split partial sums of dw
          break;
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD:
          unsupported("cuDNN does not implement CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD");
          break;
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED: when(winograd, wino_ws, wino_rule); break;
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING: when(fft_tiling, tiling_ws, tiling_rule); break;
      }
      break;
  }
  r.workspace = r.supported ? static_cast<size_t>(ws) : 0;
  return r;
}

// ---- heuristics and workspace sizes ---------------------------------------------------------
namespace {

// cudnnGet*Algorithm_v7: the ranking of direction d with each algorithm's status, workspace,
// determinism and math type. time is -1: heuristics measure nothing.
template <class Perf, class Algo>
cudnnStatus_t heuristics(const char* call, Dir d, cudnnHandle_t h, cudnnTensorDescriptor_t img,
                         cudnnFilterDescriptor_t flt, cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t out,
                         int requested, int* returned, Perf* perf) {
  if (cudnnStatus_t st = check_handle(call, h)) return st;
  if (!returned || !perf) return reject(CUDNN_STATUS_BAD_PARAM, call, "returnedAlgoCount or perfResults is null");
  if (requested < 1)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  "requestedAlgoCount is " + std::to_string(requested) + "; it must be at least 1");
  Problem p;
  if (cudnnStatus_t st = resolve(call, d, img, flt, conv, out, &p)) return st;
  std::vector<Perf> all;
  for (int pass = 0; pass < 2; ++pass)  // the supported algorithms first, then the others
    for (int i = 0; i < kAlgoCount[d]; ++i) {
      const int algo = kRank[d][i];
      const AlgoInfo info = algo_info(d, algo, p);
      if (info.supported != (pass == 0)) continue;
      Perf r;
      std::memset(&r, 0, sizeof r);
      r.algo = static_cast<Algo>(algo);
      r.status = info.supported ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_NOT_SUPPORTED;
      r.time = -1.f;
      r.memory = info.workspace;
      r.determinism = info.determinism;
      // The emulator computes in plain float FMA arithmetic whatever the descriptor asks; it
      // reports FMA math when FMA math was asked for, cuDNN's default otherwise.
      r.mathType = p.math == CUDNN_FMA_MATH ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
      all.push_back(r);
    }
  const int n = std::min(requested, static_cast<int>(all.size()));
  std::copy(all.begin(), all.begin() + n, perf);
  *returned = n;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t workspace_size(const char* call, Dir d, cudnnHandle_t h, cudnnTensorDescriptor_t img,
                             cudnnFilterDescriptor_t flt, cudnnConvolutionDescriptor_t conv,
                             cudnnTensorDescriptor_t out, int algo, size_t* bytes) {
  if (cudnnStatus_t st = check_handle(call, h)) return st;
  if (!bytes) return reject(CUDNN_STATUS_BAD_PARAM, call, "sizeInBytes is null");
  Problem p;
  if (cudnnStatus_t st = resolve(call, d, img, flt, conv, out, &p)) return st;
  if (algo < 0 || algo >= kAlgoCount[d])
    return reject(CUDNN_STATUS_BAD_PARAM, call, "algo " + std::to_string(algo) + " is not an algorithm of this direction");
  const AlgoInfo info = algo_info(d, algo, p);
  if (!info.supported)
    return reject(CUDNN_STATUS_NOT_SUPPORTED, call, algo_name(d, algo) + " does not run this convolution: " + info.why_not);
  *bytes = info.workspace;
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace
}  // namespace cudnn_emu

using namespace cudnn_emu;

extern "C" {

// ---- algorithm counts, heuristics and workspace sizes ----------------------------------------
cudnnStatus_t cudnnGetConvolutionForwardAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
  const char* call = "cudnnGetConvolutionForwardAlgorithmMaxCount";
  if (cudnnStatus_t st = check_handle(call, handle)) return st;
  if (!count) return reject(CUDNN_STATUS_BAD_PARAM, call, "count is null");
  *count = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
  const char* call = "cudnnGetConvolutionBackwardDataAlgorithmMaxCount";
  if (cudnnStatus_t st = check_handle(call, handle)) return st;
  if (!count) return reject(CUDNN_STATUS_BAD_PARAM, call, "count is null");
  *count = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
  const char* call = "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount";
  if (cudnnStatus_t st = check_handle(call, handle)) return st;
  if (!count) return reject(CUDNN_STATUS_BAD_PARAM, call, "count is null");
  *count = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
                                                     const cudnnFilterDescriptor_t filterDesc,
                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                     const cudnnTensorDescriptor_t destDesc,
                                                     const int requestedAlgoCount, int* returnedAlgoCount,
                                                     cudnnConvolutionFwdAlgoPerf_t* perfResults) {
  return heuristics<cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t>(
      "cudnnGetConvolutionForwardAlgorithm_v7", kForward, handle, srcDesc, filterDesc, convDesc, destDesc,
      requestedAlgoCount, returnedAlgoCount, perfResults);
}
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t handle,
                                                          const cudnnFilterDescriptor_t filterDesc,
                                                          const cudnnTensorDescriptor_t diffDesc,
                                                          const cudnnConvolutionDescriptor_t convDesc,
                                                          const cudnnTensorDescriptor_t gradDesc,
                                                          const int requestedAlgoCount, int* returnedAlgoCount,
                                                          cudnnConvolutionBwdDataAlgoPerf_t* perfResults) {
  return heuristics<cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t>(
      "cudnnGetConvolutionBackwardDataAlgorithm_v7", kBackwardData, handle, gradDesc, filterDesc, convDesc, diffDesc,
      requestedAlgoCount, returnedAlgoCount, perfResults);
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t handle,
                                                            const cudnnTensorDescriptor_t srcDesc,
                                                            const cudnnTensorDescriptor_t diffDesc,
                                                            const cudnnConvolutionDescriptor_t convDesc,
                                                            const cudnnFilterDescriptor_t gradDesc,
                                                            const int requestedAlgoCount, int* returnedAlgoCount,
                                                            cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
  return heuristics<cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t>(
      "cudnnGetConvolutionBackwardFilterAlgorithm_v7", kBackwardFilter, handle, srcDesc, gradDesc, convDesc, diffDesc,
      requestedAlgoCount, returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                      const cudnnFilterDescriptor_t wDesc,
                                                      const cudnnConvolutionDescriptor_t convDesc,
                                                      const cudnnTensorDescriptor_t yDesc,
                                                      cudnnConvolutionFwdAlgo_t algo, size_t* sizeInBytes) {
  return workspace_size("cudnnGetConvolutionForwardWorkspaceSize", kForward, handle, xDesc, wDesc, convDesc, yDesc,
                        algo, sizeInBytes);
}
cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
                                                           const cudnnTensorDescriptor_t dyDesc,
                                                           const cudnnConvolutionDescriptor_t convDesc,
                                                           const cudnnTensorDescriptor_t dxDesc,
                                                           cudnnConvolutionBwdDataAlgo_t algo, size_t* sizeInBytes) {
  return workspace_size("cudnnGetConvolutionBackwardDataWorkspaceSize", kBackwardData, handle, dxDesc, wDesc,
                        convDesc, dyDesc, algo, sizeInBytes);
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                             const cudnnTensorDescriptor_t dyDesc,
                                                             const cudnnConvolutionDescriptor_t convDesc,
                                                             const cudnnFilterDescriptor_t gradDesc,
                                                             cudnnConvolutionBwdFilterAlgo_t algo,
                                                             size_t* sizeInBytes) {
  return workspace_size("cudnnGetConvolutionBackwardFilterWorkspaceSize", kBackwardFilter, handle, xDesc, gradDesc,
                        convDesc, dyDesc, algo, sizeInBytes);
}

}  // extern "C"
