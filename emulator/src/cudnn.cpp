// The emulated cuDNN (see emulator/include/cudnn.h): descriptors, heuristics, workspace sizes and
// the three convolutions, on the emulated device.
//
// Design:
//  * Checking. Every call validates its arguments as cuDNN does and fails with cuDNN's status
//    and one sentence on stderr ("cuDNN emulator: <call>: <sentence>"), also kept for
//    cudnnGetLastErrorString. cuDNN has no sticky error, so the status is what the caller sees.
//    Handles and descriptors live in a registry, so a destroyed or never-created one is caught
//    instead of read. Invalid arguments are CUDNN_STATUS_BAD_PARAM; valid ones the emulator
//    does not implement (see cudnn.h) are CUDNN_STATUS_NOT_SUPPORTED and say so.
//  * One problem description. The (image, filter, convolution, output) descriptors of every
//    direction resolve to a kernels::ConvShape (resolve()): forward x/w/y, backward data
//    dx/w/dy, backward filter x/dw/dy. Heuristics, workspace sizes and the convolutions share
//    it, so they can never disagree about what is valid.
//  * Algorithms. Every algorithm the emulator accepts computes the same thing, with the CPU
//    reference kernels (kernels/cpu/conv.h), so results equal the CPU's bit for bit whatever the
//    heuristics pick. What differs per algorithm is what a caller can observe: whether it is
//    supported for the shape, its workspace size (a fixed plausible formula) and whether cuDNN
//    documents it as deterministic. The heuristics return a fixed ranking (kRank below).
//  * Execution. A convolution is one cuda_emu::submit of kind Library on the handle's stream,
//    with the buffers it reads and writes (and the workspace the algorithm uses), so it is
//    stream ordered, hazard checked, captured into graphs and counted under the call's name.
//    alpha and beta are host values read at call time, as cuDNN reads them; the closure keeps
//    copies (a graph replays the values of the capture).
#include <cudnn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "emu.h"
#include "kernels/conv_shape.h"
#include "kernels/cpu/conv.h"

// The opaque types of cudnn.h.
struct cudnnContext {
  cudaStream_t stream = nullptr;  // the legacy default stream until cudnnSetStream
};
struct cudnnTensorStruct {
  bool set = false;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  int n = 0, c = 0, h = 0, w = 0;
  int ns = 0, cs = 0, hs = 0, ws = 0;  // strides in elements
};
struct cudnnFilterStruct {
  bool set = false;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  cudnnTensorFormat_t format = CUDNN_TENSOR_NCHW;
  int k = 0, c = 0, h = 0, w = 0;
};
struct cudnnConvolutionStruct {
  bool set = false;
  int pad_h = 0, pad_w = 0, u = 1, v = 1, dil_h = 1, dil_w = 1;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  cudnnDataType_t compute = CUDNN_DATA_FLOAT;
  int groups = 1;                            // cuDNN's default; kept across cudnnSetConvolution2dDescriptor
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;  // likewise
};

