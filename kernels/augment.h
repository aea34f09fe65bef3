// Data augmentation math shared by the CPU loop (kernels/cpu/augment.cpp) and the CUDA kernel
// (kernels/cuda/augment.cu). Every random choice is a pure function of (RandomRange, image slot):
// image k of a batch reads its draws from fixed lanes [k * kLanes, (k + 1) * kLanes) of the
// Philox stream, so both backends, any thread layout and any resume point see the same values.
//
// Two transforms:
//  * CropFlipCutout, for the small datasets that live whole on the device (CIFAR, MNIST family):
//    uint8 source [C, H, W] -> float [C, out_h, out_w], in torchvision's DARTS order
//    RandomCrop(out, padding=pad) -> RandomHorizontalFlip -> ToTensor -> Normalize -> Cutout(L).
//    Padding is zero in uint8 space (so it normalises to -mean/std, as in torchvision); cutout
//    writes 0 after normalisation (DARTS' Cutout runs on the normalised tensor).
//  * ResampleJitter, for decoded images of any size (ImageNet): uint8 source [H, W, 3] (stb's
//    interleaved RGB) -> float [3, S, S] by bilinear sampling of a box of the source
//    (random-resized-crop for training, resize-shorter-side + center crop for testing), random
//    flip, colour jitter as torchvision's ColorJitter on float tensors (brightness, contrast,
//    saturation and hue, in a random order drawn per image) and normalisation. Contrast needs
//    the image's mean grey level, a reduction, so this transform runs as a per-image loop of a
//    few passes on the CPU decode threads.
//
// Bit-exactness across backends: the crop/flip/cutout/normalise path uses only exact integer
// index math, an int->float conversion and correctly rounded division and subtraction, which
// nvcc never contracts, so CPU and GPU results are identical bit for bit.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/philox.h"

namespace bnas::kernels {

constexpr int kMaxAugChannels = 4;

// ---------------------------------------------------------------------------------------------
// Crop + flip + cutout + normalise (small datasets).

struct CropFlipCutout {
  static constexpr int kLanes = 8;  // Philox values per image: dy, dx, flip, cutout y, cutout x
  int c = 3, h = 32, w = 32;        // source image
  int out_h = 32, out_w = 32;       // output image (<= h + 2 pad, w + 2 pad)
  int pad = 0;                      // zero padding on each side before cropping
  bool random_crop = false;         // false: center crop of the padded image
  bool flip = false;                // horizontal flip with probability 1/2
  int cutout = 0;                   // cutout side length L (0: off)
  float mean[kMaxAugChannels] = {0, 0, 0, 0};
  float std[kMaxAugChannels] = {1, 1, 1, 1};
  uint64_t seed = 0, stream = 0, offset = 0;  // RandomRange of the batch
};

struct CropDraw {
  int dy, dx;   // top-left corner of the crop in the padded image
  bool flip;
  int y1, y2, x1, x2;  // cutout rectangle [y1, y2) x [x1, x2) in output coordinates (empty if off)
};

// Draws of image slot k (its position in the batch).
BNAS_HD CropDraw draw_crop_flip_cutout(const CropFlipCutout& p, int64_t k) {
  const uint64_t base = static_cast<uint64_t>(k) * CropFlipCutout::kLanes;
  const int range_y = p.h + 2 * p.pad - p.out_h + 1, range_x = p.w + 2 * p.pad - p.out_w + 1;
  CropDraw d;
  if (p.random_crop) {
    d.dy = static_cast<int>(rng::below_at(p.seed, p.stream, p.offset, base + 0, static_cast<uint32_t>(range_y)));
    d.dx = static_cast<int>(rng::below_at(p.seed, p.stream, p.offset, base + 1, static_cast<uint32_t>(range_x)));
  } else {
    d.dy = (range_y - 1) / 2;
    d.dx = (range_x - 1) / 2;
  }
  d.flip = p.flip && rng::uniform_at(p.seed, p.stream, p.offset, base + 2) < 0.5f;
  d.y1 = d.y2 = d.x1 = d.x2 = 0;
  if (p.cutout > 0) {
    // DARTS: y = randint(h); y1 = clip(y - L // 2, 0, h); y2 = clip(y + L // 2, 0, h).
    const int cy = static_cast<int>(rng::below_at(p.seed, p.stream, p.offset, base + 3, static_cast<uint32_t>(p.out_h)));
    const int cx = static_cast<int>(rng::below_at(p.seed, p.stream, p.offset, base + 4, static_cast<uint32_t>(p.out_w)));
    const int half = p.cutout / 2;
    d.y1 = cy - half < 0 ? 0 : cy - half;
    d.y2 = cy + half > p.out_h ? p.out_h : cy + half;
    d.x1 = cx - half < 0 ? 0 : cx - half;
    d.x2 = cx + half > p.out_w ? p.out_w : cx + half;
  }
  return d;
}

// (v / 255 - mean) / std, the ToTensor + Normalize pair. On the device the explicitly rounded
// intrinsics keep it IEEE-exact even if someone builds with --use_fast_math.
BNAS_HD float normalize_u8(float v, float mean, float std) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(__fsub_rn(__fdiv_rn(v, 255.0f), mean), std);
#else
  return (v / 255.0f - mean) / std;
#endif
}

