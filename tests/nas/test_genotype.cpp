// Genotypes: derivation from alpha/beta (docs/METHOD.md §5) on hand-made weights with known
// answers and on weights whose answer the authors' own parse code gave; the DARTS text and JSON
// round trips of every published genotype; every kind of malformed genotype.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "engine/check.h"
#include "nas/derive_genotype.h"
#include "nas/genotype.h"
#include "nas/genotype_darts.h"
#include "nas/genotype_file.h"
#include "nas/published_genotypes.h"
#include "tests/error_of.h"

namespace bnas::nas {
namespace {

using P = Primitive;
constexpr int kRow = kNumPrimitives;

using bnas::testing::error_of;

// The error is one line and contains every expected fragment.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  const std::string msg = error_of(f);
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  for (const auto& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "missing '" << frag << "' in: " << msg;
}

std::vector<double> zeros(size_t n) { return std::vector<double>(n, 0.0); }
void set(std::vector<double>& alpha, int edge, P op, double v) {
  alpha[static_cast<size_t>(edge * kRow + static_cast<int>(op))] = v;
}

std::string cell_text(const std::vector<GenotypeEdge>& cell) {
  std::ostringstream s;
  for (const auto& e : cell) s << "(" << primitive_name(e.op) << ", " << e.input << ") ";
  return s.str();
}

// A valid genotype text in DARTS form with the normal cell's entries replaced by `normal`.
std::string darts_with_normal(const std::string& normal) {
  return "Genotype(normal=" + normal +
         ", normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), "
         "('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), "
         "('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))";
}
const char* kGoodNormal =
    "[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)]";

// ---------------------------------------------------------------------------------------------
// Primitives

TEST(Genotype, PrimitivesInAlphaColumnOrder) {
  const std::vector<std::string> expected = {"none",         "max_pool_3x3", "avg_pool_3x3",
                                             "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                                             "dil_conv_3x3", "dil_conv_5x5"};
  ASSERT_EQ(primitive_names().size(), expected.size());
  for (int i = 0; i < kNumPrimitives; ++i) {
    EXPECT_EQ(primitive_names()[static_cast<size_t>(i)], expected[static_cast<size_t>(i)]);
    EXPECT_EQ(primitive_from_name(expected[static_cast<size_t>(i)]), static_cast<P>(i));
    EXPECT_EQ(primitive_name(static_cast<P>(i)), expected[static_cast<size_t>(i)]);
  }
  EXPECT_EQ(kCellEdges, 14);
  EXPECT_EQ(cell_edge_offset(0), 0);
  EXPECT_EQ(cell_edge_offset(1), 2);
  EXPECT_EQ(cell_edge_offset(2), 5);
  EXPECT_EQ(cell_edge_offset(3), 9);
  EXPECT_EQ(cell_edge_offset(4), 14);
  expect_error([] { primitive_from_name("conv_7x7", "my source"); },
               {"my source", "unknown operation 'conv_7x7'", "sep_conv_3x3"});
}

// ---------------------------------------------------------------------------------------------
// Derivation

TEST(GenotypeDerive, HandMadeAlphaWithoutBeta) {
  std::vector<double> a = zeros(kCellEdges * kRow);
  // Node 0 (edges 0, 1): the stronger edge comes first in the genotype, as in the reference.
  set(a, 0, P::kSepConv3x3, 2.0);
  set(a, 1, P::kSkipConnect, 3.0);
  // Node 1 (edges 2, 3, 4): edge 2 is dominated by none, which never counts.
  set(a, 2, P::kNone, 10.0);
  set(a, 3, P::kDilConv5x5, 1.0);
  set(a, 4, P::kAvgPool3x3, 0.5);
  // Node 2 (edges 5..8): all uniform: ties keep the lower inputs and the lowest non-none op.
  // Node 3 (edges 9..13): edges 11 and 13 tie exactly; the lower input wins. Edge 10 has the
  // larger raw alpha but two ops share its mass, so after the softmax it is weaker.
  set(a, 11, P::kSepConv3x3, 1.0);
  set(a, 13, P::kSepConv3x3, 1.0);
  set(a, 10, P::kSepConv5x5, 1.2);
  set(a, 10, P::kDilConv3x3, 1.2);

  const std::vector<GenotypeEdge> expected = {
      {P::kSkipConnect, 1}, {P::kSepConv3x3, 0},  // node 0
      {P::kDilConv5x5, 1},  {P::kAvgPool3x3, 2},  // node 1
      {P::kMaxPool3x3, 0},  {P::kMaxPool3x3, 1},  // node 2
      {P::kSepConv3x3, 2},  {P::kSepConv3x3, 4},  // node 3
  };
  const auto got = derive_cell(a);
  EXPECT_EQ(got, expected) << cell_text(got);
  EXPECT_EQ(derive_cell(a.data(), nullptr), expected);
}

TEST(GenotypeDerive, EdgeNormalizationChangesTheChosenEdges) {
  std::vector<double> a = zeros(kCellEdges * kRow);
  for (int e = 0; e < kCellEdges; ++e) set(a, e, P::kSepConv3x3, 0.1 * e);  // any valid background
  // Node 1: without EN inputs 0 and 1 win; EN strongly favours input 2.
  set(a, 2, P::kSepConv3x3, 2.0);
  set(a, 3, P::kSepConv5x5, 1.5);
  set(a, 4, P::kDilConv3x3, 1.0);
  std::vector<double> beta = zeros(kCellEdges);
  beta[4] = 3.0;

  const auto plain = derive_cell(a);
  const auto en = derive_cell(a, beta);
  EXPECT_EQ(plain[2], (GenotypeEdge{P::kSepConv3x3, 0}));
  EXPECT_EQ(plain[3], (GenotypeEdge{P::kSepConv5x5, 1}));
  EXPECT_EQ(en[2], (GenotypeEdge{P::kDilConv3x3, 2}));
  EXPECT_EQ(en[3], (GenotypeEdge{P::kSepConv3x3, 0}));
  // beta[4] belongs to node 1 only: every other node is unchanged.
  for (size_t i : {0u, 1u, 4u, 5u, 6u, 7u}) EXPECT_EQ(plain[i], en[i]) << i;

  // Within a node, EN scales whole rows, so it can reorder edges but never change an edge's op.
  // A beta that is constant within each node changes nothing (softmax per node, not over 14).
  std::vector<double> per_node_constant = {5, 5, -2, -2, -2, 0.5, 0.5, 0.5, 0.5, 9, 9, 9, 9, 9};
  EXPECT_EQ(derive_cell(a, per_node_constant), plain);
}

TEST(GenotypeDerive, BetaIsNormalisedPerNode) {
  std::vector<double> a(kCellEdges * kRow);
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::sin(0.37 * static_cast<double>(i));
  std::vector<double> beta(kCellEdges);
  for (size_t i = 0; i < beta.size(); ++i) beta[i] = std::cos(1.3 * static_cast<double>(i));
  const std::vector<double> w = derivation_weights(a.data(), beta.data());
  const std::vector<double> w0 = derivation_weights(a.data(), nullptr);
  for (int node = 0; node < kCellSteps; ++node) {
    double node_total = 0, bsum = 0;
    for (int i = 0; i < node + 2; ++i) bsum += std::exp(beta[static_cast<size_t>(cell_edge_offset(node) + i)]);
    for (int i = 0; i < node + 2; ++i) {
      const int e = cell_edge_offset(node) + i;
      double row = 0, row0 = 0;
      for (int k = 0; k < kRow; ++k) {
        row += w[static_cast<size_t>(e * kRow + k)];
        row0 += w0[static_cast<size_t>(e * kRow + k)];
      }
      EXPECT_NEAR(row0, 1.0, 1e-12);
      EXPECT_NEAR(row, std::exp(beta[static_cast<size_t>(e)]) / bsum, 1e-12) << "edge " << e;
      node_total += row;
    }
    EXPECT_NEAR(node_total, 1.0, 1e-12) << "node " << node;
  }
}

// Expected answers printed by the authors' PC-DARTS/BNASv2PC parse code (model_search.py,
// Network.genotype: softmax(alpha), rows scaled by per-node softmax(beta)) run in float64 on the
// same alpha and beta.
TEST(GenotypeDerive, MatchesTheReferenceParseCode) {
  std::vector<double> an(kCellEdges * kRow), ar(kCellEdges * kRow), bn(kCellEdges), br(kCellEdges);
  for (int i = 0; i < kCellEdges * kRow; ++i) {
    an[static_cast<size_t>(i)] = std::sin(1.7 * i + 0.3) * 2;
    ar[static_cast<size_t>(i)] = std::cos(0.9 * i + 0.1) * 2;
  }
  for (int e = 0; e < kCellEdges; ++e) {
    bn[static_cast<size_t>(e)] = std::sin(2.3 * e) * 1.5;
    br[static_cast<size_t>(e)] = std::cos(1.1 * e + 0.5) * 1.5;
  }
  const Genotype plain = derive_genotype(an, ar);
  const Genotype en = derive_genotype(an, ar, bn, br);
  EXPECT_EQ(genotype_to_darts(plain),
            "Genotype(normal=[('max_pool_3x3', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 2), "
            "('dil_conv_5x5', 0), ('sep_conv_5x5', 0), ('max_pool_3x3', 1), ('avg_pool_3x3', 1), "
            "('sep_conv_5x5', 2)], normal_concat=range(2, 6), reduce=[('dil_conv_3x3', 1), "
            "('dil_conv_5x5', 0), ('sep_conv_3x3', 1), ('skip_connect', 2), ('avg_pool_3x3', 0), "
            "('dil_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0)], "
            "reduce_concat=range(2, 6))");
  EXPECT_EQ(genotype_to_darts(en),
            "Genotype(normal=[('sep_conv_3x3', 1), ('max_pool_3x3', 0), ('dil_conv_3x3', 1), "
            "('avg_pool_3x3', 2), ('max_pool_3x3', 1), ('sep_conv_3x3', 2), ('skip_connect', 0), "
            "('max_pool_3x3', 3)], normal_concat=range(2, 6), reduce=[('dil_conv_5x5', 0), "
            "('dil_conv_3x3', 1), ('skip_connect', 2), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), "
            "('max_pool_3x3', 1), ('skip_connect', 2), ('sep_conv_3x3', 1)], "
            "reduce_concat=range(2, 6))");
  EXPECT_EQ(plain.normal_concat, default_concat());
  EXPECT_EQ(en.reduce_concat, (std::vector<int>{2, 3, 4, 5}));
}

TEST(GenotypeDerive, RejectsBadSizesAndNonFiniteWeights) {
  expect_error([] { derive_cell(zeros(13 * 8)); }, {"112 alpha values", "got 104"});
  expect_error([] { derive_cell(zeros(14 * 8), zeros(13)); }, {"14 beta values", "got 13"});
  std::vector<double> a = zeros(14 * 8);
  a[3 * 8 + 5] = std::nan("");
  expect_error([&] { derive_cell(a); }, {"alpha[3][5]", "diverged"});
  std::vector<double> b = zeros(14);
  b[7] = INFINITY;
  expect_error([&] { derive_cell(zeros(14 * 8), b); }, {"beta[7]", "diverged"});
}

// ---------------------------------------------------------------------------------------------
// Published genotypes and round trips

TEST(GenotypePublished, AllNamesAvailableInFileOrder) {
  const std::vector<std::string> expected = {
      "DARTS_V1",           "DARTS_V2",      "PC_DARTS_cifar", "PC_DARTS_image",
      "BNASv2_PC_cifar_v1", "BNASv2_PC_cifar_v2", "BNASv2_PC_image", "BNASv2_CLR_v1",
      "BNASv2_CLR_v2"};
  EXPECT_EQ(published_genotype_names(), expected);
  for (const auto& n : expected) {
    EXPECT_TRUE(is_published_genotype(n));
    EXPECT_NO_THROW(validate_genotype(published_genotype(n), n));
  }
  expect_error([] { published_genotype("BNASv2_PC_cifar_v3"); },
               {"Unknown genotype 'BNASv2_PC_cifar_v3'", "BNASv2_CLR_v2", "DARTS_V1"});
}

TEST(GenotypePublished, KnownContents) {
  // DARTS genotypes.py, verbatim (including its list-form concat).
  const Genotype darts_v2 = parse_genotype_darts(
      "DARTS_V2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
      "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
      "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
      "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
      "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])");
  EXPECT_EQ(darts_v2, published_genotype("DARTS_V2"));
  const Genotype& pc = published_genotype("BNASv2_PC_cifar_v1");
  EXPECT_EQ(pc.normal[2], (GenotypeEdge{P::kDilConv5x5, 2}));
  EXPECT_EQ(pc.reduce[7], (GenotypeEdge{P::kMaxPool3x3, 0}));
  EXPECT_EQ(pc.normal_concat, default_concat());
}

TEST(GenotypeRoundTrip, DartsTextOfEveryPublishedGenotype) {
  for (const auto& name : published_genotype_names()) {
    const Genotype& g = published_genotype(name);
    const std::string text = genotype_to_darts(g);
    EXPECT_EQ(text.rfind("Genotype(normal=[('", 0), 0u) << text;
    EXPECT_NE(text.find("normal_concat=range(2, 6), reduce=["), std::string::npos) << text;
    EXPECT_EQ(parse_genotype_darts(text, name), g) << name;
    EXPECT_EQ(parse_genotype(text, name), g) << name;
    EXPECT_EQ(genotype_to_darts(parse_genotype_darts(text)), text) << name;
  }
}

TEST(GenotypeRoundTrip, JsonOfEveryPublishedGenotype) {
  for (const auto& name : published_genotype_names()) {
    const Genotype& g = published_genotype(name);
    const nlohmann::json j = genotype_to_json(g);
    EXPECT_EQ(genotype_from_json(j, name), g) << name;
    EXPECT_EQ(j, nlohmann::json::parse(published_genotypes_json())["genotypes"][name]) << name;
    const std::string text = genotype_to_json_text(g);
    EXPECT_EQ(parse_genotype_json(text, name), g) << name;
    EXPECT_EQ(parse_genotype(text, name), g) << name;
    EXPECT_EQ(nlohmann::json::parse(text), j) << name;
  }
}

TEST(GenotypeRoundTrip, Files) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("bnas_test_genotype_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const Genotype& g = published_genotype("BNASv2_CLR_v1");
  const std::string js = (dir / "g.json").string(), tx = (dir / "g.txt").string();
  write_genotype_file(g, js);
  write_genotype_file(g, tx);
  EXPECT_EQ(read_genotype_file(js), g);
  EXPECT_EQ(read_genotype_file(tx), g);
  EXPECT_EQ(resolve_genotype(js), g);
  EXPECT_EQ(resolve_genotype("BNASv2_CLR_v1"), g);
  EXPECT_EQ(resolve_genotype(genotype_to_darts(g)), g);
  EXPECT_FALSE(std::filesystem::exists(js + ".tmp"));
  std::ifstream in(js);
  EXPECT_EQ(in.peek(), '{');

  // Errors name the file.
  const std::string bad = (dir / "bad_genotype.txt").string();
  std::ofstream(bad) << darts_with_normal("[('sep_conv_3x3', 0)]");
  expect_error([&] { read_genotype_file(bad); }, {"bad_genotype.txt", "'normal' has 1 entry"});
  const std::string bad_json = (dir / "bad.json").string();
  std::ofstream(bad_json) << "{\"normal\": 3}";
  expect_error([&] { read_genotype_file(bad_json); }, {"bad.json", "'normal' must be a list"});
  expect_error([&] { read_genotype_file((dir / "missing.txt").string()); },
               {"missing.txt", "does not exist"});
  expect_error([&] { resolve_genotype("no_such_genotype"); },
               {"'no_such_genotype' is neither a published genotype", "DARTS_V2"});
  std::filesystem::remove_all(dir);
}

TEST(GenotypeRoundTrip, DartsTextVariantsAccepted) {
  const Genotype& ref = published_genotype("DARTS_V2");
  const std::vector<std::string> variants = {
      // Multi-line, comments, double quotes, list pairs, trailing commas, tuple concat.
      "genotype = Genotype(  # logged by train_search.py\n"
      "  normal=[[\"sep_conv_3x3\", 0], ['sep_conv_3x3', 1], ('sep_conv_3x3', 0),\n"
      "          ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0),\n"
      "          ('skip_connect', 0), ('dil_conv_3x3', 2,),],\n"
      "  normal_concat=(2, 3, 4, 5),\n"
      "  reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1),\n"
      "          ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)],\n"
      "  reduce_concat=range(2,6),\n"
      ")\n",
      // Keyword arguments in any order.
      "Genotype(reduce_concat=[2,3,4,5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), "
      "('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), "
      "('skip_connect', 2), ('max_pool_3x3', 1)], normal_concat=range(2, 6), normal=" +
          std::string(kGoodNormal) + ")",
  };
  for (const auto& v : variants) EXPECT_EQ(parse_genotype_darts(v), ref) << v;

  // A non-contiguous concat is written as a list and read back.
  Genotype g = ref;
  g.reduce_concat = {2, 4, 5};
  const std::string text = genotype_to_darts(g);
  EXPECT_NE(text.find("reduce_concat=[2, 4, 5])"), std::string::npos) << text;
  EXPECT_EQ(parse_genotype_darts(text), g);
  EXPECT_EQ(genotype_from_json(genotype_to_json(g)), g);
}

// ---------------------------------------------------------------------------------------------
// Malformed genotypes

struct BadText {
  std::string text;
  std::vector<std::string> fragments;
};

TEST(GenotypeMalformed, DartsText) {
  const std::string N = kGoodNormal;
  const std::vector<BadText> cases = {
      // Unknown op.
      {darts_with_normal("[('sep_conv_7x7', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
                         "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)]"),
       {"unknown operation 'sep_conv_7x7'", "normal[0]", "valid operations: none, max_pool_3x3"}},
      // Bad input index for the node (node 0 reads 0..1; node 3 reads 0..4), and negative.
      {darts_with_normal("[('sep_conv_3x3', 0), ('sep_conv_3x3', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
                         "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)]"),
       {"normal[1] reads input 2", "may only read inputs 0 to 1"}},
      {darts_with_normal("[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
                         "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 5)]"),
       {"normal[7] reads input 5", "entries 6 and 7 (node 3) may only read inputs 0 to 4"}},
      {darts_with_normal("[('sep_conv_3x3', -1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
                         "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)]"),
       {"normal[0] reads input -1"}},
      // Wrong counts.
      {darts_with_normal("[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
                         "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0)]"),
       {"'normal' has 7 entries but a cell needs exactly 8"}},
      {darts_with_normal("[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
                         "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2), "
                         "('dil_conv_3x3', 2)]"),
       {"'normal' has more than 8 entries"}},
      {darts_with_normal("[]"), {"'normal' has 0 entries"}},
      // Bad concat.
      {"Genotype(normal=" + N + ", normal_concat=[2, 2, 3], reduce=" + N + ", reduce_concat=range(2, 6))",
       {"'normal_concat' must list node states between 2 and 5", "[2, 2, 3]"}},
      {"Genotype(normal=" + N + ", normal_concat=range(2, 6), reduce=" + N + ", reduce_concat=range(1, 6))",
       {"'reduce_concat' must list", "[1, 2, 3, 4, 5]"}},
      {"Genotype(normal=" + N + ", normal_concat=[], reduce=" + N + ", reduce_concat=range(2, 6))",
       {"'normal_concat' must list", "but it is []"}},
      {"Genotype(normal=" + N + ", normal_concat=range(0, 100000000000), reduce=" + N +
           ", reduce_concat=range(2, 6))",
       {"far too long"}},
      {"Genotype(normal=" + N + ", normal_concat=range(2, 6), reduce=" + N + ", reduce_concat=rang(2, 6))",
       {"expected range(a, b) or a list"}},
      // Missing, duplicate and unknown fields.
      {"Genotype(normal=" + N + ", normal_concat=range(2, 6), reduce=" + N + ")",
       {"the field 'reduce_concat' is missing"}},
      {"Genotype(normal=" + N + ", normal=" + N + ", normal_concat=range(2, 6), reduce=" + N +
           ", reduce_concat=range(2, 6))",
       {"the field 'normal' is given twice"}},
      {"Genotype(normal=" + N + ", normal_concat=range(2, 6), reduction=" + N + ", reduce_concat=range(2, 6))",
       {"unknown field 'reduction'"}},
      // Syntax.
      {"", {"expected 'Genotype(' but found the end of the text", "line 1, column 1"}},
      {"Genotyp(normal=[])", {"expected 'Genotype(' but found 'Genotyp'"}},
      {"x = y", {"expected 'Genotype(' after 'x ='"}},
      {"Genotype[normal=" + N + "]", {"expected '(' after 'Genotype'"}},
      {"Genotype(normal " + N + ")", {"expected '=' after the field name 'normal'"}},
      {"Genotype(normal=[('sep_conv_3x3', 0)", {"expected ',' or ']'", "the end of the text"}},
      {"Genotype(normal=[('sep_conv_3x3, 0)])", {"missing its closing quote"}},
      {"Genotype(normal=[(sep_conv_3x3, 0)])", {"expected a quoted operation name in normal[0]"}},
      {"Genotype(normal=[('sep_conv_3x3' 0)])", {"expected ',' after the operation name in normal[0]"}},
      {"Genotype(normal=[('sep_conv_3x3', 1.0)])", {"expected ')' to close the (op, input) pair in normal[0]"}},
      {"Genotype(normal=[('sep_conv_3x3', x)])", {"expected an integer input index in normal[0]"}},
      {"Genotype(normal=[('sep_conv_3x3', 1234567890123456789)])", {"is too long"}},
      {"Genotype(normal=[('sep\\n', 0)])", {"escape sequences are not allowed"}},
      {"Genotype(normal=" + N + ", normal_concat=range(2, 6), reduce=" + N +
           ", reduce_concat=range(2, 6)) trailing",
       {"unexpected text after the closing ')'"}},
      {"Genotype(normal=" + N + ",\n  normal_concat=range(2, 6);", {"at line 2, column 28", "expected ',' or ')'"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    std::vector<std::string> frags = c.fragments;
    frags.push_back("Invalid genotype in my.txt: ");
    expect_error([&] { parse_genotype_darts(c.text, "my.txt"); }, frags);
  }
}

TEST(GenotypeMalformed, Json) {
  const std::string pairs =
      "[[\"sep_conv_3x3\", 0], [\"sep_conv_3x3\", 1], [\"sep_conv_3x3\", 0], [\"sep_conv_3x3\", 1], "
      "[\"sep_conv_3x3\", 1], [\"skip_connect\", 0], [\"skip_connect\", 0], [\"dil_conv_3x3\", 2]]";
  auto with_normal = [&](const std::string& normal) {
    return "{\"normal\": " + normal + ", \"normal_concat\": [2, 3, 4, 5], \"reduce\": " + pairs +
           ", \"reduce_concat\": [2, 3, 4, 5]}";
  };
  EXPECT_NO_THROW(parse_genotype_json(with_normal(pairs)));
  // Extra keys (metadata) are allowed.
  EXPECT_NO_THROW(parse_genotype_json("{\"epoch\": 49, " + with_normal(pairs).substr(1)));
  const std::vector<BadText> cases = {
      {"{\"normal\": [", {"not valid JSON"}},
      {"[1, 2]", {"the JSON value is a list, not an object"}},
      {"{\"normal\": " + pairs + ", \"reduce\": " + pairs + ", \"reduce_concat\": [2, 3, 4, 5]}",
       {"the field 'normal_concat' is missing"}},
      {with_normal("\"sep_conv_3x3\""), {"'normal' must be a list of [op, input] pairs, but it is a string"}},
      {with_normal("[[\"sep_conv_3x3\", 0]]"), {"'normal' has 1 entry but a cell needs exactly 8"}},
      {with_normal("[[\"sep_conv_3x3\", 0, 1], [\"sep_conv_3x3\", 1], [\"sep_conv_3x3\", 0], [\"sep_conv_3x3\", 1], "
                   "[\"sep_conv_3x3\", 1], [\"skip_connect\", 0], [\"skip_connect\", 0], [\"dil_conv_3x3\", 2]]"),
       {"normal[0] must be a pair [op name, input index]"}},
      {with_normal("[[\"max_pool_5x5\", 0], [\"sep_conv_3x3\", 1], [\"sep_conv_3x3\", 0], [\"sep_conv_3x3\", 1], "
                   "[\"sep_conv_3x3\", 1], [\"skip_connect\", 0], [\"skip_connect\", 0], [\"dil_conv_3x3\", 2]]"),
       {"unknown operation 'max_pool_5x5' in normal[0]"}},
      {with_normal("[[\"sep_conv_3x3\", 0], [\"sep_conv_3x3\", 1.5], [\"sep_conv_3x3\", 0], [\"sep_conv_3x3\", 1], "
                   "[\"sep_conv_3x3\", 1], [\"skip_connect\", 0], [\"skip_connect\", 0], [\"dil_conv_3x3\", 2]]"),
       {"the input index of normal[1] must be an integer, but it is a floating-point number"}},
      {with_normal("[[\"sep_conv_3x3\", 0], [\"sep_conv_3x3\", 1], [\"sep_conv_3x3\", 0], [\"sep_conv_3x3\", 1], "
                   "[\"sep_conv_3x3\", 1], [\"skip_connect\", 0], [\"skip_connect\", 0], [\"dil_conv_3x3\", 9999999999999]]"),
       {"the input index of normal[7]", "far out of range"}},
      {with_normal("[[\"sep_conv_3x3\", 0], [\"sep_conv_3x3\", 1], [\"sep_conv_3x3\", 0], [\"sep_conv_3x3\", 1], "
                   "[\"sep_conv_3x3\", 4], [\"skip_connect\", 0], [\"skip_connect\", 0], [\"dil_conv_3x3\", 2]]"),
       {"normal[4] reads input 4", "may only read inputs 0 to 3"}},
      {"{\"normal\": " + pairs + ", \"normal_concat\": \"range(2, 6)\", \"reduce\": " + pairs +
           ", \"reduce_concat\": [2, 3, 4, 5]}",
       {"'normal_concat' must be a list of node indices, but it is a string"}},
      {"{\"normal\": " + pairs + ", \"normal_concat\": [2, 3, 4, 5], \"reduce\": " + pairs +
           ", \"reduce_concat\": [5, 4]}",
       {"'reduce_concat' must list node states", "[5, 4]"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    std::vector<std::string> frags = c.fragments;
    frags.push_back("Invalid genotype in g.json: ");
    expect_error([&] { parse_genotype_json(c.text, "g.json"); }, frags);
  }
}

TEST(GenotypeMalformed, ValidateBuiltInCode) {
  Genotype g = published_genotype("DARTS_V1");
  g.normal[3].op = static_cast<P>(11);
  expect_error([&] { validate_genotype(g, "test"); }, {"normal[3] has the operation code 11"});
  expect_error([&] { genotype_to_darts(g); }, {"the genotype being written"});
  g = published_genotype("DARTS_V1");
  g.reduce.pop_back();
  expect_error([&] { genotype_to_json(g); }, {"'reduce' has 7 entries"});
  g = published_genotype("DARTS_V1");
  g.reduce[2].input = 3;
  expect_error([&] { validate_genotype(g, "test"); }, {"reduce[2] reads input 3"});
}

}  // namespace
}  // namespace bnas::nas