namespace {

using bnas::kernels::ConvShape;

// ---- errors ---------------------------------------------------------------------------------
thread_local std::string t_last_error;

cudnnStatus_t reject(cudnnStatus_t status, const char* call, const std::string& sentence) {
  t_last_error = std::string(call) + ": " + sentence;
  std::fprintf(stderr, "cuDNN emulator: %s: %s\n", call, sentence.c_str());
  return status;
}

// ---- the registry of live objects -----------------------------------------------------------
enum class Kind { Handle, Tensor, Filter, Convolution };

struct Registry {
  std::mutex m;
  std::unordered_map<const void*, Kind> live;
};
Registry& registry() {
  // Never destroyed: descriptors are destroyed by static destructors at exit (plan caches).
  static Registry* r = new Registry();
  return *r;
}
void enroll(const void* p, Kind k) {
  std::lock_guard<std::mutex> lock(registry().m);
  registry().live[p] = k;
}
bool is_live(const void* p, Kind k) {
  std::lock_guard<std::mutex> lock(registry().m);
  auto it = registry().live.find(p);
  return it != registry().live.end() && it->second == k;
}
bool retire(const void* p, Kind k) {
  std::lock_guard<std::mutex> lock(registry().m);
  auto it = registry().live.find(p);
  if (it == registry().live.end() || it->second != k) return false;
  registry().live.erase(it);
  return true;
}

const char* noun(Kind k) {
  switch (k) {
    case Kind::Handle: return "cuDNN handle";
    case Kind::Tensor: return "tensor descriptor";
    case Kind::Filter: return "filter descriptor";
    case Kind::Convolution: return "convolution descriptor";
  }
  return "object";
}

std::string address(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

// BAD_PARAM unless p is a live object of kind k; `role` names it in the sentence ("x", "handle").
cudnnStatus_t check_live(const char* call, const char* role, const void* p, Kind k) {
  if (!p) return reject(CUDNN_STATUS_BAD_PARAM, call, std::string("the ") + role + " " + noun(k) + " is null");
  if (!is_live(p, k))
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  std::string("the ") + role + " argument " + address(p) + " is not a live " + noun(k) +
                      " (destroyed, or never created)");
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t check_handle(const char* call, cudnnHandle_t h) { return check_live(call, "handle", h, Kind::Handle); }

// ---- enumerations -----------------------------------------------------------------------------
const char* const kTypeNames[] = {
    "CUDNN_DATA_FLOAT",   "CUDNN_DATA_DOUBLE",    "CUDNN_DATA_HALF",     "CUDNN_DATA_INT8",
    "CUDNN_DATA_INT32",   "CUDNN_DATA_INT8x4",    "CUDNN_DATA_UINT8",    "CUDNN_DATA_UINT8x4",
    "CUDNN_DATA_INT8x32", "CUDNN_DATA_BFLOAT16",  "CUDNN_DATA_INT64",    "CUDNN_DATA_BOOLEAN",
    "CUDNN_DATA_FP8_E4M3", "CUDNN_DATA_FP8_E5M2", "CUDNN_DATA_FAST_FLOAT_FOR_FP8", "CUDNN_DATA_FP8_E8M0",
    "CUDNN_DATA_FP4_E2M1", "CUDNN_DATA_INT4",     "CUDNN_DATA_UINT4",    "CUDNN_DATA_UINT32",
    "CUDNN_DATA_COMPLEX_FP32", "CUDNN_DATA_COMPLEX_FP64"};
constexpr int kTypeCount = sizeof(kTypeNames) / sizeof(kTypeNames[0]);
bool valid_type(cudnnDataType_t t) { return static_cast<int>(t) >= 0 && static_cast<int>(t) < kTypeCount; }
const char* type_name(cudnnDataType_t t) { return valid_type(t) ? kTypeNames[t] : "an invalid data type"; }

bool valid_format(cudnnTensorFormat_t f) { return static_cast<int>(f) >= 0 && static_cast<int>(f) <= 2; }

// ---- geometry -------------------------------------------------------------------------------
std::string dims(int n, int c, int h, int w) {
  return std::to_string(n) + " x " + std::to_string(c) + " x " + std::to_string(h) + " x " + std::to_string(w);
}
std::string dims(const cudnnTensorStruct& t) { return dims(t.n, t.c, t.h, t.w); }
std::string dims(const cudnnFilterStruct& f) { return dims(f.k, f.c, f.h, f.w); }
std::string strides(const cudnnTensorStruct& t) {
  return "strides n " + std::to_string(t.ns) + ", c " + std::to_string(t.cs) + ", h " + std::to_string(t.hs) +
         ", w " + std::to_string(t.ws);
}
std::string conv_text(const cudnnConvolutionStruct& cv) {
  return "pad " + std::to_string(cv.pad_h) + " x " + std::to_string(cv.pad_w) + ", stride " + std::to_string(cv.u) +
         " x " + std::to_string(cv.v) + ", dilation " + std::to_string(cv.dil_h) + " x " + std::to_string(cv.dil_w) +
         ", " + std::to_string(cv.groups) + (cv.groups == 1 ? " group" : " groups");
}

// How a tensor lies in memory, for the layouts the CPU kernels read.
enum class Layout {
  Packed,        // NCHW, fully packed
  BatchStrided,  // channels, rows and columns packed, batch stride > c * h * w (a channel slice)
  Other,         // valid but not NCHW-packed (NHWC, padded rows, ...)
  Overlapping,   // distinct elements share memory
};
Layout layout_of(const cudnnTensorStruct& t) {
  // Overlap: sort the dimensions that have more than one element by stride; each must step past
  // the whole extent of the previous one.
  struct Dim {
    int64_t size, stride;
  };
  std::vector<Dim> d;
  for (Dim x : {Dim{t.n, t.ns}, Dim{t.c, t.cs}, Dim{t.h, t.hs}, Dim{t.w, t.ws}})
    if (x.size > 1) d.push_back(x);
  std::sort(d.begin(), d.end(), [](const Dim& a, const Dim& b) { return a.stride < b.stride; });
  for (size_t i = 1; i < d.size(); ++i)
    if (d[i].stride < d[i - 1].stride * d[i - 1].size) return Layout::Overlapping;
  // Strides of single-element dimensions are never used, so they do not count.
  const int64_t hw = int64_t(t.h) * t.w, chw = hw * t.c;
  const bool inner = (t.w == 1 || t.ws == 1) && (t.h == 1 || t.hs == t.w) && (t.c == 1 || t.cs == hw);
  if (!inner) return Layout::Other;
  if (t.n == 1 || t.ns == chw) return Layout::Packed;
  return t.ns > chw ? Layout::BatchStrided : Layout::Other;
}

// The output dimensions of convolving img with f under cv, or BAD_PARAM when they do not fit
// together. img_role / f_role name them in the sentence.
cudnnStatus_t output_dims(const char* call, const cudnnConvolutionStruct& cv, const cudnnTensorStruct& img,
                          const char* img_role, const cudnnFilterStruct& f, const char* f_role, int out[4]) {
  const int g = cv.groups;
  if (img.c % g != 0)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  std::string(img_role) + " has " + std::to_string(img.c) +
                      " channels, which the convolution's group count " + std::to_string(g) + " does not divide");
  if (f.k % g != 0)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  std::string(f_role) + " has " + std::to_string(f.k) +
                      " output channels, which the convolution's group count " + std::to_string(g) +
                      " does not divide");
  if (int64_t(f.c) * g != img.c)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  std::string(img_role) + " has " + std::to_string(img.c) + " channels, but " + f_role + " (" +
                      dims(f) + ") has " + std::to_string(f.c) + " input channels per group x " + std::to_string(g) +
                      (g == 1 ? " group" : " groups"));
  const int64_t eh = int64_t(f.h - 1) * cv.dil_h + 1, ew = int64_t(f.w - 1) * cv.dil_w + 1;
  const int64_t ph = int64_t(img.h) + 2 * int64_t(cv.pad_h), pw = int64_t(img.w) + 2 * int64_t(cv.pad_w);
  if (eh > ph || ew > pw)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  "the dilated filter of " + std::string(f_role) + " spans " + std::to_string(eh) + " x " +
                      std::to_string(ew) + ", more than the padded input " + std::to_string(ph) + " x " +
                      std::to_string(pw) + " of " + img_role);
  out[0] = img.n;
  out[1] = f.k;
  out[2] = static_cast<int>((ph - eh) / cv.u + 1);
  out[3] = static_cast<int>((pw - ew) / cv.v + 1);
  return CUDNN_STATUS_SUCCESS;
}

