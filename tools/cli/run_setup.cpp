// Loaders and network configs of a run (run_setup.h). The loaders own their index lists;
// SearchLoaders and TrainLoaders keep the shared image sets and sources alive as long as the loaders.
#include "tools/cli/run_setup.h"

#include <filesystem>
#include <vector>

#include "engine/check.h"

namespace fs = std::filesystem;

namespace bnas::cli {
namespace {

nas::StemKind stem_for(const data::DatasetInfo& info) {
  return info.name == "imagenet" ? nas::StemKind::kImageNet : nas::StemKind::kCifar;
}

}  // namespace

SearchLoaders load_search_data(const std::string& dataset, const std::string& data_dir, Device dev,
                               const nas::SearchConfig& cfg, int64_t subset) {
  SearchLoaders d;
  data::LoaderOptions lo;
  lo.batch_size = cfg.batch;
  lo.seed = cfg.seed;
  lo.device = dev;
  lo.drop_last = false;
  data::LoaderOptions lv = lo;
  lv.seed = cfg.seed + 1;  // its own order
  data::LoaderOptions le = lo;
  le.shuffle = false;
  if (dataset == "imagenet") {
    d.source = data::open_encoded((fs::path(data_dir) / "train").string());
    std::vector<int32_t> ia, ib;
    if (subset > 0) {
      const auto idx = data::subset_indices(static_cast<int64_t>(d.source->size()), subset, cfg.seed);
      const auto split = static_cast<size_t>(static_cast<double>(idx.size()) * cfg.train_portion);
      ia.assign(idx.begin(), idx.begin() + static_cast<long>(split));
      ib.assign(idx.begin() + static_cast<long>(split), idx.end());
    } else {
      data::imagenet_search_split(*d.source, cfg.seed, &ia, &ib);
    }
    BNAS_CHECK(!ia.empty() && !ib.empty(), "the ImageNet search subsets are empty (too few images per class)");
    d.n_train_w = static_cast<int64_t>(ia.size()), d.n_train_alpha = static_cast<int64_t>(ib.size());
    d.train_w = std::make_unique<data::DecodeLoader>(d.source, ia, data::ImageAugment::imagenet_train(), lo);
    d.train_alpha = std::make_unique<data::DecodeLoader>(d.source, ib, data::ImageAugment::imagenet_train(), lv);
    d.valid_eval = std::make_unique<data::DecodeLoader>(d.source, ib, data::ImageAugment::imagenet_test(), le);
    return d;
  }
  const data::ImageSet set = data::read_split(dataset, data_dir, data::Split::Train);
  d.images = data::upload(set, dev);
  const auto idx = data::subset_indices(set.n, subset, cfg.seed);
  const auto split = static_cast<size_t>(static_cast<double>(idx.size()) * cfg.train_portion);
  std::vector<int32_t> ia(idx.begin(), idx.begin() + static_cast<long>(split)),
      ib(idx.begin() + static_cast<long>(split), idx.end());
  BNAS_CHECK(!ia.empty() && !ib.empty(), "the search needs images in both halves: ", idx.size(),
             " images with train_portion ", cfg.train_portion);
  d.n_train_w = static_cast<int64_t>(ia.size()), d.n_train_alpha = static_cast<int64_t>(ib.size());
  const data::CropAugment aug = data::train_augment(dataset, 0);  // no cutout in the search
  d.train_w = std::make_unique<data::DeviceLoader>(d.images, ia, aug, lo);
  d.train_alpha = std::make_unique<data::DeviceLoader>(d.images, ib, aug, lv);
  d.valid_eval = std::make_unique<data::DeviceLoader>(d.images, ib, data::test_augment(dataset), le);
  return d;
}

TrainLoaders load_train_data(const std::string& dataset, const std::string& data_dir, Device dev, int batch,
                             uint64_t seed, int cutout, int64_t subset, int64_t test_subset, bool want_train) {
  TrainLoaders d;
  data::LoaderOptions lo;
  lo.batch_size = batch;
  lo.seed = seed;
  lo.device = dev;
  data::LoaderOptions lt = lo;
  lt.shuffle = false;
  if (dataset == "imagenet") {
    if (want_train) {
      d.train_src = data::open_encoded((fs::path(data_dir) / "train").string());
      const auto idx = data::subset_indices(static_cast<int64_t>(d.train_src->size()), subset, seed);
      d.n_train = static_cast<int64_t>(idx.size());
      d.train = std::make_unique<data::DecodeLoader>(d.train_src, idx, data::ImageAugment::imagenet_train(), lo);
    }
    d.test_src = data::open_encoded((fs::path(data_dir) / "val").string());
    const auto tidx = data::subset_indices(static_cast<int64_t>(d.test_src->size()), test_subset, seed);
    d.n_test = static_cast<int64_t>(tidx.size());
    d.test = std::make_unique<data::DecodeLoader>(d.test_src, tidx, data::ImageAugment::imagenet_test(), lt);
    return d;
  }
  if (want_train) {
    const data::ImageSet set = data::read_split(dataset, data_dir, data::Split::Train);
    d.train_set = data::upload(set, dev);
    const auto idx = data::subset_indices(set.n, subset, seed);
    d.n_train = static_cast<int64_t>(idx.size());
    d.train = std::make_unique<data::DeviceLoader>(d.train_set, idx, data::train_augment(dataset, cutout), lo);
  }
  const data::ImageSet test = data::read_split(dataset, data_dir, data::Split::Test);
  d.test_set = data::upload(test, dev);
  const auto tidx = data::subset_indices(test.n, test_subset, seed);
  d.n_test = static_cast<int64_t>(tidx.size());
  d.test = std::make_unique<data::DeviceLoader>(d.test_set, tidx, data::test_augment(dataset), lt);
  return d;
}

nas::SupernetConfig search_network_config(const nas::SearchConfig& cfg, const data::DatasetInfo& info, Device dev) {
  nas::SupernetConfig sc = nas::supernet_config(cfg, info.classes, info.channels, info.size, dev);
  sc.stem = stem_for(info);  // the dataset's images decide the stem, whatever the preset
  return sc;
}

nas::EvalNetworkConfig eval_net_config(const nas::TrainConfig& cfg, const data::DatasetInfo& info, Device dev) {
  nas::EvalNetworkConfig ec;
  ec.C = cfg.channels;
  ec.layers = cfg.layers;
  ec.en_layers = cfg.en_layers;
  ec.classes = info.classes;
  ec.input_channels = info.channels;
  ec.stem = stem_for(info);
  ec.device = dev;
  ec.seed = cfg.seed;
  return ec;
}

}  // namespace bnas::cli
