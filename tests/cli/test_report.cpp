// tools/report: JSONL lines, cell drawings (.dot and SVG) and curves.svg.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stack>

#include "engine/check.h"
#include "nas/genotype.h"
#include "nas/published_genotypes.h"
#include "tools/report.h"

namespace fs = std::filesystem;
using bnas::report::Chart;
using nlohmann::json;

namespace {

// A small well-formedness check: every tag closes in order, attributes are quoted, and the text
// holds no raw '<' or unescaped '&'. Returns "" or the first problem.
std::string xml_problem(const std::string& s) {
  std::stack<std::string> open;
  size_t i = 0;
  int roots = 0;
  while (i < s.size()) {
    if (s[i] == '<') {
      const size_t end = s.find('>', i);
      if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
      std::string tag = s.substr(i + 1, end - i - 1);
      i = end + 1;
      if (tag.rfind("?", 0) == 0) continue;
      if (tag.rfind("/", 0) == 0) {
        const std::string name = tag.substr(1);
        if (open.empty() || open.top() != name) return "mismatched </" + name + ">";
        open.pop();
        continue;
      }
      const bool self_closing = !tag.empty() && tag.back() == '/';
      if (self_closing) tag.pop_back();
      const std::string name = tag.substr(0, tag.find_first_of(" \n\t"));
      // Attributes: name="value" pairs only.
      static const std::regex attrs(R"(^[A-Za-z][\w:-]*(\s+[\w:-]+="[^"<]*")*\s*$)");
      if (!std::regex_match(tag, attrs)) return "bad attributes in <" + tag + ">";
      if (open.empty()) ++roots;
      if (!self_closing) open.push(name);
    } else {
      if (s[i] == '&') {
        const size_t semi = s.find(';', i);
        const std::string ent = s.substr(i, semi - i + 1);
        if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;")
          return "bad entity " + ent;
      }
      ++i;
    }
  }
  if (!open.empty()) return "unclosed <" + open.top() + ">";
  if (roots != 1) return "expected one root element, found " + std::to_string(roots);
  return "";
}

size_t count(const std::string& s, const std::string& sub) {
  size_t n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + 1)) ++n;
  return n;
}

std::string tmp(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("bnas_report_test_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

}  // namespace

TEST(Report, XmlCheckerCatchesErrors) {
  EXPECT_EQ(xml_problem("<svg><g/></svg>"), "");
  EXPECT_NE(xml_problem("<svg><g></svg>"), "");
  EXPECT_NE(xml_problem("<svg a=b></svg>"), "");
  EXPECT_NE(xml_problem("<svg>a & b</svg>"), "");
}

TEST(Report, XmlEscape) {
  EXPECT_EQ(bnas::report::xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
}

TEST(Report, JsonlOneObjectPerFlushedLine) {
  const std::string dir = tmp("jsonl");
  const std::string path = dir + "/log.jsonl";
  {
    bnas::report::JsonlWriter w(path, false);
    w.write({{"epoch", 0}, {"loss", 1.5}, {"name", "a\nb"}});
    // Flushed: visible before the writer closes.
    std::ifstream in(path);
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_EQ(json::parse(line).at("loss").get<double>(), 1.5);
    w.write({{"epoch", 1}, {"loss", std::nan("")}});
  }
  {
    bnas::report::JsonlWriter w(path, true);  // appends
    w.write({{"epoch", 2}});
  }
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    EXPECT_NO_THROW(json::parse(line)) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 3);
  const auto recs = bnas::report::read_jsonl(path);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].at("name").get<std::string>(), "a\nb");
  EXPECT_TRUE(recs[1].at("loss").is_null());  // NaN becomes null, the line stays valid JSON
  EXPECT_EQ(recs[2].at("epoch").get<int>(), 2);
}

