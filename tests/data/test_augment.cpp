// Augmentation properties: crop offsets in range, crop/flip correctness, cutout area,
// normalisation values, random-resized-crop box rules, resize + center crop, jitter factors,
// and determinism by seed (including invariance to how a run is split into batches).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "data/augment.h"
#include "data_fixtures.h"
#include "kernels/augment.h"

namespace bnas::data {
namespace {

// n images of c x h x w whose pixels are all >= 1 (so a 0 output can only be cutout).
ImageSet pattern_set(int n, int c, int h, int w) {
  ImageSet s;
  s.n = n;
  s.c = c;
  s.h = h;
  s.w = w;
  s.num_classes = 10;
  for (int i = 0; i < n; ++i) {
    s.labels.push_back(i % 10);
    for (int k = 0; k < c * h * w; ++k) s.pixels.push_back(static_cast<uint8_t>(1 + (i * 31 + k * 7) % 250));
  }
  return s;
}
std::vector<int32_t> iota(int n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[i] = i;
  return v;
}
CropAugment plain() {  // identity: no crop, flip or cutout; mean 0, std 1
  return CropAugment{};
}

TEST(Augment, NormalisationValues) {
  const ImageSet s = pattern_set(2, 3, 4, 5);
  CropAugment a;
  a.mean = {0.5f, 0.25f, 0.1f};
  a.std = {0.2f, 0.5f, 2.0f};
  std::vector<int32_t> labels;
  const auto out = augment_batch_cpu(s, {1, 0}, a, augment_range(1, 0, 0, 8), &labels);
  EXPECT_EQ(labels, (std::vector<int32_t>{1, 0}));
  for (int ch = 0; ch < 3; ++ch)
    for (int e = 0; e < 20; ++e) {
      const float v = s.image(1)[ch * 20 + e];
      EXPECT_EQ(out[ch * 20 + e], (v / 255.0f - a.mean[ch]) / a.std[ch]);
    }
}

TEST(Augment, RandomCropOffsetsInRangeAndPixelsShifted) {
  const int n = 400, pad = 4;
  const ImageSet s = pattern_set(n, 3, 8, 8);
  CropAugment a = plain();
  a.pad = pad;
  a.random_crop = true;
  const RandomRange r = augment_range(5, 0, 0, 8);
  std::vector<int32_t> labels;
  const auto out = augment_batch_cpu(s, iota(n), a, r, &labels);
  const auto p = crop_params(a, 3, 8, 8, r);
  std::set<int> seen_dy, seen_dx;
  for (int k = 0; k < n; ++k) {
    const kernels::CropDraw d = kernels::draw_crop_flip_cutout(p, k);
    ASSERT_GE(d.dy, 0);
    ASSERT_LE(d.dy, 2 * pad);
    ASSERT_GE(d.dx, 0);
    ASSERT_LE(d.dx, 2 * pad);
    seen_dy.insert(d.dy);
    seen_dx.insert(d.dx);
    for (int ch = 0; ch < 3; ++ch)
      for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) {
          const int iy = y + d.dy - pad, ix = x + d.dx - pad;
          const float want = iy >= 0 && iy < 8 && ix >= 0 && ix < 8 ? s.image(k)[(ch * 8 + iy) * 8 + ix] / 255.0f : 0.0f;
          ASSERT_EQ(out[((k * 3 + ch) * 8 + y) * 8 + x], want);
        }
  }
  EXPECT_EQ(seen_dy.size(), 9u);  // every offset 0..8 occurs
  EXPECT_EQ(seen_dx.size(), 9u);
}

TEST(Augment, FlipMirrorsAboutHalfTheImages) {
  const int n = 1000;
  const ImageSet s = pattern_set(n, 1, 3, 6);
  CropAugment a = plain();
  a.flip = true;
  std::vector<int32_t> labels;
  const auto out = augment_batch_cpu(s, iota(n), a, augment_range(9, 2, 0, 8), &labels);
  int flipped = 0;
  for (int k = 0; k < n; ++k) {
    bool same = true, mirrored = true;
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 6; ++x) {
        const float o = out[(k * 3 + y) * 6 + x];
        same &= o == s.image(k)[y * 6 + x] / 255.0f;
        mirrored &= o == s.image(k)[y * 6 + (5 - x)] / 255.0f;
      }
    ASSERT_TRUE(same != mirrored) << "image " << k;
    flipped += mirrored;
  }
  EXPECT_NEAR(flipped, n / 2, 60);
}