// Output element (ch, y, x) of one image; src is that image's uint8 [C, H, W].
BNAS_HD float crop_flip_cutout_at(const CropFlipCutout& p, const CropDraw& d, const uint8_t* src,
                                  int ch, int y, int x) {
  if (y >= d.y1 && y < d.y2 && x >= d.x1 && x < d.x2) return 0.0f;
  const int xs = d.flip ? p.out_w - 1 - x : x;
  const int iy = y + d.dy - p.pad, ix = xs + d.dx - p.pad;
  const bool inside = iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
  const float v = inside ? static_cast<float>(src[(static_cast<int64_t>(ch) * p.h + iy) * p.w + ix]) : 0.0f;
  return normalize_u8(v, p.mean[ch], p.std[ch]);
}

// ---------------------------------------------------------------------------------------------
// Resample + flip + colour jitter + normalise (decoded images of any size).

struct ResampleJitter {
  // Philox values per image: 40 for random-resized-crop (10 attempts x scale, ratio, y, x),
  // then flip, brightness, contrast, saturation, hue, and 3 for the order of the four.
  static constexpr int kLanes = 48;
  int size = 224;            // output S x S
  bool random_resized_crop = false;  // false: resize shorter side to `resize`, center crop S
  int resize = 256;
  float scale_min = 0.08f, scale_max = 1.0f;
  float ratio_min = 3.0f / 4.0f, ratio_max = 4.0f / 3.0f;
  bool flip = false;
  float brightness = 0, contrast = 0, saturation = 0;  // factors uniform in [1 - s, 1 + s] (0: off)
  float hue = 0;                                       // shift uniform in [-hue, hue] (<= 0.5)
  float mean[3] = {0, 0, 0};
  float std[3] = {1, 1, 1};
  uint64_t seed = 0, stream = 0, offset = 0;
};

// Source box sampled into the output: source y = y0 + (oy + 0.5) * sy - 0.5 (half-pixel
// centres, like torch's interpolate with align_corners=False; no antialiasing).
struct SampleBox {
  float y0, x0, sy, sx;
};

enum JitterOp { kBrightness = 0, kContrast = 1, kSaturation = 2, kHue = 3 };

struct ResampleDraw {
  SampleBox box;
  bool flip;
  float brightness, contrast, saturation;  // factors (1: identity)
  float hue;                               // shift in turns (0: identity)
  int order[4];                            // JitterOps in the order they apply
};

BNAS_HD int round_half_even(double v) { return static_cast<int>(nearbyint(v)); }  // Python round()