// ---- one convolution problem ---------------------------------------------------------------
enum Dir { kForward = 0, kBackwardData = 1, kBackwardFilter = 2 };

// The descriptors' names in each direction: image, filter, output.
struct Roles {
  const char *img, *flt, *out;
};
constexpr Roles kRoles[3] = {{"x", "w", "y"}, {"dx", "w", "dy"}, {"x", "dw", "dy"}};

struct Problem {
  ConvShape s;
  bool packed_x = true;  // the image has no extra batch stride
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t img_bytes = 0, flt_bytes = 0, out_bytes = 0;  // extents the convolution touches
};

// Checks the four descriptors of direction d (live, set, consistent, supported) and describes
// the convolution they specify.
cudnnStatus_t resolve(const char* call, Dir d, cudnnTensorDescriptor_t img, cudnnFilterDescriptor_t flt,
                      cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t out, Problem* p) {
  const Roles r = kRoles[d];
  if (cudnnStatus_t st = check_live(call, r.img, img, Kind::Tensor)) return st;
  if (cudnnStatus_t st = check_live(call, r.flt, flt, Kind::Filter)) return st;
  if (cudnnStatus_t st = check_live(call, "convolution", conv, Kind::Convolution)) return st;
  if (cudnnStatus_t st = check_live(call, r.out, out, Kind::Tensor)) return st;
  auto unset = [&](const char* role, const char* setter) {
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  std::string("the ") + role + " descriptor was created but never set (call " + setter + " first)");
  };
  if (!img->set) return unset(r.img, "cudnnSetTensor4dDescriptor");
  if (!flt->set) return unset(r.flt, "cudnnSetFilter4dDescriptor");
  if (!conv->set) return unset("convolution", "cudnnSetConvolution2dDescriptor");
  if (!out->set) return unset(r.out, "cudnnSetTensor4dDescriptor");

  if (img->type != flt->type || img->type != out->type)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  std::string("the data types differ: ") + r.img + " " + type_name(img->type) + ", " + r.flt + " " +
                      type_name(flt->type) + ", " + r.out + " " + type_name(out->type));
  if (img->type != CUDNN_DATA_FLOAT || conv->compute != CUDNN_DATA_FLOAT)
    return reject(CUDNN_STATUS_NOT_SUPPORTED, call,
                  std::string("the emulator computes CUDNN_DATA_FLOAT data in CUDNN_DATA_FLOAT only; here the data are ") +
                      type_name(img->type) + " and the compute type " + type_name(conv->compute));
  if (conv->mode != CUDNN_CROSS_CORRELATION)
    return reject(CUDNN_STATUS_NOT_SUPPORTED, call,
                  "the emulator implements CUDNN_CROSS_CORRELATION only (the CPU kernels do not flip the filter)");
  if (conv->pad_h != conv->pad_w || conv->u != conv->v || conv->dil_h != conv->dil_w)
    return reject(CUDNN_STATUS_NOT_SUPPORTED, call,
                  "the emulator needs the same pad, stride and dilation on both axes (" + conv_text(*conv) + ")");

  int o[4];
  if (cudnnStatus_t st = output_dims(call, *conv, *img, r.img, *flt, r.flt, o)) return st;
  if (o[0] != out->n || o[1] != out->c || o[2] != out->h || o[3] != out->w)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  std::string("the ") + r.out + " descriptor is " + dims(*out) + ", but " + r.img + " (" + dims(*img) +
                      "), " + r.flt + " (" + dims(*flt) + ") and the convolution (" + conv_text(*conv) + ") give " +
                      dims(o[0], o[1], o[2], o[3]));

  // Layouts: only the forward / backward-filter input may carry a batch stride.
  for (int i = 0; i < 2; ++i) {
    const cudnnTensorStruct& t = i == 0 ? *img : *out;
    const char* role = i == 0 ? r.img : r.out;
    const Layout l = layout_of(t);
    if (l == Layout::Overlapping)
      return reject(CUDNN_STATUS_BAD_PARAM, call,
                    std::string("the ") + role + " descriptor (" + dims(t) + ", " + strides(t) +
                        ") has overlapping strides: distinct elements would share memory");
    const bool strided_ok = i == 0 && d != kBackwardData;
    if (l == Layout::Other || (l == Layout::BatchStrided && !strided_ok))
      return reject(CUDNN_STATUS_NOT_SUPPORTED, call,
                    std::string("the emulator needs ") + role +
                        (strided_ok ? " with packed channels, rows and columns (NCHW, a batch stride of at least c*h*w)"
                                    : " fully packed NCHW") +
                        "; its descriptor has " + strides(t) + " for " + dims(t));
  }

  ConvShape& s = p->s;
  s.n = img->n;
  s.cin = img->c;
  s.h = img->h;
  s.w = img->w;
  s.cout = flt->k;
  s.kh = flt->h;
  s.kw = flt->w;
  s.stride = conv->u;
  s.pad = conv->pad_h;
  s.dilation = conv->dil_h;
  s.groups = conv->groups;
  s.ho = o[2];
  s.wo = o[3];
  const int64_t chw = s.cin * s.h * s.w;
  p->packed_x = layout_of(*img) == Layout::Packed;
  s.x_batch_stride = p->packed_x ? chw : img->ns;
  p->math = conv->math;
  p->img_bytes = static_cast<size_t>((s.n - 1) * s.x_batch_stride + chw) * sizeof(float);
  p->flt_bytes = static_cast<size_t>(s.cout * s.cin_g() * s.kh * s.kw) * sizeof(float);
  p->out_bytes = static_cast<size_t>(s.n * s.cout * s.ho * s.wo) * sizeof(float);
  return CUDNN_STATUS_SUCCESS;
}

