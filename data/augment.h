// Augmentation settings of the two pipelines and the Philox ranges they draw from.
//
// CropAugment configures the device-resident pipeline (kernels::CropFlipCutout): the DARTS
// CIFAR recipe is {pad 4, random crop 32, flip, cutout 16, CIFAR mean/std}; testing uses no
// randomness and only normalises. ImageAugment configures the decode pipeline
// (kernels::ResampleJitter): random-resized-crop 224 + flip + ColorJitter(0.4, 0.4, 0.4, 0.2)
// for training (the DARTS ImageNet script), resize 256 + center crop 224 for testing.
//
// Randomness: a batch that starts at sample `position` of epoch `epoch` draws from the
// RngStream::Augment stream of the seed at Philox block (epoch << 40) + position * lanes / 4,
// image slot k reading lanes [k * lanes, (k + 1) * lanes). The draws therefore depend on
// (seed, epoch, position in epoch) only: the CPU and GPU, any batch size split and a resumed run
// agree.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/rng.h"
#include "kernels/augment.h"

namespace bnas::data {

struct CropAugment {
  int out_h = 0, out_w = 0;  // 0: the source size
  int pad = 0;
  bool random_crop = false;
  bool flip = false;
  int cutout = 0;
  std::vector<float> mean, std;  // per channel; empty: mean 0, std 1

  static CropAugment cifar10_train(int cutout = 16);
  static CropAugment cifar10_test();
  static CropAugment cifar100_train(int cutout = 16);
  static CropAugment cifar100_test();
  static CropAugment fashion_mnist_train();  // pad 2 random crop + flip, no cutout
  static CropAugment fashion_mnist_test();
};

struct ImageAugment {
  int size = 224;
  bool random_resized_crop = false;
  int resize = 256;  // test: shorter side before the center crop
  float scale_min = 0.08f, scale_max = 1.0f, ratio_min = 3.0f / 4.0f, ratio_max = 4.0f / 3.0f;
  bool flip = false;
  float brightness = 0, contrast = 0, saturation = 0;  // factor ranges [1 - s, 1 + s]
  float hue = 0;                                       // shift range [-hue, hue], hue <= 0.5
  float mean[3] = {0.485f, 0.456f, 0.406f};
  float std[3] = {0.229f, 0.224f, 0.225f};

  static ImageAugment imagenet_train();
  static ImageAugment imagenet_test();
};

RandomRange augment_range(uint64_t seed, int64_t epoch, int64_t position, int lanes);

// Kernel parameters for images of c x h x w; throws bnas::Error on inconsistent settings.
kernels::CropFlipCutout crop_params(const CropAugment& a, int c, int h, int w, const RandomRange& r);
kernels::ResampleJitter resample_params(const ImageAugment& a, const RandomRange& r);

// Host reference of one augmented batch (the CPU backend of the loader calls the same kernel):
// returns float [indices.size(), C, out_h, out_w] and fills `labels`.
std::vector<float> augment_batch_cpu(const ImageSet& set, const std::vector<int32_t>& indices,
                                     const CropAugment& a, const RandomRange& r,
                                     std::vector<int32_t>* labels);

}  // namespace bnas::data
