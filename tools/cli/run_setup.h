// What a run builds from its settings and the dataset catalog (data/catalog.h): the data
// loaders of a search (the w and alpha halves of the training images) and of a training or
// evaluation (training and test images), and the configs of the networks they run, with the
// dataset's classes, channels and stem.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "data/catalog.h"
#include "data/loader.h"
#include "engine/device.h"
#include "nas/broad_network.h"
#include "nas/eval_network.h"
#include "nas/search.h"
#include "nas/train.h"

namespace bnas::cli {

// A search's loaders and the data they share, kept alive for the run.
struct SearchLoaders {
  std::shared_ptr<const data::DeviceImageSet> images;  // CIFAR / MNIST family: the training split
  std::shared_ptr<const data::EncodedSource> source;   // ImageNet: the encoded training images
  std::unique_ptr<data::Loader> train_w;      // the half that trains the weights
  std::unique_ptr<data::Loader> train_alpha;  // the half that trains the architecture
  std::unique_ptr<data::Loader> valid_eval;   // train_alpha's images, once per epoch, for validation
  int64_t n_train_w = 0, n_train_alpha = 0;   // images in each half
  nas::SearchData search_data() const { return {train_w.get(), train_alpha.get(), valid_eval.get()}; }
};

// A training's or an evaluation's loaders and the data they share, kept alive for the run.
struct TrainLoaders {
  std::shared_ptr<const data::DeviceImageSet> train_set, test_set;  // CIFAR / MNIST family
  std::shared_ptr<const data::EncodedSource> train_src, test_src;   // ImageNet
  std::unique_ptr<data::Loader> train, test;  // train: null for an evaluation
  int64_t n_train = 0, n_test = 0;
};

// The training split (or a seeded --subset of it) cut at cfg.train_portion into the w and alpha
// halves; ImageNet without --subset takes the paper's per-class 10% + 2.5%. No cutout.
SearchLoaders load_search_data(const std::string& dataset, const std::string& data_dir, Device dev,
                               const nas::SearchConfig& cfg, int64_t subset);
// The test loader (a seeded test_subset), and the training loader (a seeded subset, cutout
// `cutout`) when want_train.
TrainLoaders load_train_data(const std::string& dataset, const std::string& data_dir, Device dev, int batch,
                             uint64_t seed, int cutout, int64_t subset, int64_t test_subset, bool want_train);

// The supernet a search config builds for the dataset's images (the ImageNet stem for imagenet).
nas::SupernetConfig search_network_config(const nas::SearchConfig& cfg, const data::DatasetInfo& info, Device dev);
// The evaluation network a training config builds for the dataset's images.
nas::EvalNetworkConfig eval_net_config(const nas::TrainConfig& cfg, const data::DatasetInfo& info, Device dev);

}  // namespace bnas::cli