// ---- algorithms -----------------------------------------------------------------------------
constexpr int kAlgoCount[3] = {CUDNN_CONVOLUTION_FWD_ALGO_COUNT, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT};
const char* const kFwdNames[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
                                 "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
const char* const kBwdDataNames[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
const char* const kBwdFilterNames[] = {"ALGO_0",   "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED",
                                       "FFT_TILING"};
std::string algo_name(Dir d, int algo) {
  static const char* const prefix[3] = {"CUDNN_CONVOLUTION_FWD_ALGO_", "CUDNN_CONVOLUTION_BWD_DATA_ALGO_",
                                        "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_"};
  const char* const* names = d == kForward ? kFwdNames : d == kBackwardData ? kBwdDataNames : kBwdFilterNames;
  return std::string(prefix[d]) + names[algo];
}

// The heuristics' fixed ranking, best first (the emulator measures nothing, so the order is a
// stated policy, loosely after what cuDNN ranks first on a recent GPU for small float
// convolutions): forward prefers the implicit GEMMs; backward data the deterministic ALGO_1;
// backward filter the atomic-based ALGO_0, so that asking for determinism changes the choice as
// it does on a GPU. Supported algorithms are returned first, in this order, then the others.
constexpr int kFwdRank[] = {1, 0, 2, 7, 6, 5, 4, 3};
constexpr int kBwdDataRank[] = {1, 0, 5, 4, 3, 2};
constexpr int kBwdFilterRank[] = {0, 1, 3, 5, 6, 2, 4};
const int* const kRank[3] = {kFwdRank, kBwdDataRank, kBwdFilterRank};

struct AlgoInfo {
  bool supported = true;
  size_t workspace = 0;
  cudnnDeterminism_t determinism = CUDNN_DETERMINISTIC;
  std::string why_not;  // when unsupported
};

int64_t div_up(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t pow2_at_least(int64_t v) {
  int64_t p = 1;
  while (p < v) p *= 2;
  return p;
}

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

// ---- execution ------------------------------------------------------------------------------
bool overlaps(const void* a, size_t an, const void* b, size_t bn) {
  const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return an > 0 && bn > 0 && pa < pb + bn && pb < pa + an;
}

// Runs direction d: img / flt / out are the data of the three roles (one of them, the
// direction's result, is written).
cudnnStatus_t convolve(const char* call, Dir d, cudnnHandle_t h, const void* alpha, const void* beta,
                       cudnnTensorDescriptor_t img_desc, const void* img, cudnnFilterDescriptor_t flt_desc,
                       const void* flt, cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t out_desc,
                       const void* out, int algo, void* workspace, size_t workspace_bytes) {
  if (cudnnStatus_t st = check_handle(call, h)) return st;
  Problem p;
  if (cudnnStatus_t st = resolve(call, d, img_desc, flt_desc, conv, out_desc, &p)) return st;
  if (algo < 0 || algo >= kAlgoCount[d])
    return reject(CUDNN_STATUS_BAD_PARAM, call, "algo " + std::to_string(algo) + " is not an algorithm of this direction");
  const AlgoInfo info = algo_info(d, algo, p);
  if (!info.supported)
    return reject(CUDNN_STATUS_NOT_SUPPORTED, call, algo_name(d, algo) + " does not run this convolution: " + info.why_not);
  if (!alpha || !beta) return reject(CUDNN_STATUS_BAD_PARAM, call, "alpha or beta is null");
  if (cuda_emu::is_device_pointer(alpha) || cuda_emu::is_device_pointer(beta))
    return reject(CUDNN_STATUS_BAD_PARAM, call, "alpha and beta must be host pointers; one is device memory");
  const Roles r = kRoles[d];
  struct Buffer {
    const char* role;
    const void* ptr;
    size_t bytes;
    bool write;
  };
  std::vector<Buffer> bufs = {{r.img, img, p.img_bytes, d == kBackwardData},
                              {r.flt, flt, p.flt_bytes, d == kBackwardFilter},
                              {r.out, out, p.out_bytes, d == kForward}};
  for (const Buffer& b : bufs)
    if (!b.ptr) return reject(CUDNN_STATUS_BAD_PARAM, call, std::string("the ") + b.role + " pointer is null");
  if (workspace_bytes < info.workspace)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  "workSpaceSizeInBytes is " + std::to_string(workspace_bytes) + ", but " + algo_name(d, algo) +
                      " needs " + std::to_string(info.workspace) +
                      " bytes here (the size its workspace-size call returns)");
  if (info.workspace > 0 && !workspace)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  "workSpace is null, but " + algo_name(d, algo) + " needs " + std::to_string(info.workspace) +
                      " bytes of workspace");
  if (info.workspace > 0) bufs.push_back({"workspace", workspace, info.workspace, true});
  // Written buffers must not share memory with anything else the call touches (cuDNN has no
  // in-place convolution; on a GPU the result would silently depend on the schedule).
  for (size_t i = 0; i < bufs.size(); ++i)
    for (size_t j = i + 1; j < bufs.size(); ++j)
      if ((bufs[i].write || bufs[j].write) && overlaps(bufs[i].ptr, bufs[i].bytes, bufs[j].ptr, bufs[j].bytes))
        return reject(CUDNN_STATUS_BAD_PARAM, call,
                      std::string("the ") + bufs[i].role + " and " + bufs[j].role + " buffers overlap");

  // alpha and beta are host values, read now (a captured graph replays these values).
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  std::vector<cuda_emu::Access> access;
  for (const Buffer& buf : bufs) access.push_back(cuda_emu::Access{buf.ptr, buf.bytes, buf.write});
  const ConvShape s = p.s;
  const auto* x = static_cast<const float*>(img);
  const auto* w = static_cast<const float*>(flt);
  const auto* y = static_cast<const float*>(out);
  float* result = const_cast<float*>(d == kForward ? y : d == kBackwardData ? x : w);
  const size_t count = (d == kForward ? p.out_bytes : d == kBackwardData ? p.img_bytes : p.flt_bytes) / sizeof(float);
  auto op = [d, s, x, w, y, result, count, a, b] {
    namespace cpu = bnas::kernels::cpu;
    auto compute = [&](float* dst) {
      if (d == kForward) cpu::conv2d_forward<float>(s, x, w, dst);
      else if (d == kBackwardData) cpu::conv2d_backward<float>(s, nullptr, w, y, dst, nullptr);
      else cpu::conv2d_backward<float>(s, x, nullptr, y, nullptr, dst);
    };
    if (a == 1.f && b == 0.f) {  // what the project uses: the kernels write the result directly
      compute(result);
      return;
    }
    std::vector<float> t(count);
    compute(t.data());
    // out = alpha * conv + beta * out, rounded once (a GPU epilogue is one FMA); with beta == 0
    // the output is not read, so whatever it held (NaN included) does not leak in.
    for (size_t i = 0; i < count; ++i) result[i] = b == 0.f ? a * t[i] : std::fma(a, t[i], b * result[i]);
  };
  const cudaError_t e = cuda_emu::submit(call, call, cuda_emu::OpKind::Library, h->stream, std::move(access), op);
  if (e != cudaSuccess) {
    // The runtime has said why on stderr, naming the call; keep its sentence for
    // cudnnGetLastErrorString. Unusable pointers are the caller's bad parameters.
    t_last_error = std::string(call) + ": " + cudaGetErrorString(e);
    const bool bad_pointer =
        e == cudaErrorInvalidValue || e == cudaErrorIllegalAddress || e == cudaErrorInvalidDevicePointer;
    return bad_pointer ? CUDNN_STATUS_BAD_PARAM : CUDNN_STATUS_EXECUTION_FAILED;
  }
  return CUDNN_STATUS_SUCCESS;
}

template <class D> cudnnStatus_t create(const char* call, D** out, Kind k) {
  if (!out) return reject(CUDNN_STATUS_BAD_PARAM, call, "the output pointer is null");
  *out = new D();
  enroll(*out, k);
  return CUDNN_STATUS_SUCCESS;
}
template <class D> cudnnStatus_t destroy(const char* call, D* p, Kind k) {
  if (!p) return CUDNN_STATUS_SUCCESS;  // destroying a null descriptor does nothing, as in cuDNN
  if (!retire(p, k))
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  address(p) + " is not a live " + noun(k) + " (destroyed twice, or never created)");
  delete p;
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace

extern "C" {

// ---- versions and errors ----------------------------------------------------------------------
size_t cudnnGetVersion(void) { return CUDNN_VERSION; }

const char* cudnnGetErrorString(cudnnStatus_t status) {
  switch (status) {
#define BNAS_CUDNN_NAME(s) \
  case s: return #s;
    BNAS_CUDNN_NAME(CUDNN_STATUS_SUCCESS)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_INITIALIZED)
    BNAS_CUDNN_NAME(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH)
    BNAS_CUDNN_NAME(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH)
    BNAS_CUDNN_NAME(CUDNN_STATUS_DEPRECATED)
    BNAS_CUDNN_NAME(CUDNN_STATUS_LICENSE_ERROR)
    BNAS_CUDNN_NAME(CUDNN_STATUS_RUNTIME_IN_PROGRESS)
    BNAS_CUDNN_NAME(CUDNN_STATUS_RUNTIME_FP_OVERFLOW)
    BNAS_CUDNN_NAME(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM)
    BNAS_CUDNN_NAME(CUDNN_STATUS_INVALID_VALUE)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM_NULL_POINTER)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH)
    BNAS_CUDNN_NAME(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_SHAPE)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_PADDING)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API)
    BNAS_CUDNN_NAME(CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE)
    BNAS_CUDNN_NAME(CUDNN_STATUS_INTERNAL_ERROR)
    BNAS_CUDNN_NAME(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED)
    BNAS_CUDNN_NAME(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE)
    BNAS_CUDNN_NAME(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED)
    BNAS_CUDNN_NAME(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    BNAS_CUDNN_NAME(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM)
    BNAS_CUDNN_NAME(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED)
    BNAS_CUDNN_NAME(CUDNN_STATUS_EXECUTION_FAILED)
    BNAS_CUDNN_NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER)
    BNAS_CUDNN_NAME(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS)
    BNAS_CUDNN_NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDART)
    BNAS_CUDNN_NAME(CUDNN_STATUS_EXECUTION_FAILED_CURAND)
