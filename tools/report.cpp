#include "tools/report.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include "engine/check.h"
#include "engine/checkpoint.h"

namespace bnas::report {

// ---- JSONL ----------------------------------------------------------------------------------

JsonlWriter::JsonlWriter(const std::string& path, bool append) { open(path, append); }
JsonlWriter::~JsonlWriter() { close(); }

void JsonlWriter::open(const std::string& path, bool append) {
  close();
  f_ = std::fopen(path.c_str(), append ? "ab" : "wb");
  BNAS_CHECK(f_ != nullptr, "cannot open ", path, " for writing: ", std::strerror(errno));
  path_ = path;
}

void JsonlWriter::write(const nlohmann::json& record) {
  BNAS_CHECK(f_ != nullptr, "JSONL writer used before open()");
  // Non-finite doubles become null in nlohmann's dump, which keeps every line valid JSON.
  const std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const size_t n = std::fwrite(line.data(), 1, line.size(), f_);
  BNAS_CHECK(n == line.size() && std::fflush(f_) == 0, "cannot write to ", path_, ": ", std::strerror(errno));
}

void JsonlWriter::close() {
  if (f_ != nullptr) std::fclose(f_);
  f_ = nullptr;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  BNAS_CHECK(in.good(), "cannot open ", path);
  std::vector<nlohmann::json> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      BNAS_CHECK(false, path, " line ", lineno, " is not valid JSON: ", e.what());
    }
  }
  return out;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += ch;
    }
  }
  return out;
}

namespace {

std::string fmt(double v, int precision = 4) {
  std::ostringstream os;
  os.precision(precision);
  os << v;
  return os.str();
}

std::string vertex_name(int v) {
  if (v == 0) return "c_{k-2}";
  if (v == 1) return "c_{k-1}";
  if (v == 2 + nas::kCellSteps) return "c_{k}";
  return std::to_string(v - 2);
}

std::string dot_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace

// ---- cells ----------------------------------------------------------------------------------

std::vector<int> cell_layers(const std::vector<nas::GenotypeEdge>& cell, const std::vector<int>& concat) {
  nas::Genotype probe{cell, concat, cell, concat};
  nas::validate_genotype(probe, "cell");
  std::vector<int> layer(3 + nas::kCellSteps, 0);
  int deepest = 0;
  for (int j = 0; j < nas::kCellSteps; ++j) {
    int l = 0;
    for (int e = 2 * j; e < 2 * j + 2; ++e) l = std::max(l, layer[cell[e].input] + 1);
    layer[2 + j] = l;
    deepest = std::max(deepest, l);
  }
  layer[2 + nas::kCellSteps] = deepest + 1;
  return layer;
}

std::string cell_dot(const std::vector<nas::GenotypeEdge>& cell, const std::vector<int>& concat,
                     const std::string& title) {
  cell_layers(cell, concat);  // validates
  std::ostringstream os;
  os << "digraph cell {\n"
     << "  rankdir=LR;\n"
     << "  node [style=filled, shape=rect, align=center, fontname=\"helvetica\", height=0.5];\n"
     << "  edge [fontsize=12, fontname=\"helvetica\"];\n";
  if (!title.empty()) os << "  label=\"" << dot_escape(title) << "\";\n  labelloc=t;\n";
  os << "  \"c_{k-2}\" [fillcolor=darkseagreen2];\n"
     << "  \"c_{k-1}\" [fillcolor=darkseagreen2];\n";
  for (int j = 0; j < nas::kCellSteps; ++j) os << "  \"" << j << "\" [fillcolor=lightblue];\n";
  os << "  \"c_{k}\" [fillcolor=palegoldenrod];\n";
  for (size_t e = 0; e < cell.size(); ++e) {
    const int node = static_cast<int>(e) / 2;
    os << "  \"" << vertex_name(cell[e].input) << "\" -> \"" << node << "\" [label=\""
       << nas::primitive_name(cell[e].op) << "\", fillcolor=gray];\n";
  }
  for (int c : concat) os << "  \"" << vertex_name(c) << "\" -> \"c_{k}\" [fillcolor=gray];\n";
  os << "}\n";
  return os.str();
}

std::string cell_svg(const std::vector<nas::GenotypeEdge>& cell, const std::vector<int>& concat,
                     const std::string& title) {
  const std::vector<int> layer = cell_layers(cell, concat);
  const int nv = static_cast<int>(layer.size());
  const int nlayers = layer.back() + 1;
  // Rows within each layer, in vertex order.
  std::vector<int> row(nv, 0), per_layer(nlayers, 0);
  for (int v = 0; v < nv; ++v) row[v] = per_layer[layer[v]]++;
  const int max_rows = *std::max_element(per_layer.begin(), per_layer.end());
  const double col_w = 170, row_h = 90, box_w = 70, box_h = 32, margin = 40;
  const double top = title.empty() ? margin : margin + 24;
  const double width = margin * 2 + (nlayers - 1) * col_w + box_w;
  const double height = top + margin + (max_rows - 1) * row_h + box_h;
  auto cx = [&](int v) { return margin + layer[v] * col_w + box_w / 2; };
  auto cy = [&](int v) {
    // Centre each layer's column vertically.
    const double offset = (max_rows - per_layer[layer[v]]) * row_h / 2;
    return top + offset + row[v] * row_h + box_h / 2;
  };

  std::ostringstream os;
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
     << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << fmt(width, 6) << "\" height=\""
     << fmt(height, 6) << "\" viewBox=\"0 0 " << fmt(width, 6) << " " << fmt(height, 6)
     << "\" font-family=\"Helvetica, Arial, sans-serif\">\n"
     << "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" "
        "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" "
        "fill=\"#555\"/></marker></defs>\n"
     << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!title.empty())
    os << "<text x=\"" << fmt(width / 2, 6) << "\" y=\"" << fmt(margin, 6)
       << "\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">" << xml_escape(title) << "</text>\n";

