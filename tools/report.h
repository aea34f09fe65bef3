// Run outputs people can look at: JSON Lines logs, genotype cells drawn as Graphviz .dot and as
// SVG rendered here (no Graphviz needed), and curves.svg, line charts of the per-epoch records.
//
// Everything returns text (testable without files) and the file writers go through
// write_file_atomically, so a reader (a browser refreshing curves.svg, a crash) never sees a
// half-written picture. The JSONL writer appends one object per line and flushes after each,
// so `tail -f log.jsonl` and a killed run both see whole lines only.
//
// Cell layout: a layered drawing left to right. Layer 0 holds the cell inputs c_{k-2} and
// c_{k-1}; node j sits one layer right of the deepest node it reads (longest path), and the
// output c_{k} one layer right of everything. Each genotype entry is an edge labelled with its
// op name; the concatenated nodes feed c_{k} with unlabelled edges.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nas/genotype.h"

namespace bnas::report {

// Appends one JSON object per line to a file, flushed after every line.
class JsonlWriter {
 public:
  JsonlWriter() = default;
  // append = false truncates. Throws bnas::Error naming the file when it cannot be opened.
  explicit JsonlWriter(const std::string& path, bool append = true);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;
  void open(const std::string& path, bool append = true);
  bool is_open() const { return f_ != nullptr; }
  void write(const nlohmann::json& record);  // one line, flushed
  void close();
  const std::string& path() const { return path_; }

 private:
  std::FILE* f_ = nullptr;
  std::string path_;
};

// Reads a JSONL file back (blank lines skipped); throws naming the file and line on bad JSON.
std::vector<nlohmann::json> read_jsonl(const std::string& path);

// Text escaped for XML character data and attribute values.
std::string xml_escape(const std::string& s);

// One genotype cell (kGenotypeEntries (op, input) pairs and its concat) as a Graphviz digraph.
// `title` labels the graph (e.g. "convolution cell (normal)").
std::string cell_dot(const std::vector<nas::GenotypeEdge>& cell, const std::vector<int>& concat,
                     const std::string& title = "");
// The same cell as a standalone SVG document.
std::string cell_svg(const std::vector<nas::GenotypeEdge>& cell, const std::vector<int>& concat,
                     const std::string& title = "");

// Layer (column) of every drawn vertex: index 0 = c_{k-2}, 1 = c_{k-1}, 2 + j = node j,
// 6 = c_{k}. Exposed for tests.
std::vector<int> cell_layers(const std::vector<nas::GenotypeEdge>& cell, const std::vector<int>& concat);

// Writes <dir>/<stem>_normal.{dot,svg} and <dir>/<stem>_reduce.{dot,svg} (normal = convolution
// cell, reduce = enhancement cell), and PNGs too when `dot` is on the PATH and png is true.
// Returns the paths written.
std::vector<std::string> draw_genotype(const nas::Genotype& g, const std::string& dir,
                                       const std::string& stem = "cell", bool png = true);

// Line charts.
struct Series {
  std::string name;
  std::vector<double> x, y;
};
struct Chart {
  std::string title;
  std::vector<Series> series;
};
// A grid of charts (2 per row) as one SVG document. Non-finite points are skipped.
std::string charts_svg(const std::vector<Chart>& charts, const std::string& title = "");

// The charts of per-epoch records (JSON objects with "epoch" 0-based and any of: train_loss,
// valid_loss, test_loss; train_acc, valid_acc, test_acc; lr, arch_lr; confidence;
// alpha_entropy; param_free_normal, param_free_reduce). A chart appears when one of its keys
// does. x is the number of epochs completed (epoch + 1).
std::vector<Chart> curves_from_records(const std::vector<nlohmann::json>& epoch_records);
std::string curves_svg(const std::vector<nlohmann::json>& epoch_records, const std::string& title = "");
// curves_svg written atomically to path.
void write_curves(const std::string& path, const std::vector<nlohmann::json>& epoch_records,
                  const std::string& title = "");

// Whether an executable is on the PATH.
bool have_program(const std::string& name);

}  // namespace bnas::report