// torchvision's RandomResizedCrop.get_params: 10 attempts, then a center crop clamped to the
// ratio range. Returns the crop (top, left, height, width) in source pixels.
BNAS_HD void random_resized_crop_box(const ResampleJitter& p, uint64_t base, int h, int w, int* top,
                                     int* left, int* ch, int* cw) {
  const double area = static_cast<double>(h) * w;
  const double log_r0 = log(static_cast<double>(p.ratio_min)), log_r1 = log(static_cast<double>(p.ratio_max));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const uint64_t l = base + 4 * attempt;
    const double s = p.scale_min + (p.scale_max - p.scale_min) * static_cast<double>(rng::uniform_at(p.seed, p.stream, p.offset, l));
    const double ar = exp(log_r0 + (log_r1 - log_r0) * static_cast<double>(rng::uniform_at(p.seed, p.stream, p.offset, l + 1)));
    const int bw = round_half_even(sqrt(area * s * ar)), bh = round_half_even(sqrt(area * s / ar));
    if (bw > 0 && bw <= w && bh > 0 && bh <= h) {
      *top = static_cast<int>(rng::below_at(p.seed, p.stream, p.offset, l + 2, static_cast<uint32_t>(h - bh + 1)));
      *left = static_cast<int>(rng::below_at(p.seed, p.stream, p.offset, l + 3, static_cast<uint32_t>(w - bw + 1)));
      *ch = bh;
      *cw = bw;
      return;
    }
  }
  const double in_ratio = static_cast<double>(w) / h;
  int bw = w, bh = h;
  if (in_ratio < p.ratio_min) {
    bh = round_half_even(w / static_cast<double>(p.ratio_min));
  } else if (in_ratio > p.ratio_max) {
    bw = round_half_even(h * static_cast<double>(p.ratio_max));
  }
  *top = (h - bh) / 2;
  *left = (w - bw) / 2;
  *ch = bh;
  *cw = bw;
}

// Draws of image slot k for a source image of h x w pixels.
BNAS_HD ResampleDraw draw_resample_jitter(const ResampleJitter& p, int64_t k, int h, int w) {
  const uint64_t base = static_cast<uint64_t>(k) * ResampleJitter::kLanes;
  ResampleDraw d;
  if (p.random_resized_crop) {
    int top, left, bh, bw;
    random_resized_crop_box(p, base, h, w, &top, &left, &bh, &bw);
    d.box = {static_cast<float>(top), static_cast<float>(left), static_cast<float>(bh) / p.size,
             static_cast<float>(bw) / p.size};
  } else {
    // torchvision Resize(resize) (shorter side, long side int(resize * long / short)) then
    // CenterCrop(size) with offsets int(round((resized - size) / 2)).
    const int rh = h <= w ? p.resize : static_cast<int>(static_cast<int64_t>(p.resize) * h / w);
    const int rw = h <= w ? static_cast<int>(static_cast<int64_t>(p.resize) * w / h) : p.resize;
    const float sy = static_cast<float>(h) / rh, sx = static_cast<float>(w) / rw;
    const int top = round_half_even((rh - p.size) / 2.0), left = round_half_even((rw - p.size) / 2.0);
    d.box = {top * sy, left * sx, sy, sx};
  }
  auto factor = [&](int lane, float strength) {  // uniform in [1 - s, 1 + s], floored at 0
    if (strength <= 0) return 1.0f;
    const float u = rng::uniform_at(p.seed, p.stream, p.offset, base + lane);
    const float f = 1.0f - strength + 2.0f * strength * u;
    return f < 0 ? 0.0f : f;
  };
  d.flip = p.flip && rng::uniform_at(p.seed, p.stream, p.offset, base + 40) < 0.5f;
  d.brightness = factor(41, p.brightness);
  d.contrast = factor(42, p.contrast);
  d.saturation = factor(43, p.saturation);
  d.hue = p.hue > 0 ? -p.hue + 2.0f * p.hue * rng::uniform_at(p.seed, p.stream, p.offset, base + 44) : 0.0f;
  for (int i = 0; i < 4; ++i) d.order[i] = i;
  for (int i = 3; i > 0; --i) {  // Fisher-Yates, like torch.randperm(4)
    const int j = static_cast<int>(rng::below_at(p.seed, p.stream, p.offset, base + 48 - i, static_cast<uint32_t>(i + 1)));
    const int t = d.order[i];
    d.order[i] = d.order[j];
    d.order[j] = t;
  }
  return d;
}

