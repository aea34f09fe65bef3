// Presets, parameter checks and Philox ranges for augmentation (see augment.h).
#include "data/augment.h"

#include "engine/check.h"

namespace bnas::data {
namespace {
const std::vector<float> kCifar10Mean = {0.49139968f, 0.48215827f, 0.44653124f};
const std::vector<float> kCifar10Std = {0.24703233f, 0.24348505f, 0.26158768f};
const std::vector<float> kCifar100Mean = {0.5071f, 0.4865f, 0.4409f};
const std::vector<float> kCifar100Std = {0.2673f, 0.2564f, 0.2762f};
const std::vector<float> kFashionMean = {0.2860f};
const std::vector<float> kFashionStd = {0.3530f};

CropAugment train_preset(int side, int pad, bool flip, int cutout, std::vector<float> mean, std::vector<float> std) {
  CropAugment a;
  a.out_h = a.out_w = side;
  a.pad = pad;
  a.random_crop = pad > 0;
  a.flip = flip;
  a.cutout = cutout;
  a.mean = std::move(mean);
  a.std = std::move(std);
  return a;
}
}  // namespace

CropAugment CropAugment::cifar10_train(int cutout) { return train_preset(32, 4, true, cutout, kCifar10Mean, kCifar10Std); }
CropAugment CropAugment::cifar10_test() { return train_preset(32, 0, false, 0, kCifar10Mean, kCifar10Std); }
CropAugment CropAugment::cifar100_train(int cutout) { return train_preset(32, 4, true, cutout, kCifar100Mean, kCifar100Std); }
CropAugment CropAugment::cifar100_test() { return train_preset(32, 0, false, 0, kCifar100Mean, kCifar100Std); }
CropAugment CropAugment::fashion_mnist_train() { return train_preset(28, 2, true, 0, kFashionMean, kFashionStd); }
CropAugment CropAugment::fashion_mnist_test() { return train_preset(28, 0, false, 0, kFashionMean, kFashionStd); }

ImageAugment ImageAugment::imagenet_train() {
  ImageAugment a;
  a.random_resized_crop = true;
  a.flip = true;
  a.brightness = a.contrast = a.saturation = 0.4f;
  a.hue = 0.2f;
  return a;
}
ImageAugment ImageAugment::imagenet_test() { return ImageAugment{}; }

RandomRange augment_range(uint64_t seed, int64_t epoch, int64_t position, int lanes) {
  return {seed, static_cast<uint64_t>(RngStream::Augment),
          (static_cast<uint64_t>(epoch) << 40) + static_cast<uint64_t>(position) * static_cast<uint64_t>(lanes) / 4};
}

kernels::CropFlipCutout crop_params(const CropAugment& a, int c, int h, int w, const RandomRange& r) {
  kernels::CropFlipCutout p;
  BNAS_CHECK(c >= 1 && c <= kernels::kMaxAugChannels, "augmentation supports 1 to ", kernels::kMaxAugChannels,
             " channels, got ", c, ".");
  p.c = c;
  p.h = h;
  p.w = w;
  p.out_h = a.out_h > 0 ? a.out_h : h;
  p.out_w = a.out_w > 0 ? a.out_w : w;
  p.pad = a.pad;
  BNAS_CHECK(a.pad >= 0 && p.out_h <= h + 2 * a.pad && p.out_w <= w + 2 * a.pad, "a ", p.out_h, "x", p.out_w,
             " crop does not fit a ", h, "x", w, " image padded by ", a.pad, ".");
  p.random_crop = a.random_crop;
  p.flip = a.flip;
  BNAS_CHECK(a.cutout >= 0, "the cutout length must be >= 0, got ", a.cutout, ".");
  p.cutout = a.cutout;
  BNAS_CHECK(a.mean.empty() || static_cast<int>(a.mean.size()) == c, "normalisation has ", a.mean.size(),
             " means for ", c, " channels.");
  BNAS_CHECK(a.std.size() == a.mean.size(), "normalisation has ", a.mean.size(), " means but ", a.std.size(), " stds.");
  for (size_t i = 0; i < a.mean.size(); ++i) {
    BNAS_CHECK(a.std[i] > 0, "normalisation std ", a.std[i], " of channel ", i, " is not positive.");
    p.mean[i] = a.mean[i];
    p.std[i] = a.std[i];
  }
  p.seed = r.seed;
  p.stream = r.stream;
  p.offset = r.offset;
  return p;
}

kernels::ResampleJitter resample_params(const ImageAugment& a, const RandomRange& r) {
  BNAS_CHECK(a.size > 0 && (a.random_resized_crop || a.resize >= a.size), "resize ", a.resize,
             " then center crop ", a.size, " is not a valid test transform.");
  BNAS_CHECK(0 < a.scale_min && a.scale_min <= a.scale_max && a.scale_max <= 1 && 0 < a.ratio_min &&
                 a.ratio_min <= a.ratio_max,
             "random-resized-crop needs 0 < scale_min <= scale_max <= 1 and 0 < ratio_min <= ratio_max.");
  BNAS_CHECK(a.brightness >= 0 && a.contrast >= 0 && a.saturation >= 0, "colour jitter strengths must be >= 0.");
  BNAS_CHECK(a.hue >= 0 && a.hue <= 0.5f, "hue jitter must be in [0, 0.5], got ", a.hue, ".");
  kernels::ResampleJitter p;
  p.size = a.size;
  p.random_resized_crop = a.random_resized_crop;
  p.resize = a.resize;
  p.scale_min = a.scale_min;
  p.scale_max = a.scale_max;
  p.ratio_min = a.ratio_min;
  p.ratio_max = a.ratio_max;
  p.flip = a.flip;
  p.brightness = a.brightness;
  p.contrast = a.contrast;
  p.saturation = a.saturation;
  p.hue = a.hue;
  for (int i = 0; i < 3; ++i) {
    BNAS_CHECK(a.std[i] > 0, "normalisation std ", a.std[i], " of channel ", i, " is not positive.");
    p.mean[i] = a.mean[i];
    p.std[i] = a.std[i];
  }
  p.seed = r.seed;
  p.stream = r.stream;
  p.offset = r.offset;
  return p;
}

std::vector<float> augment_batch_cpu(const ImageSet& set, const std::vector<int32_t>& indices,
                                     const CropAugment& a, const RandomRange& r,
                                     std::vector<int32_t>* labels) {
  const kernels::CropFlipCutout p = crop_params(a, set.c, set.h, set.w, r);
  for (int32_t i : indices)
    BNAS_CHECK(i >= 0 && i < set.n, "image index ", i, " is outside a dataset of ", set.n, " images.");
  std::vector<float> out(indices.size() * static_cast<size_t>(p.c) * p.out_h * p.out_w);
  labels->resize(indices.size());
  kernels::cpu::augment_batch(set.pixels.data(), set.labels.data(), indices.data(),
                              static_cast<int64_t>(indices.size()), p, out.data(), labels->data());
  return out;
}

}  // namespace bnas::data
