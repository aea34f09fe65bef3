// CUDA twin of kernels::cpu::augment_batch (kernels/augment.h): one kernel gathers a batch from
// the device-resident dataset, augments, normalises and gathers the labels.
#pragma once
#include <cuda_runtime_api.h>

#include "kernels/augment.h"

namespace bnas::kernels::cuda {
// images: uint8 [N, C, H, W], labels: int32 [N], indices: int32 [count] (all device memory);
// out: float [count, C, out_h, out_w], out_labels: int32 [count]. Queued on `stream`.
void augment_batch(const uint8_t* images, const int32_t* labels, const int32_t* indices,
                   int64_t count, const CropFlipCutout& p, float* out, int32_t* out_labels,
                   cudaStream_t stream);
}  // namespace bnas::kernels::cuda
