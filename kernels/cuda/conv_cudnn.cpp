// cuDNN convolution (see conv_cudnn.h). One Plan per (handle, shape): the tensor, filter and
// convolution descriptors, plus, per direction and determinism flag, the algorithm chosen from
// cuDNN's heuristics (cudnnGet*_v7, restricted to FMA math, i.e. no TF32) and its workspace size.
// The first call of a shape builds its plan under a lock; later calls only look it up.
#include "kernels/cuda/conv_cudnn.h"

#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "engine/cuda_check.h"

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
  ~Plan() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (dx) cudnnDestroyTensorDescriptor(dx);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
  }
};

using Key = std::tuple<cudnnHandle_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, int64_t>;
Key key_of(cudnnHandle_t h, const ConvShape& s) {
  return Key{h, s.n, s.cin, s.h, s.w, s.cout, s.kh, s.kw, s.stride, s.pad, s.dilation, s.groups, s.x_batch_stride};
}

std::mutex g_mutex;
std::map<Key, std::unique_ptr<Plan>> g_plans;

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

// The heuristics' ranked candidates that qualify, best first.
template <class Perf> void keep_candidates(const std::vector<Perf>& perf, int returned, bool det, std::vector<int>* out) {
  for (int i = 0; i < returned; ++i) {
    const Perf& r = perf[static_cast<size_t>(i)];
    if (r.status != CUDNN_STATUS_SUCCESS || r.mathType != CUDNN_FMA_MATH) continue;
    if (det && r.determinism != CUDNN_DETERMINISTIC) continue;
    out->push_back(static_cast<int>(r.algo));
  }
}

Choice choose(cudnnHandle_t h, const Plan& p, Direction d, bool det) {
  std::vector<int> candidates;
  int count = 0, returned = 0;
  switch (d) {
    case kForward: {
      CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &count));
      std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(static_cast<size_t>(count));
      CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p.x, p.w, p.conv, p.y, count, &returned, perf.data()));
      keep_candidates(perf, returned, det, &candidates);
      candidates.push_back(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);  // fallback: always available
      break;
    }
    case kBackwardData: {
      CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &count));
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(static_cast<size_t>(count));
      CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w, p.y, p.conv, p.dx, count, &returned,
                                                              perf.data()));
      keep_candidates(perf, returned, det, &candidates);
      candidates.push_back(CUDNN_CONVOLUTION_BWD_DATA_ALGO_1);  // deterministic fallback
      break;
    }
    case kBackwardFilter: {
      CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &count));
      std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(static_cast<size_t>(count));
      CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x, p.y, p.conv, p.w, count, &returned,
                                                                perf.data()));
      keep_candidates(perf, returned, det, &candidates);
      candidates.push_back(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);  // deterministic fallback
      break;
    }
  }
  for (int algo : candidates) {
    size_t bytes = 0;
    if (workspace_of(h, p, d, algo, &bytes)) return Choice{true, algo, bytes};
  }
  BNAS_FAIL("conv2d: cuDNN offers no usable algorithm for this convolution");
}

// The plan of (h, s) with the choice for (d, det) made; the plan lives until program exit.
const Plan& plan_for(cudnnHandle_t h, const ConvShape& s, Direction d, bool det, Choice* c) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::unique_ptr<Plan>& p = g_plans[key_of(h, s)];
  if (!p) p = make_plan(s);
  Choice& slot = p->choice[d][det ? 1 : 0];
  if (!slot.ready) slot = choose(h, *p, d, det);
  *c = slot;
  return *p;
}

// A stream-ordered workspace, returned to the pool when the call leaves scope.
class Workspace {
 public:
  Workspace(size_t bytes, cudaStream_t s) : stream_(s) {
    if (bytes) CUDA_CHECK(cudaMallocAsync(&ptr_, bytes, s));
  }
  ~Workspace() {
    if (ptr_) cudaFreeAsync(ptr_, stream_);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* get() const { return ptr_; }

 private:
  void* ptr_ = nullptr;
  cudaStream_t stream_;
};

}  // namespace

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
}

void conv2d_backward_filter(cudnnHandle_t handle, cudaStream_t stream, const ConvShape& s, const float* x,
                            const float* gy, float* gw, bool deterministic) {
  Choice c;
  const Plan& p = plan_for(handle, s, kBackwardFilter, deterministic, &c);
  Workspace ws(c.workspace, stream);
  const float one = 1.f, zero = 0.f;
  CUDNN_CHECK(cudnnSetStream(handle, stream));
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle, &one, p.x, x, p.y, gy, p.conv,
                                             static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo), ws.get(),
                                             c.workspace, &zero, p.w, gw));
}

}  // namespace bnas::kernels::cuda
