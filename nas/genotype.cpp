// Genotypes: validation, JSON and DARTS-text forms, the published set, derivation from alpha/beta.
//
// The DARTS text form is read by a hand-written recursive-descent parser on purpose: it is a tiny
// subset of Python literal syntax (a call with keyword arguments, lists/tuples, quoted names,
// integers, range(a, b)), and no library parses it. The parser never evaluates anything, bounds
// every number before converting it, reports line and column, and is fuzzed
// (tests/fuzz/fuzz_genotype.cpp). JSON goes through nlohmann::json.
#include "nas/genotype.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/check.h"
#include "engine/checkpoint.h"

namespace bnas::nas {

namespace detail {
// Defined in the build-generated published_genotypes_data.cpp (see nas/CMakeLists.txt).
extern const char* const kPublishedGenotypesJson;
}  // namespace detail

namespace {

using json = nlohmann::json;

constexpr std::array<const char*, kNumPrimitives> kPrimitiveNames = {
    "none",         "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"};

// Quoted, printable, bounded rendering of untrusted text for error messages.
std::string shown(const std::string& s, size_t max_len = 40) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < max_len; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max_len) out += "...";
  return out + "'";
}

std::string valid_names_list() {
  std::string s;
  for (int i = 0; i < kNumPrimitives; ++i) s += (i ? ", " : "") + std::string(kPrimitiveNames[i]);
  return s;
}

template <class... Args>
[[noreturn]] void invalid(const std::string& source, const Args&... args) {
  BNAS_FAIL("Invalid genotype in ", source, ": ", args..., ".");
}

// Node owning entry e, and the highest input index it may read.
int entry_node(int e) { return e / 2; }
int max_input(int e) { return entry_node(e) + 1; }

void check_entry_count(size_t n, const char* field, const std::string& source) {
  if (n != static_cast<size_t>(kGenotypeEntries))
    invalid(source, "'", field, "' has ", n, n == 1 ? " entry" : " entries",
            " but a cell needs exactly ", kGenotypeEntries, " (two (op, input) pairs for each of its ",
            kCellSteps, " nodes)");
}

int checked_input(long long input, int e, const char* field, const std::string& source) {
  if (input < 0 || input > max_input(e))
    invalid(source, field, "[", e, "] reads input ", input, ", but entries ", 2 * entry_node(e),
            " and ", 2 * entry_node(e) + 1, " (node ", entry_node(e), ") may only read inputs 0 to ",
            max_input(e), " (s0, s1 and the nodes before it)");
  return static_cast<int>(input);
}

std::string concat_text(const std::vector<long long>& c) {
  std::string s = "[";
  for (size_t i = 0; i < c.size() && i < 16; ++i) s += (i ? ", " : "") + std::to_string(c[i]);
  if (c.size() > 16) s += ", ...";
  return s + "]";
}

std::vector<int> checked_concat(const std::vector<long long>& c, const char* field,
                                const std::string& source) {
  bool ok = !c.empty() && c.size() <= static_cast<size_t>(kCellSteps);
  for (size_t i = 0; ok && i < c.size(); ++i) {
    ok = c[i] >= 2 && c[i] <= kCellSteps + 1 && (i == 0 || c[i] > c[i - 1]);
  }
  if (!ok)
    invalid(source, "'", field, "' must list node states between 2 and ", kCellSteps + 1,
            " in increasing order without repeats, but it is ", concat_text(c));
  return std::vector<int>(c.begin(), c.end());
}

// ---------------------------------------------------------------------------------------------
// The DARTS text parser.
// top    := [IDENT '='] 'Genotype' '(' kwarg (',' kwarg)* [','] ')' EOF
// kwarg  := IDENT '=' value       (normal, reduce: pair list; *_concat: int list or range(..))
// pairs  := ('[' | '(') [pair (',' pair)* [',']] (']' | ')')
// pair   := ('(' | '[') STRING ',' INT [','] (')' | ']')
// concat := 'range' '(' INT [',' INT] ')' | ('[' | '(') [INT (',' INT)* [',']] (']' | ')')
// Python comments (# ...) count as blanks.
class DartsParser {
 public:
  DartsParser(const std::string& text, const std::string& source) : s_(text), source_(source) {}