TEST(Augment, CutoutZeroesAClippedSquare) {
  const int n = 2000, side = 32, L = 16;
  const ImageSet s = pattern_set(n, 3, side, side);
  CropAugment a = plain();
  a.cutout = L;
  std::vector<int32_t> labels;
  const auto out = augment_batch_cpu(s, iota(n), a, augment_range(2, 0, 0, 8), &labels);
  double area_sum = 0;
  int full = 0;
  for (int k = 0; k < n; ++k) {
    int y1 = side, y2 = -1, x1 = side, x2 = -1, zeros = 0;
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        if (out[(k * 3 * side + y) * side + x] == 0.0f) {
          ++zeros;
          y1 = std::min(y1, y), y2 = std::max(y2, y), x1 = std::min(x1, x), x2 = std::max(x2, x);
        }
    ASSERT_GT(zeros, 0) << "image " << k;
    ASSERT_EQ(zeros, (y2 - y1 + 1) * (x2 - x1 + 1)) << "cutout of image " << k << " is not a rectangle";
    ASSERT_LE(y2 - y1 + 1, L);
    ASSERT_LE(x2 - x1 + 1, L);
    for (int ch = 1; ch < 3; ++ch)  // same square in every channel
      for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x)
          ASSERT_EQ(out[((k * 3 + ch) * side + y) * side + x] == 0.0f, y >= y1 && y <= y2 && x >= x1 && x <= x2);
    area_sum += zeros;
    full += zeros == L * L;
  }
  // Centre uniform over the image: E[side clipped] = 14 for L = 16 in 32 (DARTS semantics).
  double expect_side = 0;
  for (int c = 0; c < side; ++c) expect_side += std::min(c + L / 2, side) - std::max(c - L / 2, 0);
  expect_side /= side;
  EXPECT_NEAR(area_sum / n, expect_side * expect_side, 4.0);
  EXPECT_NEAR(static_cast<double>(full) / n, (17.0 / 32) * (17.0 / 32), 0.04);
}

TEST(Augment, SameSeedSameBatchAndBatchSplitInvariant) {
  const ImageSet s = pattern_set(64, 3, 32, 32);
  const CropAugment a = CropAugment::cifar10_train();
  std::vector<int32_t> l1, l2, l3;
  const auto all = augment_batch_cpu(s, iota(10), a, augment_range(42, 3, 0, 8), &l1);
  EXPECT_EQ(all, augment_batch_cpu(s, iota(10), a, augment_range(42, 3, 0, 8), &l2));
  // Images 4..9 as a batch starting at position 4 draw what they drew inside the bigger batch.
  const auto tail = augment_batch_cpu(s, {4, 5, 6, 7, 8, 9}, a, augment_range(42, 3, 4, 8), &l3);
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), all.begin() + 4 * 3 * 32 * 32));
  EXPECT_NE(all, augment_batch_cpu(s, iota(10), a, augment_range(43, 3, 0, 8), &l2));
  EXPECT_NE(all, augment_batch_cpu(s, iota(10), a, augment_range(42, 4, 0, 8), &l2));
}

TEST(Augment, RejectsInconsistentSettings) {
  CropAugment a;
  a.out_h = a.out_w = 40;
  testing::expect_error([&] { crop_params(a, 3, 32, 32, {}); }, {"does not fit"});
  a = CropAugment::cifar10_train();
  testing::expect_error([&] { crop_params(a, 1, 32, 32, {}); }, {"3 means for 1 channels"});
  a.std[1] = 0;
  testing::expect_error([&] { crop_params(a, 3, 32, 32, {}); }, {"not positive"});
}

// ---- decode-pipeline transform

kernels::ResampleJitter rrc_params(uint64_t seed) {
  return resample_params(ImageAugment::imagenet_train(), augment_range(seed, 0, 0, kernels::ResampleJitter::kLanes));
}

TEST(ResampleJitter, RandomResizedCropBoxFollowsTorchvisionRules) {
  const kernels::ResampleJitter p = rrc_params(11);
  const int h = 375, w = 500;
  for (int k = 0; k < 2000; ++k) {
    int top, left, bh, bw;
    kernels::random_resized_crop_box(p, static_cast<uint64_t>(k) * kernels::ResampleJitter::kLanes, h, w, &top, &left, &bh, &bw);
    ASSERT_GE(top, 0);
    ASSERT_GE(left, 0);
    ASSERT_LE(top + bh, h);
    ASSERT_LE(left + bw, w);
    const double area = static_cast<double>(bh) * bw / (h * w), ratio = static_cast<double>(bw) / bh;
    EXPECT_GE(area, 0.08 * 0.95);
    EXPECT_LE(area, 1.0);
    EXPECT_GE(ratio, 0.75 * 0.95);
    EXPECT_LE(ratio, 4.0 / 3.0 * 1.05);
  }
  // A 1 x 1000 strip admits no box: fallback center crop clamped to ratio 4/3 (width 1).
  int top, left, bh, bw;
  kernels::random_resized_crop_box(p, 0, 1, 1000, &top, &left, &bh, &bw);
  EXPECT_EQ(bh, 1);
  EXPECT_EQ(bw, 1);
  EXPECT_EQ(left, 499);
}