// Bilinear sampling, split per axis so that loops can precompute the taps of a row and of a
// column: output index o of an axis with origin o0 and step `scale` over n source pixels reads
// source pixels i0 and i1 with weight t on i1 (coordinate clamped to the edges).
struct Tap {
  int i0, i1;
  float t;
};
BNAS_HD Tap bilinear_tap(float o0, float scale, int o, int n) {
  float f = o0 + (o + 0.5f) * scale - 0.5f;
  f = f < 0 ? 0 : (f > n - 1 ? n - 1 : f);
  const int i0 = static_cast<int>(f);
  return {i0, i0 + 1 < n ? i0 + 1 : i0, f - i0};
}
// Channel ch of an interleaved uint8 [H, W, C] image at taps (ty, tx); a value in [0, 255].
BNAS_HD float bilinear_hwc(const uint8_t* src, int w, int c, int ch, const Tap& ty, const Tap& tx) {
  auto at = [&](int y, int x) { return static_cast<float>(src[(static_cast<int64_t>(y) * w + x) * c + ch]); };
  const float top = at(ty.i0, tx.i0) + (at(ty.i0, tx.i1) - at(ty.i0, tx.i0)) * tx.t;
  const float bot = at(ty.i1, tx.i0) + (at(ty.i1, tx.i1) - at(ty.i1, tx.i0)) * tx.t;
  return top + (bot - top) * ty.t;
}

BNAS_HD float clamp01(float v) { return v < 0 ? 0.0f : (v > 1 ? 1.0f : v); }
// ITU-R 601 luma, as torchvision's rgb_to_grayscale.
BNAS_HD float grey(float r, float g, float b) { return 0.299f * r + 0.587f * g + 0.114f * b; }
// torchvision's _blend: clamp(f * a + (1 - f) * b, 0, 1).
BNAS_HD float blend(float a, float b, float f) { return clamp01(f * a + (1.0f - f) * b); }

// torchvision's adjust_hue on a float pixel in [0, 1]: RGB -> HSV (its _rgb2hsv), hue + shift
// modulo 1, HSV -> RGB (its _hsv2rgb). Same formulas up to float rounding: the hue uses one
// division ((g - b) / (max - min) rather than (max - b) / cr - (max - g) / cr), and x mod 1 is
// x - trunc(x) (exact for x >= 0, like fmod).
BNAS_HD void shift_hue(float* rgb, float shift) {
  const float r = rgb[0], g = rgb[1], b = rgb[2];
  const float maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
  const float minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
  const float cr = maxc - minc;
  if (cr == 0.0f) return;  // grey: no hue, unchanged by any shift
  const float s = cr / maxc;
  float hh = maxc == r ? (g - b) / cr : (maxc == g ? 2.0f + (b - r) / cr : 4.0f + (r - g) / cr);
  hh = hh / 6.0f + 1.0f + shift + 1.0f;  // > 0 for |shift| <= 0.5 and hh >= -1
  hh -= static_cast<float>(static_cast<int>(hh));
  const float v = maxc;
  const int i = static_cast<int>(hh * 6.0f);
  const float f = hh * 6.0f - static_cast<float>(i);
  const int sector = i % 6;
  const float pp = clamp01(v * (1.0f - s)), q = clamp01(v * (1.0f - s * f)), t = clamp01(v * (1.0f - s * (1.0f - f)));
  const float x0 = sector == 0 || sector == 5 ? v : (sector == 1 ? q : (sector == 4 ? t : pp));
  const float x1 = sector == 1 || sector == 2 ? v : (sector == 0 ? t : (sector == 3 ? q : pp));
  const float x2 = sector == 3 || sector == 4 ? v : (sector == 2 ? t : (sector == 5 ? q : pp));
  rgb[0] = x0;
  rgb[1] = x1;
  rgb[2] = x2;
}

}  // namespace bnas::kernels

namespace bnas::kernels::cpu {
// Batch gather + crop/flip/cutout/normalise. images: uint8 [N, C, H, W] (the whole dataset),
// labels: int32 [N], indices: int32 [count] (which images, in batch order; slot k draws lanes
// of k), out: float [count, C, out_h, out_w], out_labels: int32 [count].
void augment_batch(const uint8_t* images, const int32_t* labels, const int32_t* indices,
                   int64_t count, const CropFlipCutout& p, float* out, int32_t* out_labels);
// One decoded image: src uint8 [h, w, 3] -> out float [3, S, S] for batch slot k.
void resample_jitter(const uint8_t* src, int h, int w, const ResampleJitter& p, int64_t k, float* out);
}  // namespace bnas::kernels::cpu
