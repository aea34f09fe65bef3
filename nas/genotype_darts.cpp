// The DARTS text form of a genotype (genotype_darts.h).
//
// The text is read by a hand-written recursive-descent parser on purpose: it is a tiny subset of
// Python literal syntax (a call with keyword arguments, lists/tuples, quoted names, integers,
// range(a, b)), and no library parses it. The parser never evaluates anything, bounds every
// number before converting it, reports line and column, and is fuzzed
// (tests/fuzz/fuzz_genotype.cpp).
#include "nas/genotype_darts.h"

#include <cctype>
#include <vector>

#include "engine/check.h"
#include "nas/genotype_checks.h"

namespace bnas::nas {

namespace {

using detail::check_entry_count;
using detail::checked_concat;
using detail::checked_input;
using detail::invalid;
using detail::shown;
using detail::valid_names_list;

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

}  // namespace

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

}  // namespace bnas::nas
