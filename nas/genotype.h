// Genotypes: the discrete cell architectures that a search produces and an evaluation network
// trains (docs/METHOD.md §2, §3 and §5): the types, their validation and their JSON form.
//
// A genotype holds two cells in the DARTS field names normal / reduce. Naming trap (docs/METHOD.md
// §4): in BNAS "normal" is the CONVOLUTION cell and "reduce" is the ENHANCEMENT cell; a
// DARTS genotype plugged into the broad network uses its reduction cell as the enhancement cell.
//
// Each cell has kCellSteps = 4 intermediate nodes; node j reads two (op, input) pairs, stored
// consecutively at entries 2j and 2j+1, where input 0 is s0, input 1 is s1 and input i >= 2 is
// node i-2, so node j may read inputs 0 .. j+1. The cell output concatenates the nodes listed in
// the concat field (2..5 for every genotype the authors published).
//
// The JSON form: {"normal": [["sep_conv_3x3", 1], ...], "normal_concat": [2, 3, 4, 5],
// "reduce": ..., "reduce_concat": ...} (the entry format of nas/published_genotypes.json; extra keys
// are ignored so that a genotype can carry metadata). The other forms have their own headers:
//  - nas/genotype_darts.h: the DARTS text form (the repr of the PyTorch namedtuple);
//  - nas/genotype_file.h: text in either form, and genotype files;
//  - nas/published_genotypes.h: the published genotypes of the BNAS-v2, DARTS and PC-DARTS papers,
//    by name;
//  - nas/derive_genotype.h: the genotype a search's alpha and beta give.
//
// Every malformed genotype (bad syntax, unknown op, bad input index, wrong count, bad concat)
// raises one bnas::Error whose sentence names the problem and the source (file name when read
// from a file).
#pragma once

#include <array>
#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace bnas::nas {

// The candidate operations, in the column order of alpha (docs/METHOD.md §2).
enum class Primitive : int {
  kNone = 0,
  kMaxPool3x3 = 1,
  kAvgPool3x3 = 2,
  kSkipConnect = 3,
  kSepConv3x3 = 4,
  kSepConv5x5 = 5,
  kDilConv3x3 = 6,
  kDilConv5x5 = 7,
};

constexpr int kNumPrimitives = 8;
constexpr int kCellSteps = 4;                                       // intermediate nodes per cell
constexpr int kCellEdges = kCellSteps * (kCellSteps + 3) / 2;       // 2 + 3 + 4 + 5 = 14
constexpr int kGenotypeEntries = 2 * kCellSteps;                    // (op, input) pairs per cell

// "none", "max_pool_3x3", ... in column order.
const std::array<const char*, kNumPrimitives>& primitive_names();
const char* primitive_name(Primitive p);
// The primitive called `name`; throws naming `source` and listing the valid names otherwise.
Primitive primitive_from_name(const std::string& name, const std::string& source = "genotype");
// First edge index of node j's incoming edges in the 14-edge order (0, 2, 5, 9).
constexpr int cell_edge_offset(int node) { return node * (node + 3) / 2; }

struct GenotypeEdge {
  Primitive op = Primitive::kNone;
  int input = 0;  // 0 = s0, 1 = s1, i >= 2 = intermediate node i-2
  bool operator==(const GenotypeEdge& o) const { return op == o.op && input == o.input; }
  bool operator!=(const GenotypeEdge& o) const { return !(*this == o); }
};

struct Genotype {
  std::vector<GenotypeEdge> normal;  // BNAS: the convolution cell
  std::vector<int> normal_concat;
  std::vector<GenotypeEdge> reduce;  // BNAS: the enhancement cell
  std::vector<int> reduce_concat;

  bool operator==(const Genotype& o) const {
    return normal == o.normal && normal_concat == o.normal_concat && reduce == o.reduce &&
           reduce_concat == o.reduce_concat;
  }
  bool operator!=(const Genotype& o) const { return !(*this == o); }
};

// The concat of every derived and published genotype: nodes 2, 3, 4, 5.
std::vector<int> default_concat();

// Throws a bnas::Error naming `source` if g is not a well-formed genotype: each cell has exactly
// kGenotypeEntries entries, entry e (node e/2) reads an input in 0 .. e/2+1, the concat is a
// non-empty strictly increasing list of node indices in 2 .. kCellSteps+1.
void validate_genotype(const Genotype& g, const std::string& source = "genotype");

// ---- JSON ----
nlohmann::json genotype_to_json(const Genotype& g);
// Validates; `source` names the origin in error messages.
Genotype genotype_from_json(const nlohmann::json& j, const std::string& source = "genotype JSON");
Genotype parse_genotype_json(const std::string& text, const std::string& source = "genotype JSON");
// Pretty-printed JSON text (indent 1, one (op, input) pair per line), with a final newline.
std::string genotype_to_json_text(const Genotype& g);

// Prints the DARTS text form (genotype_to_darts), so that logs and test failures show it.
std::ostream& operator<<(std::ostream& os, const Genotype& g);

}  // namespace bnas::nas