  // Edges first (under the boxes). A curved path from the right side of the source box to the
  // left side of the target box; the label at the curve's midpoint. Two edges between the same
  // pair of vertices bend opposite ways.
  auto edge = [&](int from, int to, const std::string& label, int bend) {
    const double x1 = cx(from) + box_w / 2, y1 = cy(from);
    const double x2 = cx(to) - box_w / 2, y2 = cy(to);
    const double mx = (x1 + x2) / 2, my = (y1 + y2) / 2 + bend * 18;
    os << "<path d=\"M " << fmt(x1, 6) << " " << fmt(y1, 6) << " Q " << fmt(mx, 6) << " "
       << fmt(2 * my - (y1 + y2) / 2, 6) << " " << fmt(x2, 6) << " " << fmt(y2, 6)
       << "\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.4\" marker-end=\"url(#arrow)\"/>\n";
    if (!label.empty())
      os << "<text x=\"" << fmt(mx, 6) << "\" y=\"" << fmt(my - 3, 6)
         << "\" text-anchor=\"middle\" font-size=\"11\" fill=\"#222\" stroke=\"white\" stroke-width=\"3\" "
            "paint-order=\"stroke\">"
         << xml_escape(label) << "</text>\n";
  };
  for (int j = 0; j < nas::kCellSteps; ++j) {
    const auto& a = cell[2 * j];
    const auto& b = cell[2 * j + 1];
    const bool same = a.input == b.input;
    edge(a.input, 2 + j, nas::primitive_name(a.op), same ? -1 : 0);
    edge(b.input, 2 + j, nas::primitive_name(b.op), same ? 1 : 0);
  }
  for (int c : concat) edge(c, 2 + nas::kCellSteps, "", 0);

  for (int v = 0; v < nv; ++v) {
    const char* fill = v < 2 ? "#c1e1c1" : (v == nv - 1 ? "#eee8aa" : "#add8e6");
    os << "<g class=\"vertex\"><rect x=\"" << fmt(cx(v) - box_w / 2, 6) << "\" y=\"" << fmt(cy(v) - box_h / 2, 6)
       << "\" width=\"" << fmt(box_w, 6) << "\" height=\"" << fmt(box_h, 6)
       << "\" rx=\"4\" fill=\"" << fill << "\" stroke=\"#333\"/>"
       << "<text x=\"" << fmt(cx(v), 6) << "\" y=\"" << fmt(cy(v) + 5, 6)
       << "\" text-anchor=\"middle\" font-size=\"14\">" << xml_escape(vertex_name(v)) << "</text></g>\n";
  }
  os << "</svg>\n";
  return os.str();
}

