// IDX reader (see idx.h).
#include "data/idx.h"

#include <filesystem>

#include "data/file_io.h"
#include "engine/check.h"

namespace bnas::data {

IdxArray parse_idx(const uint8_t* bytes, size_t size, const std::string& name) {
  BNAS_CHECK(size >= 4, name, " is ", size, " bytes, too short for an IDX header.");
  BNAS_CHECK(bytes[0] == 0 && bytes[1] == 0, name, " does not start with the IDX magic number (00 00).");
  BNAS_CHECK(bytes[2] == 0x08, name, " holds IDX element type 0x", std::hex, int{bytes[2]},
             ", but only unsigned bytes (0x08) are supported.");
  const int ndim = bytes[3];
  BNAS_CHECK(ndim >= 1 && ndim <= 4, name, " declares ", ndim, " dimensions; 1 to 4 are supported.");
  const size_t header = 4 + 4 * static_cast<size_t>(ndim);
  BNAS_CHECK(size >= header, name, " is truncated inside its IDX header.");
  IdxArray a;
  uint64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    const uint8_t* p = bytes + 4 + 4 * d;
    const uint64_t n = (uint64_t{p[0]} << 24) | (uint64_t{p[1]} << 16) | (uint64_t{p[2]} << 8) | p[3];
    BNAS_CHECK(n == 0 || count <= size / n, name, " declares more elements than it holds (truncated file?).");
    count *= n;
    a.dims.push_back(static_cast<int64_t>(n));
  }
  BNAS_CHECK(size - header == count, name, " declares ", count, " elements but holds ", size - header,
             size - header < count ? " (truncated file)." : " (trailing bytes).");
  a.values.assign(bytes + header, bytes + size);
  return a;
}

IdxArray read_idx(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  if (is_gzip(bytes)) bytes = gunzip(bytes, path);
  return parse_idx(bytes.data(), bytes.size(), path);
}

ImageSet images_from_idx(const IdxArray& images, const IdxArray& labels, int num_classes,
                         const std::string& images_name, const std::string& labels_name) {
  BNAS_CHECK(images.dims.size() == 3, images_name, " has ", images.dims.size(),
             " dimensions; an image file has 3 (count, height, width).");
  BNAS_CHECK(labels.dims.size() == 1, labels_name, " has ", labels.dims.size(),
             " dimensions; a label file has 1.");
  BNAS_CHECK(images.dims[0] == labels.dims[0], images_name, " holds ", images.dims[0], " images but ",
             labels_name, " holds ", labels.dims[0], " labels.");
  BNAS_CHECK(images.dims[1] > 0 && images.dims[2] > 0, images_name, " declares empty images.");
  BNAS_CHECK(images.values.size() == static_cast<size_t>(images.dims[0] * images.dims[1] * images.dims[2]) &&
                 labels.values.size() == static_cast<size_t>(labels.dims[0]),
             images_name, " or ", labels_name, " holds a different number of values than its dimensions declare.");
  ImageSet set;
  set.n = images.dims[0];
  set.c = 1;
  set.h = static_cast<int>(images.dims[1]);
  set.w = static_cast<int>(images.dims[2]);
  set.num_classes = num_classes;
  set.pixels = images.values;
  set.labels.resize(static_cast<size_t>(set.n));
  for (int64_t i = 0; i < set.n; ++i) {
    const int label = labels.values[i];
    BNAS_CHECK(label < num_classes, labels_name, ": label ", label, " of item ", i, " is outside [0, ",
               num_classes, ").");
    set.labels[i] = label;
  }
  return set;
}

ImageSet read_mnist(const std::string& dir, Split split) {
  namespace fs = std::filesystem;
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  auto find = [&](const std::string& stem) {
    const fs::path raw = fs::path(dir) / stem, gz = fs::path(dir) / (stem + ".gz");
    std::error_code ec;
    if (fs::exists(raw, ec)) return raw.string();
    BNAS_CHECK(fs::exists(gz, ec), "neither ", raw.string(), " nor ", gz.string(), " exists.");
    return gz.string();
  };
  const std::string images_path = find(prefix + "-images-idx3-ubyte");
  const std::string labels_path = find(prefix + "-labels-idx1-ubyte");
  return images_from_idx(read_idx(images_path), read_idx(labels_path), 10, images_path, labels_path);
}

}  // namespace bnas::data
