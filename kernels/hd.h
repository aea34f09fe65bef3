// BNAS_HD marks per-element math that both backends share: __host__ __device__ under nvcc,
// nothing under the host compiler. The CPU loops call the same functions as the CUDA kernels,
// so the CPU tests exercise the GPU's arithmetic too.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define BNAS_HD __host__ __device__ __forceinline__
#else
#define BNAS_HD inline
#endif
