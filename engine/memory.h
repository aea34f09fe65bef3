// Memory. CPU: 64-byte aligned allocations. CUDA: stream-ordered allocations (cudaMallocAsync)
// from the device's memory pool with a release threshold, so no cudaMalloc/cudaFree happens
// inside a step and a step can be captured into a CUDA graph. Both count current and peak bytes.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/device.h"

namespace bnas {

void* allocate(Device d, size_t bytes);
void deallocate(Device d, void* p, size_t bytes);

struct MemoryStats {
  size_t current = 0;  // bytes held by live tensors
  size_t peak = 0;     // high-water mark since start or last reset
};
MemoryStats memory_stats(Device d);
void reset_peak_memory(Device d);

// Byte copies between any two devices, ordered on the CUDA stream when one side is a GPU.
void copy_bytes(Device dst_dev, void* dst, Device src_dev, const void* src, size_t bytes);
void fill_zero_bytes(Device d, void* p, size_t bytes);

}  // namespace bnas
