// cuDNN convolution (see conv_cudnn.h). One Plan per (handle, shape): the tensor, filter and
// convolution descriptors, plus, per direction and determinism flag, the algorithm chosen from
// cuDNN's heuristics (cudnnGet*_v7, restricted to FMA math, i.e. no TF32) and its workspace size.
// The first call of a shape builds its plan under a lock; later calls only look it up. Each
// choice is also appended to the registry that conv_algorithm_choices() returns; a fallback
// choice is said on stderr. The workspace is one growing buffer per stream (StreamWorkspace).
#include "kernels/cuda/conv_cudnn.h"

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>
#include <vector>

#include "kernels/cuda_check.h"

namespace bnas::kernels::cuda {
namespace {

constexpr size_t kMaxWorkspace = size_t(1) << 30;  // ignore algorithms wanting more than 1 GiB

enum Direction { kForward = 0, kBackwardData = 1, kBackwardFilter = 2 };

struct Choice {
  bool ready = false;
  int algo = 0;  // cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t
  size_t workspace = 0;
};

struct Plan {
  cudnnTensorDescriptor_t x = nullptr, dx = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Choice choice[3][2];  // [direction][deterministic]
  ~Plan() {  // must not throw: a failure is said on stderr
    if (x) CUDNN_CHECK_CLEANUP(cudnnDestroyTensorDescriptor(x));
    if (dx) CUDNN_CHECK_CLEANUP(cudnnDestroyTensorDescriptor(dx));
    if (y) CUDNN_CHECK_CLEANUP(cudnnDestroyTensorDescriptor(y));
    if (w) CUDNN_CHECK_CLEANUP(cudnnDestroyFilterDescriptor(w));
    if (conv) CUDNN_CHECK_CLEANUP(cudnnDestroyConvolutionDescriptor(conv));
  }
};

using Key = std::tuple<cudnnHandle_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, int64_t>;
Key key_of(cudnnHandle_t h, const ConvShape& s) {
  return Key{h, s.n, s.cin, s.h, s.w, s.cout, s.kh, s.kw, s.stride, s.pad, s.dilation, s.groups, s.x_batch_stride};
}

std::mutex g_mutex;  // guards g_plans, g_choices and g_warned
std::map<Key, std::unique_ptr<Plan>> g_plans;
std::vector<ConvAlgorithmChoice> g_choices;  // every choice made, in order
std::set<std::string> g_warned;              // the fallbacks already said on stderr

const char* direction_name(Direction d) {
  return d == kForward ? "fwd" : d == kBackwardData ? "bwd_data" : "bwd_filter";
}

// cuDNN's enumerator names without their prefix.
const char* algo_name(Direction d, int algo) {
  switch (d) {
    case kForward:
      switch (static_cast<cudnnConvolutionFwdAlgo_t>(algo)) {
        case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: return "IMPLICIT_GEMM";
        case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return "IMPLICIT_PRECOMP_GEMM";
        case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: return "GEMM";
        case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT: return "DIRECT";
        case CUDNN_CONVOLUTION_FWD_ALGO_FFT: return "FFT";
        case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING: return "FFT_TILING";
        case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD: return "WINOGRAD";
        case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
        default: return "UNKNOWN";
      }
    case kBackwardData:
      switch (static_cast<cudnnConvolutionBwdDataAlgo_t>(algo)) {
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_0: return "ALGO_0";
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_1: return "ALGO_1";
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT: return "FFT";
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING: return "FFT_TILING";
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD: return "WINOGRAD";
        case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
        default: return "UNKNOWN";
      }
    case kBackwardFilter:
      switch (static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo)) {
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0: return "ALGO_0";
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1: return "ALGO_1";
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT: return "FFT";
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3: return "ALGO_3";
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
        case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING: return "FFT_TILING";
        default: return "UNKNOWN";
      }
  }
  return "UNKNOWN";
}

int to_int(int64_t v) {
  BNAS_CHECK(v >= 0 && v <= INT32_MAX, "conv2d: a dimension of ", v, " is too large for cuDNN");
  return static_cast<int>(v);
}

std::unique_ptr<Plan> make_plan(const ConvShape& s) {
  auto p = std::make_unique<Plan>();
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->dx));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y));
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p->conv));
  const int n = to_int(s.n), cin = to_int(s.cin), h = to_int(s.h), w = to_int(s.w);
  // x may be a channel slice: packed channels/rows/columns, a wider batch stride.
  CUDNN_CHECK(cudnnSetTensor4dDescriptorEx(p->x, CUDNN_DATA_FLOAT, n, cin, h, w, to_int(s.x_batch_stride),
                                           h * w, w, 1));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->dx, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, cin, h, w));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, to_int(s.cout),
                                         to_int(s.ho), to_int(s.wo)));
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, to_int(s.cout),
                                         to_int(s.cin_g()), to_int(s.kh), to_int(s.kw)));
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p->conv, to_int(s.pad), to_int(s.pad), to_int(s.stride),
                                              to_int(s.stride), to_int(s.dilation), to_int(s.dilation),
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CUDNN_CHECK(cudnnSetConvolutionGroupCount(p->conv, to_int(s.groups)));
  // FMA math only: no TF32 tensor cores, so float32 results agree with the CPU reference.
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, CUDNN_FMA_MATH));
  int on = 0, oc = 0, oh = 0, ow = 0;
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &on, &oc, &oh, &ow));
  BNAS_CHECK(on == s.n && oc == s.cout && oh == s.ho && ow == s.wo, "conv2d: cuDNN computes an output of ",
             on, " x ", oc, " x ", oh, " x ", ow, " where ", s.n, " x ", s.cout, " x ", s.ho, " x ", s.wo,
             " was expected");
  return p;
}