#undef BNAS_CUDNN_NAME
  }
  return "CUDNN_UNKNOWN_STATUS";
}

void cudnnGetLastErrorString(char* message, size_t max_size) {
  if (!message || max_size == 0) return;
  const size_t n = std::min(max_size - 1, t_last_error.size());
  std::memcpy(message, t_last_error.data(), n);
  message[n] = '\0';
}

// ---- handles --------------------------------------------------------------------------------
cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) {
  const char* call = "cudnnCreate";
  if (!handle) return reject(CUDNN_STATUS_BAD_PARAM, call, "the output pointer is null");
  if (cuda_emu::device_count() == 0)
    return reject(CUDNN_STATUS_NOT_INITIALIZED, call, "there is no emulated CUDA device (BNAS_EMU_DEVICES is 0)");
  *handle = new cudnnContext();
  enroll(*handle, Kind::Handle);
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  const char* call = "cudnnDestroy";
  if (cudnnStatus_t st = check_handle(call, handle)) return st;
  retire(handle, Kind::Handle);
  delete handle;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId) {
  const char* call = "cudnnSetStream";
  if (cudnnStatus_t st = check_handle(call, handle)) return st;
  if (cuda_emu::stream_device(streamId) < 0)
    return reject(CUDNN_STATUS_BAD_PARAM, call, "stream " + address(streamId) + " is not a live CUDA stream");
  handle->stream = streamId;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetStream(cudnnHandle_t handle, cudaStream_t* streamId) {
  const char* call = "cudnnGetStream";
  if (cudnnStatus_t st = check_handle(call, handle)) return st;
  if (!streamId) return reject(CUDNN_STATUS_BAD_PARAM, call, "streamId is null");
  *streamId = handle->stream;
  return CUDNN_STATUS_SUCCESS;
}

// ---- tensor descriptors ---------------------------------------------------------------------
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* tensorDesc) {
  return create("cudnnCreateTensorDescriptor", tensorDesc, Kind::Tensor);
}
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t tensorDesc) {
  return destroy("cudnnDestroyTensorDescriptor", tensorDesc, Kind::Tensor);
}

