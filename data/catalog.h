// The datasets the engine knows by name (cifar10, cifar100, imagenet, mnist, fashion-mnist):
// their classes and image shape, the files a folder must hold and where to get them, where a
// dataset's folder is looked for, and the per-dataset choices every command makes the same way
// (how a split is read, the default train and test augmentation, the seeded subset of a run and
// the ImageNet search split). The command line and tests call these instead of each knowing
// the datasets; the readers themselves stay format-specific (cifar.h, idx.h, encoded_source.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/cifar.h"
#include "data/dataset.h"
#include "data/encoded_source.h"

namespace bnas::data {

struct DatasetInfo {
  std::string name;
  int classes, channels, size;
  std::vector<std::string> files;  // expected files: "name[.gz]" accepts name or name.gz,
                                   // "sub/<class>/*.JPEG" needs the folder sub
  std::string where;               // how to get it
};

const std::vector<std::string>& dataset_names();
// Throws bnas::Error naming the known datasets when `name` is not one of them.
DatasetInfo dataset_info(const std::string& name);

// A dataset's folder: `given` when not empty, else the first existing of $BNAS_DATA/<dataset>,
// ./data/<dataset> and (MNIST family) Debian's /usr/share/datasets/<dataset>, else the first of
// those. CIFAR archives extract into a subfolder (cifar-10-batches-bin/, cifar-100-binary/):
// when the folder holds it, the subfolder is returned.
std::string resolve_dataset_dir(const std::string& dataset, const std::string& given);
// The entries of info.files not present in dir (all of them when dir does not exist).
std::vector<std::string> missing_files(const DatasetInfo& info, const std::string& dir);

// One split of a small dataset (CIFAR-10/100, MNIST-family IDX) read whole.
ImageSet read_split(const std::string& dataset, const std::string& dir, Split split);
// The default augmentation of a small dataset: training (cutout length `cutout`, 0: off) and test.
CropAugment train_augment(const std::string& dataset, int cutout);
CropAugment test_augment(const std::string& dataset);

// A seeded subset of n items (all when subset <= 0 or >= n), in increasing order.
std::vector<int32_t> subset_indices(int64_t n, int64_t subset, uint64_t seed);
// The ImageNet search data (docs/METHOD.md §6): per class, 10% of the images train w and
// another 2.5% train alpha, drawn without replacement (disjoint) by a seeded shuffle per class.
void imagenet_search_split(const EncodedSource& src, uint64_t seed, std::vector<int32_t>* w,
                           std::vector<int32_t>* alpha);

}  // namespace bnas::data
