// Fuzzes the pack index parser (magic, JSON header, fixed-size records); a parsed index must
// serialise back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "data/pack.h"
#include "engine/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bnas::data::PackIndex index;
  try {
    index = bnas::data::parse_pack_index(data, size, "fuzz-index.bin");
  } catch (const bnas::Error&) {
    return 0;
  }
  const std::vector<uint8_t> again = bnas::data::serialize_pack_index(index);
  const bnas::data::PackIndex round = bnas::data::parse_pack_index(again.data(), again.size(), "round trip");
  if (round.records.size() != index.records.size() || round.class_names != index.class_names) std::abort();
  return 0;
}
