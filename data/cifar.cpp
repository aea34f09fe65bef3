// CIFAR readers (see cifar.h): parse_cifar checks the record size and every label, the file
// readers add the file names of each split and the optional class-name lists.
#include "data/cifar.h"

#include <filesystem>
#include <fstream>

#include "data/file_io.h"
#include "engine/check.h"

namespace bnas::data {
namespace {
constexpr int kSide = 32, kChannels = 3, kPixels = kChannels * kSide * kSide;

// Non-empty lines of dir/file, or nothing when the file is absent.
std::vector<std::string> class_names(const std::string& dir, const char* file, int expected) {
  const std::string path = (std::filesystem::path(dir) / file).string();
  std::ifstream in(path);
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (names.empty()) return names;
  BNAS_CHECK(static_cast<int>(names.size()) == expected, path, " lists ", names.size(),
             " class names but the dataset has ", expected, " classes.");
  return names;
}

ImageSet read_files(const std::string& dir, const std::vector<std::string>& files, int label_bytes,
                    int label_index, int num_classes) {
  ImageSet set;
  for (const std::string& f : files) {
    const std::string path = (std::filesystem::path(dir) / f).string();
    const std::vector<uint8_t> bytes = read_file(path);
    append(set, parse_cifar(bytes.data(), bytes.size(), label_bytes, label_index, num_classes, path));
  }
  return set;
}
}  // namespace

ImageSet parse_cifar(const uint8_t* bytes, size_t size, int label_bytes, int label_index,
                     int num_classes, const std::string& name) {
  BNAS_CHECK(label_bytes >= 1 && label_index >= 0 && label_index < label_bytes,
             "label byte ", label_index, " does not exist in CIFAR records with ", label_bytes, " label bytes.");
  const size_t record = static_cast<size_t>(label_bytes) + kPixels;
  BNAS_CHECK(size > 0, name, " is empty.");
  BNAS_CHECK(size % record == 0, name, " is ", size, " bytes, not a whole number of ", record,
             "-byte CIFAR records (truncated, or not a CIFAR", label_bytes == 1 ? "-10" : "-100", " file).");
  ImageSet set;
  set.n = static_cast<int64_t>(size / record);
  set.c = kChannels;
  set.h = set.w = kSide;
  set.num_classes = num_classes;
  set.pixels.resize(static_cast<size_t>(set.n) * kPixels);
  set.labels.resize(static_cast<size_t>(set.n));
  for (int64_t i = 0; i < set.n; ++i) {
    const uint8_t* r = bytes + i * record;
    const int label = r[label_index];
    BNAS_CHECK(label < num_classes, name, ": record ", i, " has label ", label, ", outside [0, ",
               num_classes, ").");
    set.labels[i] = label;
    std::copy(r + label_bytes, r + record, set.pixels.begin() + i * kPixels);
  }
  return set;
}

ImageSet read_cifar10(const std::string& dir, Split split) {
  std::vector<std::string> files;
  if (split == Split::Train) {
    for (int i = 1; i <= 5; ++i) files.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back("test_batch.bin");
  }
  ImageSet set = read_files(dir, files, 1, 0, 10);
  set.class_names = class_names(dir, "batches.meta.txt", 10);
  return set;
}

ImageSet read_cifar100(const std::string& dir, Split split, Cifar100Labels labels) {
  const bool fine = labels == Cifar100Labels::Fine;
  ImageSet set = read_files(dir, {split == Split::Train ? "train.bin" : "test.bin"}, 2, fine ? 1 : 0,
                            fine ? 100 : 20);
  set.class_names = class_names(dir, fine ? "fine_label_names.txt" : "coarse_label_names.txt", set.num_classes);
  return set;
}

}  // namespace bnas::data
