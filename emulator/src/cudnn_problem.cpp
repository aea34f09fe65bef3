// The emulated cuDNN's problem: errors, the registry of live objects, the enumerations, the
// geometry of descriptors and their resolution into one convolution problem (see cudnn_state.h).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cudnn_state.h"

namespace cudnn_emu {

// ---- errors ---------------------------------------------------------------------------------
thread_local std::string t_last_error;

cudnnStatus_t reject(cudnnStatus_t status, const char* call, const std::string& sentence) {
  t_last_error = std::string(call) + ": " + sentence;
  std::fprintf(stderr, "cuDNN emulator: %s: %s\n", call, sentence.c_str());
  return status;
}

// ---- the registry of live objects -----------------------------------------------------------
namespace {
struct Registry {
  std::mutex m;
  std::unordered_map<const void*, Kind> live;
};
Registry& registry() {
  // Never destroyed: descriptors are destroyed by static destructors at exit (plan caches).
  static Registry* r = new Registry();
  return *r;
}
}  // namespace

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
namespace {
const char* const kTypeNames[] = {
    "CUDNN_DATA_FLOAT",   "CUDNN_DATA_DOUBLE",    "CUDNN_DATA_HALF",     "CUDNN_DATA_INT8",
    "CUDNN_DATA_INT32",   "CUDNN_DATA_INT8x4",    "CUDNN_DATA_UINT8",    "CUDNN_DATA_UINT8x4",
    "CUDNN_DATA_INT8x32", "CUDNN_DATA_BFLOAT16",  "CUDNN_DATA_INT64",    "CUDNN_DATA_BOOLEAN",
    "CUDNN_DATA_FP8_E4M3", "CUDNN_DATA_FP8_E5M2", "CUDNN_DATA_FAST_FLOAT_FOR_FP8", "CUDNN_DATA_FP8_E8M0",
    "CUDNN_DATA_FP4_E2M1", "CUDNN_DATA_INT4",     "CUDNN_DATA_UINT4",    "CUDNN_DATA_UINT32",
    "CUDNN_DATA_COMPLEX_FP32", "CUDNN_DATA_COMPLEX_FP64"};
constexpr int kTypeCount = sizeof(kTypeNames) / sizeof(kTypeNames[0]);
}  // namespace

bool valid_type(cudnnDataType_t t) { return static_cast<int>(t) >= 0 && static_cast<int>(t) < kTypeCount; }
const char* type_name(cudnnDataType_t t) { return valid_type(t) ? kTypeNames[t] : "an invalid data type"; }

bool valid_format(cudnnTensorFormat_t f) { return static_cast<int>(f) >= 0 && static_cast<int>(f) <= 2; }

// ---- geometry -------------------------------------------------------------------------------
std::string dims(int n, int c, int h, int w) {
  return std::to_string(n) + " x " + std::to_string(c) + " x " + std::to_string(h) + " x " + std::to_string(w);
}
std::string dims(const cudnnTensorStruct& t) { return dims(t.n, t.c, t.h, t.w); }
std::string dims(const cudnnFilterStruct& f) { return dims(f.k, f.c, f.h, f.w); }

namespace {
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
}  // namespace

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

}  // namespace cudnn_emu
