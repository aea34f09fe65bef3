// open_encoded and the image-folder EncodedSource (see encoded_source.h).
#include "data/encoded_source.h"

#include <filesystem>

#include "data/file_io.h"
#include "data/image_folder.h"
#include "data/pack.h"

namespace bnas::data {
namespace {
class FolderSource : public EncodedSource {
 public:
  explicit FolderSource(const std::string& root) : index_(scan_image_folder(root)) {}
  size_t size() const override { return index_.records.size(); }
  int32_t label(size_t i) const override { return index_.records[i].label; }
  const std::vector<std::string>& class_names() const override { return index_.class_names; }
  std::vector<uint8_t> bytes(size_t i) const override {
    return read_file(index_.records[i].path, size_t{1} << 30);  // no real image is 1 GiB
  }
  std::string name(size_t i) const override { return index_.records[i].path; }

 private:
  FolderIndex index_;
};
}  // namespace

std::unique_ptr<EncodedSource> open_encoded(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(path) / "index.bin", ec))
    return std::make_unique<PackReader>(path);
  return std::make_unique<FolderSource>(path);
}

}  // namespace bnas::data
