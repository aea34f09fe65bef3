// The emulated cuDNN (see emulator/include/cudnn.h): execution of the three convolutions, and the
// C API of versions, errors, handles, descriptors and convolutions. cudnn_state.h describes the
// design and what the other parts (cudnn_problem.cpp, cudnn_algorithms.cpp) hold.
//
// Execution. A convolution is one cuda_emu::submit of kind Library on the handle's stream, with
// the buffers it reads and writes (and the workspace the algorithm uses), so it is stream
// ordered, hazard checked, captured into graphs and counted under the call's name. alpha and
// beta are host values read at call time, as cuDNN reads them; the closure keeps copies (a graph
// replays the values of the capture).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "cudnn_state.h"
#include "emu.h"
#include "kernels/cpu/conv.h"

namespace cudnn_emu {
namespace {

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
}  // namespace cudnn_emu

using namespace cudnn_emu;

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
