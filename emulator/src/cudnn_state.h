// Internal declarations shared by the emulated cuDNN's parts (see emulator/include/cudnn.h):
// cudnn_problem.cpp (errors, the registry of live objects, enumerations, geometry and the
// resolution of a convolution problem), cudnn_algorithms.cpp (algorithms, heuristics and
// workspace sizes) and cudnn.cpp (execution, and the C API of versions, errors, handles,
// descriptors and the three convolutions).
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
//  * Algorithms and execution: see cudnn_algorithms.cpp and cudnn.cpp.
#pragma once
#include <cudnn.h>

#include <cstddef>
#include <string>

#include "kernels/conv_shape.h"

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

namespace cudnn_emu {

using bnas::kernels::ConvShape;

// ---- errors (cudnn_problem.cpp) -------------------------------------------------------------
// The calling thread's latest error sentence ("<call>: <sentence>"), for cudnnGetLastErrorString.
extern thread_local std::string t_last_error;

// Keeps "<call>: <sentence>" as the thread's latest error, writes it to stderr as
// "cuDNN emulator: <call>: <sentence>" and returns status.
cudnnStatus_t reject(cudnnStatus_t status, const char* call, const std::string& sentence);

// ---- the registry of live objects (cudnn_problem.cpp) ---------------------------------------
enum class Kind { Handle, Tensor, Filter, Convolution };

void enroll(const void* p, Kind k);
bool is_live(const void* p, Kind k);
// Removes p if it is a live object of kind k; false (and nothing removed) otherwise.
bool retire(const void* p, Kind k);
const char* noun(Kind k);  // "tensor descriptor", ...
std::string address(const void* p);

// BAD_PARAM unless p is a live object of kind k; `role` names it in the sentence ("x", "handle").
cudnnStatus_t check_live(const char* call, const char* role, const void* p, Kind k);
cudnnStatus_t check_handle(const char* call, cudnnHandle_t h);

// ---- enumerations (cudnn_problem.cpp) -------------------------------------------------------
bool valid_type(cudnnDataType_t t);
const char* type_name(cudnnDataType_t t);
bool valid_format(cudnnTensorFormat_t f);

// ---- geometry (cudnn_problem.cpp) -----------------------------------------------------------
std::string dims(int n, int c, int h, int w);  // "n x c x h x w"
std::string dims(const cudnnTensorStruct& t);
std::string dims(const cudnnFilterStruct& f);

// The output dimensions of convolving img with f under cv, or BAD_PARAM when they do not fit
// together. img_role / f_role name them in the sentence.
cudnnStatus_t output_dims(const char* call, const cudnnConvolutionStruct& cv, const cudnnTensorStruct& img,
                          const char* img_role, const cudnnFilterStruct& f, const char* f_role, int out[4]);

// ---- one convolution problem (cudnn_problem.cpp) --------------------------------------------
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
                      cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t out, Problem* p);

// ---- algorithms (cudnn_algorithms.cpp) ------------------------------------------------------
constexpr int kAlgoCount[3] = {CUDNN_CONVOLUTION_FWD_ALGO_COUNT, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                               CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT};

// The enumerator's name of algorithm `algo` of direction d ("CUDNN_CONVOLUTION_FWD_ALGO_GEMM").
std::string algo_name(Dir d, int algo);

struct AlgoInfo {
  bool supported = true;
  size_t workspace = 0;
  cudnnDeterminism_t determinism = CUDNN_DETERMINISTIC;
  std::string why_not;  // when unsupported
};

// Whether algo runs problem p in direction d, with how much workspace, and whether cuDNN
// documents it as deterministic.
AlgoInfo algo_info(Dir d, int algo, const Problem& p);

}  // namespace cudnn_emu
