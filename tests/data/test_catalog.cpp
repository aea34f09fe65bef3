// The dataset catalog (data/catalog.h): where a dataset's folder is looked for, which files count
// as present, the seeded subset, and the ImageNet search split (10% / 2.5% per class, disjoint).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/catalog.h"
#include "engine/check.h"

namespace fs = std::filesystem;
using namespace bnas::data;

namespace {

std::string fresh_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("bnas_catalog_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

// n_per_class[c] labelled records with no image bytes: enough for the split, which reads labels.
class LabelsOnly : public EncodedSource {
 public:
  explicit LabelsOnly(const std::vector<int>& n_per_class) {
    for (size_t c = 0; c < n_per_class.size(); ++c) {
      names_.push_back("class" + std::to_string(c));
      for (int i = 0; i < n_per_class[c]; ++i) labels_.push_back(static_cast<int32_t>(c));
    }
    // Interleave the classes, as an image folder listing by file name need not group them.
    std::rotate(labels_.begin(), labels_.begin() + static_cast<long>(labels_.size() / 3), labels_.end());
  }
  size_t size() const override { return labels_.size(); }
  int32_t label(size_t i) const override { return labels_[i]; }
  const std::vector<std::string>& class_names() const override { return names_; }
  std::vector<uint8_t> bytes(size_t) const override { return {}; }
  std::string name(size_t i) const override { return "record " + std::to_string(i); }

 private:
  std::vector<int32_t> labels_;
  std::vector<std::string> names_;
};

}  // namespace

TEST(Catalog, EveryDatasetHasItsShapeAndFiles) {
  for (const std::string& n : dataset_names()) {
    const DatasetInfo info = dataset_info(n);
    EXPECT_EQ(info.name, n);
    EXPECT_FALSE(info.files.empty()) << n;
    EXPECT_FALSE(info.where.empty()) << n;
  }
  EXPECT_EQ(dataset_info("cifar10").classes, 10);
  EXPECT_EQ(dataset_info("cifar100").classes, 100);
  EXPECT_EQ(dataset_info("imagenet").size, 224);
  EXPECT_EQ(dataset_info("fashion-mnist").channels, 1);
  try {
    dataset_info("svhn");
    FAIL() << "an unknown dataset was accepted";
  } catch (const bnas::Error& e) {
    EXPECT_NE(std::string(e.what()).find("use one of cifar10, cifar100, imagenet, mnist, fashion-mnist"),
              std::string::npos)
        << e.what();
  }
}

TEST(Catalog, CifarFolderDescendsIntoTheExtractedArchive) {
  const std::string root = fresh_dir("descend");
  EXPECT_EQ(resolve_dataset_dir("cifar10", root), root);  // no subfolder: the folder itself
  fs::create_directories(fs::path(root) / "cifar-10-batches-bin");
  EXPECT_EQ(resolve_dataset_dir("cifar10", root), (fs::path(root) / "cifar-10-batches-bin").string());
  EXPECT_EQ(resolve_dataset_dir("cifar100", root), root);  // cifar-100-binary is not there
}

TEST(Catalog, BnasDataEnvironmentIsLookedInFirst) {
  const std::string root = fresh_dir("env");
  fs::create_directories(fs::path(root) / "cifar100" / "cifar-100-binary");
  ::setenv("BNAS_DATA", root.c_str(), 1);
  EXPECT_EQ(resolve_dataset_dir("cifar100", ""), (fs::path(root) / "cifar100" / "cifar-100-binary").string());
  // Nothing exists for imagenet: the preferred (first) candidate is returned.
  EXPECT_EQ(resolve_dataset_dir("imagenet", ""), (fs::path(root) / "imagenet").string());
  ::unsetenv("BNAS_DATA");
}

TEST(Catalog, MissingFilesAcceptGzipAndClassFolders) {
  const std::string dir = fresh_dir("missing");
  const DatasetInfo idx = dataset_info("fashion-mnist");
  EXPECT_EQ(missing_files(idx, dir).size(), 4u);
  EXPECT_EQ(missing_files(idx, dir + "/absent").size(), 4u);
  touch(fs::path(dir) / "train-images-idx3-ubyte.gz");
  touch(fs::path(dir) / "train-labels-idx1-ubyte");
  EXPECT_EQ(missing_files(idx, dir),
            (std::vector<std::string>{"t10k-images-idx3-ubyte[.gz]", "t10k-labels-idx1-ubyte[.gz]"}));

  const DatasetInfo imagenet = dataset_info("imagenet");
  fs::create_directories(fs::path(dir) / "train");
  touch(fs::path(dir) / "val");  // a file named val is not the val/ folder
  EXPECT_EQ(missing_files(imagenet, dir), (std::vector<std::string>{"val/<class>/*.JPEG"}));
}

TEST(Catalog, SubsetIsSeededSortedAndDistinct) {
  const auto a = subset_indices(1000, 100, 7);
  ASSERT_EQ(a.size(), 100u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::set<int32_t>(a.begin(), a.end()).size(), 100u);
  EXPECT_GE(a.front(), 0);
  EXPECT_LT(a.back(), 1000);
  EXPECT_EQ(subset_indices(1000, 100, 7), a);
  EXPECT_NE(subset_indices(1000, 100, 8), a);
  for (int64_t all : {int64_t{0}, int64_t{-1}, int64_t{1000}, int64_t{5000}}) {
    const auto every = subset_indices(1000, all, 7);
    ASSERT_EQ(every.size(), 1000u) << all;
    EXPECT_EQ(every.front(), 0);
    EXPECT_EQ(every.back(), 999);
  }
}

TEST(Catalog, ImageNetSearchSplitIsPerClassAndDisjoint) {
  const LabelsOnly src({400, 120, 41});
  std::vector<int32_t> w, alpha;
  imagenet_search_split(src, 3, &w, &alpha);
  // Per class: floor(n / 10) for w and floor(n / 40) for alpha.
  std::vector<int> nw(3, 0), na(3, 0);
  for (int32_t i : w) ++nw[static_cast<size_t>(src.label(static_cast<size_t>(i)))];
  for (int32_t i : alpha) ++na[static_cast<size_t>(src.label(static_cast<size_t>(i)))];
  EXPECT_EQ(nw, (std::vector<int>{40, 12, 4}));
  EXPECT_EQ(na, (std::vector<int>{10, 3, 1}));
  EXPECT_TRUE(std::is_sorted(w.begin(), w.end()));
  EXPECT_TRUE(std::is_sorted(alpha.begin(), alpha.end()));
  std::set<int32_t> both(w.begin(), w.end());
  both.insert(alpha.begin(), alpha.end());
  EXPECT_EQ(both.size(), w.size() + alpha.size());  // no image in both halves, none twice

  std::vector<int32_t> w2, alpha2;
  imagenet_search_split(src, 3, &w2, &alpha2);
  EXPECT_EQ(w2, w);
  EXPECT_EQ(alpha2, alpha);
  std::vector<int32_t> w3, alpha3;
  imagenet_search_split(src, 4, &w3, &alpha3);
  EXPECT_NE(w3, w);
}
