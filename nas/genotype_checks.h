// What every genotype reader shares (genotype.cpp validates and reads JSON, genotype_darts.cpp
// parses the DARTS text, genotype_file.cpp and published_genotypes.cpp read files and names):
// the one error form, "Invalid genotype in SOURCE: ...", the rules for a cell's entries and
// concat, and the quoting of untrusted text in error sentences. Internal to these files.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/check.h"

namespace bnas::nas::detail {

// Quoted, printable, bounded rendering of untrusted text for error messages.
std::string shown(const std::string& s, size_t max_len = 40);
// "none, max_pool_3x3, ...": the operation names, in column order.
std::string valid_names_list();
// s without its leading blanks.
std::string trim_left(const std::string& s);

template <class... Args>
[[noreturn]] void invalid(const std::string& source, const Args&... args) {
  BNAS_FAIL("Invalid genotype in ", source, ": ", args..., ".");
}

// A cell (`field`: "normal" or "reduce") has exactly kGenotypeEntries entries.
void check_entry_count(size_t n, const char* field, const std::string& source);
// Entry e (node e/2) reads an input in 0 .. e/2+1; returns it.
int checked_input(long long input, int e, const char* field, const std::string& source);
// A non-empty strictly increasing list of node states in 2 .. kCellSteps+1; returns it.
std::vector<int> checked_concat(const std::vector<long long>& c, const char* field,
                                const std::string& source);

}  // namespace bnas::nas::detail
