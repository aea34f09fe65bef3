// Fuzzes the two genotype parsers: the recursive-descent DARTS-text parser (nas/genotype_darts.h)
// and the JSON reader (nas/genotype.h). Any input must parse or throw bnas::Error; whatever parses must validate and
// survive both round trips (DARTS text and JSON) unchanged, else the target traps.
// Seeds: tests/fuzz/seeds_genotype/; dictionary: tests/fuzz/genotype.dict (-dict=...).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/check.h"
#include "nas/genotype.h"
#include "nas/genotype_darts.h"
#include "nas/genotype_file.h"

namespace {
void round_trip(const bnas::nas::Genotype& g) {
  bnas::nas::validate_genotype(g, "fuzz");
  if (bnas::nas::parse_genotype_darts(bnas::nas::genotype_to_darts(g), "fuzz-darts") != g) __builtin_trap();
  if (bnas::nas::genotype_from_json(bnas::nas::genotype_to_json(g), "fuzz-json") != g) __builtin_trap();
  if (bnas::nas::parse_genotype(bnas::nas::genotype_to_json_text(g), "fuzz-json-text") != g) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    round_trip(bnas::nas::parse_genotype_darts(text, "fuzz"));
  } catch (const bnas::Error&) {
  }
  try {
    round_trip(bnas::nas::parse_genotype_json(text, "fuzz"));
  } catch (const bnas::Error&) {
  }
  return 0;
}