  Genotype parse() {
    skip_blank();
    if (peek_ident_start()) {
      const size_t at_first = pos_;
      std::string first = ident();
      skip_blank();
      if (first != "Genotype") {
        // `NAME = Genotype(...)`, as in a DARTS genotypes.py or a `genotype = ...` log line.
        if (!at('=')) error_at(at_first, "expected 'Genotype(' but found ", shown(first));
        ++pos_;
        skip_blank();
        const size_t at_name = pos_;
        std::string g = peek_ident_start() ? ident() : std::string();
        if (g != "Genotype") error_at(at_name, "expected 'Genotype(' after '", first, " ='");
        skip_blank();
      }
    } else {
      error("expected 'Genotype(' but found ", describe_here());
    }
    expect('(', "after 'Genotype'");

    std::map<std::string, bool> seen;
    Genotype g;
    bool have_normal = false, have_reduce = false, have_nc = false, have_rc = false;
    for (;;) {
      skip_blank();
      if (at(')')) break;
      const size_t at_key = pos_;
      if (!peek_ident_start())
        error("expected a field name (normal, normal_concat, reduce, reduce_concat) but found ",
              describe_here());
      const std::string key = ident();
      skip_blank();
      expect('=', "after the field name '" + key + "'");
      if (key == "normal" || key == "reduce") {
        bool& have = key == "normal" ? have_normal : have_reduce;
        if (have) error_at(at_key, "the field '", key, "' is given twice");
        have = true;
        (key == "normal" ? g.normal : g.reduce) = pair_list(key == "normal" ? "normal" : "reduce");
      } else if (key == "normal_concat" || key == "reduce_concat") {
        bool& have = key == "normal_concat" ? have_nc : have_rc;
        if (have) error_at(at_key, "the field '", key, "' is given twice");
        have = true;
        const char* field = key == "normal_concat" ? "normal_concat" : "reduce_concat";
        (key == "normal_concat" ? g.normal_concat : g.reduce_concat) =
            checked_concat(concat_value(), field, source_);
      } else {
        error_at(at_key, "unknown field ", shown(key),
                 " (a genotype has normal, normal_concat, reduce and reduce_concat)");
      }
      skip_blank();
      if (at(',')) {
        ++pos_;
        continue;
      }
      if (at(')')) break;
      error("expected ',' or ')' after the value of '", key, "' but found ", describe_here());
    }
    ++pos_;  // ')'
    skip_blank();
    if (pos_ != s_.size()) error("unexpected text after the closing ')': ", describe_here());
    if (!have_normal) invalid(source_, "the field 'normal' is missing");
    if (!have_nc) invalid(source_, "the field 'normal_concat' is missing");
    if (!have_reduce) invalid(source_, "the field 'reduce' is missing");
    if (!have_rc) invalid(source_, "the field 'reduce_concat' is missing");
    return g;
  }