TEST(ResampleJitter, ResizeCenterCropIsExactOnAnAlignedImage) {
  // 256 x 300 source, resize 256 (no scaling), center crop 224: a pure shift.
  const auto rgb = testing::test_rgb(256, 300, 3);
  ImageAugment a = ImageAugment::imagenet_test();
  for (float& m : a.mean) m = 0;
  for (float& s : a.std) s = 1;
  const auto p = resample_params(a, {});
  std::vector<float> out(3 * 224 * 224);
  kernels::cpu::resample_jitter(rgb.data(), 256, 300, p, 0, out.data());
  const int top = 16, left = 38;  // round((256 - 224) / 2), round((300 - 224) / 2)
  for (int ch = 0; ch < 3; ++ch)
    for (int y = 0; y < 224; y += 7)
      for (int x = 0; x < 224; x += 5)
        ASSERT_FLOAT_EQ(out[(ch * 224 + y) * 224 + x], rgb[((y + top) * 300 + x + left) * 3 + ch] / 255.0f);
}

TEST(ResampleJitter, ConstantImageStaysConstantAndBrightnessScales) {
  std::vector<uint8_t> grey(40 * 50 * 3, 100);
  ImageAugment a = ImageAugment::imagenet_train();
  a.contrast = a.saturation = 0;
  for (float& m : a.mean) m = 0;
  for (float& s : a.std) s = 1;
  for (int k = 0; k < 50; ++k) {
    const auto p = resample_params(a, augment_range(1, 0, 0, kernels::ResampleJitter::kLanes));
    const kernels::ResampleDraw d = kernels::draw_resample_jitter(p, k, 40, 50);
    ASSERT_GE(d.brightness, 0.6f);
    ASSERT_LE(d.brightness, 1.4f);
    std::vector<float> out(3 * 224 * 224);
    kernels::cpu::resample_jitter(grey.data(), 40, 50, p, k, out.data());
    for (float v : out) ASSERT_NEAR(v, 100.0f / 255.0f * d.brightness, 1e-5f);
  }
}

TEST(ResampleJitter, SaturationZeroGivesGreyAndSeedFixesEverything) {
  const auto rgb = testing::test_rgb(60, 80, 2);
  ImageAugment a = ImageAugment::imagenet_train();
  for (float& m : a.mean) m = 0;
  for (float& s : a.std) s = 1;
  a.saturation = 1.0f;  // factors in [0, 2]
  const auto p = resample_params(a, augment_range(4, 1, 0, kernels::ResampleJitter::kLanes));
  std::vector<float> x(3 * 224 * 224), y(3 * 224 * 224);
  kernels::cpu::resample_jitter(rgb.data(), 60, 80, p, 3, x.data());
  kernels::cpu::resample_jitter(rgb.data(), 60, 80, p, 3, y.data());
  EXPECT_EQ(x, y);
  kernels::cpu::resample_jitter(rgb.data(), 60, 80, p, 4, y.data());
  EXPECT_NE(x, y);
  for (const float v : x) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 1.0f);
  }
}

TEST(ResampleJitter, HueShiftMatchesHsvArithmetic) {
  float red[3] = {1.0f, 0.0f, 0.0f};
  kernels::shift_hue(red, 1.0f / 3.0f);  // red -> green
  EXPECT_NEAR(red[0], 0.0f, 1e-6f);
  EXPECT_NEAR(red[1], 1.0f, 1e-6f);
  EXPECT_NEAR(red[2], 0.0f, 1e-6f);
  float grey[3] = {0.4f, 0.4f, 0.4f};  // no hue: unchanged
  kernels::shift_hue(grey, 0.2f);
  EXPECT_FLOAT_EQ(grey[1], 0.4f);
  for (int i = 0; i < 200; ++i) {  // shift 0 is the identity, and a full turn comes back
    float px[3] = {(i % 7) / 6.0f, (i % 5) / 4.0f, (i % 11) / 10.0f}, back[3] = {px[0], px[1], px[2]};
    kernels::shift_hue(back, 0.0f);
    for (int c = 0; c < 3; ++c) ASSERT_NEAR(back[c], px[c], 1e-5f);
    kernels::shift_hue(back, 0.25f);
    kernels::shift_hue(back, -0.25f);
    for (int c = 0; c < 3; ++c) ASSERT_NEAR(back[c], px[c], 1e-5f);
  }
}

TEST(ResampleJitter, JitterOrderIsARandomPermutation) {
  const kernels::ResampleJitter p = rrc_params(2);
  std::set<std::vector<int>> orders;
  for (int k = 0; k < 500; ++k) {
    const kernels::ResampleDraw d = kernels::draw_resample_jitter(p, k, 100, 100);
    std::vector<int> o(d.order, d.order + 4);
    std::vector<int> sorted = o;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(sorted, (std::vector<int>{0, 1, 2, 3}));
    ASSERT_GE(d.hue, -0.2f);
    ASSERT_LE(d.hue, 0.2f);
    orders.insert(o);
  }
  EXPECT_EQ(orders.size(), 24u);
}

}  // namespace
}  // namespace bnas::data