cudnnStatus_t cudnnSetTensor4dDescriptorEx(cudnnTensorDescriptor_t tensorDesc, cudnnDataType_t dataType, int n, int c,
                                           int h, int w, int nStride, int cStride, int hStride, int wStride) {
  const char* call = "cudnnSetTensor4dDescriptorEx";
  if (cudnnStatus_t st = check_live(call, "tensor", tensorDesc, Kind::Tensor)) return st;
  if (!valid_type(dataType))
    return reject(CUDNN_STATUS_BAD_PARAM, call, "dataType " + std::to_string(dataType) + " is not a cudnnDataType_t");
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
    return reject(CUDNN_STATUS_BAD_PARAM, call, "the dimensions " + dims(n, c, h, w) + " must all be positive");
  if (nStride <= 0 || cStride <= 0 || hStride <= 0 || wStride <= 0)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  "the strides n " + std::to_string(nStride) + ", c " + std::to_string(cStride) + ", h " +
                      std::to_string(hStride) + ", w " + std::to_string(wStride) + " must all be positive");
  const int64_t last = int64_t(n - 1) * nStride + int64_t(c - 1) * cStride + int64_t(h - 1) * hStride +
                       int64_t(w - 1) * wStride;
  if (int64_t(n) * c * h * w > INT32_MAX || last > INT32_MAX)
    return reject(CUDNN_STATUS_NOT_SUPPORTED, call,
                  "the tensor " + dims(n, c, h, w) + " spans more than 2^31 elements, cuDNN's limit");
  *tensorDesc = cudnnTensorStruct{true, dataType, n, c, h, w, nStride, cStride, hStride, wStride};
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format,
                                         cudnnDataType_t dataType, int n, int c, int h, int w) {
  const char* call = "cudnnSetTensor4dDescriptor";
  if (cudnnStatus_t st = check_live(call, "tensor", tensorDesc, Kind::Tensor)) return st;
  if (!valid_type(dataType))
    return reject(CUDNN_STATUS_BAD_PARAM, call, "dataType " + std::to_string(dataType) + " is not a cudnnDataType_t");
  if (!valid_format(format))
    return reject(CUDNN_STATUS_BAD_PARAM, call, "format " + std::to_string(format) + " is not a cudnnTensorFormat_t");
  if (format == CUDNN_TENSOR_NCHW_VECT_C)
    return reject(CUDNN_STATUS_NOT_SUPPORTED, call, "the emulator does not implement CUDNN_TENSOR_NCHW_VECT_C");
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
    return reject(CUDNN_STATUS_BAD_PARAM, call, "the dimensions " + dims(n, c, h, w) + " must all be positive");
  if (int64_t(n) * c * h * w > INT32_MAX)
    return reject(CUDNN_STATUS_NOT_SUPPORTED, call,
                  "the tensor " + dims(n, c, h, w) + " holds more than 2^31 elements, cuDNN's limit");
  if (format == CUDNN_TENSOR_NCHW)
    return cudnnSetTensor4dDescriptorEx(tensorDesc, dataType, n, c, h, w, c * h * w, h * w, w, 1);
  return cudnnSetTensor4dDescriptorEx(tensorDesc, dataType, n, c, h, w, h * w * c, 1, w * c, c);  // NHWC
}

