// Genotypes: the discrete cell architectures that a search produces and an evaluation network
// trains (BNAS-V2.md sections 2, 3 and 5).
//
// A genotype holds two cells in the DARTS field names normal / reduce. Naming trap (BNAS-V2.md
// section 4): in BNAS "normal" is the CONVOLUTION cell and "reduce" is the ENHANCEMENT cell; a
// DARTS genotype plugged into the broad network uses its reduction cell as the enhancement cell.
//
// Each cell has kCellSteps = 4 intermediate nodes; node j reads two (op, input) pairs, stored
// consecutively at entries 2j and 2j+1, where input 0 is s0, input 1 is s1 and input i >= 2 is
// node i-2, so node j may read inputs 0 .. j+1. The cell output concatenates the nodes listed in
// the concat field (2..5 for every genotype the authors published).
//
// Three external forms, all moving both ways:
//  - JSON: {"normal": [["sep_conv_3x3", 1], ...], "normal_concat": [2, 3, 4, 5], "reduce": ...,
//    "reduce_concat": ...} (the entry format of shared/data/genotypes.json; extra keys are
//    ignored so that a genotype can carry metadata);
//  - the DARTS text form, i.e. the repr of the PyTorch namedtuple:
//    Genotype(normal=[('sep_conv_3x3', 1), ...], normal_concat=range(2, 6), reduce=[...],
//    reduce_concat=range(2, 6)); read by a small recursive-descent parser (no eval), which also
//    accepts lists or tuples for the concat fields, lists for the pairs, either quote style,
//    trailing commas, keyword arguments in any order and an optional leading `NAME =` (so a line
//    of a DARTS genotypes.py or a `genotype = ...` log line can be pasted as is);
//  - the published genotypes of the BNAS-v2, DARTS and PC-DARTS papers, by name. Their JSON is
//    embedded in the library at build time (nas/published_genotypes.json, a copy of
//    shared/data/genotypes.json), so no data file is needed at run time.
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

// The candidate operations, in the column order of alpha (BNAS-V2.md section 2).
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

// ---- DARTS text ----
// Genotype(normal=[('sep_conv_3x3', 1), ...], normal_concat=range(2, 6), reduce=[...],
// reduce_concat=range(2, 6)): exactly the repr of the DARTS namedtuple. A concat that is a
// contiguous run is written as range(a, b), any other as a list.
std::string genotype_to_darts(const Genotype& g);
Genotype parse_genotype_darts(const std::string& text, const std::string& source = "genotype text");

// ---- Either form ----
// JSON if the first non-blank character is '{', DARTS text otherwise.
Genotype parse_genotype(const std::string& text, const std::string& source = "genotype text");
// Reads a JSON or DARTS-text genotype file; errors name the file.
Genotype read_genotype_file(const std::string& path);
// Writes JSON if path ends in ".json", DARTS text (one line) otherwise. Writes to a temporary
// file beside `path` and renames it over (engine write_file_atomically), so a failure never
// leaves a half-written file.
void write_genotype_file(const Genotype& g, const std::string& path);

// ---- Published genotypes ----
// DARTS_V1, DARTS_V2, PC_DARTS_cifar, PC_DARTS_image, BNASv2_PC_cifar_v1, BNASv2_PC_cifar_v2,
// BNASv2_PC_image, BNASv2_CLR_v1, BNASv2_CLR_v2, in the order of the data file.
const std::vector<std::string>& published_genotype_names();
bool is_published_genotype(const std::string& name);
// Throws, listing the names, if `name` is not published.
const Genotype& published_genotype(const std::string& name);
// The embedded JSON text (the whole genotypes.json), for tests and tools.
const std::string& published_genotypes_json();
// A published name, else a file path (JSON or DARTS text), else an error saying neither.
Genotype resolve_genotype(const std::string& name_or_path);

// ---- Derivation (BNAS-V2.md section 5) ----
// alpha: kCellEdges x kNumPrimitives values, row-major, one row per edge in the cell's edge
// order (node by node, inputs s0, s1, n0, ...). beta: kCellEdges values (edge normalization), or
// nullptr / empty for no EN. For node j: W = softmax(alpha row) for each incoming edge; with EN
// each row is multiplied by softmax over node j's betas. The 2 edges with the largest non-none
// weight are kept (strongest first, ties to the lower input, as Python's stable sort does), each
// with its arg-max op excluding none (ties to the lower index). Non-finite alpha or beta is an
// error (a diverged search), never a silent choice.
std::vector<GenotypeEdge> derive_cell(const double* alpha, const double* beta);
std::vector<GenotypeEdge> derive_cell(const std::vector<double>& alpha,
                                      const std::vector<double>& beta = {});
// Concats are 2..5. Empty betas mean no edge normalization.
Genotype derive_genotype(const std::vector<double>& alpha_normal,
                         const std::vector<double>& alpha_reduce,
                         const std::vector<double>& beta_normal = {},
                         const std::vector<double>& beta_reduce = {});
// The kCellEdges x kNumPrimitives matrix W the derivation ranks: softmax(alpha) per row, times
// the node-normalised beta of the row's edge when beta is given. For logs and plots.
std::vector<double> derivation_weights(const double* alpha, const double* beta);

std::ostream& operator<<(std::ostream& os, const Genotype& g);

}  // namespace bnas::nas