// Workspace bytes of `algo` in direction d, or false when cuDNN does not support it here.
bool workspace_of(cudnnHandle_t h, const Plan& p, Direction d, int algo, size_t* bytes) {
  cudnnStatus_t st = CUDNN_STATUS_SUCCESS;
  switch (d) {
    case kForward:
      st = cudnnGetConvolutionForwardWorkspaceSize(h, p.x, p.w, p.conv, p.y,
                                                   static_cast<cudnnConvolutionFwdAlgo_t>(algo), bytes);
      break;
    case kBackwardData:
      st = cudnnGetConvolutionBackwardDataWorkspaceSize(h, p.w, p.y, p.conv, p.dx,
                                                        static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), bytes);
      break;
    case kBackwardFilter:
      st = cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p.x, p.y, p.conv, p.w,
                                                          static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), bytes);
      break;
  }
  return st == CUDNN_STATUS_SUCCESS && *bytes <= kMaxWorkspace;
}

// How the heuristics' candidates fared (for the fallback's reason).
struct Screen {
  int returned = 0;  // ranked candidates the heuristics gave
  int usable = 0;    // ... with status success
  int fma = 0;       // ... and FMA math
  int kept = 0;      // ... and deterministic when asked
};

// The heuristics' ranked candidates that qualify, best first.
template <class Perf>
void keep_candidates(const std::vector<Perf>& perf, int returned, bool det, std::vector<int>* out, Screen* sc) {
  sc->returned = returned;
  for (int i = 0; i < returned; ++i) {
    const Perf& r = perf[static_cast<size_t>(i)];
    if (r.status != CUDNN_STATUS_SUCCESS) continue;
    ++sc->usable;
    if (r.mathType != CUDNN_FMA_MATH) continue;
    ++sc->fma;
    if (det && r.determinism != CUDNN_DETERMINISTIC) continue;
    ++sc->kept;
    out->push_back(static_cast<int>(r.algo));
  }
}

std::string fallback_reason(const Screen& sc, bool det) {
  const std::string among = " among the " + std::to_string(sc.usable) + " usable of the " +
                            std::to_string(sc.returned) + " candidates cuDNN's heuristics returned";
  if (sc.fma == 0) return "no FMA-math candidate" + among;
  if (det && sc.kept == 0) return "no deterministic FMA-math candidate" + among;
  return "each of the " + std::to_string(sc.kept) +
         " qualifying candidates is unsupported here or needs more than 1 GiB of workspace";
}

Choice choose(cudnnHandle_t h, const Plan& p, const ConvShape& s, Direction d, bool det) {
  std::vector<int> candidates;
  Screen sc;
  int count = 0, returned = 0;
  switch (d) {
    case kForward: {
      CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &count));
      std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(static_cast<size_t>(count));
      CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p.x, p.w, p.conv, p.y, count, &returned, perf.data()));
      keep_candidates(perf, returned, det, &candidates, &sc);
      candidates.push_back(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);  // fallback: always available
      break;
    }
    case kBackwardData: {
      CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &count));
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(static_cast<size_t>(count));
      CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w, p.y, p.conv, p.dx, count, &returned,
                                                              perf.data()));
      keep_candidates(perf, returned, det, &candidates, &sc);
      candidates.push_back(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1);  // deterministic fallback
      break;
    }
    case kBackwardFilter: {
      CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &count));
      std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(static_cast<size_t>(count));
      CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x, p.y, p.conv, p.w, count, &returned,
                                                                perf.data()));
      keep_candidates(perf, returned, det, &candidates, &sc);
      candidates.push_back(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);  // deterministic fallback
      break;
    }
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    size_t bytes = 0;
    if (!workspace_of(h, p, d, candidates[i], &bytes)) continue;
    ConvAlgorithmChoice rec;
    CUDA_CHECK(cudaGetDevice(&rec.device));
    rec.shape = s;
    rec.direction = static_cast<int>(d);
    rec.deterministic = det;
    rec.algo = candidates[i];
    rec.name = algo_name(d, candidates[i]);
    rec.workspace_bytes = bytes;
    rec.fallback = i + 1 == candidates.size();  // the appended fallback, not a heuristics' candidate
    if (rec.fallback) {
      rec.fallback_reason = fallback_reason(sc, det);
      // Loud, once per shape and direction: a fallback may be far slower than cuDNN's pick.
      const std::string what = std::string("conv2d ") + direction_name(d) + " " + conv_shape_text(s) +
                               (det ? " (deterministic)" : "");
      if (g_warned.insert(what).second)
        std::fprintf(stderr, "bnas: warning: cuDNN offers no qualifying algorithm for %s: %s; using the fallback %s "
                     "(algo %d) with FMA math, which may be slow\n",
                     what.c_str(), rec.fallback_reason.c_str(), rec.name.c_str(), rec.algo);
    }
    g_choices.push_back(rec);
    return Choice{true, candidates[i], bytes};
  }
  BNAS_FAIL("conv2d: cuDNN offers no usable algorithm for the convolution ", direction_name(d), " ",
            conv_shape_text(s), ": ", fallback_reason(sc, det), ", and the fallback ",
            algo_name(d, candidates.back()), " is unsupported or needs more than 1 GiB of workspace");
}

