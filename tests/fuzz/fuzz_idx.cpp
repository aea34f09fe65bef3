// Fuzzes the IDX reader path: in-memory gunzip when the input carries the gzip magic (capped at
// 64 MiB of output), then the IDX parser, then the image/label pairing of read_mnist.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/file_io.h"
#include "data/idx.h"
#include "engine/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    std::vector<uint8_t> bytes(data, data + size);
    if (bnas::data::is_gzip(bytes)) bytes = bnas::data::gunzip(bytes, "fuzz.gz", size_t{64} << 20);
    const bnas::data::IdxArray a = bnas::data::parse_idx(bytes.data(), bytes.size(), "fuzz-idx");
    if (a.dims.size() == 3 && a.dims[0] > 0 && a.values.size() >= static_cast<size_t>(a.dims[0])) {
      bnas::data::IdxArray labels;
      labels.dims = {a.dims[0]};
      labels.values.assign(a.values.begin(), a.values.begin() + a.dims[0]);
      bnas::data::images_from_idx(a, labels, 10, "fuzz-images", "fuzz-labels").validate("fuzz");
    }
  } catch (const bnas::Error&) {
  }
  return 0;
}
