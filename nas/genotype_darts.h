// The DARTS text form of a genotype, i.e. the repr of the PyTorch namedtuple:
//   Genotype(normal=[('sep_conv_3x3', 1), ...], normal_concat=range(2, 6), reduce=[...],
//   reduce_concat=range(2, 6))
// Read by a small recursive-descent parser (no eval), which also accepts lists or tuples for the
// concat fields, lists for the pairs, either quote style, trailing commas, keyword arguments in
// any order and an optional leading `NAME =` (so a line of a DARTS genotypes.py or a
// `genotype = ...` log line can be pasted as is).
#pragma once

#include <string>

#include "nas/genotype.h"

namespace bnas::nas {

// Exactly the repr of the DARTS namedtuple. A concat that is a contiguous run is written as
// range(a, b), any other as a list.
std::string genotype_to_darts(const Genotype& g);
// Validates; `source` names the origin in error messages, which give the line and column.
Genotype parse_genotype_darts(const std::string& text, const std::string& source = "genotype text");

}  // namespace bnas::nas