// The plan of (h, s) with the choice for (d, det) made; the plan lives until program exit.
const Plan& plan_for(cudnnHandle_t h, const ConvShape& s, Direction d, bool det, Choice* c) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::unique_ptr<Plan>& p = g_plans[key_of(h, s)];
  if (!p) p = make_plan(s);
  Choice& slot = p->choice[d][det ? 1 : 0];
  if (!slot.ready) slot = choose(h, *p, s, d, det);
  *c = slot;
  return *p;
}

// One workspace per stream: a buffer from the stream-ordered pool that only grows. Growing frees
// the old buffer on the stream (after the calls already queued that use it) and allocates the new
// one on it, so steady-state steps allocate nothing. The buffers live until program exit (the
// pool and the driver take them back), so no cleanup runs after the CUDA runtime is gone.
struct StreamWorkspace {
  std::mutex mutex;  // held from the lookup until the cuDNN call is queued
  void* ptr = nullptr;
  size_t bytes = 0;
};

StreamWorkspace& workspace_of_stream(cudaStream_t s) {
  static std::mutex m;
  static auto* all = new std::map<cudaStream_t, std::unique_ptr<StreamWorkspace>>();  // never destroyed
  std::lock_guard<std::mutex> lock(m);
  std::unique_ptr<StreamWorkspace>& w = (*all)[s];
  if (!w) w = std::make_unique<StreamWorkspace>();
  return *w;
}

// The stream's workspace, at least `bytes` large, locked while the caller queues its cuDNN call.
class Workspace {
 public:
  Workspace(size_t bytes, cudaStream_t s) : ws_(workspace_of_stream(s)), lock_(ws_.mutex) {
    if (bytes <= ws_.bytes) return;
    constexpr size_t kGrain = size_t(1) << 20;  // grow in whole MiB: fewer regrowths
    const size_t grown = (bytes + kGrain - 1) / kGrain * kGrain;
    if (ws_.ptr) {
      CUDA_CHECK(cudaFreeAsync(ws_.ptr, s));
      ws_.ptr = nullptr;
      ws_.bytes = 0;
    }
    CUDA_CHECK(cudaMallocAsync(&ws_.ptr, grown, s));
    ws_.bytes = grown;
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* get() const { return ws_.ptr; }

 private:
  StreamWorkspace& ws_;
  std::lock_guard<std::mutex> lock_;
};

}  // namespace

std::vector<ConvAlgorithmChoice> conv_algorithm_choices() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_choices;
}

void conv2d_forward(cudnnHandle_t handle, cudaStream_t stream, const ConvShape& s, const float* x,
                    const float* w, float* y, bool deterministic) {
  Choice c;
  const Plan& p = plan_for(handle, s, kForward, deterministic, &c);
  Workspace ws(c.workspace, stream);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnSetStream(handle, stream));
  CUDNN_CHECK(cudnnConvolutionForward(handle, &one, p.x, x, p.w, w, p.conv,
                                      static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), ws.get(), c.workspace,
                                      &zero, p.y, y));
  CUDA_CHECK_LAUNCH(stream);
}

void conv2d_backward_data(cudnnHandle_t handle, cudaStream_t stream, const ConvShape& s, const float* w,
                          const float* gy, float* gx, bool deterministic) {
  Choice c;
  const Plan& p = plan_for(handle, s, kBackwardData, deterministic, &c);
  Workspace ws(c.workspace, stream);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnSetStream(handle, stream));
  CUDNN_CHECK(cudnnConvolutionBackwardData(handle, &one, p.w, w, p.y, gy, p.conv,
                                           static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), ws.get(),
                                           c.workspace, &zero, p.dx, gx));
  CUDA_CHECK_LAUNCH(stream);
}

void conv2d_backward_filter(cudnnHandle_t handle, cudaStream_t stream, const ConvShape& s, const float* x,
                            const float* gy, float* gw, bool accumulate, bool deterministic) {
  Choice c;
  const Plan& p = plan_for(handle, s, kBackwardFilter, deterministic, &c);
  Workspace ws(c.workspace, stream);
  const float one = 1.f, beta = accumulate ? 1.f : 0.f;
  CUDNN_CHECK(cudnnSetStream(handle, stream));
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle, &one, p.x, x, p.y, gy, p.conv,
                                             static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo), ws.get(),
                                             c.workspace, &beta, p.w, gw));
  CUDA_CHECK_LAUNCH(stream);
}

}  // namespace bnas::kernels::cuda
