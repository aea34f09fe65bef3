// Memory. CPU: 64-byte aligned allocations. CUDA: stream-ordered allocations (cudaMallocAsync)
// from the device's memory pool with a release threshold, so no cudaMalloc/cudaFree happens
// inside a step and a step can be captured into a CUDA graph. Both count current and peak bytes
// requested (on the host), and report beside them what the allocator holds: on a GPU the memory
// pool's reserved bytes (what nvidia-smi sees, including freed blocks the pool keeps, cuDNN
// workspaces and fragmentation), on the CPU the requested figures themselves.
#pragma once
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "engine/device.h"

namespace bnas {

void* allocate(Device d, size_t bytes);
void deallocate(Device d, void* p, size_t bytes);

struct MemoryStats {
  size_t current = 0;  // bytes held by live tensors (the sizes requested, counted on the host)
  size_t peak = 0;     // high-water mark of current since start or last reset
  // Bytes the allocator holds: on a GPU the device's default memory pool's reserved memory
  // (cudaMemPoolAttrReservedMemCurrent), on the CPU equal to current.
  size_t reserved = 0;
  // Its high-water mark since start or last reset (cudaMemPoolAttrReservedMemHigh); on the CPU
  // equal to peak.
  size_t reserved_peak = 0;
};
MemoryStats memory_stats(Device d);
// Resets peak to current and, on a GPU, the pool's reserved high-water mark to its reserved bytes.
void reset_peak_memory(Device d);

// The GPU allocations and frees of this thread while a ledger is alive: how StepGraph
// (engine/cuda_graph.h) checks that a captured step frees exactly what it allocates (a tensor
// allocated inside a CUDA graph and kept after it would point into the graph's memory; one
// allocated before it and freed inside would be freed again at every replay). Not nestable.
class AllocationLedger {
 public:
  AllocationLedger();
  ~AllocationLedger();
  AllocationLedger(const AllocationLedger&) = delete;
  AllocationLedger& operator=(const AllocationLedger&) = delete;
  size_t kept_bytes() const;    // allocated while the ledger lives and not freed yet
  size_t foreign_bytes() const { return foreign_; }  // freed while it lives, allocated before it

 private:
  friend void* allocate(Device d, size_t bytes);
  friend void deallocate(Device d, void* p, size_t bytes);
  std::unordered_map<void*, size_t> live_;
  size_t foreign_ = 0;
};

// Byte copies between any two devices, ordered on the CUDA stream when one side is a GPU. A copy
// between two GPUs runs on the destination's stream after the work queued so far on the
// source's stream, and the source's stream waits for it before its later work (which may free
// or overwrite the source).
void copy_bytes(Device dst_dev, void* dst, Device src_dev, const void* src, size_t bytes);
void fill_zero_bytes(Device d, void* p, size_t bytes);

}  // namespace bnas
