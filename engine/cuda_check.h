// CUDA_CHECK, CUDNN_CHECK, CUBLAS_CHECK, their *_CLEANUP variants and CUDA_CHECK_LAUNCH for engine
// and tools code, defined in the lowest layer (kernels/cuda_check.h) because the kernels use them
// too. Only include from CUDA-enabled translation units.
#pragma once
#include "kernels/cuda_check.h"
