// CPU loops over the shared augmentation math in kernels/augment.h. augment_batch is the CPU
// backend of the device-resident pipeline and the reference for kernels/cuda/augment.cu (draws
// once per image, then the same per-element function the CUDA threads call). resample_jitter
// is the per-image transform of the decode pool: resample into [0, 1], one pass per jitter op
// in the image's drawn order (contrast first measures the mean grey), then normalise.
#include <vector>

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
  float* r = out;
  float* g = out + plane;
  float* b = out + 2 * plane;
  std::vector<Tap> xt(static_cast<size_t>(s));
  for (int x = 0; x < s; ++x) xt[x] = bilinear_tap(d.box.x0, d.box.sx, d.flip ? s - 1 - x : x, w);
  for (int y = 0; y < s; ++y) {
    const Tap ty = bilinear_tap(d.box.y0, d.box.sy, y, h);
    for (int ch = 0; ch < 3; ++ch)
      for (int x = 0; x < s; ++x) out[ch * plane + y * s + x] = bilinear_hwc(src, w, 3, ch, ty, xt[x]) / 255.0f;
  }
  for (const int op : d.order) {
    if (op == kBrightness && d.brightness != 1.0f) {
      for (int64_t i = 0; i < 3 * plane; ++i) out[i] = blend(out[i], 0.0f, d.brightness);
    } else if (op == kContrast && d.contrast != 1.0f) {
      double sum = 0;
      for (int64_t i = 0; i < plane; ++i) sum += grey(r[i], g[i], b[i]);
      const auto mean = static_cast<float>(sum / plane);
      for (int64_t i = 0; i < 3 * plane; ++i) out[i] = blend(out[i], mean, d.contrast);
    } else if (op == kSaturation && d.saturation != 1.0f) {
      for (int64_t i = 0; i < plane; ++i) {
        const float gr = grey(r[i], g[i], b[i]);
        r[i] = blend(r[i], gr, d.saturation);
        g[i] = blend(g[i], gr, d.saturation);
        b[i] = blend(b[i], gr, d.saturation);
      }
    } else if (op == kHue && d.hue != 0.0f) {
      for (int64_t i = 0; i < plane; ++i) {
        float px[3] = {r[i], g[i], b[i]};
        shift_hue(px, d.hue);
        r[i] = px[0];
        g[i] = px[1];
        b[i] = px[2];
      }
    }
  }
  for (int ch = 0; ch < 3; ++ch)
    for (int64_t i = 0; i < plane; ++i) out[ch * plane + i] = (out[ch * plane + i] - p.mean[ch]) / p.std[ch];
}

}  // namespace bnas::kernels::cpu
