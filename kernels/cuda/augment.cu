// Gather + crop/flip/cutout/normalise for the device-resident pipeline. Grid: x covers the
// C * out_h * out_w elements of one image, y is the batch slot. Thread 0 of each block draws the
// image's crop, flip and cutout into shared memory; every thread then calls the same
// per-element function as the CPU loop, so the results match bit for bit.
#include "kernels/cuda/augment.cuh"
#include "kernels/cuda_check.h"

namespace bnas::kernels::cuda {
namespace {
__global__ void augment_kernel(const uint8_t* images, const int32_t* labels, const int32_t* indices,
                               CropFlipCutout p, float* out, int32_t* out_labels) {
  const int64_t k = blockIdx.y;
  const int plane = p.out_h * p.out_w;
  const int per_image = p.c * plane;
  const int e = blockIdx.x * blockDim.x + threadIdx.x;
  __shared__ CropDraw d;
  if (threadIdx.x == 0) d = draw_crop_flip_cutout(p, k);
  __syncthreads();
  if (e >= per_image) return;
  const int64_t idx = indices[k];
  const uint8_t* src = images + idx * p.c * p.h * p.w;
  const int ch = e / plane, y = (e % plane) / p.out_w, x = e % p.out_w;
  out[k * per_image + e] = crop_flip_cutout_at(p, d, src, ch, y, x);
  if (e == 0) out_labels[k] = labels[idx];
}
}  // namespace

void augment_batch(const uint8_t* images, const int32_t* labels, const int32_t* indices,
                   int64_t count, const CropFlipCutout& p, float* out, int32_t* out_labels,
                   cudaStream_t stream) {
  if (count == 0) return;
  BNAS_CHECK(count <= 65535, "a device batch holds at most 65535 images, got ", count, ".");
  const int per_image = p.c * p.out_h * p.out_w;
  const dim3 grid((per_image + 255) / 256, static_cast<unsigned>(count));
  augment_kernel<<<grid, 256, 0, stream>>>(images, labels, indices, p, out, out_labels);
  CUDA_CHECK_LAUNCH(stream);
}
}  // namespace bnas::kernels::cuda