// ---- filter descriptors ---------------------------------------------------------------------
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* filterDesc) {
  return create("cudnnCreateFilterDescriptor", filterDesc, Kind::Filter);
}
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t filterDesc) {
  return destroy("cudnnDestroyFilterDescriptor", filterDesc, Kind::Filter);
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType,
                                         cudnnTensorFormat_t format, int k, int c, int h, int w) {
  const char* call = "cudnnSetFilter4dDescriptor";
  if (cudnnStatus_t st = check_live(call, "filter", filterDesc, Kind::Filter)) return st;
  if (!valid_type(dataType))
    return reject(CUDNN_STATUS_BAD_PARAM, call, "dataType " + std::to_string(dataType) + " is not a cudnnDataType_t");
  if (!valid_format(format))
    return reject(CUDNN_STATUS_BAD_PARAM, call, "format " + std::to_string(format) + " is not a cudnnTensorFormat_t");
  if (format != CUDNN_TENSOR_NCHW)
    return reject(CUDNN_STATUS_NOT_SUPPORTED, call,
                  "the emulator implements CUDNN_TENSOR_NCHW filters only (the CPU kernels' k x c x h x w layout)");
  if (k <= 0 || c <= 0 || h <= 0 || w <= 0)
    return reject(CUDNN_STATUS_BAD_PARAM, call, "the dimensions " + dims(k, c, h, w) + " must all be positive");
  *filterDesc = cudnnFilterStruct{true, dataType, format, k, c, h, w};
  return CUDNN_STATUS_SUCCESS;
}