 private:
  const std::string& s_;
  const std::string& source_;
  size_t pos_ = 0;

  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  bool peek_ident_start() const {
    return pos_ < s_.size() && (std::isalpha(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_');
  }

  void skip_blank() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  std::string ident() {
    const size_t b = pos_;
    while (pos_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
      ++pos_;
    return s_.substr(b, pos_ - b);
  }

  std::string describe_here() const {
    if (pos_ >= s_.size()) return "the end of the text";
    return shown(s_.substr(pos_, 12), 12);
  }

  template <class... Args>
  [[noreturn]] void error_at(size_t where, const Args&... args) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < where && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    invalid(source_, "at line ", line, ", column ", col, ", ", args...);
  }
  template <class... Args>
  [[noreturn]] void error(const Args&... args) const { error_at(pos_, args...); }

  void expect(char c, const std::string& context) {
    skip_blank();
    if (!at(c)) error("expected '", std::string(1, c), "' ", context, " but found ", describe_here());
    ++pos_;
  }

  // '[' or '(' opening a sequence; returns the matching closer.
  char open_seq(const std::string& what) {
    skip_blank();
    if (at('[')) {
      ++pos_;
      return ']';
    }
    if (at('(')) {
      ++pos_;
      return ')';
    }
    error("expected '[' to start ", what, " but found ", describe_here());
  }

  // After an element: consumes ',' (returns false if the closer follows) or the closer (true).
  bool element_end(char closer, const std::string& what) {
    skip_blank();
    if (at(',')) {
      ++pos_;
      skip_blank();
      if (at(closer)) {
        ++pos_;
        return true;
      }
      return false;
    }
    if (at(closer)) {
      ++pos_;
      return true;
    }
    error("expected ',' or '", std::string(1, closer), "' after ", what, " but found ",
          describe_here());
  }

  long long integer(const std::string& what) {
    skip_blank();
    const size_t b = pos_;
    bool neg = false;
    if (at('-') || at('+')) {
      neg = at('-');
      ++pos_;
    }
    if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_])))
      error_at(b, "expected an integer ", what, " but found ", describe_here());
    long long v = 0;
    int digits = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      if (++digits > 12) error_at(b, "the integer ", what, " is too long");
      v = v * 10 + (s_[pos_] - '0');
      ++pos_;
    }
    return neg ? -v : v;
  }

  std::string string_literal(const std::string& what) {
    skip_blank();
    if (!at('\'') && !at('"')) error("expected a quoted operation name ", what, " but found ", describe_here());
    const char q = s_[pos_];
    const size_t b = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\') error("escape sequences are not allowed in an operation name");
      if (s_[pos_] == '\n') error("the operation name ", what, " is missing its closing quote");
      ++pos_;
    }
    if (pos_ >= s_.size()) error_at(b - 1, "the operation name ", what, " is missing its closing quote");
    std::string out = s_.substr(b, pos_ - b);
    ++pos_;
    return out;
  }

  std::vector<GenotypeEdge> pair_list(const char* field) {
    const std::string list_what = std::string("the list '") + field + "'";
    const char closer = open_seq(list_what);
    std::vector<GenotypeEdge> out;
    skip_blank();
    if (at(closer)) {
      ++pos_;
      check_entry_count(0, field, source_);
    }
    for (int e = 0;; ++e) {
      const std::string where = std::string("in ") + field + "[" + std::to_string(e) + "]";
      if (e >= kGenotypeEntries) error("'", field, "' has more than ", kGenotypeEntries,
                                       " entries, but a cell needs exactly ", kGenotypeEntries);
      const char pair_closer = open_seq(std::string("the (op, input) pair ") + field + "[" +
                                        std::to_string(e) + "]");
      const size_t at_name = pos_;
      const std::string name = string_literal(where);
      expect(',', "after the operation name " + where);
      const long long input = integer(std::string("input index ") + where);
      element_end_pair(pair_closer, where);
      GenotypeEdge edge;
      skip_blank();
      try {
        edge.op = primitive_from_name(name, source_);
      } catch (const Error&) {
        error_at(at_name, "unknown operation ", shown(name), " ", where,
                 " (valid operations: ", valid_names_list(), ")");
      }
      edge.input = checked_input(input, e, field, source_);
      out.push_back(edge);
      if (element_end(closer, std::string("the pair ") + field + "[" + std::to_string(e) + "]")) break;
    }
    check_entry_count(out.size(), field, source_);
    return out;
  }

  // A pair may carry a trailing comma: ('sep_conv_3x3', 1,).
  void element_end_pair(char closer, const std::string& where) {
    skip_blank();
    if (at(',')) {
      ++pos_;
      skip_blank();
    }
    if (!at(closer))
      error("expected '", std::string(1, closer), "' to close the (op, input) pair ", where,
            " but found ", describe_here());
    ++pos_;
  }

  std::vector<long long> concat_value() {
    skip_blank();
    if (peek_ident_start()) {
      const size_t b = pos_;
      const std::string name = ident();
      if (name != "range") error_at(b, "expected range(a, b) or a list of node indices but found ", shown(name));
      expect('(', "after 'range'");
      long long lo = 0, hi = integer("in range(...)");
      skip_blank();
      if (at(',')) {
        ++pos_;
        skip_blank();
        if (!at(')')) {
          lo = hi;
          hi = integer("in range(...)");
          skip_blank();
          if (at(',')) ++pos_;
        }
      }
      expect(')', "to close range(...)");
      if (hi - lo > 64) error_at(b, "range(", lo, ", ", hi, ") is far too long for a cell's concat");
      std::vector<long long> out;
      for (long long v = lo; v < hi; ++v) out.push_back(v);
      return out;
    }
    const char closer = open_seq("the concat list");
    std::vector<long long> out;
    skip_blank();
    if (at(closer)) {
      ++pos_;
      return out;
    }
    for (;;) {
      if (out.size() > 64) error("the concat list is far too long");
      out.push_back(integer("in the concat list"));
      if (element_end(closer, "a concat entry")) break;
    }
    return out;
  }
};

