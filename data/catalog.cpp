// The dataset catalog (catalog.h): one table of what each named dataset is and expects, so that
// every command reads, augments and subsets a dataset the same way.
#include "data/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "data/idx.h"
#include "engine/check.h"
#include "engine/rng.h"

namespace fs = std::filesystem;

namespace bnas::data {
namespace {

bool file_present(const fs::path& dir, const std::string& pattern) {
  // "name[.gz]" accepts name or name.gz; "sub/<class>/..." needs the folder sub.
  const auto slash = pattern.find('/');
  if (slash != std::string::npos) return fs::is_directory(dir / pattern.substr(0, slash));
  const auto opt = pattern.find("[.gz]");
  if (opt != std::string::npos) {
    const std::string base = pattern.substr(0, opt);
    return fs::is_regular_file(dir / base) || fs::is_regular_file(dir / (base + ".gz"));
  }
  return fs::is_regular_file(dir / pattern);
}

// CIFAR archives extract into a subfolder; accept the parent too.
std::string descend(const std::string& dataset, const std::string& dir) {
  const char* sub = dataset == "cifar10" ? "cifar-10-batches-bin" : dataset == "cifar100" ? "cifar-100-binary" : nullptr;
  if (sub != nullptr && fs::is_directory(fs::path(dir) / sub)) return (fs::path(dir) / sub).string();
  return dir;
}

}  // namespace

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> n{"cifar10", "cifar100", "imagenet", "mnist", "fashion-mnist"};
  return n;
}

DatasetInfo dataset_info(const std::string& name) {
  const std::vector<std::string> idx = {"train-images-idx3-ubyte[.gz]", "train-labels-idx1-ubyte[.gz]",
                                        "t10k-images-idx3-ubyte[.gz]", "t10k-labels-idx1-ubyte[.gz]"};
  if (name == "cifar10")
    return {name, 10, 3, 32,
            {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
             "test_batch.bin"},
            "download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and extract it (the files are in "
            "cifar-10-batches-bin/)"};
  if (name == "cifar100")
    return {name, 100, 3, 32, {"train.bin", "test.bin"},
            "download https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz and extract it (the files are in "
            "cifar-100-binary/)"};
  if (name == "mnist")
    return {name, 10, 1, 28, idx, "download the four files from https://ossci-datasets.s3.amazonaws.com/mnist/"};
  if (name == "fashion-mnist")
    return {name, 10, 1, 28, idx,
            "install Debian's dataset-fashion-mnist (files in /usr/share/datasets/fashion-mnist) or download them "
            "from https://github.com/zalandoresearch/fashion-mnist"};
  if (name == "imagenet")
    return {name, 1000, 3, 224, {"train/<class>/*.JPEG", "val/<class>/*.JPEG"},
            "download ILSVRC2012 from https://image-net.org and arrange train/ and val/ as one folder per class "
            "(or pack them with the data tools)"};
  std::string list;
  for (const auto& n : dataset_names()) list += (list.empty() ? "" : ", ") + n;
  BNAS_FAIL("unknown dataset '", name, "': use one of ", list);
}

std::string resolve_dataset_dir(const std::string& dataset, const std::string& given) {
  if (!given.empty()) return descend(dataset, given);
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("BNAS_DATA"); env != nullptr && *env != '\0')
    candidates.push_back((fs::path(env) / dataset).string());
  candidates.push_back((fs::path("data") / dataset).string());
  if (dataset == "mnist" || dataset == "fashion-mnist") candidates.push_back("/usr/share/datasets/" + dataset);
  for (const auto& c : candidates)
    if (fs::is_directory(c)) return descend(dataset, c);
  return candidates.front();
}

std::vector<std::string> missing_files(const DatasetInfo& info, const std::string& dir) {
  std::vector<std::string> missing;
  for (const auto& f : info.files)
    if (!file_present(dir, f)) missing.push_back(f);
  return missing;
}

ImageSet read_split(const std::string& dataset, const std::string& dir, Split split) {
  if (dataset == "cifar10") return read_cifar10(dir, split);
  if (dataset == "cifar100") return read_cifar100(dir, split);
  return read_mnist(dir, split);
}

CropAugment train_augment(const std::string& dataset, int cutout) {
  if (dataset == "cifar10") return CropAugment::cifar10_train(cutout);
  if (dataset == "cifar100") return CropAugment::cifar100_train(cutout);
  CropAugment a = CropAugment::fashion_mnist_train();
  if (dataset == "mnist") {
    a.flip = false;  // digits are not mirror-symmetric
    a.mean = {0.1307f};
    a.std = {0.3081f};
  }
  a.cutout = cutout;
  return a;
}

CropAugment test_augment(const std::string& dataset) {
  if (dataset == "cifar10") return CropAugment::cifar10_test();
  if (dataset == "cifar100") return CropAugment::cifar100_test();
  CropAugment a = CropAugment::fashion_mnist_test();
  if (dataset == "mnist") a.mean = {0.1307f}, a.std = {0.3081f};
  return a;
}

std::vector<int32_t> subset_indices(int64_t n, int64_t subset, uint64_t seed) {
  std::vector<int32_t> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) all[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  if (subset <= 0 || subset >= n) return all;
  Generator g(seed, RngStream::Split);
  const std::vector<uint32_t> perm = g.permutation(static_cast<uint32_t>(n));
  std::vector<int32_t> out(perm.begin(), perm.begin() + subset);
  std::sort(out.begin(), out.end());
  return out;
}

void imagenet_search_split(const EncodedSource& src, uint64_t seed, std::vector<int32_t>* w,
                           std::vector<int32_t>* alpha) {
  std::map<int32_t, std::vector<int32_t>> by_class;
  for (size_t i = 0; i < src.size(); ++i) by_class[src.label(i)].push_back(static_cast<int32_t>(i));
  Generator g(seed, RngStream::Split);
  for (auto& [label, items] : by_class) {
    const std::vector<uint32_t> perm = g.permutation(static_cast<uint32_t>(items.size()));
    const size_t nw = items.size() / 10, na = items.size() / 40;
    for (size_t k = 0; k < nw + na; ++k) (k < nw ? w : alpha)->push_back(items[perm[k]]);
  }
  std::sort(w->begin(), w->end());
  std::sort(alpha->begin(), alpha->end());
}

}  // namespace bnas::data
