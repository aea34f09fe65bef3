// EncodedSource: a labelled list of encoded images (JPEG/PNG bytes), the input of the packer,
// the search-subset sampler and the decoding loader. Two implementations: a packed dataset
// (PackReader, pack.h) and an image folder read file by file (image_folder.h). bytes() is safe
// to call from many threads at once.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bnas::data {

class EncodedSource {
 public:
  virtual ~EncodedSource() = default;
  virtual size_t size() const = 0;
  virtual int32_t label(size_t i) const = 0;
  virtual const std::vector<std::string>& class_names() const = 0;
  virtual std::vector<uint8_t> bytes(size_t i) const = 0;
  // Where record i comes from, for error messages ("<file>" or "<pack dir> record <i>").
  virtual std::string name(size_t i) const = 0;
};

// A packed dataset when path/index.bin exists, otherwise an image folder (root/<class>/<image>).
std::unique_ptr<EncodedSource> open_encoded(const std::string& path);

}  // namespace bnas::data
