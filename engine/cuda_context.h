// Per-device CUDA state for the engine: one non-blocking stream, lazily created cuDNN and
// cuBLAS handles bound to it, and a memory pool with a release threshold. Only for
// CUDA-enabled translation units (BNAS_WITH_CUDA).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "engine/device.h"

namespace bnas {

cudaStream_t cuda_stream(Device d);
cudnnHandle_t cudnn_handle(Device d);
cublasHandle_t cublas_handle(Device d);
// Makes d the current device of this thread (kernels launch on the current device).
void set_cuda_device(Device d);

}  // namespace bnas
