// Fuzzes the CIFAR record parser as CIFAR-10 (1 label byte) and CIFAR-100 (2 label bytes, fine
// and coarse). Any input must parse or throw bnas::Error; parsed sets must validate.
#include <cstddef>
#include <cstdint>

#include "data/cifar.h"
#include "engine/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const struct { int label_bytes, label_index, classes; } kinds[] = {{1, 0, 10}, {2, 1, 100}, {2, 0, 20}};
  for (const auto& k : kinds) {
    try {
      const bnas::data::ImageSet s = bnas::data::parse_cifar(data, size, k.label_bytes, k.label_index, k.classes, "fuzz.bin");
      s.validate("fuzz.bin");
    } catch (const bnas::Error&) {
    }
  }
  return 0;
}