bool have_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    const std::string p = dir + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::vector<std::string> draw_genotype(const nas::Genotype& g, const std::string& dir, const std::string& stem,
                                       bool png) {
  std::vector<std::string> written;
  const bool dot_ok = png && have_program("dot");
  struct Part {
    const char* suffix;
    const char* title;
    const std::vector<nas::GenotypeEdge>* cell;
    const std::vector<int>* concat;
  };
  const Part parts[] = {{"normal", "convolution cell (normal)", &g.normal, &g.normal_concat},
                        {"reduce", "enhancement cell (reduce)", &g.reduce, &g.reduce_concat}};
  for (const Part& p : parts) {
    const std::string base = dir + "/" + stem + "_" + p.suffix;
    write_file_atomically(base + ".dot", cell_dot(*p.cell, *p.concat, p.title));
    written.push_back(base + ".dot");
    write_file_atomically(base + ".svg", cell_svg(*p.cell, *p.concat, p.title));
    written.push_back(base + ".svg");
    if (dot_ok) {
      const std::string tmp = base + ".png.tmp";
      const std::string cmd = "dot -Tpng '" + base + ".dot' -o '" + tmp + "' 2>/dev/null";
      if (std::system(cmd.c_str()) == 0 && std::rename(tmp.c_str(), (base + ".png").c_str()) == 0)
        written.push_back(base + ".png");
      else
        std::remove(tmp.c_str());
    }
  }
  return written;
}

// ---- charts ---------------------------------------------------------------------------------

namespace {

const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};

// A "nice" tick step for a span.
double nice_step(double span, int target) {
  const double raw = span / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return mag * (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10);
}

void chart_svg(std::ostringstream& os, const Chart& c, double x0, double y0, double w, double h) {
  const double left = 60, right = 15, top = 28, bottom = 48;
  const double pw = w - left - right, ph = h - top - bottom;
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const Series& s : c.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]), xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]), ymax = std::max(ymax, s.y[i]);
    }
  os << "<g class=\"chart\" transform=\"translate(" << fmt(x0, 6) << "," << fmt(y0, 6) << ")\">\n"
     << "<text x=\"" << fmt(w / 2, 6) << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">"
     << xml_escape(c.title) << "</text>\n"
     << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << fmt(pw, 6) << "\" height=\"" << fmt(ph, 6)
     << "\" fill=\"none\" stroke=\"#999\"/>\n";
  if (!(xmin <= xmax)) {
    os << "<text x=\"" << fmt(left + pw / 2, 6) << "\" y=\"" << fmt(top + ph / 2, 6)
       << "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#777\">no data yet</text>\n</g>\n";
    return;
  }
  if (xmax == xmin) xmin -= 0.5, xmax += 0.5;
  if (ymax == ymin) {
    const double d = ymin == 0 ? 1 : std::fabs(ymin) * 0.1;
    ymin -= d, ymax += d;
  }
  const double ypad = (ymax - ymin) * 0.05;
  ymin -= ypad, ymax += ypad;
  auto px = [&](double x) { return left + (x - xmin) / (xmax - xmin) * pw; };
  auto py = [&](double y) { return top + ph - (y - ymin) / (ymax - ymin) * ph; };
  // Ticks and grid.
  const double ys = nice_step(ymax - ymin, 5);
  for (double t = std::ceil(ymin / ys) * ys; t <= ymax + 1e-12; t += ys) {
    os << "<line x1=\"" << left << "\" x2=\"" << fmt(left + pw, 6) << "\" y1=\"" << fmt(py(t), 6) << "\" y2=\""
       << fmt(py(t), 6) << "\" stroke=\"#eee\"/>"
       << "<text x=\"" << left - 4 << "\" y=\"" << fmt(py(t) + 4, 6)
       << "\" text-anchor=\"end\" font-size=\"10\">" << fmt(std::fabs(t) < ys * 1e-6 ? 0 : t, 3) << "</text>\n";
  }
  const double xs = std::max(1.0, nice_step(xmax - xmin, 6));
  for (double t = std::ceil(xmin / xs) * xs; t <= xmax + 1e-12; t += xs)
    os << "<text x=\"" << fmt(px(t), 6) << "\" y=\"" << fmt(top + ph + 14, 6)
       << "\" text-anchor=\"middle\" font-size=\"10\">" << fmt(t, 6) << "</text>\n";
  os << "<text x=\"" << fmt(left + pw / 2, 6) << "\" y=\"" << fmt(top + ph + 28, 6)
     << "\" text-anchor=\"middle\" font-size=\"11\">epoch</text>\n";
  // Lines and legend.
  double lx = left;
  for (size_t k = 0; k < c.series.size(); ++k) {
    const Series& s = c.series[k];
    const char* color = kColors[k % (sizeof(kColors) / sizeof(kColors[0]))];
    std::ostringstream pts;
    int count = 0;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      pts << (count ? " " : "") << fmt(px(s.x[i]), 6) << "," << fmt(py(s.y[i]), 6);
      ++count;
    }
    if (count > 0)
      os << "<polyline class=\"series\" data-name=\"" << xml_escape(s.name) << "\" fill=\"none\" stroke=\""
         << color << "\" stroke-width=\"1.8\" points=\"" << pts.str() << "\"/>\n";
    if (count == 1)
      os << "<circle cx=\"" << pts.str().substr(0, pts.str().find(',')) << "\" cy=\""
         << pts.str().substr(pts.str().find(',') + 1) << "\" r=\"2.5\" fill=\"" << color << "\"/>\n";
    os << "<line x1=\"" << fmt(lx, 6) << "\" x2=\"" << fmt(lx + 16, 6) << "\" y1=\"" << fmt(h - 8, 6) << "\" y2=\""
       << fmt(h - 8, 6) << "\" stroke=\"" << color << "\" stroke-width=\"2\"/>"
       << "<text x=\"" << fmt(lx + 20, 6) << "\" y=\"" << fmt(h - 4, 6) << "\" font-size=\"11\">"
       << xml_escape(s.name) << "</text>\n";
    lx += 28 + 7.0 * static_cast<double>(s.name.size());
  }
  os << "</g>\n";
}

}  // namespace