// ---------------------------------------------------------------------------------------------
// JSON.

const char* json_kind(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "a list";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a floating-point number";
    default: return "an unsupported JSON value";
  }
}

// An integer JSON value, bounded so it cannot overflow; `what` names it for the error.
long long json_int(const json& j, const std::string& what, const std::string& source) {
  if (!j.is_number_integer()) invalid(source, what, " must be an integer, but it is ", json_kind(j));
  const bool in_range = j.is_number_unsigned()
                            ? j.get<std::uint64_t>() <= 1000000000ull
                            : (j.get<std::int64_t>() >= -1000000000ll &&
                               j.get<std::int64_t>() <= 1000000000ll);
  if (!in_range) invalid(source, what, " is ", j.dump(), ", far out of range");
  return static_cast<long long>(j.get<std::int64_t>());
}

const json& json_field(const json& j, const char* key, const std::string& source) {
  const auto it = j.find(key);
  if (it == j.end()) invalid(source, "the field '", key, "' is missing");
  return *it;
}

std::vector<GenotypeEdge> json_cell(const json& j, const char* field, const std::string& source) {
  if (!j.is_array())
    invalid(source, "'", field, "' must be a list of [op, input] pairs, but it is ", json_kind(j));
  check_entry_count(j.size(), field, source);
  std::vector<GenotypeEdge> out;
  for (size_t e = 0; e < j.size(); ++e) {
    const json& p = j[e];
    const std::string where = std::string(field) + "[" + std::to_string(e) + "]";
    if (!p.is_array() || p.size() != 2 || !p[0].is_string())
      invalid(source, where, " must be a pair [op name, input index], but it is ",
              shown(p.dump(), 60));
    GenotypeEdge edge;
    const std::string name = p[0].get<std::string>();
    try {
      edge.op = primitive_from_name(name, source);
    } catch (const Error&) {
      invalid(source, "unknown operation ", shown(name), " in ", where,
              " (valid operations: ", valid_names_list(), ")");
    }
    edge.input = checked_input(json_int(p[1], "the input index of " + where, source),
                               static_cast<int>(e), field, source);
    out.push_back(edge);
  }
  return out;
}

std::vector<int> json_concat(const json& j, const char* field, const std::string& source) {
  if (!j.is_array())
    invalid(source, "'", field, "' must be a list of node indices, but it is ", json_kind(j));
  std::vector<long long> v;
  for (size_t i = 0; i < j.size() && i <= 64; ++i)
    v.push_back(json_int(j[i], std::string(field) + "[" + std::to_string(i) + "]", source));
  if (j.size() > 64) v.push_back(0);  // too long: checked_concat rejects it
  return checked_concat(v, field, source);
}

