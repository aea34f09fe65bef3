// The checks and error text the genotype readers share (genotype_checks.h).
#include "nas/genotype_checks.h"

#include <cctype>
#include <cstdio>

#include "nas/genotype.h"

namespace bnas::nas::detail {

namespace {

// Node owning entry e, and the highest input index it may read.
int entry_node(int e) { return e / 2; }
int max_input(int e) { return entry_node(e) + 1; }

std::string concat_text(const std::vector<long long>& c) {
  std::string s = "[";
  for (size_t i = 0; i < c.size() && i < 16; ++i) s += (i ? ", " : "") + std::to_string(c[i]);
  if (c.size() > 16) s += ", ...";
  return s + "]";
}

}  // namespace

std::string shown(const std::string& s, size_t max_len) {
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
  for (const char* name : primitive_names()) s += (s.empty() ? "" : ", ") + std::string(name);
  return s;
}

std::string trim_left(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

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

}  // namespace bnas::nas::detail
