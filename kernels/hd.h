// BNAS_HD marks per-element math that both backends share: __host__ __device__ under nvcc,
// nothing under the host compiler. The CPU loops call the same functions as the CUDA kernels,
// so the CPU tests exercise the GPU's arithmetic too.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define BNAS_HD __host__ __device__ __forceinline__
#else
// static: each translation unit keeps its own copy. The emulated device compiles the kernel files
// with FMA contraction and the CPU files without; with plain inline the linker would keep one
// copy for both, and a CPU result could silently take the GPU's rounding (or the reverse).
#define BNAS_HD static inline
#endif