// ---- convolution descriptors ----------------------------------------------------------------
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* convDesc) {
  return create("cudnnCreateConvolutionDescriptor", convDesc, Kind::Convolution);
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc) {
  return destroy("cudnnDestroyConvolutionDescriptor", convDesc, Kind::Convolution);
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w, int u,
                                              int v, int dilation_h, int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t computeType) {
  const char* call = "cudnnSetConvolution2dDescriptor";
  if (cudnnStatus_t st = check_live(call, "convolution", convDesc, Kind::Convolution)) return st;
  if (pad_h < 0 || pad_w < 0)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  "the pads " + std::to_string(pad_h) + " x " + std::to_string(pad_w) + " must not be negative");
  if (u <= 0 || v <= 0)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  "the strides " + std::to_string(u) + " x " + std::to_string(v) + " must be positive");
  if (dilation_h <= 0 || dilation_w <= 0)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  "the dilations " + std::to_string(dilation_h) + " x " + std::to_string(dilation_w) +
                      " must be positive");
  if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION)
    return reject(CUDNN_STATUS_BAD_PARAM, call, "mode " + std::to_string(mode) + " is not a cudnnConvolutionMode_t");
  if (!valid_type(computeType))
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  "computeType " + std::to_string(computeType) + " is not a cudnnDataType_t");
  cudnnConvolutionStruct& cv = *convDesc;
  cv.set = true;
  cv.pad_h = pad_h;
  cv.pad_w = pad_w;
  cv.u = u;
  cv.v = v;
  cv.dil_h = dilation_h;
  cv.dil_w = dilation_w;
  cv.mode = mode;
  cv.compute = computeType;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t convDesc, int groupCount) {
  const char* call = "cudnnSetConvolutionGroupCount";
  if (cudnnStatus_t st = check_live(call, "convolution", convDesc, Kind::Convolution)) return st;
  if (groupCount < 1)
    return reject(CUDNN_STATUS_BAD_PARAM, call, "groupCount is " + std::to_string(groupCount) + "; it must be >= 1");
  convDesc->groups = groupCount;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType) {
  const char* call = "cudnnSetConvolutionMathType";
  if (cudnnStatus_t st = check_live(call, "convolution", convDesc, Kind::Convolution)) return st;
  if (static_cast<int>(mathType) < 0 || static_cast<int>(mathType) > 3)
    return reject(CUDNN_STATUS_BAD_PARAM, call, "mathType " + std::to_string(mathType) + " is not a cudnnMathType_t");
  convDesc->math = mathType;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc,
                                                    const cudnnTensorDescriptor_t inputTensorDesc,
                                                    const cudnnFilterDescriptor_t filterDesc, int* n, int* c, int* h,
                                                    int* w) {
  const char* call = "cudnnGetConvolution2dForwardOutputDim";
  if (cudnnStatus_t st = check_live(call, "convolution", convDesc, Kind::Convolution)) return st;
  if (cudnnStatus_t st = check_live(call, "input", inputTensorDesc, Kind::Tensor)) return st;
  if (cudnnStatus_t st = check_live(call, "filter", filterDesc, Kind::Filter)) return st;
  if (!n || !c || !h || !w) return reject(CUDNN_STATUS_BAD_PARAM, call, "an output pointer is null");
  if (!convDesc->set || !inputTensorDesc->set || !filterDesc->set)
    return reject(CUDNN_STATUS_BAD_PARAM, call,
                  std::string("the ") +
                      (!convDesc->set ? "convolution" : !inputTensorDesc->set ? "input" : "filter") +
                      " descriptor was created but never set");
  int o[4];
  if (cudnnStatus_t st = output_dims(call, *convDesc, *inputTensorDesc, "the input", *filterDesc, "the filter", o))
    return st;
  *n = o[0];
  *c = o[1];
  *h = o[2];
  *w = o[3];
  return CUDNN_STATUS_SUCCESS;
}

// ---- heuristics and workspace sizes ---------------------------------------------------------
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

// ---- convolutions ---------------------------------------------------------------------------
cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha, const cudnnTensorDescriptor_t xDesc,
                                      const void* x, const cudnnFilterDescriptor_t wDesc, const void* w,
                                      const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
                                      void* workSpace, size_t workSpaceSizeInBytes, const void* beta,
                                      const cudnnTensorDescriptor_t yDesc, void* y) {
  return convolve("cudnnConvolutionForward", kForward, handle, alpha, beta, xDesc, x, wDesc, w, convDesc, yDesc, y,
                  algo, workSpace, workSpaceSizeInBytes);
}
cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void* alpha,
                                           const cudnnFilterDescriptor_t wDesc, const void* w,
                                           const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                           const cudnnConvolutionDescriptor_t convDesc,
                                           cudnnConvolutionBwdDataAlgo_t algo, void* workSpace,
                                           size_t workSpaceSizeInBytes, const void* beta,
                                           const cudnnTensorDescriptor_t dxDesc, void* dx) {
  return convolve("cudnnConvolutionBackwardData", kBackwardData, handle, alpha, beta, dxDesc, dx, wDesc, w, convDesc,
                  dyDesc, dy, algo, workSpace, workSpaceSizeInBytes);
}
cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void* alpha,
                                             const cudnnTensorDescriptor_t xDesc, const void* x,
                                             const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                             const cudnnConvolutionDescriptor_t convDesc,
                                             cudnnConvolutionBwdFilterAlgo_t algo, void* workSpace,
                                             size_t workSpaceSizeInBytes, const void* beta,
                                             const cudnnFilterDescriptor_t dwDesc, void* dw) {
  return convolve("cudnnConvolutionBackwardFilter", kBackwardFilter, handle, alpha, beta, xDesc, x, dwDesc, dw,
                  convDesc, dyDesc, dy, algo, workSpace, workSpaceSizeInBytes);
}

}  // extern "C"
