// CPU loops over the shared augmentation math in kernels/augment.h. augment_batch is the CPU
// backend of the device-resident pipeline and the reference for kernels/cuda/augment.cu (draws
// once per image, then the same per-element function the CUDA threads call). resample_jitter
// is the per-image transform of the decode pool (two passes: resample + brightness with the
// running grey sum, then contrast + saturation + normalise).
#include "kernels/augment.h"

namespace bnas::kernels::cpu {

void augment_batch(const uint8_t* images, const int32_t* labels, const int32_t* indices,
                   int64_t count, const CropFlipCutout& p, float* out, int32_t* out_labels) {
  const int64_t src_stride = static_cast<int64_t>(p.c) * p.h * p.w;
  const int64_t dst_stride = static_cast<int64_t>(p.c) * p.out_h * p.out_w;
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < count; ++k) {
    const CropDraw d = draw_crop_flip_cutout(p, k);
    const uint8_t* src = images + indices[k] * src_stride;
    float* dst = out + k * dst_stride;
    for (int ch = 0; ch < p.c; ++ch)
      for (int y = 0; y < p.out_h; ++y)
        for (int x = 0; x < p.out_w; ++x)
          *dst++ = crop_flip_cutout_at(p, d, src, ch, y, x);
    out_labels[k] = labels[indices[k]];
  }
}

void resample_jitter(const uint8_t* src, int h, int w, const ResampleJitter& p, int64_t k, float* out) {
  const ResampleDraw d = draw_resample_jitter(p, k, h, w);
  const int s = p.size;
  const int64_t plane = static_cast<int64_t>(s) * s;
  double grey_sum = 0;
  for (int y = 0; y < s; ++y) {
    for (int x = 0; x < s; ++x) {
      const int xs = d.flip ? s - 1 - x : x;
      float rgb[3];
      for (int ch = 0; ch < 3; ++ch)
        rgb[ch] = clamp01(bilinear_hwc(src, h, w, 3, ch, d.box, y, xs) / 255.0f * d.brightness);
      for (int ch = 0; ch < 3; ++ch) out[ch * plane + y * s + x] = rgb[ch];
      grey_sum += grey(rgb[0], rgb[1], rgb[2]);
    }
  }
  const float grey_mean = static_cast<float>(grey_sum / plane);
  for (int64_t i = 0; i < plane; ++i) {
    float rgb[3];
    for (int ch = 0; ch < 3; ++ch) rgb[ch] = blend(out[ch * plane + i], grey_mean, d.contrast);
    const float g = grey(rgb[0], rgb[1], rgb[2]);
    for (int ch = 0; ch < 3; ++ch)
      out[ch * plane + i] = (blend(rgb[ch], g, d.saturation) - p.mean[ch]) / p.std[ch];
  }
}

}  // namespace bnas::kernels::cpu