TEST(Report, JsonlErrorsNameTheFile) {
  EXPECT_THROW(bnas::report::JsonlWriter("/nonexistent-dir/x.jsonl"), bnas::Error);
  const std::string dir = tmp("badjsonl");
  std::ofstream(dir + "/bad.jsonl") << "{\"a\": 1}\n{oops\n";
  try {
    bnas::report::read_jsonl(dir + "/bad.jsonl");
    FAIL();
  } catch (const bnas::Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

TEST(Report, CellLayersAreLongestPaths) {
  const auto& g = bnas::nas::published_genotype("DARTS_V2");
  // DARTS_V2 normal: node 0 <- (1, 0); node 1 <- (0, 1); node 2 <- (0, 1); node 3 <- (0, 2 = node 0).
  const auto layers = bnas::report::cell_layers(g.normal, g.normal_concat);
  ASSERT_EQ(layers.size(), 7u);
  EXPECT_EQ(layers[0], 0);
  EXPECT_EQ(layers[1], 0);
  EXPECT_EQ(layers[2], 1);  // node 0
  EXPECT_EQ(layers[5], 2);  // node 3 reads node 0
  EXPECT_EQ(layers[6], 3);  // output
}

TEST(Report, CellDotHasEveryEdgeLabelled) {
  for (const auto& name : bnas::nas::published_genotype_names()) {
    const auto& g = bnas::nas::published_genotype(name);
    const std::string dot = bnas::report::cell_dot(g.normal, g.normal_concat, "normal");
    EXPECT_EQ(dot.rfind("digraph", 0), 0u);
    EXPECT_EQ(count(dot, "->"), 8u + g.normal_concat.size()) << name;
    for (const auto& e : g.normal)
      EXPECT_NE(dot.find(std::string("label=\"") + bnas::nas::primitive_name(e.op) + "\""), std::string::npos);
    EXPECT_NE(dot.find("\"c_{k-2}\""), std::string::npos);
    EXPECT_NE(dot.find("\"c_{k}\""), std::string::npos);
    EXPECT_EQ(count(dot, "{"), count(dot, "}"));
  }
}

TEST(Report, CellSvgIsWellFormedWithAllNodesAndLabels) {
  for (const auto& name : bnas::nas::published_genotype_names()) {
    const auto& g = bnas::nas::published_genotype(name);
    for (const auto* cell : {&g.normal, &g.reduce}) {
      const std::string svg = bnas::report::cell_svg(*cell, g.normal_concat, "cell <" + name + "> & co");
      EXPECT_EQ(xml_problem(svg), "") << name;
      EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
      EXPECT_EQ(count(svg, "class=\"vertex\""), 7u);
      for (const char* v : {">c_{k-2}<", ">c_{k-1}<", ">0<", ">1<", ">2<", ">3<", ">c_{k}<"})
        EXPECT_NE(svg.find(v), std::string::npos) << v;
      for (const auto& e : *cell)
        EXPECT_NE(svg.find(std::string(">") + bnas::nas::primitive_name(e.op) + "<"), std::string::npos);
      EXPECT_EQ(count(svg, "marker-end="), 8u + g.normal_concat.size());
    }
  }
}

TEST(Report, BadCellIsAnError) {
  std::vector<bnas::nas::GenotypeEdge> cell(8);
  cell[0].input = 5;  // node 0 cannot read node 3
  EXPECT_THROW(bnas::report::cell_svg(cell, {2, 3, 4, 5}), bnas::Error);
  EXPECT_THROW(bnas::report::cell_dot(cell, {2, 3, 4, 5}), bnas::Error);
}

TEST(Report, DrawGenotypeWritesFiles) {
  const std::string dir = tmp("draw");
  const auto files = bnas::report::draw_genotype(bnas::nas::published_genotype("BNASv2_PC_cifar_v1"), dir, "c", false);
  ASSERT_EQ(files.size(), 4u);
  for (const auto& f : files) EXPECT_TRUE(fs::exists(f)) << f;
  EXPECT_TRUE(fs::exists(dir + "/c_normal.svg"));
  EXPECT_TRUE(fs::exists(dir + "/c_reduce.dot"));
}

TEST(Report, CurvesFromRecords) {
  std::vector<json> recs;
  for (int e = 0; e < 5; ++e)
    recs.push_back({{"epoch", e}, {"train_loss", 2.0 - 0.3 * e}, {"valid_loss", 2.1 - 0.2 * e},
                    {"train_acc", 0.1 * e}, {"valid_acc", 0.09 * e}, {"lr", 0.025 * (5 - e) / 5},
                    {"arch_lr", 3e-4}, {"confidence", (e + 1) * (e + 1) / 25.0}, {"alpha_entropy", 2.07 - 0.01 * e},
                    {"param_free_normal", e % 3}, {"param_free_reduce", 1}});
  const auto charts = bnas::report::curves_from_records(recs);
  std::vector<std::string> titles;
  for (const Chart& c : charts) titles.push_back(c.title);
  ASSERT_EQ(charts.size(), 6u);
  EXPECT_EQ(charts[0].title, "Loss");
  ASSERT_EQ(charts[0].series.size(), 2u);  // train, valid (no test key)
  EXPECT_EQ(charts[0].series[0].x, (std::vector<double>{1, 2, 3, 4, 5}));
  EXPECT_EQ(charts[5].series.size(), 2u);  // parameter-free ops of both cells
  const std::string svg = bnas::report::curves_svg(recs, "search <x>");
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(count(svg, "class=\"chart\""), 6u);
  EXPECT_EQ(count(svg, "<polyline"), 10u);
  EXPECT_NE(svg.find("search &lt;x&gt;"), std::string::npos);
}

TEST(Report, CurvesEdgeCases) {
  // No records, one record, constant values, NaN and "no validation" (-1) all give valid SVG.
  EXPECT_EQ(xml_problem(bnas::report::curves_svg({})), "");
  const std::vector<json> one = {{{"epoch", 0}, {"train_loss", 1.0}, {"valid_acc", -1}, {"test_acc", 0.5}}};
  const std::string s1 = bnas::report::curves_svg(one);
  EXPECT_EQ(xml_problem(s1), "");
  EXPECT_NE(s1.find("<circle"), std::string::npos);
  const std::vector<json> flat = {{{"epoch", 0}, {"lr", 0.1}}, {{"epoch", 1}, {"lr", 0.1}},
                                  {{"epoch", 2}, {"lr", nullptr}}};
  const std::string s2 = bnas::report::curves_svg(flat);
  EXPECT_EQ(xml_problem(s2), "");
  EXPECT_EQ(s2.find("nan"), std::string::npos);
  EXPECT_EQ(s2.find("inf"), std::string::npos);
}

TEST(Report, WriteCurvesReplacesAtomically) {
  const std::string dir = tmp("curves");
  const std::string path = dir + "/curves.svg";
  bnas::report::write_curves(path, {{{"epoch", 0}, {"train_loss", 1.0}}});
  bnas::report::write_curves(path, {{{"epoch", 0}, {"train_loss", 1.0}}, {{"epoch", 1}, {"train_loss", 0.5}}});
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(xml_problem(text), "");
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename(), "curves.svg");  // no temp left
}