std::string charts_svg(const std::vector<Chart>& charts, const std::string& title) {
  const double cw = 460, ch = 280, top = title.empty() ? 10 : 40;
  const int cols = 2;
  const int rows = std::max<int>(1, (static_cast<int>(charts.size()) + cols - 1) / cols);
  const double width = cw * cols + 20, height = top + ch * rows + 10;
  std::ostringstream os;
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
     << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << fmt(width, 6) << "\" height=\"" << fmt(height, 6)
     << "\" viewBox=\"0 0 " << fmt(width, 6) << " " << fmt(height, 6)
     << "\" font-family=\"Helvetica, Arial, sans-serif\">\n"
     << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!title.empty())
    os << "<text x=\"" << fmt(width / 2, 6) << "\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" "
          "font-weight=\"bold\">"
       << xml_escape(title) << "</text>\n";
  for (size_t i = 0; i < charts.size(); ++i)
    chart_svg(os, charts[i], 10 + cw * static_cast<double>(i % cols), top + ch * static_cast<double>(i / cols), cw,
              ch);
  os << "</svg>\n";
  return os.str();
}

std::vector<Chart> curves_from_records(const std::vector<nlohmann::json>& records) {
  struct Spec {
    const char* title;
    std::vector<std::pair<const char*, const char*>> keys;  // (json key, legend)
  };
  const std::vector<Spec> specs = {
      {"Loss", {{"train_loss", "train"}, {"valid_loss", "valid"}, {"test_loss", "test"}}},
      {"Accuracy", {{"train_acc", "train"}, {"valid_acc", "valid"}, {"test_acc", "test"}}},
      {"Learning rates", {{"lr", "weights"}, {"arch_lr", "architecture"}}},
      {"Confidence (CLR)", {{"confidence", "confidence"}}},
      {"Alpha entropy (nats)", {{"alpha_entropy", "mean entropy"}}},
      {"Parameter-free ops in the genotype",
       {{"param_free_normal", "convolution cell"}, {"param_free_reduce", "enhancement cell"}}},
      {"Drop-path probability", {{"drop_prob", "drop_prob"}}},
  };
  std::vector<Chart> charts;
  for (const Spec& spec : specs) {
    Chart c{spec.title, {}};
    for (const auto& [key, legend] : spec.keys) {
      Series s{legend, {}, {}};
      bool present = false;
      for (const auto& r : records) {
        if (!r.is_object() || !r.contains(key) || !r.contains("epoch")) continue;
        const auto& v = r.at(key);
        if (!v.is_number()) continue;
        double y = v.get<double>();
        if (y < 0 && (std::strcmp(key, "valid_loss") == 0 || std::strcmp(key, "valid_acc") == 0)) continue;  // -1: none
        present = true;
        s.x.push_back(r.at("epoch").get<double>() + 1);
        s.y.push_back(y);
      }
      if (present) c.series.push_back(std::move(s));
    }
    if (!c.series.empty()) charts.push_back(std::move(c));
  }
  return charts;
}

std::string curves_svg(const std::vector<nlohmann::json>& records, const std::string& title) {
  return charts_svg(curves_from_records(records), title);
}

void write_curves(const std::string& path, const std::vector<nlohmann::json>& records, const std::string& title) {
  write_file_atomically(path, curves_svg(records, title));
}

}  // namespace bnas::report