std::string trim_left(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// ---------------------------------------------------------------------------------------------
// Published genotypes.

struct Published {
  std::vector<std::string> names;
  std::map<std::string, Genotype> by_name;
  std::string text;
};

const Published& published() {
  static const Published p = [] {
    Published out;
    out.text = detail::kPublishedGenotypesJson;
    const nlohmann::ordered_json all = nlohmann::ordered_json::parse(out.text);
    const auto& prims = all.at("primitives");
    BNAS_CHECK(prims.size() == static_cast<size_t>(kNumPrimitives),
               "The embedded genotype data lists ", prims.size(), " primitives instead of ",
               kNumPrimitives, ".");
    for (int i = 0; i < kNumPrimitives; ++i)
      BNAS_CHECK(prims[static_cast<size_t>(i)].get<std::string>() == kPrimitiveNames[static_cast<size_t>(i)],
                 "The embedded genotype data orders the primitives differently from the engine.");
    for (const auto& item : all.at("genotypes").items()) {
      out.names.push_back(item.key());
      out.by_name[item.key()] =
          genotype_from_json(json::parse(item.value().dump()), "published genotype '" + item.key() + "'");
    }
    return out;
  }();
  return p;
}

std::string published_names_text() {
  std::string s;
  for (const auto& n : published().names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

void softmax_row(const double* x, int n, double* out) {
  double m = x[0];
  for (int i = 1; i < n; ++i) m = std::max(m, x[i]);
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += (out[i] = std::exp(x[i] - m));
  for (int i = 0; i < n; ++i) out[i] /= sum;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

const std::array<const char*, kNumPrimitives>& primitive_names() { return kPrimitiveNames; }

const char* primitive_name(Primitive p) {
  const int i = static_cast<int>(p);
  BNAS_CHECK(i >= 0 && i < kNumPrimitives, "Primitive value ", i, " is out of range.");
  return kPrimitiveNames[static_cast<size_t>(i)];
}

Primitive primitive_from_name(const std::string& name, const std::string& source) {
  for (int i = 0; i < kNumPrimitives; ++i)
    if (name == kPrimitiveNames[static_cast<size_t>(i)]) return static_cast<Primitive>(i);
  invalid(source, "unknown operation ", shown(name), " (valid operations: ", valid_names_list(), ")");
}

std::vector<int> default_concat() {
  std::vector<int> c;
  for (int i = 2; i < kCellSteps + 2; ++i) c.push_back(i);
  return c;
}

void validate_genotype(const Genotype& g, const std::string& source) {
  const std::pair<const char*, const std::vector<GenotypeEdge>*> cells[] = {{"normal", &g.normal},
                                                                            {"reduce", &g.reduce}};
  for (const auto& [field, cell] : cells) {
    check_entry_count(cell->size(), field, source);
    for (size_t e = 0; e < cell->size(); ++e) {
      const int op = static_cast<int>((*cell)[e].op);
      if (op < 0 || op >= kNumPrimitives)
        invalid(source, field, "[", e, "] has the operation code ", op, ", which is not one of the ",
                kNumPrimitives, " primitives");
      checked_input((*cell)[e].input, static_cast<int>(e), field, source);
    }
  }
  checked_concat(std::vector<long long>(g.normal_concat.begin(), g.normal_concat.end()),
                 "normal_concat", source);
  checked_concat(std::vector<long long>(g.reduce_concat.begin(), g.reduce_concat.end()),
                 "reduce_concat", source);
}

// ---- JSON ----

json genotype_to_json(const Genotype& g) {
  validate_genotype(g, "the genotype being written");
  auto cell = [](const std::vector<GenotypeEdge>& c) {
    json a = json::array();
    for (const auto& e : c) a.push_back(json::array({primitive_name(e.op), e.input}));
    return a;
  };
  json j = json::object();
  j["normal"] = cell(g.normal);
  j["normal_concat"] = g.normal_concat;
  j["reduce"] = cell(g.reduce);
  j["reduce_concat"] = g.reduce_concat;
  return j;
}

Genotype genotype_from_json(const json& j, const std::string& source) {
  if (!j.is_object())
    invalid(source, "the JSON value is ", json_kind(j),
            ", not an object with the fields normal, normal_concat, reduce and reduce_concat");
  Genotype g;
  g.normal = json_cell(json_field(j, "normal", source), "normal", source);
  g.normal_concat = json_concat(json_field(j, "normal_concat", source), "normal_concat", source);
  g.reduce = json_cell(json_field(j, "reduce", source), "reduce", source);
  g.reduce_concat = json_concat(json_field(j, "reduce_concat", source), "reduce_concat", source);
  return g;
}

Genotype parse_genotype_json(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    invalid(source, "the text is not valid JSON (", shown(e.what(), 200), ")");
  }
  return genotype_from_json(j, source);
}

std::string genotype_to_json_text(const Genotype& g) {
  // One pair per line, like the data file but compact enough to read.
  const json j = genotype_to_json(g);
  std::ostringstream s;
  s << "{\n";
  const char* keys[] = {"normal", "normal_concat", "reduce", "reduce_concat"};
  for (int k = 0; k < 4; ++k) {
    s << " \"" << keys[k] << "\": ";
    const json& v = j[keys[k]];
    if (k % 2 == 0) {
      s << "[\n";
      for (size_t i = 0; i < v.size(); ++i) s << "  " << v[i].dump() << (i + 1 < v.size() ? ",\n" : "\n");
      s << " ]";
    } else {
      s << v.dump();
    }
    s << (k < 3 ? ",\n" : "\n");
  }
  s << "}\n";
  return s.str();
}

// ---- DARTS text ----

std::string genotype_to_darts(const Genotype& g) {
  validate_genotype(g, "the genotype being written");
  auto cell = [](const std::vector<GenotypeEdge>& c) {
    std::string s = "[";
    for (size_t i = 0; i < c.size(); ++i)
      s += (i ? ", ('" : "('") + std::string(primitive_name(c[i].op)) + "', " +
           std::to_string(c[i].input) + ")";
    return s + "]";
  };
  auto concat = [](const std::vector<int>& c) {
    bool run = true;
    for (size_t i = 1; i < c.size(); ++i) run = run && c[i] == c[i - 1] + 1;
    if (run) return "range(" + std::to_string(c.front()) + ", " + std::to_string(c.back() + 1) + ")";
    std::string s = "[";
    for (size_t i = 0; i < c.size(); ++i) s += (i ? ", " : "") + std::to_string(c[i]);
    return s + "]";
  };
  return "Genotype(normal=" + cell(g.normal) + ", normal_concat=" + concat(g.normal_concat) +
         ", reduce=" + cell(g.reduce) + ", reduce_concat=" + concat(g.reduce_concat) + ")";
}

Genotype parse_genotype_darts(const std::string& text, const std::string& source) {
  return DartsParser(text, source).parse();
}

Genotype parse_genotype(const std::string& text, const std::string& source) {
  const std::string t = trim_left(text);
  if (!t.empty() && t[0] == '{') return parse_genotype_json(text, source);
  return parse_genotype_darts(text, source);
}

Genotype read_genotype_file(const std::string& path) {
  const std::string source = "file " + shown(path, 400);
  std::error_code ec;
  BNAS_CHECK(std::filesystem::is_regular_file(path, ec), "Cannot read the genotype ", source,
             ": it does not exist or is not a regular file.");
  const auto size = std::filesystem::file_size(path, ec);
  BNAS_CHECK(!ec && size <= (1u << 20), "Cannot read the genotype ", source,
             ec ? ": its size cannot be determined." : ": it is over 1 MiB, too large to be a genotype.");
  std::ifstream in(path, std::ios::binary);
  BNAS_CHECK(in.good(), "Cannot read the genotype ", source, ": ", std::strerror(errno), ".");
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_genotype(buf.str(), source);
}

void write_genotype_file(const Genotype& g, const std::string& path) {
  const bool as_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  write_file_atomically(path, as_json ? genotype_to_json_text(g) : genotype_to_darts(g) + "\n");
}

// ---- Published ----

const std::vector<std::string>& published_genotype_names() { return published().names; }

bool is_published_genotype(const std::string& name) { return published().by_name.count(name) > 0; }

const Genotype& published_genotype(const std::string& name) {
  const auto& p = published();
  const auto it = p.by_name.find(name);
  BNAS_CHECK(it != p.by_name.end(), "Unknown genotype ", shown(name), "; the published genotypes are ",
             published_names_text(), ".");
  return it->second;
}

const std::string& published_genotypes_json() { return published().text; }

Genotype resolve_genotype(const std::string& name_or_path) {
  if (is_published_genotype(name_or_path)) return published_genotype(name_or_path);
  std::error_code ec;
  if (std::filesystem::is_regular_file(name_or_path, ec)) return read_genotype_file(name_or_path);
  const std::string t = trim_left(name_or_path);
  if (!t.empty() && (t[0] == '{' || t.compare(0, 8, "Genotype") == 0))
    return parse_genotype(name_or_path, "the given text");
  BNAS_FAIL(shown(name_or_path, 200), " is neither a published genotype (", published_names_text(),
            ") nor a genotype file.");
}

// ---- Derivation ----

std::vector<double> derivation_weights(const double* alpha, const double* beta) {
  BNAS_CHECK(alpha != nullptr, "Genotype derivation needs alpha.");
  for (int i = 0; i < kCellEdges * kNumPrimitives; ++i)
    BNAS_CHECK(std::isfinite(alpha[i]), "Cannot derive a genotype: alpha[", i / kNumPrimitives, "][",
               i % kNumPrimitives, "] is ", alpha[i], " (the search diverged).");
  if (beta)
    for (int i = 0; i < kCellEdges; ++i)
      BNAS_CHECK(std::isfinite(beta[i]), "Cannot derive a genotype: beta[", i, "] is ", beta[i],
                 " (the search diverged).");
  std::vector<double> w(static_cast<size_t>(kCellEdges * kNumPrimitives));
  for (int e = 0; e < kCellEdges; ++e)
    softmax_row(alpha + e * kNumPrimitives, kNumPrimitives, w.data() + e * kNumPrimitives);
  if (beta) {
    double b[kCellSteps + 1];
    for (int node = 0; node < kCellSteps; ++node) {
      const int start = cell_edge_offset(node), n = node + 2;
      softmax_row(beta + start, n, b);
      for (int i = 0; i < n; ++i)
        for (int k = 0; k < kNumPrimitives; ++k) w[static_cast<size_t>((start + i) * kNumPrimitives + k)] *= b[i];
    }
  }
  return w;
}

std::vector<GenotypeEdge> derive_cell(const double* alpha, const double* beta) {
  const std::vector<double> w = derivation_weights(alpha, beta);
  const int none = static_cast<int>(Primitive::kNone);
  auto row = [&](int edge) { return w.data() + edge * kNumPrimitives; };
  // Arg-max excluding none; strict '>' keeps the lowest index on ties, like the reference loop.
  auto best_op = [&](int edge) {
    int best = -1;
    for (int k = 0; k < kNumPrimitives; ++k)
      if (k != none && (best < 0 || row(edge)[k] > row(edge)[best])) best = k;
    return best;
  };
  std::vector<GenotypeEdge> gene;
  for (int node = 0; node < kCellSteps; ++node) {
    const int start = cell_edge_offset(node), n = node + 2;
    std::vector<int> inputs(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) inputs[static_cast<size_t>(i)] = i;
    // sorted(range(n), key=-max non-none weight)[:2]: stable, so ties keep the lower input first.
    std::stable_sort(inputs.begin(), inputs.end(), [&](int a, int b) {
      return row(start + a)[best_op(start + a)] > row(start + b)[best_op(start + b)];
    });
    for (int t = 0; t < 2; ++t) {
      const int in = inputs[static_cast<size_t>(t)];
      gene.push_back({static_cast<Primitive>(best_op(start + in)), in});
    }
  }
  return gene;
}

std::vector<GenotypeEdge> derive_cell(const std::vector<double>& alpha, const std::vector<double>& beta) {
  BNAS_CHECK(alpha.size() == static_cast<size_t>(kCellEdges * kNumPrimitives),
             "Genotype derivation needs ", kCellEdges, " x ", kNumPrimitives, " = ",
             kCellEdges * kNumPrimitives, " alpha values, but got ", alpha.size(), ".");
  BNAS_CHECK(beta.empty() || beta.size() == static_cast<size_t>(kCellEdges),
             "Genotype derivation needs ", kCellEdges, " beta values (one per edge) or none, but got ",
             beta.size(), ".");
  return derive_cell(alpha.data(), beta.empty() ? nullptr : beta.data());
}

Genotype derive_genotype(const std::vector<double>& alpha_normal, const std::vector<double>& alpha_reduce,
                         const std::vector<double>& beta_normal, const std::vector<double>& beta_reduce) {
  Genotype g;
  g.normal = derive_cell(alpha_normal, beta_normal);
  g.normal_concat = default_concat();
  g.reduce = derive_cell(alpha_reduce, beta_reduce);
  g.reduce_concat = default_concat();
  return g;
}

std::ostream& operator<<(std::ostream& os, const Genotype& g) { return os << genotype_to_darts(g); }

}  // namespace bnas::nas
